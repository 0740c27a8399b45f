"""StatefulSet (apps/v1): spec.replicas pods of its template, each with a stable identity: the name
`<set>-<ordinal>`, ordinals 0..replicas-1, created in order and replaced under the same name
(model/components/statefulset.py).  Modelled: replicas, selector, template, serviceName,
podManagementPolicy (OrderedReady, the default, and Parallel).  Not modelled, warned with the properties they
may change: volumeClaimTemplates (and persistentVolumeClaimRetentionPolicy), updateStrategy (rolling updates,
partition, ControllerRevisions: pods keep the template they were made with), minReadySeconds, ordinals.start.
"""

from __future__ import annotations

from ..objects import StatefulSet
from . import Kind
from .common import policy
from .manifest import MODELLED, inert, modelled, short, unmodelled
from .workload import SELECTOR, TEMPLATE, head, template

CONVERGES = ("statefulset-converges", "stable-reconciliation")
_POLICY = policy(spec=modelled({
    "replicas": MODELLED, "selector": SELECTOR, "template": TEMPLATE, "serviceName": MODELLED,
    "podManagementPolicy": MODELLED,
    "volumeClaimTemplates": unmodelled(*CONVERGES, "n-plus-one-capacity",
                                       reason="a PersistentVolumeClaim per pod: volume binding, zones and attachment "
                                              "are not modelled"),
    "persistentVolumeClaimRetentionPolicy": unmodelled("garbage-collected", "stable-reconciliation",
                                                       reason="PersistentVolumeClaims are not modelled"),
    "updateStrategy": unmodelled(*CONVERGES, reason="rolling updates of a new template (ControllerRevisions, "
                                                    "partition, maxUnavailable): pods keep the template they were "
                                                    "made with"),
    "revisionHistoryLimit": inert("old ControllerRevisions: no property counts them"),
    "minReadySeconds": unmodelled(*CONVERGES, reason="pods are available as soon as they are Ready"),
    "ordinals": unmodelled(*CONVERGES, reason="ordinals start at 0"),
}))
POLICIES = ("OrderedReady", "Parallel")


def parse(doc) -> StatefulSet:
    m, spec, n, sel = head(doc, with_replicas=True)
    t = template(doc, spec, sel)
    service = doc.get(spec, "serviceName", "spec", str, "")
    management = doc.get(spec, "podManagementPolicy", "spec", str, "OrderedReady")
    if management not in POLICIES:
        raise doc.error("spec.podManagementPolicy", f"expected OrderedReady or Parallel, got {short(management)}")
    if t.spec.restart_policy != "Always":
        raise doc.error("spec.template.spec.restartPolicy", "a StatefulSet's pods need restartPolicy Always")
    return StatefulSet(meta=m, replicas=n, selector=sel, template=t, service_name=service, pod_management=management)


def pod_groups(o, nodes):
    return [(f"StatefulSet {o.meta.key}", o.template.spec, o.replicas, o.template.labels)]


def encode(o, rec) -> None:
    rec["replicas"] = o.replicas
    rec["podManagementPolicy"] = o.pod_management
    rec["generation"] = o.meta.generation


KIND = Kind("StatefulSet", ("apps/v1",), "statefulsets", parse=parse, policy=_POLICY, install_order=6.5,
            spec_fields=("replicas", "selector", "template", "service_name", "pod_management"),
            pod_groups=pod_groups, pod_spec=lambda o: o.template.spec, scalable=True, owner=True, encode=encode,
            controllers=("statefulset",), placement=("statefulset-converges", "n-plus-one-capacity"), doc=__doc__)
