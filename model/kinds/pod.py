"""Pod (v1): containers to run on one node.  Its spec is read as model/kinds/podspec.py says; a Pod that
no controller owns and that names no node is placed by a scheduler like any workload's pod."""

from __future__ import annotations

from ..objects import Pod
from . import Kind
from .common import policy
from .manifest import meta, modelled
from .podspec import POD_SPEC, pod_spec

_POLICY = policy(spec=modelled(POD_SPEC))


def parse(doc) -> Pod:
    return Pod(meta=meta(doc, doc.raw, True), spec=pod_spec(doc, doc.get(doc.raw, "spec", "", dict, required=True),
                                                            "spec"))


def pod_groups(o, nodes):
    if not o.spec.node_name and not o.meta.owner_references and o.phase not in ("Succeeded", "Failed"):
        return [(f"Pod {o.meta.key}", o.spec, 1, o.meta.labels)]
    return []


def encode(o, rec) -> None:
    rec["nodeName"] = o.spec.node_name
    rec["phase"] = o.phase
    rec["ready"] = o.ready
    if o.reason:
        rec["reason"] = o.reason
    if o.ip:
        rec["podIP"] = o.ip
    if o.nominated:
        rec["nominatedNodeName"] = o.nominated
    if o.exit_code:
        rec["exitCode"] = o.exit_code
    if o.disruption and any(r.kind == "Job" for r in o.meta.owner_references):
        # Shown where it is read: a Job's podFailurePolicy is the one reader of the DisruptionTarget condition
        # (and traces of other pods, written before the model set it, still replay).
        rec["disruptionTarget"] = o.disruption


KIND = Kind("Pod", ("v1",), "pods", parse=parse, policy=_POLICY, install_order=8, spec_fields=("spec",),
            pod_groups=pod_groups, pod_spec=lambda o: o.spec, dependent=True, encode=encode,
            placement=("n-plus-one-capacity",), doc=__doc__)
