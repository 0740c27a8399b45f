"""What the workload kinds share: a selector, a pod template, the policy of their specs."""

from __future__ import annotations

from ..objects import PodTemplate, labels_match
from .common import METADATA
from .manifest import MODELLED, Doc, label_selector, modelled, selector_is_empty
from .podspec import POD_SPEC

TEMPLATE = modelled({"metadata": METADATA, "spec": modelled(POD_SPEC)})
SELECTOR = modelled({"matchLabels": MODELLED, "matchExpressions": MODELLED})


def head(doc: Doc, with_replicas: bool):
    """A workload manifest's metadata, its spec, spec.replicas (with_replicas) and the spec's selector, read
    in that order (so the first wrong field is the one reported)."""
    from .manifest import meta
    m = meta(doc, doc.raw, True)
    spec = doc.get(doc.raw, "spec", "", dict, required=True)
    n = replicas(doc, spec) if with_replicas else None
    return m, spec, n, selector(doc, spec)


def selector(doc: Doc, spec: dict):
    sel = doc.get(spec, "selector", "spec", dict, required=True)
    out = label_selector(doc, sel, "spec.selector")
    if selector_is_empty(out):
        raise doc.error("spec.selector", "an empty selector is refused by apps/v1 (it would match every pod)")
    return out


def template(doc: Doc, spec: dict, sel) -> PodTemplate:
    from .podspec import pod_spec
    t = doc.get(spec, "template", "spec", dict, required=True)
    tm = doc.get(t, "metadata", "spec.template", dict, {})
    labels = doc.labels(tm, "labels", "spec.template.metadata")
    ps = doc.get(t, "spec", "spec.template", dict, required=True)
    if sel is not None and not labels_match(sel, labels):
        raise doc.error("spec.template.metadata.labels", "`selector` does not match template `labels`")
    return PodTemplate(labels, pod_spec(doc, ps, "spec.template.spec"))


def replicas(doc: Doc, spec: dict) -> int:
    n = doc.get(spec, "replicas", "spec", int, 1)
    if n < 0:
        raise doc.error("spec.replicas", f"must be 0 or more, got {n}")
    return n
