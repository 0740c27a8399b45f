"""Deployment (apps/v1): ReplicaSets rolled from one pod template to the next (model/components/
deployment.py).  Modelled: replicas, selector, template, strategy (RollingUpdate with maxSurge and
maxUnavailable, Recreate).  Not modelled: paused, minReadySeconds (warned)."""

from __future__ import annotations

from ..objects import Deployment, RollingUpdate
from . import Kind
from .common import policy
from .manifest import MODELLED, inert, modelled, unmodelled, short
from .workload import SELECTOR, TEMPLATE, head, template

_POLICY = policy(spec=modelled({
    "replicas": MODELLED, "selector": SELECTOR, "template": TEMPLATE,
    "strategy": modelled({"type": MODELLED, "rollingUpdate": modelled({"maxSurge": MODELLED,
                                                                         "maxUnavailable": MODELLED})}),
    "revisionHistoryLimit": inert("old ReplicaSets of no pods are kept or cleaned up: no property counts them"),
    "progressDeadlineSeconds": inert("time is not modelled: the Progressing condition only reports, the "
                                     "controller acts the same"),
    "paused": unmodelled("deployment-converges", "stable-reconciliation", "rollout-within-surge",
                         "rollout-availability", reason="a paused Deployment does not roll out"),
    "minReadySeconds": unmodelled("deployment-converges", "rollout-availability", "rollout-status-current",
                                  reason="pods are available as soon as they are Ready"),
}))


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
    return Deployment(meta=m, replicas=n, selector=sel, template=t, strategy=stype, rolling=rolling)


def pod_groups(o, nodes):
    return [(f"Deployment {o.meta.key}", o.template.spec, o.replicas, o.template.labels)]


def encode(o, rec) -> None:
    rec["replicas"] = o.replicas
    rec["generation"] = o.meta.generation
    rec["image"] = ",".join(c.image for c in o.template.spec.containers)
    st = o.status
    if st.observed_generation:
        rec["status"] = {"observedGeneration": st.observed_generation, "replicas": st.replicas,
                         "updatedReplicas": st.updated_replicas, "availableReplicas": st.available_replicas}


KIND = Kind("Deployment", ("apps/v1",), "deployments", parse=parse, policy=_POLICY, install_order=4,
            spec_fields=("replicas", "selector", "template", "strategy", "rolling"), pod_groups=pod_groups,
            pod_spec=lambda o: o.template.spec, scalable=True, owner=True, status_subresource=True, encode=encode,
            controllers=("deployment", "replicaset"),
            placement=("deployment-converges", "pods-rescheduled-after-node-failure", "n-plus-one-capacity"),
            doc=__doc__)
