"""An operator: a controller of the user's that reconciles the objects of a CustomResourceDefinition's kind.

Modelled on what controllers built with controller-runtime (kubebuilder,
Operator SDK) do with status: reconcile an object whose
status.observedGeneration is behind its metadata.generation, then report
the generation it reconciled as status.observedGeneration.  Where the CRD
has a status subresource (`spec.versions[].subresources.status`), the
report goes to /status (`r.Status().Update`), which does not move the
generation; where it has none, /status is a 404 and the operator writes the
whole object (`r.Update`), and the apiserver bumps the generation for that
change too (apiextensions-apiserver customresource/strategy.go), so the
report is behind again as soon as it is written: the operator never stops
reconciling (controller-runtime's GenerationChangedPredicate documents it:
"for CustomResources the Generation is only incremented when the status
subresource is enabled").  Each write is one step, a compare-and-swap on
the resourceVersion it read from its informer's view.

Scenario: `spec.operators: [{kind: <custom kind>}]`.  Abstracted: what the
reconcile does besides the status (the operator's own objects), conditions,
its Deployment and leader election (it runs outside the failure domains,
one replica, client `operator-<kind>`).
"""

from __future__ import annotations

from typing import Iterator, List, Sequence

from explorer import Rule, label

from ..objects import evolve
from ..state import ClusterState
from . import apiserver


def client(kind: str) -> str:
    return f"operator-{kind.lower()}"


def behind(obj) -> bool:
    """Whether an object's status reports an older generation than its spec's."""
    return obj.status.observed_generation != obj.meta.generation and not obj.meta.deleting


def reconcile_rule(kind: str) -> Rule:
    me = client(kind)

    def reconcile(s: ClusterState) -> Iterator:
        view = apiserver.view(s, me)
        for obj in view.custom_objects if view is not None else ():
            if obj.custom_kind != kind or not behind(obj):
                continue
            report = evolve(obj, status=evolve(obj.status, observed_generation=obj.meta.generation))
            rv = obj.meta.resource_version
            if apiserver.has_status_subresource(s.store, obj):
                nxt, how = apiserver.update_status(s, report, rv), "update_status"
            else:
                nxt, how = apiserver.update(s, report, rv), "update"
            if nxt is not None:
                yield label("operator", how, (("kind", kind), ("object", obj.meta.key))), nxt

    reconcile.__doc__ = (f"The {kind} operator reconciles an object whose status.observedGeneration is behind its "
                         "generation, and reports the generation it reconciled.")
    return Rule(f"operator.{kind.lower()}", reconcile, doc=reconcile.__doc__)


def rules(kinds: Sequence[str]) -> List[Rule]:
    return [reconcile_rule(k) for k in kinds]
