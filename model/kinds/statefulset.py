"""StatefulSet (apps/v1): spec.replicas pods of its template, each with a stable identity: the name
`<set>-<ordinal>`, ordinals 0..replicas-1, created in order and replaced under the same name
(model/components/statefulset.py).  Modelled: replicas, selector, template, serviceName,
podManagementPolicy (OrderedReady, the default, and Parallel), volumeClaimTemplates (a PersistentVolumeClaim
`<template>-<set>-<ordinal>` per pod and template, created before the pod and kept: model/kinds/
persistentvolumeclaim.py, model/components/attachdetach.py), updateStrategy (RollingUpdate, the default,
with rollingUpdate.partition, and OnDelete: the rolling update of a new template by ordinal, highest first;
the pods' revisions as the label controller-revision-hash, status.currentRevision and updateRevision).  Not
modelled, warned with the properties they may change: persistentVolumeClaimRetentionPolicy (the default,
Retain, is what the model does: the claims stay), rollingUpdate.maxUnavailable (only under the MaxUnavailableStatefulSet
feature gate: the model updates one pod at a time, as without it), minReadySeconds, ordinals.start.
"""

from __future__ import annotations

from ..objects import StatefulSet
from . import Kind
from .common import policy
from .manifest import MODELLED, inert, modelled, short, unmodelled
from .workload import SELECTOR, TEMPLATE, head, template
from . import persistentvolumeclaim as pvc

CONVERGES = ("statefulset-converges", "stable-reconciliation")
_POLICY = policy(spec=modelled({
    "replicas": MODELLED, "selector": SELECTOR, "template": TEMPLATE, "serviceName": MODELLED,
    "podManagementPolicy": MODELLED,
    "volumeClaimTemplates": modelled({"apiVersion": MODELLED, "kind": MODELLED,
                                      "metadata": modelled({"name": MODELLED, "*": inert(
                                          "the claims' labels and annotations: no property reads them")}),
                                      "spec": pvc.SPEC, "status": inert("set by the apiserver")}, items=True),
    "persistentVolumeClaimRetentionPolicy": unmodelled("garbage-collected", "stable-reconciliation",
                                                       reason="Delete (whenDeleted, whenScaled) is not "
                                                              "modelled: the claims are kept, as Retain does"),
    "updateStrategy": modelled({"type": MODELLED, "rollingUpdate": modelled({
        "partition": MODELLED,
        "maxUnavailable": unmodelled(*CONVERGES, reason="honoured only under the MaxUnavailableStatefulSet "
                                                        "feature gate: the model updates one pod at a time")})}),
    "revisionHistoryLimit": inert("old ControllerRevisions: no property counts them"),
    "minReadySeconds": unmodelled(*CONVERGES, reason="pods are available as soon as they are Ready"),
    "ordinals": unmodelled(*CONVERGES, reason="ordinals start at 0"),
}))
POLICIES = ("OrderedReady", "Parallel")
STRATEGIES = ("RollingUpdate", "OnDelete")


def parse(doc) -> StatefulSet:
    m, spec, n, sel = head(doc, with_replicas=True)
    t = template(doc, spec, sel)
    service = doc.get(spec, "serviceName", "spec", str, "")
    management = doc.get(spec, "podManagementPolicy", "spec", str, "OrderedReady")
    if management not in POLICIES:
        raise doc.error("spec.podManagementPolicy", f"expected OrderedReady or Parallel, got {short(management)}")
    if t.spec.restart_policy != "Always":
        raise doc.error("spec.template.spec.restartPolicy", "a StatefulSet's pods need restartPolicy Always")
    strategy, partition = update_strategy(doc, spec)
    return StatefulSet(meta=m, replicas=n, selector=sel, template=t, service_name=service, pod_management=management,
                       update_strategy=strategy, partition=partition, claim_templates=claim_templates(doc, spec))


def claim_templates(doc, spec) -> tuple:
    """spec.volumeClaimTemplates: (name, accessModes) of each, by name (ValidateStatefulSetSpec: names unique;
    each claim's spec as a PersistentVolumeClaim's)."""
    out = {}
    for i, t in enumerate(doc.get(spec, "volumeClaimTemplates", "spec", list, [])):
        fpath = f"spec.volumeClaimTemplates[{i}]"
        if not isinstance(t, dict):
            raise doc.error(fpath, f"expected a mapping, got {short(t)}")
        name = doc.get(doc.get(t, "metadata", fpath, dict, required=True), "name", f"{fpath}.metadata", str, "")
        if not name:
            raise doc.error(f"{fpath}.metadata.name", "a volumeClaimTemplate needs a name")
        if name in out:
            raise doc.error(f"{fpath}.metadata.name", f"duplicate volumeClaimTemplate {short(name)}")
        out[name] = pvc.access_modes(doc, doc.get(t, "spec", fpath, dict, required=True), f"{fpath}.spec")
    return tuple(sorted(out.items()))


def update_strategy(doc, spec):
    """spec.updateStrategy as the apiserver defaults and validates it (pkg/apis/apps/v1/defaults.go
    SetDefaults_StatefulSet, validation.go ValidateStatefulSetUpdateStrategy): the type defaults to
    RollingUpdate with rollingUpdate {partition: 0}; an explicit RollingUpdate without rollingUpdate keeps
    none (partition None: newVersionedStatefulSetPod then reads status.currentReplicas); rollingUpdate only
    with RollingUpdate; partition 0 or more."""
    us = doc.get(spec, "updateStrategy", "spec", dict, {})
    kind = doc.get(us, "type", "spec.updateStrategy", str, "")
    if kind not in ("",) + STRATEGIES:
        raise doc.error("spec.updateStrategy.type", f"expected RollingUpdate or OnDelete, got {short(kind)}")
    if "rollingUpdate" in us and kind == "OnDelete":
        raise doc.error("spec.updateStrategy.rollingUpdate", "only allowed for updateStrategy type RollingUpdate")
    if kind == "OnDelete":
        return "OnDelete", None
    if "rollingUpdate" not in us:
        return "RollingUpdate", (0 if kind == "" else None)
    ru = doc.get(us, "rollingUpdate", "spec.updateStrategy", dict, {})
    partition = doc.get(ru, "partition", "spec.updateStrategy.rollingUpdate", int, 0)
    if partition < 0:
        raise doc.error("spec.updateStrategy.rollingUpdate.partition", f"must be 0 or more, got {partition}")
    return "RollingUpdate", partition


def pod_groups(o, nodes):
    return [(f"StatefulSet {o.meta.key}", o.template.spec, o.replicas, o.template.labels)]


def encode(o, rec) -> None:
    rec["replicas"] = o.replicas
    rec["podManagementPolicy"] = o.pod_management
    rec["generation"] = o.meta.generation
    if (o.update_strategy, o.partition) != ("RollingUpdate", 0):
        rec["updateStrategy"] = o.update_strategy + ("" if o.partition is None else f" partition {o.partition}")
    if o.status.update_revision or o.status.current_revision:
        rec["status"] = {"currentRevision": o.status.current_revision, "updateRevision": o.status.update_revision}


KIND = Kind("StatefulSet", ("apps/v1",), "statefulsets", parse=parse, policy=_POLICY, install_order=6.5,
            spec_fields=("replicas", "selector", "template", "service_name", "pod_management",
                         "update_strategy", "partition"),
            pod_groups=pod_groups, pod_spec=lambda o: o.template.spec, scalable=True, owner=True, encode=encode,
            status_subresource=True,
            controllers=("statefulset",), placement=("statefulset-converges", "n-plus-one-capacity"), doc=__doc__)
