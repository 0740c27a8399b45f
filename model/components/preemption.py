"""kube-scheduler's DefaultPreemption: a pending pod that fits nowhere makes room by deleting lower-priority pods.

Follows pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go
and pkg/scheduler/framework/preemption/preemption.go (read at v1.34-1.36):

* Eligibility (PodEligibleToPreemptOthers): not with preemptionPolicy Never;
  not while a pod on its nominated node, of lower priority, is terminating
  by preemption (DisruptionTarget, reason PreemptionByScheduler; the model
  keeps it as the pod's `reason`), unless that node is now unresolvable.
* Candidate nodes: those whose filter failure preemption can resolve
  (Unschedulable): too little room where the request is within allocatable,
  host ports, anti-affinity, topology skew.  Not those failing node
  affinity, nodeSelector, taints, cordoning, required pod affinity, a
  missing topology label, or a request beyond the node's allocatable
  (UnschedulableAndUnresolvable).
* SelectVictimsOnNode: every pod there of strictly lower priority is
  removed; if the preemptor then fits, they are reprieved one by one, most
  important first (higher priority; then earlier start, here creation
  order), each kept if the preemptor still fits without it.  Preemption
  does not consult PodDisruptionBudgets here (upstream reprieves the
  victims whose budget would be violated first), so no victim is
  "violating".
* pickOneNodeForPreemption: fewest PDB violations (none here), then the
  lowest highest-priority victim, the smallest sum of priorities, the fewest
  victims; the start-time criterion is abstracted, and the candidates still
  tied are each explored (upstream takes the first of a map's random order).
  Exploring every node is exact up to 100 nodes (MinCandidateNodesAbsolute);
  beyond, upstream samples, which the model does not.
* prepareCandidate: each victim not already terminating gets the
  DisruptionTarget condition and is deleted gracefully; lower-priority pods
  nominated to the node lose their nomination; the preemptor's
  status.nominatedNodeName is set.  It is not bound in the same cycle: it
  waits, and binds once a node fits (its nominated node alone, when that one
  passes the filters).  Meanwhile other pods' filters count the pods
  nominated to a node with priority at least theirs (RunFilterPluginsWith
  NominatedPods).

One preemption (its victims' deletions and the nomination) is one step.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ..objects import Node, Pod, evolve
from . import apiserver

PREEMPTED = "PreemptionByScheduler"


def unresolvable(why: str, node: Node, pod: Pod) -> bool:
    """Whether the filter failure `why` (filter_failure's words) is UnschedulableAndUnresolvable."""
    if why.startswith("Insufficient") or why == "Too many pods":
        # NodeResourcesFit: unresolvable when the request alone exceeds the node's allocatable.
        return pod.spec.requests.short_of(node.allocatable) is not None
    return not (why.startswith("node(s) didn't have free ports") or "anti-affinity" in why
                or why == "node(s) didn't match pod topology spread constraints")


def _terminating_by_preemption(p: Pod) -> bool:
    return p.meta.deleting and p.reason == PREEMPTED


def eligible(pod: Pod, nodes, pods, failure_on_nominated: Optional[str]) -> bool:
    """PodEligibleToPreemptOthers."""
    if not pod.spec.preempts:
        return False
    if pod.nominated:
        node = next((n for n in nodes if n.meta.name == pod.nominated), None)
        if node is not None and failure_on_nominated is not None and unresolvable(failure_on_nominated, node, pod):
            return True
        for p in pods:
            if (p.spec.node_name == pod.nominated and p.spec.priority < pod.spec.priority
                    and _terminating_by_preemption(p)):
                return False
    return True


def victims_on(node: Node, pod: Pod, nodes, pods, fits) -> Optional[List[Pod]]:
    """SelectVictimsOnNode: the pods to delete so that `pod` fits `node`, or None where none would do.
    `fits(node, pod, pods)` runs the filters against the pods given."""
    name = node.meta.name
    potential = [p for p in pods if p.spec.node_name == name and p.phase not in ("Succeeded", "Failed")
                 and p.spec.priority < pod.spec.priority]
    if not potential:
        return None
    gone = {p.meta.uid for p in potential}
    rest = [p for p in pods if p.meta.uid not in gone]
    if not fits(node, pod, rest):
        return None
    victims = []
    for p in sorted(potential, key=lambda v: (-v.spec.priority, v.meta.uid)):   # MoreImportantPod first
        if fits(node, pod, rest + [p]):
            rest.append(p)          # reprieved
        else:
            victims.append(p)
    return victims


def best_candidates(candidates: List[Tuple[Node, List[Pod]]]) -> List[Tuple[Node, List[Pod]]]:
    """pickOneNodeForPreemption's criteria (PDB violations, start time abstracted); the ties that remain."""
    def key(c):
        victims = c[1]
        return (max(v.spec.priority for v in victims), sum(v.spec.priority for v in victims), len(victims))
    if not candidates:
        return []
    low = min(key(c) for c in candidates)
    return [c for c in candidates if key(c) == low]


def preempt(s, pod: Pod, node: Node, victims: List[Pod], view_pods) -> Optional[object]:
    """prepareCandidate, then the nomination: one step's next state, or None where a write fails."""
    nxt = s
    for v in victims:
        cur = nxt.store.by_uid("Pod", v.meta.uid)
        if cur is None or cur.meta.deleting:
            continue       # gone, or already terminating: left alone
        marked = evolve(cur, reason=PREEMPTED)
        nxt = apiserver.update(nxt, marked, cur.meta.resource_version, spec_changed=False)
        if nxt is None:
            return None
        nxt = apiserver.delete(nxt, nxt.store.by_uid("Pod", v.meta.uid))
        if nxt is None:
            return None
    for p in view_pods:     # lower-priority pods nominated to the node lose their nomination
        if p.nominated == node.meta.name and p.spec.priority < pod.spec.priority and p.meta.uid != pod.meta.uid:
            cur = nxt.store.by_uid("Pod", p.meta.uid)
            if cur is not None and cur.nominated:
                nxt = apiserver.update(nxt, evolve(cur, nominated=""), cur.meta.resource_version, spec_changed=False)
                if nxt is None:
                    return None
    cur = nxt.store.by_uid("Pod", pod.meta.uid)
    if cur is None:
        return None
    if cur.nominated != node.meta.name:
        nxt = apiserver.update(nxt, evolve(cur, nominated=node.meta.name), cur.meta.resource_version,
                               spec_changed=False)
    return nxt


def nominated_requests(pod: Pod, pods) -> dict:
    """node -> the requests of the pods nominated to it whose priority is at least `pod`'s (other pods'
    filters count them as if placed: RunFilterPluginsWithNominatedPods)."""
    out = {}
    for p in pods:
        if (p.nominated and not p.spec.node_name and p.meta.uid != pod.meta.uid and not p.meta.deleting
                and p.spec.priority >= pod.spec.priority):
            out[p.nominated] = out[p.nominated] + p.spec.requests if p.nominated in out else p.spec.requests
    return out


def steps(s, name: str, args, by, nodes, pods, pod: Pod, label, filter_failure) -> Iterator:
    """The preemption steps of scheduler `name` for `pod`, which fits no node (DefaultPreemption)."""
    failures = {}
    for n in nodes:
        failures[n.meta.name] = filter_failure(n, pod, pods)
    if not eligible(pod, nodes, pods, failures.get(pod.nominated)):
        return

    def fits(node, p, others):
        return filter_failure(node, p, others) is None

    candidates = []
    for n in nodes:
        why = failures[n.meta.name]
        if why is None or unresolvable(why, n, pod):
            continue
        victims = victims_on(n, pod, nodes, pods, fits)
        if victims:
            candidates.append((n, victims))
    for node, victims in best_candidates(candidates):
        nxt = preempt(s, pod, node, victims, pods)
        if nxt is not None:
            yield label(name, "preempt", args, (("node", node.meta.name),
                                               ("victims", ",".join(v.meta.key for v in victims)))), nxt
