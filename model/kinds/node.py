"""Node (v1): a machine as the cluster sees it.  Capacity from `status.allocatable` (or `capacity`),
`spec.taints`, `spec.unschedulable` (a cordoned node: the NodeUnschedulable filter), labels (zone from
topology.kubernetes.io/zone).  The labels every kubelet sets at registration (kubernetes.io/hostname,
kubernetes.io/os, kubernetes.io/arch) are added where the manifest does not set them, as the kubelet's
initialNode does; the report says so.  The Ready condition is the model's (every Node starts Ready)."""

from __future__ import annotations

from ..objects import Node, Taint, evolve
from . import Kind
from .common import policy
from .manifest import MODELLED, inert, meta, modelled, quantities, short

HOSTNAME = "kubernetes.io/hostname"
REGISTRATION_LABELS = ((HOSTNAME, None), ("kubernetes.io/os", "linux"), ("kubernetes.io/arch", "amd64"))
_FIXED = inert("fixed for the life of the machine: no property reads it")
_POLICY = policy(
    spec=modelled({"taints": MODELLED, "unschedulable": MODELLED,
                   **{k: _FIXED for k in ("podCIDR", "podCIDRs", "providerID", "externalID", "configSource")}}),
    status=modelled({"allocatable": MODELLED, "capacity": MODELLED,
                     "conditions": inert("every Node starts Ready; the model then decides its condition"),
                     **{k: _FIXED for k in ("addresses", "nodeInfo", "images", "daemonEndpoints", "volumesAttached",
                                            "volumesInUse", "config", "phase", "runtimeHandlers", "features",
                                            "declaredFeatures")}}))


def with_registration_labels(labels, name: str):
    """The labels after the kubelet's registration: kubernetes.io/hostname (the node's name), os and arch,
    each unless already set."""
    have = dict(labels)
    for key, value in REGISTRATION_LABELS:
        have.setdefault(key, name if value is None else value)
    return tuple(sorted(have.items()))


def parse(doc) -> Node:
    raw = doc.raw
    m = meta(doc, raw, False)
    spec = doc.get(raw, "spec", "", dict, {})
    status = doc.get(raw, "status", "", dict, {})
    alloc = doc.get(status, "allocatable", "status", dict, None)
    if alloc is None:
        alloc = doc.get(status, "capacity", "status", dict, None)
    if alloc is None:
        raise doc.error("status.allocatable", "required field is missing (cpu, memory, pods)")
    taints = []
    for tp, t in doc.items(spec, "taints", "spec"):
        eff = doc.get(t, "effect", tp, str, required=True)
        if eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise doc.error(f"{tp}.effect", f"expected NoSchedule, PreferNoSchedule or NoExecute, got {short(eff)}")
        taints.append(Taint(doc.get(t, "key", tp, str, required=True), eff, str(t.get("value", "") or "")))
    m = evolve(m, labels=with_registration_labels(m.labels, m.name))
    return Node(meta=m, allocatable=quantities(doc, alloc, "status.allocatable", ("cpu", "memory")),
                taints=tuple(taints), unschedulable=doc.get(spec, "unschedulable", "spec", bool, False))


def encode(o, rec) -> None:
    from ..quantity import format_cpu, format_memory
    rec["ready"] = o.ready
    rec["taints"] = [str(t) for t in o.taints]
    rec["allocatable"] = {"cpu": format_cpu(o.allocatable.cpu), "memory": format_memory(o.allocatable.memory)}


KIND = Kind("Node", ("v1",), "nodes", namespaced=False, parse=parse, policy=_POLICY, install_order=-1,
            spec_fields=("taints", "unschedulable"), deletable=False, encode=encode, doc=__doc__)
