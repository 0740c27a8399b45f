"""Deployment (apps/v1): ReplicaSets rolled from one pod template to the next (model/components/
deployment.py).  Modelled: replicas, selector, template, strategy (RollingUpdate with maxSurge and
maxUnavailable, Recreate), paused (no rollout; scaling still proportional), minReadySeconds (available =
Ready for that long, abstract time), progressDeadlineSeconds (default 600; the Progressing condition's
ProgressDeadlineExceeded, which a `rolloutStatus` wait fails on), revisionHistoryLimit (default 10; older
ReplicaSets of no pods deleted)."""

from __future__ import annotations

from ..objects import Deployment, RollingUpdate
from . import Kind
from .common import policy
from .manifest import MODELLED, modelled, short
from .workload import SELECTOR, TEMPLATE, head, template

_POLICY = policy(spec=modelled({
    "replicas": MODELLED, "selector": SELECTOR, "template": TEMPLATE,
    "strategy": modelled({"type": MODELLED, "rollingUpdate": modelled({"maxSurge": MODELLED,
                                                                         "maxUnavailable": MODELLED})}),
    "revisionHistoryLimit": MODELLED, "progressDeadlineSeconds": MODELLED, "paused": MODELLED,
    "minReadySeconds": MODELLED,
}))
NO_DEADLINE = 2147483647    # math.MaxInt32: HasProgressDeadline is false


def parse(doc) -> Deployment:
    m, spec, n, sel = head(doc, with_replicas=True)
    t = template(doc, spec, sel)
    strat = doc.get(spec, "strategy", "spec", dict, {})
    stype = doc.get(strat, "type", "spec.strategy", str, "RollingUpdate")
    if stype not in ("RollingUpdate", "Recreate"):
        raise doc.error("spec.strategy.type", f"expected RollingUpdate or Recreate, got {short(stype)}")
    ru = doc.get(strat, "rollingUpdate", "spec.strategy", dict, {})
    rolling = RollingUpdate(str(ru.get("maxSurge", "25%")), str(ru.get("maxUnavailable", "25%")))
    for k in ("maxSurge", "maxUnavailable"):
        v = getattr(rolling, "max_surge" if k == "maxSurge" else "max_unavailable")
        if not (v.isdigit() or (v.endswith("%") and v[:-1].isdigit())):
            raise doc.error(f"spec.strategy.rollingUpdate.{k}", f"expected an integer or a percentage, got {short(v)}")
    extra = {}
    for key, attr, lo in (("minReadySeconds", "min_ready_seconds", 0), ("progressDeadlineSeconds",
                          "progress_deadline_seconds", 1), ("revisionHistoryLimit", "revision_history_limit", 0)):
        if key in spec:
            v = doc.get(spec, key, "spec", int)
            if v < lo:
                raise doc.error(f"spec.{key}", f"must be {lo} or more, got {v}")
            extra[attr] = v
    if "paused" in spec:
        extra["paused"] = doc.get(spec, "paused", "spec", bool)
    if "progress_deadline_seconds" in extra and extra["progress_deadline_seconds"] <= extra.get("min_ready_seconds", 0):
        raise doc.error("spec.progressDeadlineSeconds", "must be greater than minReadySeconds")
    return Deployment(meta=m, replicas=n, selector=sel, template=t, strategy=stype, rolling=rolling,
                      applied_replicas="replicas" in spec, **extra)


def pod_groups(o, nodes):
    return [(f"Deployment {o.meta.key}", o.template.spec, o.replicas, o.template.labels)]


def encode(o, rec) -> None:
    rec["replicas"] = o.replicas
    rec["generation"] = o.meta.generation
    rec["image"] = ",".join(c.image for c in o.template.spec.containers)
    if o.paused:
        rec["paused"] = True
    st = o.status
    if st.observed_generation:
        rec["status"] = {"observedGeneration": st.observed_generation, "replicas": st.replicas,
                         "updatedReplicas": st.updated_replicas, "availableReplicas": st.available_replicas}
        if st.timed_out:
            rec["status"]["conditions"] = {"Progressing": "False (ProgressDeadlineExceeded)"}


KIND = Kind("Deployment", ("apps/v1",), "deployments", parse=parse, policy=_POLICY, install_order=4,
            spec_fields=("replicas", "selector", "template", "strategy", "rolling", "paused", "min_ready_seconds",
                         "progress_deadline_seconds", "revision_history_limit", "applied_replicas"), pod_groups=pod_groups,
            pod_spec=lambda o: o.template.spec, scalable=True, owner=True, status_subresource=True, encode=encode,
            controllers=("deployment", "replicaset"),
            placement=("deployment-converges", "pods-rescheduled-after-node-failure", "n-plus-one-capacity"),
            doc=__doc__)
