"""kube-scheduler: binds each pending pod to a node that passes its filters.

Modelled (pkg/scheduler/framework/plugins): the NodeResourcesFit filter
(requests of the pods assigned to the node, plus this one, within the node's
allocatable cpu, memory and pod count), NodeName/NodeUnschedulable,
NodeAffinity (nodeSelector and required node affinity), InterPodAffinity
(required pod anti-affinity, both ways, by topologyKey), and TaintToleration (every NoSchedule and
NoExecute taint of the node tolerated).  A pod whose `spec.nodeName` is set
skips the scheduler entirely; a pod is only taken by the scheduler named in
its `schedulerName`.  A bind is one write of the pod's nodeName (the Binding
subresource), which fails if nodeName is already set.

Abstracted: scoring.  Any feasible node may be chosen, so every choice the
real scheduler could make is explored, and the choice is the step's outcome,
not part of its fairness instance.  Not yet modelled: the scheduler's
assume-then-bind cache and its loss on restart (one atomic step for now).
"""

from __future__ import annotations

from typing import Dict, Iterator, List


from explorer import Rule, label

from ..objects import Node, Pod, Resources, evolve, labels_match, node_affinity_matches, tolerated
from ..state import ClusterState
from . import apiserver, leaderelection

DEFAULT = "default-scheduler"


def requested_on_nodes(pods) -> Dict[str, Resources]:
    """Requests of the pods assigned to each node that still hold resources there."""
    used: Dict[str, Resources] = {}
    for p in pods:
        n = p.spec.node_name
        if n and p.phase not in ("Succeeded", "Failed"):
            used[n] = used[n] + p.spec.requests if n in used else p.spec.requests
    return used


def untolerated_taints(node: Node, pod: Pod, effects=("NoSchedule", "NoExecute")) -> List[str]:
    return [str(t) for t in node.taints if t.effect in effects and not tolerated(pod.spec.tolerations, t)]


def anti_affinity_conflict(node: Node, pod: Pod, nodes, pods) -> bool:
    """InterPodAffinity filter, required anti-affinity both ways: a pod already assigned in the same
    topology domain (same value of the term's topologyKey) matches the pod's term, or the pod matches
    an assigned pod's term."""
    labels_of = {n.meta.name: dict(n.meta.labels) for n in nodes}
    here = dict(node.meta.labels)
    for other in pods:
        m = other.spec.node_name
        if not m or other.phase in ("Succeeded", "Failed") or other.meta.uid == pod.meta.uid or m not in labels_of:
            continue
        for term, subject, target in [(t, other, pod) for t in pod.spec.anti_affinity] + \
                                     [(t, pod, other) for t in other.spec.anti_affinity]:
            key = term.topology_key
            if key in here and labels_of[m].get(key) == here[key] and labels_match(term.selector, subject.meta.labels):
                if target.meta.namespace == subject.meta.namespace:
                    return True
    return False


def feasible(node: Node, pod: Pod, used: Resources, nodes=(), pods=()) -> bool:
    """Does `node` pass the filters for `pod`, given the requests already on it (and the pods assigned)?"""
    if node.unschedulable or node.meta.deleting:
        return False
    if not labels_match(pod.spec.node_selector, node.meta.labels):
        return False
    if not node_affinity_matches(pod.spec.node_affinity, node.meta.labels):
        return False
    if pod.spec.anti_affinity or any(p.spec.anti_affinity for p in pods):
        if anti_affinity_conflict(node, pod, nodes, pods):
            return False
    if untolerated_taints(node, pod):
        return False
    return (used + pod.spec.requests).fits_in(node.allocatable)


def bind_rule(name: str) -> Rule:
    """The `bind` rule of the scheduler called `name` (its schedulerName)."""

    component = "kube-scheduler" if name == DEFAULT else name  # its Lease's name

    def bind(s: ClusterState) -> Iterator:
        """The scheduler binds a pending pod to a node that passes its filters."""
        for actor, by, view in leaderelection.acting_views(s, component):
            yield from _bind_by(s, by, view)

    def _bind_by(s: ClusterState, by, view) -> Iterator:
        pending = [p for p in view.pods
                   if not p.spec.node_name and not p.meta.deleting and p.phase == "Pending"
                   and p.spec.scheduler_name == name]
        if not pending:
            return
        used = requested_on_nodes(view.pods)
        zero = Resources()
        for pod in pending:
            args = (("pod", pod.meta.key),) + by
            for node in view.nodes:
                if feasible(node, pod, used.get(node.meta.name, zero), view.nodes, view.pods):
                    bound = evolve(pod, spec=evolve(pod.spec, node_name=node.meta.name))
                    nxt = apiserver.update(s, bound, pod.meta.resource_version, spec_changed=False)
                    if nxt is not None:
                        yield label(name, "bind", args, (("node", node.meta.name),)), nxt

    return Rule(f"{name}.bind", bind, fair=True, doc=bind.__doc__)


def rules(scheduler_names=(DEFAULT,)) -> List[Rule]:
    return [bind_rule(n) for n in scheduler_names]
