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
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

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


def rules(terminated: bool = True, orphaned: bool = False) -> List[Rule]:
    out = []
    if terminated:
        out.append(Rule("podgc.collect_terminated", collect_terminated, doc=collect_terminated.__doc__))
    if orphaned:
        out.append(Rule("podgc.collect_orphaned", collect_orphaned, doc=collect_orphaned.__doc__))
    return out
