"""The environment: faults, bounded by the scenario's fault budget.

Faults are rules that are never fair (DESIGN section 2.1): each spends one
unit of `faults.budget`, and a behaviour may stop faulting at any time.
Modelled so far:

* `node-crash`: a machine goes down, and its containers with it, and the
  stacked etcd member and apiserver on it where it is a control-plane node
  (placement in model/topology.py).
* `node-recover` (only where the scenario allows it): the machine and its
  kubelet come back, with no containers running.
* `zone-outage` / `zone-recover`: every machine and etcd member of a zone
  goes down / comes back at once.
* `vm-deleted`: the cloud deletes a node's VM: the machine is down for good
  (no recovery); with a cloud-controller-manager its Node object goes too
  (model/components/cloudcontroller.py).
* `partition` / `partition-heal`: a node is cut off from the control plane:
  its kubelet can neither read nor write, and its containers run on.
* `apiserver-restart`, `kubelet-restart`: the process crashes; the restart
  is its supervisor's weakly fair step (model/components/apiserver.py,
  kubelet.py), spending no budget.
* `controller-crash`, `pause`: a leader-elected replica crashes (restarted
  by its supervisor) or freezes (resumed, weakly fair): see
  model/components/leaderelection.py.
* `expectations-timeout`: a kube-controller-manager replica's expectations
  for a ReplicaSet, DaemonSet or Job expire while its informer lags behind its
  own write (pkg/controller/controller_utils.go: SatisfiedExpectations returns
  true once an expectation is older than ExpectationsTimeout, 5 minutes,
  fulfilled or not), so it syncs from a view that misses what it created or
  deleted: kubernetes issue 129795 (open).  Time is abstract in the model:
  the fault stands for an informer that lagged five minutes, and is enabled
  only where a view lags (`check.maxStaleness` > 0).  The scheduler's assumed
  pods (their expiry was removed in 1.23) and the EndpointSlice tracker have
  no such timeout.
* `etcd-member-crash` / `etcd-member-restart`: one etcd member stops, or a
  stopped one restarts and catches up (Raft's log replay is abstracted: the
  store is one logical keyspace, and a majority of members up is what lets
  writes commit).

What happens to the Node objects and their pods once heartbeats stop is
the node lifecycle controller's business (model/components/nodelifecycle.py):
the faults only stop machines, processes and links.
"""

from __future__ import annotations

from typing import Iterator, List


from explorer import Rule, label

from ..objects import evolve
from ..state import ClusterState
from ..topology import Placement
from . import apiserver


def _spend(s: ClusterState) -> ClusterState:
    return evolve(s, faults_left=s.faults_left - 1)


def _set(flags: tuple, indices, value: bool) -> tuple:
    return tuple(value if i in indices else f for i, f in enumerate(flags))


def _switch_machines(s: ClusterState, place: Placement, hosts, members, up: bool) -> ClusterState:
    """Machines, and the etcd members and apiservers on them, go down or come back (no containers either way;
    a reboot also flushes the kernel's Service rules, which kube-proxy programs again)."""
    members = set(members)
    apis = set()
    nxt = s
    for name in hosts:
        nxt = nxt.with_host(evolve(nxt.host(name), up=up, kubelet_up=up, pods=(), service_rules=()))
        members |= set(place.members_on(name))
        apis |= set(place.apiservers_on(name))
    lost = set(nxt.apiserver_pods_lost)
    if up:
        apis -= lost        # a self-hosted apiserver's pod went with its machine: the kubelet cannot start it alone
    else:
        lost |= apis & set(place.self_hosted)
    nxt = nxt.with_members(_set(nxt.etcd_up, members, up))
    nxt = evolve(nxt, apiservers_up=_set(nxt.apiservers_up, apis, up)) if up else apiserver.instances_down(nxt, apis)
    nxt = evolve(nxt, apiserver_pods_lost=tuple(sorted(lost)))
    if up:  # a restarted apiserver lists etcd afresh into its cache
        nxt = evolve(nxt, cache_lag=tuple(0 if k in apis else lag for k, lag in enumerate(nxt.cache_lag)))
    return nxt


def machines_down(s: ClusterState, place: Placement, hosts, members=()) -> ClusterState:
    """Machines (and the etcd members and apiservers on them) stop; their containers stop with them."""
    return _switch_machines(s, place, hosts, members, False)


def machines_up(s: ClusterState, place: Placement, hosts, members=()) -> ClusterState:
    """Machines come back with their kubelets, etcd members and apiservers, and no containers."""
    return _switch_machines(s, place, hosts, members, True)


def machine_faults(place: Placement) -> dict:
    """The machine-level faults, over this scenario's placement of etcd members and apiservers."""

    def node_crash(s: ClusterState) -> Iterator:
        """A machine crashes: its containers stop, and its kubelet's heartbeats."""
        if s.faults_left <= 0:
            return
        for host in s.hosts:
            if host.up:
                yield label("environment", "node_crash", (("node", host.name),)), machines_down(_spend(s), place, [host.name])

    def node_recover(s: ClusterState) -> Iterator:
        """A crashed machine comes back with its kubelet, which heartbeats again."""
        if s.faults_left <= 0:
            return
        for host in s.hosts:
            if not host.up and not host.vm_deleted:
                yield label("environment", "node_recover", (("node", host.name),)), machines_up(_spend(s), place, [host.name])

    def zone_rule(up: bool):
        switch = machines_up if up else machines_down

        def zone(s: ClusterState) -> Iterator:
            if s.faults_left <= 0:
                return
            for name in place.zones():
                hosts = [h for h in place.hosts_in(name) if s.host(h).up != up and not s.host(h).vm_deleted]
                members = [i for i in place.members_in(name) if s.etcd_up[i] != up]
                if hosts or members:
                    yield (label("environment", "zone_recover" if up else "zone_outage", (("zone", name),)),
                           switch(_spend(s), place, hosts, members))
        zone.__doc__ = ("A zone comes back: its machines and etcd members run again." if up else
                        "Every machine and etcd member in one zone goes down at once.")
        return zone

    def vm_deleted(s: ClusterState) -> Iterator:
        """The cloud deletes a node's VM (a terminated spot instance, an operator's mistake): down for good."""
        if s.faults_left <= 0:
            return
        for host in s.hosts:
            if not host.vm_deleted:
                nxt = machines_down(_spend(s), place, [host.name])
                yield (label("environment", "vm_deleted", (("node", host.name),)),
                       nxt.with_host(evolve(nxt.host(host.name), vm_deleted=True)))

    def partition(s: ClusterState) -> Iterator:
        """A node is cut off from the control plane: its kubelet can neither read nor write, its pods run on."""
        if s.faults_left <= 0:
            return
        for host in s.hosts:
            if host.up and host.reachable:
                yield (label("environment", "partition", (("node", host.name),)),
                       _spend(s).with_host(evolve(host, reachable=False)))

    def partition_heal(s: ClusterState) -> Iterator:
        """A partitioned node can reach the control plane again."""
        if s.faults_left <= 0:
            return
        for host in s.hosts:
            if not host.reachable:
                yield (label("environment", "partition_heal", (("node", host.name),)),
                       _spend(s).with_host(evolve(host, reachable=True)))

    return {"node-crash": node_crash, "node-recover": node_recover, "zone-outage": zone_rule(False),
            "zone-recover": zone_rule(True), "partition": partition, "partition-heal": partition_heal,
            "vm-deleted": vm_deleted}


def _set_member(s: ClusterState, i: int, up: bool) -> ClusterState:
    return _spend(s).with_members(s.etcd_up[:i] + (up,) + s.etcd_up[i + 1:])


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
                   apiserver.instances_down(_spend(s), [k]))


def kubelet_crash(s: ClusterState) -> Iterator:
    """A kubelet crashes; the containers it started keep running (its supervisor restarts it)."""
    if s.faults_left <= 0:
        return
    for host in s.hosts:
        if host.up and host.kubelet_up:
            yield (label("environment", "kubelet_crash", (("node", host.name),)),
                   _spend(s).with_host(evolve(host, kubelet_up=False)))


def controller_crash(s: ClusterState) -> Iterator:
    """A kube-controller-manager or kube-scheduler replica crashes, losing all it held in memory."""
    if s.faults_left <= 0:
        return
    for p in s.processes:
        if p.up:
            yield (label("environment", "controller_crash", (("process", p.name),)),
                   evolve(_spend(s).with_process(evolve(p, up=False, paused=False, leader=False)),
                          expectations=tuple(e for e in s.expectations if e[0] != p.name),
                          syncs=tuple(w for w in s.syncs if w[0] != p.name),
                          taint_evictions=tuple(e for e in s.taint_evictions if e[0] != p.name)))


def pause(s: ClusterState) -> Iterator:
    """A replica is frozen after its last action (GC pause, CPU starvation, VM stall)."""
    if s.faults_left <= 0:
        return
    for p in s.processes:
        if p.up and not p.paused:
            yield (label("environment", "pause", (("process", p.name),)),
                   _spend(s).with_process(evolve(p, paused=True)))


def expectations_timeout(s: ClusterState) -> Iterator:
    """A controller's expectations for a ReplicaSet, DaemonSet or Job expire (ExpectationsTimeout, 5 minutes)
    while its informer still has not seen its own write: it syncs again from its lagging view."""
    if s.faults_left <= 0 or not s.expectations:
        return
    store = s.store
    owners = {o.meta.uid: o for o in store.replicasets + store.daemonsets + store.jobs}
    owners.update((o.meta.uid, o) for o in store.replicationcontrollers)
    for e in s.expectations:
        c, uid, rev = e
        owner = owners.get(uid)
        if owner is None:
            continue   # the scheduler's assumed pods (keyed by pod) and the EndpointSlice tracker never expire
        v = apiserver.view(s, c)
        if v is not None and v.revision >= rev:
            continue   # already satisfied
        yield (label("environment", "expectations_timeout", (("process", c), (owner.kind.lower(), owner.meta.key))),
               evolve(_spend(s), expectations=tuple(x for x in s.expectations if x != e)))


PROCESS_FAULTS = {"apiserver-restart": apiserver_crash, "controller-crash": controller_crash, "pause": pause,
                  "kubelet-restart": kubelet_crash, "etcd-member-crash": etcd_member_crash,
                  "etcd-member-restart": etcd_member_restart, "expectations-timeout": expectations_timeout}
MODELLED = tuple(PROCESS_FAULTS) + ("node-crash", "node-recover", "zone-outage", "zone-recover", "partition",
                                    "partition-heal", "vm-deleted",
                                    "request-timeout")   # a rule of the client it strikes: replicaset.py


def rules(kinds, budget: int, place: Placement) -> List[Rule]:
    """The fault rules the scenario allows (none without a budget)."""
    if budget <= 0:
        return []
    faults = dict(PROCESS_FAULTS, **machine_faults(place))
    return [Rule(f"environment.{k}", faults[k], fair=False, doc=faults[k].__doc__) for k in kinds if k in faults]


# -- time for CronJobs --------------------------------------------------------------------------------------
# A CronJob's scheduled times are abstract: the clock's ticks, each "a scheduled time has come", at most
# `kubecheck.io/ticks` per CronJob (model/kinds/cronjob.py).  They are not faults: weakly fair until spent,
# and free of the fault budget, so that convergence is judged after the last one.  With
# startingDeadlineSeconds, the deadline of a scheduled time the controller has not yet started a Job for may
# pass first (not fair: it may, or may not, happen before the controller acts).  Their steps are the clock's.


def _with_ticks(s: ClusterState, key: str, come: int, late: bool) -> ClusterState:
    rest = [t for t in s.cron_ticks if t[0] != key]
    return evolve(s, cron_ticks=tuple(sorted(rest + [(key, come, late)])))


def schedule_tick(s: ClusterState) -> Iterator:
    """A CronJob's next scheduled time comes."""
    for cj in s.store.cronjobs:
        come, _ = s.ticks_of(cj.meta.key)
        if come < cj.ticks:
            yield (label("clock", "schedule_tick", (("cronjob", cj.meta.key), ("tick", come + 1))),
                   _with_ticks(s, cj.meta.key, come + 1, False))


def starting_deadline_passes(s: ClusterState) -> Iterator:
    """startingDeadlineSeconds pass after a CronJob's last scheduled time, before its controller started the
    Job of that time: the time is missed."""
    for cj in s.store.cronjobs:
        come, late = s.ticks_of(cj.meta.key)
        if cj.starting_deadline is not None and not late and come > cj.status.last_schedule:
            yield (label("clock", "starting_deadline_passes", (("cronjob", cj.meta.key), ("tick", come))),
                   _with_ticks(s, cj.meta.key, come, True))


def tick_rules(deadlines: bool) -> List[Rule]:
    """The clock's rules for the scenario's CronJobs (`deadlines`: some CronJob sets startingDeadlineSeconds)."""
    out = [Rule("clock.schedule_tick", schedule_tick, fair=True, doc=schedule_tick.__doc__)]
    if deadlines:
        out.append(Rule("clock.starting_deadline_passes", starting_deadline_passes, fair=False,
                        doc=starting_deadline_passes.__doc__))
    return out
