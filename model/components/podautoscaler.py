"""The horizontal pod autoscaler controller of kube-controller-manager.

Read from pkg/controller/podautoscaler: horizontal.go reconcileAutoscaler
(currentReplicas is the target's scale spec.replicas, read with a live GET
of its scale subresource; autoscaling is off where it is 0 and minReplicas
is not; a count above maxReplicas or below minReplicas is brought back to
the bound; otherwise computeReplicasForMetrics, then
normalizeDesiredReplicasWithBehaviors, then an Update of the scale
subresource only where the count changes), replica_calculator.go
GetResourceReplicas (usageRatio = utilization / target; within the
tolerance, 0.1, the count stays; otherwise ceil(usageRatio x pods)).

Abstracted:
* The metric.  What the pods report is one load level per autoscaler, set
  by the scenario's `load` changes and kept in `ClusterState.marks` as
  `hpa-load:<ns>/<name>=<level>` (target, where none was set): `target`
  means a usage ratio of 1 (within the tolerance: no change), `high` a
  ratio of 2 and `low` a ratio of 1/2, whatever the number of pods (a load
  that follows the pods: a high one stays above the target until
  maxReplicas, a low one below it until minReplicas).  So the desired count
  is min(maxReplicas, 2 x current) under a high load and
  max(minReplicas, ceil(current / 2)) under a low one.  A ratio of 2 is the
  largest step the default scale-up policy allows at once (100% or 4 pods
  per 15 s, the larger), and 1/2 within the default scale-down policy's
  100%: a step of the model is one the real controller may take.
* The timing.  The scale-down stabilization window (300 s by default: a
  count is lowered only to the highest recommendation of the window) and
  the policies' periods are left to the step's weak fairness: it may come
  any time later, and comes.  `behavior` is warned, not read.
* Every pod is taken as reporting its metric and Ready (readyPodCount is
  the current count); unready and missing pods' special treatment in the
  replica calculator is not modelled.
* The autoscaler's status (currentReplicas, desiredReplicas, conditions) is
  not written: nothing the model checks reads it.
"""

from __future__ import annotations

import math
from typing import Iterator, List, Optional

from explorer import Rule, label

from ..objects import evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
LEVELS = ("low", "target", "high")
USAGE_RATIO = {"low": 0.5, "target": 1.0, "high": 2.0}
TOLERANCE = 0.1     # --horizontal-pod-autoscaler-tolerance


def load_mark(key: str, level: str) -> str:
    return f"hpa-load:{key}={level}"


def load_of(s: ClusterState, key: str) -> str:
    """The load level the metrics report for the autoscaler `key` (ns/name): `target` until a change sets one."""
    prefix = f"hpa-load:{key}="
    for m in s.marks:
        if m.startswith(prefix):
            return m[len(prefix):]
    return "target"


def with_load(s: ClusterState, key: str, level: str) -> ClusterState:
    prefix = f"hpa-load:{key}="
    marks = tuple(sorted([m for m in s.marks if not m.startswith(prefix)] + [load_mark(key, level)]))
    return evolve(s, marks=marks)


def metric_replicas(current: int, level: str) -> int:
    """replica_calculator.go GetResourceReplicas: the count stays within the tolerance, else
    ceil(usageRatio x current)."""
    ratio = USAGE_RATIO[level]
    if abs(1.0 - ratio) <= TOLERANCE:
        return current
    return int(math.ceil(ratio * current))


def desired_replicas(hpa, current: int, level: str) -> Optional[int]:
    """horizontal.go reconcileAutoscaler: the count the autoscaler sets, None where it does not act
    (autoscaling is off: the target is scaled to 0 and minReplicas is not 0)."""
    if current == 0 and hpa.min_replicas != 0:
        return None
    if current > hpa.max_replicas:
        return hpa.max_replicas
    if current < hpa.min_replicas:
        return hpa.min_replicas
    return max(hpa.min_replicas, min(hpa.max_replicas, metric_replicas(current, level)))


def reconcile(s: ClusterState) -> Iterator:
    """The autoscaler sets its target's replicas through the scale subresource, from the load its metric reports."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        store = apiserver.quorum_view(s, actor)     # the scale subresource is read with a live GET
        if store is None:
            continue
        for hpa in view.horizontalpodautoscalers:
            if hpa.meta.deleting:
                continue
            target = store.get(hpa.target_kind, hpa.meta.namespace, hpa.target_name)
            if target is None or target.meta.deleting:
                continue
            want = desired_replicas(hpa, target.replicas, load_of(s, hpa.meta.key))
            if want is None or want == target.replicas:
                continue
            nxt = apiserver.update(s, evolve(target, replicas=want), target.meta.resource_version)
            if nxt is not None:
                yield (label("podautoscaler", "scale", (("hpa", hpa.meta.key),) + by,
                             (("replicas", want),)), nxt)


def rules() -> List[Rule]:
    return [Rule("podautoscaler.scale", reconcile, doc=reconcile.__doc__)]
