"""The node lifecycle controller and taint-based eviction (kube-controller-manager).

Follows pkg/controller/nodelifecycle/node_lifecycle_controller.go
(monitorNodeHealth, doNoExecuteTaintingPass, doNoScheduleTaintingPass,
processTaintBaseEviction, markNodeAsReachable, handleDisruption).

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
* Zone states (handleDisruption, ComputeZoneState): the Nodes are grouped
  by zone (the region and zone labels, as utilnode.GetZoneKey); a zone with
  no Ready Node is in FullDisruption, one with more than 2 Nodes not Ready
  that are at least `unhealthyZoneThreshold` (0.55) of it in
  PartialDisruption, else Normal.  A zone's NoExecute tainting goes at the
  normal rate in Normal and FullDisruption, and in PartialDisruption at the
  secondary rate (`secondaryNodeEvictionRate`, 0.01 Nodes/s) where the zone
  has more than `largeClusterSizeThreshold` (50) Nodes, else at rate 0: no
  Node of a partially disrupted small zone is tainted, so its pods are not
  evicted (the taints set before stay).  Rates are abstracted: a rate above
  0 is "eventually" (`spec.controlPlane.nodeLifecycle` sets the three).
* Full disruption: when every zone is in FullDisruption (every Node not
  Ready), the controller assumes its own connectivity is at fault: it
  taints no Node NoExecute and removes the NoExecute taints it set, so
  nothing is evicted.  Whenever the zone states change (a Node becomes
  unreachable or Ready again), the unreachable Nodes of the zones whose
  tainting goes on are tainted NoExecute in the same pass.  The Node writes
  of one pass are one step here.
  The same pass marks the Node's pods not Ready (MarkPodsNotReady), so that
  their Services and Deployments stop counting them available.
* Heartbeats resume, in two steps as upstream (kubernetes issue 112930):
  `mark_ready`, the kubelet posts Ready=True and the Node update event's
  doNoScheduleTaintingPass (doNodeProcessingPassWorker) removes the
  unreachable NoSchedule taint at once; then `mark_reachable`, the next
  monitorNodeHealth pass (processTaintBaseEviction with Ready=True:
  markNodeAsReachable) removes the unreachable NoExecute taint, up to
  node-monitor-period (5 s) later.  In between, the scheduler may bind a
  pod there that tolerates the NoExecute taint for a while (the scheduler's
  TaintToleration filter ignores tolerationSeconds), and a pod whose
  toleration is 0 s is evicted at once.  (Going down, the Ready=Unknown
  write and the NoSchedule taint stay one step: nothing reads the Node in
  between that would act differently.)
* Taint eviction: the taint-eviction controller, its scheduled evictions
  and their timers, is model/components/tainteviction.py; a pod's
  tolerationSeconds (the DefaultTolerationSeconds admission,
  model/components/apiserver.py, gives every pod without one 300 s for
  not-ready and unreachable) delay its deletion.

Not modelled: the timing of the eviction rate limits (--node-eviction-rate:
a rate above 0 only spreads the taints out in time), the not-ready (as
opposed to unreachable) condition.  The out-of-service taint a user applies
(non-graceful node shutdown) is PodGC's to act on (model/components/podgc.py).
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import Node, Taint, evolve
from ..state import ClusterState
from . import apiserver, leaderelection, tainteviction

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


ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
BETA_ZONE = "failure-domain.beta.kubernetes.io/zone"
BETA_REGION = "failure-domain.beta.kubernetes.io/region"
NORMAL, PARTIAL, FULL = "Normal", "PartialDisruption", "FullDisruption"


def zone_key(node: Node) -> tuple:
    """utilnode.GetZoneKey: the Node's region and zone (the GA labels, else the beta ones)."""
    labels = dict(node.meta.labels)
    return (labels.get(REGION) or labels.get(BETA_REGION, ""), labels.get(ZONE) or labels.get(BETA_ZONE, ""))


def zone_state(nodes, threshold: float) -> str:
    """ComputeZoneState over one zone's Nodes."""
    not_ready = sum(1 for n in nodes if n.ready != "True")
    if not_ready and not_ready == len(nodes):
        return FULL
    if not_ready > 2 and not_ready / len(nodes) >= threshold:
        return PARTIAL
    return NORMAL


def tainting_zones(nodes, policy) -> set:
    """The zones whose NoExecute tainting goes on (at a rate above 0), given the Nodes' Ready conditions: none
    when every zone is fully disrupted (handleDisruption stops everything), else every zone but the partially
    disrupted ones of at most largeClusterSizeThreshold Nodes (ReducedQPSFunc: rate 0), or all partially
    disrupted ones too when the secondary rate is 0."""
    if full_disruption(nodes):
        return set()
    zones: dict = {}
    for n in nodes:
        zones.setdefault(zone_key(n), []).append(n)
    out = set()
    for key, members in zones.items():
        if zone_state(members, policy.unhealthy_zone_threshold) != PARTIAL or (
                len(members) > policy.large_cluster_size_threshold and policy.secondary_node_eviction_rate > 0):
            out.add(key)
    return out


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
            s = apiserver.update(s, evolve(p, ready=False, ready_long=False), p.meta.resource_version, spec_changed=False)
            if s is None:
                return None
    return s


def _pass(view_nodes, conditions: dict, policy, split: bool = False) -> list:
    """One monitor pass's Node writes, as (old, new) pairs: each Node in `conditions` gets that Ready status
    (Unknown: tainted unreachable NoSchedule; True: its unreachable NoSchedule taint removed), then the NoExecute taints
    follow the zone states: added to the unreachable Nodes of the zones whose tainting goes on, removed from
    every Node when all zones are fully disrupted."""
    after = [evolve(n, ready=conditions[n.meta.name]) if n.meta.name in conditions else n for n in view_nodes]
    full = full_disruption(after)
    tainting = tainting_zones(after, policy)
    changed = []
    for old, new in zip(view_nodes, after):
        if new.ready == "True":
            # doNoScheduleTaintingPass drops the NoSchedule taint at once; the NoExecute one waits for
            # monitorNodeHealth's markNodeAsReachable (`mark_reachable`): kubernetes issue 112930.  Without
            # `split`, both go in one step (the window between them abstracted).
            gone = (NO_SCHEDULE,) if split else UNREACHABLE_TAINTS
            new = _with_taints(new, drop=gone) if old.meta.name in conditions else new
        else:
            add = (NO_SCHEDULE,) if old.meta.name in conditions else ()
            if full:
                new = _with_taints(new, add=add, drop=(NO_EXECUTE,))
            elif zone_key(new) in tainting:
                new = _with_taints(new, add=add + (NO_EXECUTE,))
            else:
                new = _with_taints(new, add=add)
        if new != old:
            changed.append((old, new))
    return changed


def mark_unreachable(policy):
    def mark_unreachable(s: ClusterState) -> Iterator:
        """A monitor pass finds Nodes whose heartbeats have stopped for the grace period: Ready=Unknown, tainted
        unreachable NoSchedule, and NoExecute where their zone's tainting goes on (none anywhere if every Node
        is now unready: full-disruption mode; none in a partially disrupted small zone), their pods marked not
        Ready."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            due = [n for n in view.nodes if n.ready == "True" and not heartbeats(s, n.meta.name)]
            if not due:
                continue
            names = {n.meta.name for n in due}
            changed = _pass(view.nodes, {name: "Unknown" for name in names}, policy)
            full = full_disruption([evolve(n, ready="Unknown") if n.meta.name in names else n for n in view.nodes])
            nxt = _write_nodes(s, changed)
            for name in sorted(names):
                if nxt is not None:
                    nxt = mark_pods_not_ready(nxt, name)
            if nxt is not None:
                yield (label("nodelifecycle", "mark_unreachable", (("nodes", ",".join(sorted(names))),) + by,
                             (("mode", "full-disruption"),) if full else ()), nxt)
    return mark_unreachable


def mark_ready(policy, split: bool = False):
    def mark_ready(s: ClusterState) -> Iterator:
        """A Node's heartbeats are back: the kubelet posts Ready=True and the NoSchedule pass removes the
        unreachable NoSchedule taint (the NoExecute one stays until `mark_reachable`); the Nodes still
        unreachable are tainted NoExecute where their zone's tainting resumes (leaving full-disruption mode, or
        a zone no longer partially disrupted)."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for node in view.nodes:
                if node.ready == "True" or not heartbeats(s, node.meta.name):
                    continue
                nxt = _write_nodes(s, _pass(view.nodes, {node.meta.name: "True"}, policy, split))
                if nxt is not None:
                    yield label("nodelifecycle", "mark_ready", (("node", node.meta.name),) + by), nxt
    return mark_ready


def mark_reachable(s: ClusterState) -> Iterator:
    """A monitor pass finds a Node Ready again that still has the unreachable NoExecute taint
    (processTaintBaseEviction, markNodeAsReachable): the taint is removed."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for node in view.nodes:
            if node.ready == "True" and NO_EXECUTE in node.taints:
                nxt = _write_nodes(s, [(node, _with_taints(node, drop=(NO_EXECUTE,)))])
                if nxt is not None:
                    yield label("nodelifecycle", "mark_reachable", (("node", node.meta.name),) + by), nxt


def rules(policy=None, cancels_tolerated: bool = True, timers: bool = True) -> List[Rule]:
    """`policy`: the scenario's NodeLifecycle flags (model/scenario.py; the defaults where None);
    `cancels_tolerated`: the taint-eviction controller's behaviour (model/components/tainteviction.py);
    `timers`: its scheduled evictions and, with them, the two-pass return to Ready (kubernetes 112930), else
    one eviction step once due and one pass (`behaviour.taintEvictionTimers`)."""
    if policy is None:
        from ..scenario import NodeLifecycle
        policy = NodeLifecycle()
    unreachable, ready = mark_unreachable(policy), mark_ready(policy, split=timers)
    out = [Rule("nodelifecycle.mark_unreachable", unreachable, doc=unreachable.__doc__),
           Rule("nodelifecycle.mark_ready", ready, doc=ready.__doc__)]
    if timers:
        out.append(Rule("nodelifecycle.mark_reachable", mark_reachable, doc=mark_reachable.__doc__))
    return out + tainteviction.rules(cancels_tolerated, timers)


def taint_eviction_rules(cancels_tolerated: bool = True, timers: bool = True) -> List[Rule]:
    """The taint-eviction controller alone, where no fault stops heartbeats but a user taints a Node NoExecute."""
    return tainteviction.rules(cancels_tolerated, timers)
