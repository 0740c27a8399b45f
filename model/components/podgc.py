"""PodGC of kube-controller-manager (pkg/controller/podgc/gc_controller.go).

Modelled: terminated (Succeeded or Failed) pods without finalizers are
deleted.  Upstream this only happens above terminated-pod-gc-threshold
(12,500 pods); the threshold is abstracted away, as if the cluster were at
it, so that every terminated pod may be collected (weakly fair).  Terminated
pods of ReplicaSets, which nothing counts, are collected by the canonical
form directly (model/canonical.py); this rule covers the others, whose
removal some controller may notice (Jobs).  Bare pods are kept.

Orphaned pods (gcOrphaned): a pod bound to a Node that no longer exists
(the cloud-controller-manager deleted it with its VM) is force-deleted, after
a 40 s quarantine that the weakly fair step abstracts.

Terminating pods on out-of-service Nodes (gcTerminating, the non-graceful
node shutdown of 1.28): a pod being deleted whose Node is not Ready and has a
taint with the key `node.kubernetes.io/out-of-service` (any value and effect,
taints.TaintKeyExists) is marked Failed, unless already terminated, and
force-deleted (markFailedAndDeletePod: a status patch, then a delete with
grace 0 by name; one step here).  This is what lets a StatefulSet replace a
pod stuck Terminating on a Node that is shut down: the user applies the taint
once the machine is known to be off (a pod whose containers still run there,
on a Node only cut off, then runs twice).  Composed where some Node, in the
manifests or a change, has that taint.  Not modelled: gcUnscheduledTerminating
(an unbound pod is deleted at once by the apiserver, so none is left
terminating), the DisruptionTarget condition (no component reads it).
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"


def collect_terminated(s: ClusterState) -> Iterator:
    """PodGC deletes a terminated pod that has no finalizers left."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for p in view.pods:
            if p.phase in ("Succeeded", "Failed") and not p.meta.finalizers and p.meta.owner_references:
                live = s.store.by_uid("Pod", p.meta.uid)
                if live is None or live.meta.finalizers:
                    continue
                nxt = apiserver.delete(s, live, grace=False)
                if nxt is not None:
                    yield label("podgc", "collect_terminated", (("pod", p.meta.key),) + by), nxt


def collect_orphaned(s: ClusterState) -> Iterator:
    """PodGC force-deletes a pod bound to a Node that no longer exists."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        nodes = {n.meta.name for n in view.nodes}
        for p in view.pods:
            if p.spec.node_name and p.spec.node_name not in nodes:
                live = s.store.by_uid("Pod", p.meta.uid)
                if live is None:
                    continue
                nxt = apiserver.delete(s, live, grace=False)
                if nxt is not None:
                    yield label("podgc", "collect_orphaned", (("pod", p.meta.key),) + by), nxt


OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"   # v1.TaintNodeOutOfService


def out_of_service(node) -> bool:
    """taints.TaintKeyExists(node.Spec.Taints, v1.TaintNodeOutOfService)."""
    return any(t.key == OUT_OF_SERVICE for t in node.taints)


def collect_terminating(s: ClusterState) -> Iterator:
    """PodGC marks Failed and force-deletes a terminating pod whose Node is not Ready and tainted out-of-service."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        nodes = {n.meta.name: n for n in view.nodes}
        for p in view.pods:
            node = nodes.get(p.spec.node_name)
            if not p.meta.deleting or node is None or node.ready == "True" or not out_of_service(node):
                continue
            live = s.store.get("Pod", p.meta.namespace, p.meta.name)
            if live is None or live.meta.uid != p.meta.uid:
                continue   # PatchPodStatus carries the pod's uid as a precondition
            nxt = s
            if live.phase not in ("Succeeded", "Failed"):
                nxt = apiserver.update(s, evolve(live, phase="Failed"), live.meta.resource_version, spec_changed=False)
            if nxt is not None:
                cur = nxt.store.get("Pod", p.meta.namespace, p.meta.name)
                nxt = None if cur is None else apiserver.delete(nxt, cur, grace=False)
            if nxt is not None:
                yield label("podgc", "collect_terminating", (("pod", p.meta.key),) + by), nxt


def rules(terminated: bool = True, orphaned: bool = False, terminating: bool = False) -> List[Rule]:
    out = []
    if terminated:
        out.append(Rule("podgc.collect_terminated", collect_terminated, doc=collect_terminated.__doc__))
    if orphaned:
        out.append(Rule("podgc.collect_orphaned", collect_orphaned, doc=collect_orphaned.__doc__))
    if terminating:
        out.append(Rule("podgc.collect_terminating", collect_terminating, doc=collect_terminating.__doc__))
    return out
