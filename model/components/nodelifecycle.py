"""The node lifecycle controller and taint-based eviction (kube-controller-manager).

Follows pkg/controller/nodelifecycle/node_lifecycle_controller.go
(monitorNodeHealth, doNoExecuteTaintingPass, handleDisruption) and
pkg/controller/tainteviction/taint_eviction.go.

* Heartbeats: a kubelet renews its node Lease every 10 s.  The renewals are
  not modelled as writes (nothing but this controller reads them): a Node's
  heartbeats flow while its machine is up and reachable from the control
  plane.  A kubelet restart is taken to be shorter than the grace period, so
  it stops no heartbeat.
* Grace period: once the heartbeats stop for node-monitor-grace-period (40 s,
  50 s since 1.32), a monitor pass (every 5 s) sets the Ready condition of
  every such Node to Unknown (Nodes whose heartbeats stopped together, as in
  a zone outage, in the same pass) and
  taints the Node `node.kubernetes.io/unreachable` NoSchedule (the
  TaintNodesByCondition pass) and NoExecute.  Time is abstracted into one
  weakly fair step, `mark_unreachable`: it is enabled as soon as the
  heartbeats stop and stands for "the grace period has passed", so every
  order of it against the other components' steps is explored.
* Full disruption: when every Node of every zone is not Ready, the
  controller assumes its own connectivity is at fault: it taints no Node
  NoExecute and removes the NoExecute taints it set, so nothing is evicted;
  when a Node is Ready again, normal mode resumes and the unreachable Nodes
  are tainted again.  The node's writes of one pass are one step here.
  The same pass marks the Node's pods not Ready (MarkPodsNotReady), so that
  their Services and Deployments stop counting them available.
* Heartbeats resume (`mark_ready`): the kubelet posts Ready=True and the
  controller removes the unreachable taints.
* Taint eviction (`evict`): a pod bound to a Node with a NoExecute taint is
  deleted (gracefully: its kubelet, if it ever comes back, finishes the
  deletion) unless a toleration without tolerationSeconds keeps it for ever.
  A toleration with tolerationSeconds (DefaultTolerationSeconds admission gives
  every pod 300 s for not-ready and unreachable) delays the deletion: the
  same weakly fair step, "the toleration has run out".  The pods of one Node
  whose time runs out together (the same tolerationSeconds, as with the
  default 300 s) are deleted in one step, the shortest toleration first;
  the eviction rate limit that would spread them out is not modelled.  A pod
  already Succeeded or Failed, or terminating, is left alone.

Not modelled: the eviction rate limits (--node-eviction-rate, and the rate 0
of a partially disrupted zone, 55 % of its Nodes unready, in a cluster of 50
Nodes or fewer), the not-ready (as opposed to unreachable) condition, the
out-of-service taint.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import Node, Pod, Taint, evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
UNREACHABLE = "node.kubernetes.io/unreachable"
NO_SCHEDULE = Taint(UNREACHABLE, "NoSchedule")
NO_EXECUTE = Taint(UNREACHABLE, "NoExecute")
UNREACHABLE_TAINTS = (NO_SCHEDULE, NO_EXECUTE)


def heartbeats(s: ClusterState, node_name: str) -> bool:
    """Do this Node's kubelet heartbeats reach the control plane?  (A Node with no machine has none.)"""
    for h in s.hosts:
        if h.name == node_name:
            return h.up and h.reachable
    return False


def full_disruption(nodes) -> bool:
    """handleDisruption: every Node is not Ready, so the controller blames itself and evicts nothing."""
    return bool(nodes) and all(n.ready != "True" for n in nodes)


def _with_taints(node: Node, add=(), drop=()) -> Node:
    taints = tuple(t for t in node.taints if t not in drop)
    return evolve(node, taints=taints + tuple(t for t in add if t not in taints))


def _write_nodes(s: ClusterState, changed) -> ClusterState:
    """Write the changed Nodes (CAS on each); None if one write fails."""
    nxt = s
    for old, new in changed:
        nxt = apiserver.update(nxt, new, old.meta.resource_version, spec_changed=new.taints != old.taints)
        if nxt is None:
            return None
    return nxt


def mark_pods_not_ready(s: ClusterState, node_name: str):
    """MarkPodsNotReady: the Ready condition of every pod on the Node becomes false (status writes)."""
    for p in s.store.pods:
        if p.spec.node_name == node_name and p.ready:
            s = apiserver.update(s, evolve(p, ready=False), p.meta.resource_version, spec_changed=False)
            if s is None:
                return None
    return s


def mark_unreachable(s: ClusterState) -> Iterator:
    """A monitor pass finds Nodes whose heartbeats have stopped for the grace period: Ready=Unknown, tainted
    unreachable NoSchedule and NoExecute (no NoExecute taint anywhere if every Node is now unready:
    full-disruption mode), their pods marked not Ready."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        due = [n for n in view.nodes if n.ready == "True" and not heartbeats(s, n.meta.name)]
        if not due:
            continue
        names = {n.meta.name for n in due}
        after = [evolve(n, ready="Unknown") if n.meta.name in names else n for n in view.nodes]
        full = full_disruption(after)
        changed = [(n, _with_taints(evolve(n, ready="Unknown"), add=(NO_SCHEDULE,) if full else (NO_SCHEDULE, NO_EXECUTE),
                                    drop=(NO_EXECUTE,) if full else ())) for n in due]
        if full:
            changed += [(n, _with_taints(n, drop=(NO_EXECUTE,))) for n in view.nodes
                        if n.meta.name not in names and NO_EXECUTE in n.taints]
        nxt = _write_nodes(s, changed)
        for name in sorted(names):
            if nxt is not None:
                nxt = mark_pods_not_ready(nxt, name)
        if nxt is not None:
            yield (label("nodelifecycle", "mark_unreachable", (("nodes", ",".join(sorted(names))),) + by,
                         (("mode", "full-disruption"),) if full else ()), nxt)


def mark_ready(s: ClusterState) -> Iterator:
    """A Node's heartbeats are back: Ready=True, its unreachable taints removed (and, leaving full-disruption
    mode, the Nodes still unreachable tainted NoExecute again)."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for node in view.nodes:
            if node.ready == "True" or not heartbeats(s, node.meta.name):
                continue
            changed = [(node, _with_taints(evolve(node, ready="True"), drop=(NO_SCHEDULE, NO_EXECUTE)))]
            if full_disruption(view.nodes):
                changed += [(n, _with_taints(n, add=(NO_EXECUTE,))) for n in view.nodes
                            if n.meta.name != node.meta.name and n.ready != "True" and NO_EXECUTE not in n.taints]
            nxt = _write_nodes(s, changed)
            if nxt is not None:
                yield label("nodelifecycle", "mark_ready", (("node", node.meta.name),) + by), nxt


def eviction_seconds(pod: Pod, node: Node):
    """How long `pod` stays on `node` once tainted: 0 with no toleration of a NoExecute taint, the least
    tolerationSeconds of the tolerations it relies on, or None (for ever, or no NoExecute taint)."""
    worst = None
    for t in node.taints:
        if t.effect != "NoExecute":
            continue
        matching = [tol for tol in pod.spec.tolerations if tol.tolerates(t)]
        if matching and any(tol.seconds is None for tol in matching):
            continue
        secs = min((tol.seconds for tol in matching), default=0)
        worst = secs if worst is None else min(worst, secs)
    return worst


def evict(s: ClusterState) -> Iterator:
    """The taint-eviction controller deletes the pods bound to a NoExecute-tainted Node whose time is up:
    those that do not tolerate the taint, or whose tolerationSeconds run out first (pods with the same
    tolerationSeconds, such as the 300 s every pod gets by default, go in the same step)."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for node in view.nodes:
            if not any(t.effect == "NoExecute" for t in node.taints):
                continue
            due = [(eviction_seconds(p, node), p) for p in view.pods
                   if p.spec.node_name == node.meta.name and not p.meta.deleting
                   and p.phase not in ("Succeeded", "Failed")]
            due = [(secs, p) for secs, p in due if secs is not None]
            if not due:
                continue
            first = min(secs for secs, _ in due)
            nxt = s
            for secs, p in due:
                if secs == first:
                    nxt = apiserver.delete(nxt, p)
                    if nxt is None:
                        break
            if nxt is not None:
                yield (label("taint-eviction", "evict", (("node", node.meta.name),) + by,
                             (("after", f"{first}s"),)), nxt)


def rules() -> List[Rule]:
    return [Rule("nodelifecycle.mark_unreachable", mark_unreachable, doc=mark_unreachable.__doc__),
            Rule("nodelifecycle.mark_ready", mark_ready, doc=mark_ready.__doc__),
            Rule("taint-eviction.evict", evict, doc=evict.__doc__)]
