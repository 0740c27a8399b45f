"""ReplicationController (v1): the guestbook-era kind that ReplicaSet replaced, kept by the same controller
code (model/components/replicaset.py, composed as its own controller, `replicationcontroller`, as
kube-controller-manager runs the ReplicationManager beside the ReplicaSet controller).

Read from kubernetes/kubernetes: pkg/apis/core/v1/defaults.go SetDefaults_ReplicationController (an absent or
empty spec.selector, and empty metadata.labels, default to the template's labels; spec.replicas to 1);
pkg/apis/core/validation ValidateReplicationControllerSpec (the selector must not be empty,
ValidateNonEmptySelector), ValidatePodTemplateSpecForRC (the template is required, the selector must match its
labels, its restartPolicy must be Always).  The selector is a map of labels, equality-based: a matchLabels
tuple here, the form a ReplicaSet's matchLabels-only selector takes.

Not modelled, warned: minReadySeconds (pods are available as soon as they are Ready), status.
"""

from __future__ import annotations

from ..objects import ReplicationController
from . import Kind
from .common import METADATA, policy
from .manifest import MODELLED, meta, modelled, unmodelled
from .podspec import POD_SPEC
from .workload import replicas, template

_POLICY = policy(spec=modelled({
    "replicas": MODELLED, "selector": MODELLED,
    "template": modelled({"metadata": METADATA, "spec": modelled(POD_SPEC)}),
    "minReadySeconds": unmodelled("pods-rescheduled-after-node-failure", "stable-reconciliation",
                                  reason="pods are available as soon as they are Ready"),
}))


def default_selector(selector, template_labels):
    """SetDefaults_ReplicationController: an empty selector is the template's labels."""
    return selector or template_labels


def parse(doc) -> ReplicationController:
    m = meta(doc, doc.raw, True)
    spec = doc.get(doc.raw, "spec", "", dict, required=True)
    n = replicas(doc, spec)
    raw_template = doc.get(spec, "template", "spec", dict, required=True)
    template_meta = doc.get(raw_template, "metadata", "spec.template", dict, {})
    labels = doc.labels(template_meta, "labels", "spec.template.metadata")
    sel = default_selector(doc.labels(spec, "selector", "spec"), labels)
    if not sel:
        raise doc.error("spec.selector", "required: neither spec.selector nor the template's labels give one "
                        "(an empty selector would match every pod)")
    t = template(doc, spec, sel)
    if t.spec.restart_policy != "Always":
        raise doc.error("spec.template.spec.restartPolicy", "a ReplicationController's pods need restartPolicy Always")
    if not m.labels:
        from ..objects import evolve
        m = evolve(m, labels=t.labels)
    return ReplicationController(meta=m, replicas=n, selector=sel, template=t)


def pod_groups(o, nodes):
    return [(f"ReplicationController {o.meta.key}", o.template.spec, o.replicas, o.template.labels)]


def encode(o, rec) -> None:
    rec["replicas"] = o.replicas
    rec["generation"] = o.meta.generation


KIND = Kind("ReplicationController", ("v1",), "replicationcontrollers", parse=parse, policy=_POLICY,
            install_order=5, spec_fields=("replicas", "selector", "template"), pod_groups=pod_groups,
            pod_spec=lambda o: o.template.spec, scalable=True, owner=True, encode=encode,
            controllers=("replicationcontroller",),
            placement=("pods-rescheduled-after-node-failure", "n-plus-one-capacity"), doc=__doc__)
