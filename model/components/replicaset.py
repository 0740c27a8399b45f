"""The ReplicaSet controller of kube-controller-manager.

Modelled (pkg/controller/replicaset/replica_set.go, manageReplicas): the
controller counts the *active* pods it owns (controller ownerReference with
its uid, labels matching its selector, not terminating, not Succeeded or
Failed) and creates or deletes the difference to spec.replicas.  Each create
or delete is one API call, so one step.  Which pod to delete follows the
first criteria of controller.ActivePodsWithRanks: unassigned before
assigned, Pending before Running, not Ready before Ready; among pods equal on
those, any may be chosen (the outcome of the step).  New pods are named from
generateName `<rs>-`, carry the template's labels and spec, and an owner
reference to the ReplicaSet.

Not yet modelled: expectations, adoption and orphaning of pods by selector,
status (replicas, availableReplicas), burst limits and slow start.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import ObjectMeta, OwnerReference, Pod, ReplicaSet, labels_match
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"


def owned_active_pods(view, rs: ReplicaSet) -> List[Pod]:
    """The active pods that `rs` owns and selects, as the controller sees them."""
    uid = rs.meta.uid
    return [p for p in view.pods
            if p.active and p.meta.namespace == rs.meta.namespace and p.meta.controller_uid() == uid
            and labels_match(rs.selector, p.meta.labels)]


def new_pod(rs: ReplicaSet) -> Pod:
    t = rs.template
    meta = ObjectMeta(namespace=rs.meta.namespace, name="", generate_name=f"{rs.meta.name}-",
                      labels=t.labels,
                      owner_references=(OwnerReference("ReplicaSet", rs.meta.name, rs.meta.uid, True),))
    return Pod(meta=meta, spec=t.spec)


def deletion_rank(p: Pod) -> tuple:
    """Lower ranks are deleted first (the start of controller.ActivePodsWithRanks' order)."""
    return (p.spec.node_name != "", {"Pending": 0, "Unknown": 1, "Running": 2}.get(p.phase, 0), p.ready)


def create_pod(s: ClusterState) -> Iterator:
    """The controller creates a pod for a ReplicaSet that has fewer active pods than spec.replicas."""
    for actor, by in leaderelection.acting(s, CLIENT):
        view = apiserver.view(s, actor)
        if view is None:
            continue
        for rs in view.replicasets:
            if rs.meta.deleting:
                continue
            if len(owned_active_pods(view, rs)) < rs.replicas:
                nxt = apiserver.create(s, new_pod(rs))
                if nxt is not None:
                    yield label("replicaset", "create_pod", (("rs", rs.meta.key),) + by), nxt


def delete_pod(s: ClusterState) -> Iterator:
    """The controller deletes one of the most deletable pods of a ReplicaSet that has too many."""
    for actor, by in leaderelection.acting(s, CLIENT):
        view = apiserver.view(s, actor)
        if view is None:
            continue
        for rs in view.replicasets:
            pods = owned_active_pods(view, rs)
            if len(pods) <= rs.replicas:
                continue
            lowest = min(deletion_rank(p) for p in pods)
            for p in pods:
                if deletion_rank(p) == lowest:
                    nxt = apiserver.delete(s, p)
                    if nxt is not None:
                        yield (label("replicaset", "delete_pod", (("rs", rs.meta.key),) + by, (("pod", p.meta.key),)),
                               nxt)


def rules() -> List[Rule]:
    return [Rule("replicaset.create_pod", create_pod, doc=create_pod.__doc__),
            Rule("replicaset.delete_pod", delete_pod, doc=delete_pod.__doc__)]
