"""The taint-eviction controller (kube-controller-manager): scheduled evictions of pods from NoExecute-tainted Nodes.

Follows pkg/controller/tainteviction/taint_eviction.go (NodeUpdated,
PodUpdated, handleNodeUpdate, handlePodUpdate, processPodOnNode,
getMinTolerationTime, deletePodHandler, addConditionAndDeletePod) and
timed_workers.go (TimedWorkerQueue: AddWork, CancelWork, GetWorkerUnsafe).

* Its memory: a TimedWorkerQueue of scheduled evictions, one timer per pod
  (keyed by namespace/name), each with the time it was created and the time
  it fires.  Here: the set of pods due for eviction, per acting controller
  replica (`ClusterState.taint_evictions`, (client, pod uid)).  It is lost
  when the replica crashes or stops leading (kube-controller-manager exits
  when it loses its Lease); the next leader re-derives it from its view, as
  upstream's informers' initial list sends an add event for every Node and
  pod.
* `schedule` (weakly fair): the controller handles the Node and pod updates
  its informers delivered (handleNodeUpdate, handlePodUpdate).  For each pod
  bound to a Node with NoExecute taints (processPodOnNode):
  - a taint it does not tolerate: AddWork to fire now;
  - taints it tolerates, some for tolerationSeconds only: AddWork to fire
    after the least of them (getMinTolerationTime), unless an eviction is
    already scheduled: that one is kept, with its old fire time, however the
    taints changed since (`startTime = scheduledEviction.CreatedAt`: the
    work is not rescheduled while some NoExecute taint remains; a longer
    toleration of a new taint does not postpone it, kubernetes issue 102993
    and the closed PR 103055);
  - taints it tolerates all for ever: CancelWork, since kubernetes PR 93722
    (1.19; issue 90794).  Before it, nothing was done ("Scheduled deletion
    won't be cancelled if already scheduled"), so an eviction scheduled for
    a taint since removed still fired while another NoExecute taint, one the
    pod tolerates for ever, stayed: `behaviour.taintEvictionCancelsTolerated:
    false` models that.
  A Node left with no NoExecute taint cancels the evictions of all its pods
  (handleNodeUpdate's short circuit); a pod deleted (or terminating, or
  finished: the model's abstraction, below) cancels its own.
* `evict` (weakly fair): a scheduled eviction's time has come (time is
  abstract: it may come at any moment after it was scheduled; the fire time
  itself is not kept).  deletePodHandler GETs the pod from the apiserver and
  deletes it (addConditionAndDeletePod: the DisruptionTarget condition, then
  a graceful DELETE) without looking at the Node's taints again.  The pods of
  one Node due at the same time (the same tolerationSeconds, as the default
  300 s) go in one step, the shortest toleration first; a pod whose schedule
  its taints no longer explain (kept by the old behaviour) fires in a step of
  its own.  The timers fire only once the controller has handled the updates
  its view shows (`schedule` not enabled): the handlers take milliseconds,
  a timer fires seconds later, and the race between a timer and an update
  arriving at that very moment is abstracted away.

Abstracted: the fire times (abstract time: a timer may fire before or after
any other step, and no property reads seconds); a Succeeded, Failed or
terminating pod is never due (upstream would send a DELETE that changes
nothing for a terminating pod, and delete a finished one: the model leaves
finished pods to their owners); the per-node sharding of the workers (one
`schedule` step handles every update the view shows); eviction rate limits
(none upstream for taints).  The not-ready (as opposed to unreachable)
taints are not modelled (model/components/nodelifecycle.py).
"""

from __future__ import annotations

from typing import Iterator, List, Optional

from explorer import Rule, label

from ..objects import Node, Pod, evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
# The NoExecute taints the node lifecycle controller sets for a Node's Ready condition.
NODE_CONDITION_TAINTS = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")


def noexecute_taints(node: Node) -> tuple:
    """getNoExecuteTaints: the Node's taints of effect NoExecute."""
    return tuple(t for t in node.taints if t.effect == "NoExecute")


def eviction_seconds(pod: Pod, node: Node) -> Optional[int]:
    """How long `pod` stays on `node` once tainted: 0 with no toleration of a NoExecute taint, the least
    tolerationSeconds of the tolerations it relies on (getMinTolerationTime), or None (for ever, or no
    NoExecute taint)."""
    worst = None
    for t in noexecute_taints(node):
        matching = [tol for tol in pod.spec.tolerations if tol.tolerates(t)]
        if matching and any(tol.seconds is None for tol in matching):
            continue
        secs = min((tol.seconds for tol in matching), default=0)
        worst = secs if worst is None else min(worst, secs)
    return worst


def ready_again(pod: Pod, node: Node) -> bool:
    """The node is Ready again but still has the unreachable (or not-ready) NoExecute taint, which the next
    monitor pass removes within node-monitor-period (5 s, the 112930 window), and only that taint limits how
    long `pod` stays, for some seconds: its timer is taken not to fire before the taint goes."""
    if node.ready != "True" or not eviction_seconds(pod, node):
        return False
    rest = evolve(node, taints=tuple(t for t in node.taints if t.key not in NODE_CONDITION_TAINTS))
    return len(rest.taints) < len(node.taints) and eviction_seconds(pod, rest) is None


def evictable(pod: Pod) -> bool:
    """A pod the controller may still evict: bound, not terminating, not finished."""
    return bool(pod.spec.node_name) and not pod.meta.deleting and pod.phase not in ("Succeeded", "Failed")


def scheduled(s: ClusterState, client: str) -> frozenset:
    """The uids of the pods `client`'s TimedWorkerQueue holds a scheduled eviction for."""
    return frozenset(u for c, u in s.taint_evictions if c == client)


def still_due(pod: Pod, node: Optional[Node], was_due: bool, cancels_tolerated: bool) -> bool:
    """processPodOnNode (and handleNodeUpdate's short circuit): is `pod`, bound to `node` as the controller
    sees it, due for eviction once the controller has handled its update?  A pod whose Node is gone from the
    view keeps what it had (handleNodeUpdate forgets the Node's taints, handlePodUpdate then returns)."""
    if node is None:
        return was_due
    if not noexecute_taints(node):
        return False                  # all NoExecute taints gone: CancelWork
    if ready_again(pod, node):
        return was_due                # its timer cannot fire before the taint goes: nothing to do now
    if eviction_seconds(pod, node) is not None:
        return True                   # AddWork, or the eviction already scheduled is kept
    return was_due and not cancels_tolerated   # tolerated for ever: cancelled since PR 93722


def due_after_updates(view, due: frozenset, cancels_tolerated: bool) -> frozenset:
    """The pods (uids) due for eviction once the controller has handled every update its view shows."""
    nodes = {n.meta.name: n for n in view.nodes}
    return frozenset(p.meta.uid for p in view.pods
                     if evictable(p) and still_due(p, nodes.get(p.spec.node_name), p.meta.uid in due,
                                                   cancels_tolerated))


def _with_due(s: ClusterState, client: str, uids) -> ClusterState:
    rest = [e for e in s.taint_evictions if e[0] != client]
    return evolve(s, taint_evictions=tuple(sorted(rest + [(client, u) for u in uids])))


def _pod_keys(view, uids) -> str:
    keys = sorted(p.meta.key for p in view.pods if p.meta.uid in uids)
    return ",".join(keys) if keys else "-"


def schedule_rule(cancels_tolerated: bool = True) -> Rule:
    def schedule(s: ClusterState) -> Iterator:
        """The taint-eviction controller handles the Node and pod updates it has seen: it schedules the eviction
        of each pod on a NoExecute-tainted Node it does not tolerate for ever (keeping one already scheduled),
        and cancels those of pods whose Node has no NoExecute taint left, that tolerate them all for ever
        (since PR 93722), or that are gone."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            due = scheduled(s, actor)
            after = due_after_updates(view, due, cancels_tolerated)
            if after == due:
                continue
            added, cancelled = after - due, due - after
            out = ()
            if added:
                out += (("scheduled", _pod_keys(view, added)),)
            if cancelled:
                out += (("cancelled", _pod_keys(view, cancelled)),)
            yield label("taint-eviction", "schedule", by, out), _with_due(s, actor, after)

    return Rule("taint-eviction.schedule", schedule, doc=schedule.__doc__)


def delete_disrupted(s: ClusterState, pod, reason: str):
    """DELETE of a pod that first gets the DisruptionTarget condition of `reason` (addConditionAndDeletePod),
    which a Job's podFailurePolicy may match.  The condition is written with the deletion, as one write: the
    model's writes of one sync are one step."""
    nxt = apiserver.delete(s, pod)
    cur = None if nxt is None else nxt.store.by_uid("Pod", pod.meta.uid)
    if cur is None or cur.disruption:
        return nxt
    pods = tuple(evolve(p, disruption=reason) if p is cur else p for p in nxt.store.pods)
    return evolve(nxt, store=evolve(nxt.store, pods=pods))


def firing_groups(view, store, due: frozenset) -> list:
    """(node, seconds, pods): the scheduled evictions whose time may come next, per Node: those of the least
    tolerationSeconds, and apart those whose taints no longer explain them (seconds None).  The pods are
    those of etcd (deletePodHandler GETs each from the apiserver), still evictable there."""
    nodes = {n.meta.name: n for n in view.nodes}
    per_node: dict = {}
    for p in store.pods:
        if p.meta.uid not in due or not evictable(p):
            continue
        node = nodes.get(p.spec.node_name)
        if node is not None and ready_again(p, node):
            continue
        secs = None if node is None else eviction_seconds(p, node)
        per_node.setdefault(p.spec.node_name, []).append((secs, p))
    out = []
    for name in sorted(per_node):
        timed = [(secs, p) for secs, p in per_node[name] if secs is not None]
        if timed:
            first = min(secs for secs, _ in timed)
            out.append((name, first, [p for secs, p in timed if secs == first]))
        stale = [p for secs, p in per_node[name] if secs is None]
        if stale:
            out.append((name, None, stale))
    return out


def evict_rule(cancels_tolerated: bool = True) -> Rule:
    def evict(s: ClusterState) -> Iterator:
        """A scheduled eviction's time has come: the taint-eviction controller deletes the pod (the pods of one
        Node due together, such as those with the default 300 s, in one step), without looking at the taints
        again."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            due = scheduled(s, actor)
            if not due or due_after_updates(view, due, cancels_tolerated) != due:
                continue        # no timer, or updates not yet handled (they come first: milliseconds)
            for name, secs, pods in firing_groups(view, s.store, due):
                nxt = s
                for p in pods:
                    nxt = delete_disrupted(nxt, p, "DeletionByTaintManager")
                    if nxt is None:
                        break
                if nxt is None:
                    continue
                nxt = _with_due(nxt, actor, due - {p.meta.uid for p in pods})
                when = f"{secs}s" if secs is not None else "an earlier schedule"
                keys = ",".join(sorted(p.meta.key for p in pods))
                yield label("taint-eviction", "evict", (("node", name),) + by, (("after", when), ("pods", keys))), nxt

    return Rule("taint-eviction.evict", evict, doc=evict.__doc__)


def evict_when_due(s: ClusterState) -> Iterator:
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
                    nxt = delete_disrupted(nxt, p, "DeletionByTaintManager")
                    if nxt is None:
                        break
            if nxt is not None:
                yield (label("taint-eviction", "evict", (("node", node.meta.name),) + by,
                             (("after", f"{first}s"),)), nxt)


def rules(cancels_tolerated: bool = True, timers: bool = True) -> List[Rule]:
    """`cancels_tolerated`: a pod that comes to tolerate every NoExecute taint of its Node for ever has its
    scheduled eviction cancelled (since kubernetes PR 93722; `behaviour.taintEvictionCancelsTolerated`).

    Without `timers` (the default of scenarios: `behaviour.taintEvictionTimers`), one step per due eviction,
    decided on the controller's view when it is taken (`evict_when_due`): with today's cancellation rule and
    abstract fire times, a timer that fires is one whose pod its view still shows due (the updates are handled
    first), so the behaviours are the same and the intermediate "scheduled" states are saved."""
    if not timers:
        return [Rule("taint-eviction.evict", evict_when_due, doc=evict_when_due.__doc__)]
    return [schedule_rule(cancels_tolerated), evict_rule(cancels_tolerated)]
