"""HorizontalPodAutoscaler (autoscaling/v2, and autoscaling/v1): the replicas of a Deployment (or
ReplicaSet, StatefulSet) kept within minReplicas..maxReplicas from a metric (model/components/
podautoscaler.py).  Modelled: scaleTargetRef, minReplicas (default 1), maxReplicas.  The metrics are
abstracted into one load level (low, target, high) that the scenario's `load` changes set: what the metrics
say is not read (noted), how they drive the replica count is the component's.  behavior (stabilization
windows, rate policies) is warned: the model scales by the default policies' largest step."""

from __future__ import annotations

from ..objects import HorizontalPodAutoscaler
from . import Kind
from .common import policy
from .manifest import MODELLED, inert, modelled, short, unmodelled

TARGETS = ("Deployment", "ReplicaSet", "StatefulSet")
_POLICY = policy(spec=modelled({
    "scaleTargetRef": MODELLED, "minReplicas": MODELLED, "maxReplicas": MODELLED,
    "metrics": inert("the metrics' values are the scenario's `load` changes (low, target, high): what a metric "
                     "measures does not change how the autoscaler moves the replicas"),
    "targetCPUUtilizationPercentage": inert("autoscaling/v1's metric: its value is the scenario's `load` changes"),
    "behavior": unmodelled("hpa-within-bounds", "deployment-converges", "n-plus-one-capacity",
                           reason="stabilization windows and rate policies: the model scales by the default "
                                  "policies' step, its timing left to the step's fairness"),
}))


def parse(doc) -> HorizontalPodAutoscaler:
    from .manifest import meta
    m = meta(doc, doc.raw, True)
    spec = doc.get(doc.raw, "spec", "", dict, required=True)
    ref = doc.get(spec, "scaleTargetRef", "spec", dict, required=True)
    kind = doc.get(ref, "kind", "spec.scaleTargetRef", str, required=True)
    if kind not in TARGETS:
        raise doc.error("spec.scaleTargetRef.kind", f"expected {', '.join(TARGETS)} (the scalable kinds modelled), "
                                                    f"got {short(kind)}")
    name = doc.get(ref, "name", "spec.scaleTargetRef", str, required=True)
    lo = doc.get(spec, "minReplicas", "spec", int, 1)
    hi = doc.get(spec, "maxReplicas", "spec", int, required=True)
    if lo < 1:
        raise doc.error("spec.minReplicas", f"must be 1 or more, got {lo}")
    if hi < lo:
        raise doc.error("spec.maxReplicas", f"must be at least minReplicas ({lo}), got {hi}")
    return HorizontalPodAutoscaler(meta=m, target_kind=kind, target_name=name, min_replicas=lo, max_replicas=hi)


def encode(o, rec) -> None:
    rec["scaleTargetRef"] = f"{o.target_kind}/{o.target_name}"
    rec["minReplicas"], rec["maxReplicas"] = o.min_replicas, o.max_replicas


KIND = Kind("HorizontalPodAutoscaler", ("autoscaling/v2", "autoscaling/v1"), "horizontalpodautoscalers",
            parse=parse, policy=_POLICY, install_order=8,
            spec_fields=("target_kind", "target_name", "min_replicas", "max_replicas"), status_subresource=True,
            encode=encode, controllers=("podautoscaler",), doc=__doc__)
