"""PriorityClass (scheduling.k8s.io/v1): a name for a pod priority.

As the Priority admission plugin (plugin/pkg/admission/priority) does when a
pod is created, each pod's `priorityClassName` is resolved to `spec.priority`
and `spec.preemptionPolicy` (from the class, default PreemptLowerPriority);
a pod without one gets the `globalDefault` class's value, or 0; a name no
class has is refused.  The built-in classes system-cluster-critical
(2000000000) and system-node-critical (2000001000) always exist.  Classes are
read when the scenario is loaded, and are not kept in etcd: nothing in the
model reads them after admission (a class applied by a change is refused).
"""

from __future__ import annotations

from attrs import frozen

from . import Kind
from .common import policy
from .manifest import MODELLED, inert, meta, short

SYSTEM_CLASSES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
HIGHEST_USER_PRIORITY = 1000000000


@frozen
class PriorityClass:
    meta: object
    value: int
    global_default: bool = False
    preemption_policy: str = "PreemptLowerPriority"
    kind = "PriorityClass"


_POLICY = policy(value=MODELLED, globalDefault=MODELLED, preemptionPolicy=MODELLED,
                 description=inert("a description only"))


def parse(doc) -> PriorityClass:
    m = meta(doc, doc.raw, False)
    value = doc.get(doc.raw, "value", "", int, required=True)
    if m.name in SYSTEM_CLASSES:
        raise doc.error("metadata.name", f"{m.name} is a built-in PriorityClass: it cannot be redefined")
    if value > HIGHEST_USER_PRIORITY:
        raise doc.error("value", f"must be at most {HIGHEST_USER_PRIORITY:,} (higher values are for the system "
                        f"classes), got {value}")
    pp = doc.get(doc.raw, "preemptionPolicy", "", str, "PreemptLowerPriority")
    if pp not in ("PreemptLowerPriority", "Never"):
        raise doc.error("preemptionPolicy", f"expected PreemptLowerPriority or Never, got {short(pp)}")
    return PriorityClass(m, value, doc.get(doc.raw, "globalDefault", "", bool, False), pp)


KIND = Kind("PriorityClass", ("scheduling.k8s.io/v1",), "", namespaced=False, parse=parse, policy=_POLICY,
            install_order=-2, deletable=False, doc=__doc__)
