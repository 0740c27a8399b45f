"""ReplicaSet (apps/v1): keeps spec.replicas pods of its template (model/components/replicaset.py); a
Deployment's ReplicaSets are its own, one that no Deployment owns asks for its replicas itself."""

from __future__ import annotations

from ..objects import ReplicaSet
from . import Kind
from .common import policy
from .manifest import MODELLED, modelled, unmodelled
from .workload import SELECTOR, TEMPLATE, head, template

_POLICY = policy(spec=modelled({
    "replicas": MODELLED, "selector": SELECTOR, "template": TEMPLATE,
    "minReadySeconds": unmodelled("deployment-converges", reason="pods are available as soon as they are Ready"),
}))


def parse(doc) -> ReplicaSet:
    m, spec, n, sel = head(doc, with_replicas=True)
    return ReplicaSet(meta=m, replicas=n, selector=sel, template=template(doc, spec, sel))


def pod_groups(o, nodes):
    if any(r.kind == "Deployment" for r in o.meta.owner_references):
        return []      # its Deployment asks for these pods
    return [(f"ReplicaSet {o.meta.key}", o.template.spec, o.replicas, o.template.labels)]


def encode(o, rec) -> None:
    rec["replicas"] = o.replicas
    rec["generation"] = o.meta.generation


KIND = Kind("ReplicaSet", ("apps/v1",), "replicasets", parse=parse, policy=_POLICY, install_order=5,
            spec_fields=("replicas", "selector", "template"), pod_groups=pod_groups,
            pod_spec=lambda o: o.template.spec, scalable=True, owner=True, dependent=True, encode=encode,
            controllers=("replicaset",),
            placement=("deployment-converges", "pods-rescheduled-after-node-failure", "n-plus-one-capacity"),
            doc=__doc__)
