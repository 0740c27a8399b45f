"""The environment: faults, bounded by the scenario's fault budget.

Faults are rules that are never fair (DESIGN section 2.1): each spends one
unit of `faults.budget`, and a behaviour may stop faulting at any time.
Modelled so far:

* `node-crash`: a machine goes down, and its containers with it.
* `node-recover` (only where the scenario allows it): the machine and its
  kubelet come back, with no containers running.
* `apiserver-restart`, `kubelet-restart`: the process crashes; the restart
  is its supervisor's weakly fair step (model/components/apiserver.py,
  kubelet.py), spending no budget.
* `controller-crash`, `pause`: a leader-elected replica crashes (restarted
  by its supervisor) or freezes (resumed, weakly fair): see
  model/components/leaderelection.py.
* `etcd-member-crash` / `etcd-member-restart`: one etcd member stops, or a
  stopped one restarts and catches up (Raft's log replay is abstracted: the
  store is one logical keyspace, and a majority of members up is what lets
  writes commit).

Shortcut, until the node-lifecycle controller exists: a crash also does at
once what kube-controller-manager's node controller and the taint-eviction
controller would do some time later: the Node becomes Ready=Unknown with the
`node.kubernetes.io/unreachable` NoSchedule and NoExecute taints, and the
pods bound to it become Failed (reason NodeLost, as the reference model's
Lost), so that their owners replace them.  Recovery removes those taints and
sets Ready=True.  The node-lifecycle work replaces this shortcut by real
heartbeats, grace periods, tolerationSeconds and eviction.  Those writes need
an etcd quorum like any other: without one, only the machine goes down.
"""

from __future__ import annotations

from typing import Iterator, List

import attrs

from explorer import Rule, label

from ..objects import Taint
from ..state import ClusterState

UNREACHABLE = "node.kubernetes.io/unreachable"
UNREACHABLE_TAINTS = (Taint(UNREACHABLE, "NoSchedule"), Taint(UNREACHABLE, "NoExecute"))


def _spend(s: ClusterState) -> ClusterState:
    return attrs.evolve(s, faults_left=s.faults_left - 1)


def node_crash(s: ClusterState) -> Iterator:
    """A machine crashes: its containers stop, and (shortcut) its pods fail and its Node is tainted unreachable."""
    if s.faults_left <= 0:
        return
    for host in s.hosts:
        if not host.up:
            continue
        nxt = _spend(s).with_host(attrs.evolve(host, up=False, kubelet_up=False, pods=()))
        if not s.etcd_quorum():
            yield label("environment", "node_crash", (("node", host.name),)), nxt
            continue
        store = nxt.store
        node = store.get("Node", "", host.name)
        if node is not None:
            taints = node.taints + tuple(t for t in UNREACHABLE_TAINTS if t not in node.taints)
            store = store.put(attrs.evolve(node, ready="Unknown", taints=taints))
        for pod in store.pods:
            if pod.spec.node_name == host.name and pod.phase not in ("Succeeded", "Failed"):
                store = store.put(attrs.evolve(pod, phase="Failed", ready=False, reason="NodeLost"))
        yield label("environment", "node_crash", (("node", host.name),)), nxt.with_store(store)


def node_recover(s: ClusterState) -> Iterator:
    """A crashed machine comes back with its kubelet; (shortcut) its Node is Ready again."""
    if s.faults_left <= 0:
        return
    for host in s.hosts:
        if host.up:
            continue
        nxt = _spend(s).with_host(attrs.evolve(host, up=True, kubelet_up=True, pods=()))
        node = nxt.store.get("Node", "", host.name)
        if node is not None and s.etcd_quorum():
            taints = tuple(t for t in node.taints if t.key != UNREACHABLE)
            nxt = nxt.with_store(nxt.store.put(attrs.evolve(node, ready="True", taints=taints)))
        yield label("environment", "node_recover", (("node", host.name),)), nxt


def _set_member(s: ClusterState, i: int, up: bool) -> ClusterState:
    return attrs.evolve(_spend(s), etcd_up=s.etcd_up[:i] + (up,) + s.etcd_up[i + 1:])


def etcd_member_crash(s: ClusterState) -> Iterator:
    """An etcd member stops; with a majority down, no write can commit."""
    if s.faults_left <= 0:
        return
    for i, up in enumerate(s.etcd_up):
        if up:
            yield label("environment", "etcd_member_crash", (("member", f"etcd-{i + 1}"),)), _set_member(s, i, False)


def etcd_member_restart(s: ClusterState) -> Iterator:
    """A stopped etcd member restarts and catches up with the others."""
    if s.faults_left <= 0:
        return
    for i, up in enumerate(s.etcd_up):
        if not up:
            yield label("environment", "etcd_member_restart", (("member", f"etcd-{i + 1}"),)), _set_member(s, i, True)


def apiserver_crash(s: ClusterState) -> Iterator:
    """A kube-apiserver instance crashes (process-level: its supervisor restarts it)."""
    if s.faults_left <= 0:
        return
    for k, up in enumerate(s.apiservers_up):
        if up:
            yield (label("environment", "apiserver_crash", (("instance", k + 1),)),
                   attrs.evolve(_spend(s), apiservers_up=s.apiservers_up[:k] + (False,) + s.apiservers_up[k + 1:]))


def kubelet_crash(s: ClusterState) -> Iterator:
    """A kubelet crashes; the containers it started keep running (its supervisor restarts it)."""
    if s.faults_left <= 0:
        return
    for host in s.hosts:
        if host.up and host.kubelet_up:
            yield (label("environment", "kubelet_crash", (("node", host.name),)),
                   _spend(s).with_host(attrs.evolve(host, kubelet_up=False)))


def controller_crash(s: ClusterState) -> Iterator:
    """A kube-controller-manager or kube-scheduler replica crashes, losing all it held in memory."""
    if s.faults_left <= 0:
        return
    for p in s.processes:
        if p.up:
            yield (label("environment", "controller_crash", (("process", p.name),)),
                   _spend(s).with_process(attrs.evolve(p, up=False, paused=False, leader=False)))


def pause(s: ClusterState) -> Iterator:
    """A replica is frozen after its last action (GC pause, CPU starvation, VM stall)."""
    if s.faults_left <= 0:
        return
    for p in s.processes:
        if p.up and not p.paused:
            yield (label("environment", "pause", (("process", p.name),)),
                   _spend(s).with_process(attrs.evolve(p, paused=True)))


FAULTS = {"apiserver-restart": apiserver_crash, "controller-crash": controller_crash, "pause": pause, "kubelet-restart": kubelet_crash, "node-crash": node_crash, "node-recover": node_recover, "etcd-member-crash": etcd_member_crash,
          "etcd-member-restart": etcd_member_restart}


def rules(kinds, budget: int) -> List[Rule]:
    """The fault rules the scenario allows (none without a budget)."""
    if budget <= 0:
        return []
    return [Rule(f"environment.{k}", FAULTS[k], fair=False, doc=FAULTS[k].__doc__)
            for k in kinds if k in FAULTS]


def unsupported(kinds) -> List[str]:
    return [k for k in kinds if k not in FAULTS]
