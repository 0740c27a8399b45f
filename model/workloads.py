"""The pods a cluster's objects ask to run, grouped by template: one source for every question of capacity.

`pod_groups(objects, nodes)` answers "which pods must find room, and how
many of each": `n-plus-one-capacity` asks it of the scenario's objects on the
nodes a failure leaves, and the placement diagnosis of the convergence
properties asks it of the objects in etcd on the machines that are up.  A
kind that makes pods is listed here once, so neither can leave one out (as
DaemonSet pods once were: N+1 held where the agents on the surviving nodes
left no room, and the diagnosis blamed the scheduler's greedy order for a
real shortfall).

* Deployment: spec.replicas of its template (its ReplicaSets' pods are these).
* ReplicaSet that no Deployment owns: spec.replicas.
* Job not finished: as many pods at once as parallelism allows of the
  completions still to go.
* DaemonSet: one pod on each of `nodes` it should run on (NodeShouldRunDaemonPod,
  model/components/daemonset.py), pinned there as its controller pins it.
* Pod that no controller owns and that names no node: itself.

Pods that name their node (`spec.nodeName`) skip the scheduler, and mirror
pods are not modelled; neither is placed here.
"""

from __future__ import annotations

from typing import Iterable, List, Sequence, Tuple

from .objects import Labels, PodSpec

PodGroup = Tuple[str, PodSpec, int, Labels]   # (name, pod spec, count, pod labels)


def pod_groups(objects: Iterable, nodes: Sequence) -> List[PodGroup]:
    """Every group of identical pods `objects` ask to run, DaemonSet pods on `nodes`; groups of 0 left out."""
    from .components.daemonset import new_pod, should_run
    out: List[PodGroup] = []
    for o in objects:
        kind = o.kind
        if kind == "Deployment":
            if not o.meta.deleting:
                out.append((f"Deployment {o.meta.key}", o.template.spec, o.replicas, o.template.labels))
        elif kind == "ReplicaSet":
            if not o.meta.deleting and not any(r.kind == "Deployment" for r in o.meta.owner_references):
                out.append((f"ReplicaSet {o.meta.key}", o.template.spec, o.replicas, o.template.labels))
        elif kind == "Job":
            if not o.meta.deleting and o.condition == "":
                left = max(o.completions - o.succeeded, 0)
                out.append((f"Job {o.meta.key}", o.template.spec, min(o.parallelism, left), o.template.labels))
        elif kind == "DaemonSet":
            if o.meta.deleting:
                continue
            for n in nodes:
                if should_run(o, n):
                    out.append((f"DaemonSet {o.meta.key} pod for {n.meta.name}", new_pod(o, n.meta.name).spec, 1,
                                o.template.labels))
        elif kind == "Pod":
            if not o.spec.node_name and not o.meta.owner_references and not o.meta.deleting \
                    and o.phase not in ("Succeeded", "Failed"):
                out.append((f"Pod {o.meta.key}", o.spec, 1, o.meta.labels))
    return [g for g in out if g[2] > 0]
