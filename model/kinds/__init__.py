"""The registry of kinds: every API kind the model knows, declared once (issue 14).

Each kind's module declares a `Kind`: its manifest's apiVersions, where its
objects live in etcd (`Store`'s field), how a manifest is parsed into the
frozen object and which of its fields are modelled (the field policy), the
order the scenario's objects are applied in, what `kubectl apply` may change
on an existing one, whether it makes pods (its pod template and how many:
the one source for `n-plus-one-capacity`, the placement diagnosis, the
schedulers composed), its part in garbage collection, and its fields in a
trace.  Kinds the model does not run are in `unmodelled.py`, each with the
properties whose verdicts it may change.

Every other module asks this registry; no list of kinds is written anywhere
else.  To add a kind: write its module here (and its object class in
model/objects.py), add it to `_MODULES`, and compose the controller that
reconciles it (model/components/, model/compose.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..objects import Labels, PodSpec

PodGroup = Tuple[str, PodSpec, int, Labels]   # (name, pod spec, count, pod labels)


@dataclass(frozen=True)
class Kind:
    """One API kind, as the model knows it."""

    name: str
    api_versions: Tuple[str, ...]         # the apiVersions a manifest may give
    store_field: str                      # model/components/etcd.py Store's field ("": read at load, not stored)
    namespaced: bool = True
    parse: Optional[Callable] = None      # (Doc) -> object; None: only components make it
    policy: Optional[dict] = None         # field policy (model/kinds/manifest.py), for the semantic check
    install_order: float = 50              # the scenario's objects are applied in this order
    spec_fields: Tuple[str, ...] = ()     # what `kubectl apply` may change on an existing object
    pod_groups: Optional[Callable] = None  # (object, nodes) -> [PodGroup]: the pods it asks to run
    pod_spec: Optional[Callable] = None   # object -> the PodSpec of the pods it makes
    scalable: bool = False                # `kubectl scale` applies (spec.replicas)
    deletable: bool = True                # a change may delete it
    owner: bool = False                   # may own dependents (garbage collector)
    dependent: bool = False               # collected by the garbage collector once its owners are gone
    status_subresource: bool = False      # updates of the main resource keep its status
    encode: Optional[Callable] = None     # (object, record) adds its fields to the trace record
    controllers: Tuple[str, ...] = ()     # the controllers (model/components/) that act on its objects
    placement: Optional[Tuple[str, ...]] = None   # the placement properties its pods feed (pod-making kinds)
    hints: Tuple[Tuple[str, str], ...] = ()   # (field path, what to write instead) for fields users misplace
    doc: str = ""

    @property
    def makes_pods(self) -> bool:
        return self.pod_spec is not None


def _modules():
    from . import (customresource, daemonset, deployment, endpointslice, job, lease, namespace, node, pod,
                   priorityclass, replicaset, service, serviceaccount, statefulset)
    from . import cronjob, horizontalpodautoscaler, poddisruptionbudget, replicationcontroller
    from . import persistentvolumeclaim
    # The order is etcd's listing order in traces and the Store's field order.
    return (namespace, node, deployment, replicaset, pod, lease, job, daemonset, serviceaccount, service,
            endpointslice, customresource.CRD_MODULE, customresource, priorityclass, statefulset,
            replicationcontroller, poddisruptionbudget, cronjob, horizontalpodautoscaler,
            persistentvolumeclaim)


REGISTRY: Tuple[Kind, ...] = tuple(m.KIND for m in _modules())
KINDS: Dict[str, Kind] = {k.name: k for k in REGISTRY}
CUSTOM = "CustomObject"    # the model's kind for objects of a CustomResourceDefinition's kind


def kind(name: str) -> Kind:
    return KINDS[name]


def manifest_kinds() -> List[str]:
    """The kinds a manifest may create, in registry order."""
    return [k.name for k in REGISTRY if k.parse is not None]


def pod_making_kinds() -> List[str]:
    return [k.name for k in REGISTRY if k.makes_pods]


def owner_kinds() -> List[str]:
    return [k.name for k in REGISTRY if k.owner]


def dependent_kinds() -> List[str]:
    return [k.name for k in REGISTRY if k.dependent]


def reconciled_by(controller: str) -> List[str]:
    """The kinds whose objects `controller` (a module of model/components/) acts on."""
    return [k.name for k in REGISTRY if controller in k.controllers]


def controllers_for(kinds: Iterable[str]) -> set:
    """The controllers some object of `kinds` gives work to."""
    return {c for k in kinds for c in KINDS[k].controllers}


def store_fields() -> Dict[str, str]:
    return {k.name: k.store_field for k in REGISTRY if k.store_field}


def stored(name: str) -> bool:
    """Whether objects of kind `name` live in etcd (else the loader consumes them, as PriorityClasses)."""
    return bool(KINDS[name].store_field)


def makes_pods(objects: Iterable) -> bool:
    return any(KINDS[o.kind].makes_pods for o in objects)


def pod_specs(objects: Iterable) -> List[PodSpec]:
    """The pod spec of each object that makes pods (a Pod's own)."""
    return [KINDS[o.kind].pod_spec(o) for o in objects if KINDS[o.kind].makes_pods]


def pod_groups(objects: Iterable, nodes: Sequence) -> List[PodGroup]:
    """Every group of identical pods `objects` ask to run, DaemonSet pods on `nodes`; groups of 0 left out
    (model/workloads.py)."""
    out: List[PodGroup] = []
    for o in objects:
        groups = KINDS[o.kind].pod_groups
        if groups is not None and not o.meta.deleting:
            out += groups(o, nodes)
    return [g for g in out if g[2] > 0]
