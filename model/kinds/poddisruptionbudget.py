"""PodDisruptionBudget (policy/v1): how many of the pods its selector picks must stay healthy through voluntary
disruptions.  The disruption controller computes its status (model/components/disruption.py) and the Eviction
subresource refuses, with 429 Too Many Requests, an eviction the status does not allow (model/components/
eviction.py); a deletion, and an involuntary fault (a node crash), ignore it.

Modelled: spec.selector (a PodDisruptionBudget without one selects no pod; an empty one `{}` selects every pod of
its namespace, as policy/v1 reads it), spec.minAvailable and spec.maxUnavailable (an integer or a percentage, at most one of the
two; with neither, the budget allows no disruption, as upstream's status is then 0 expected and 0 allowed),
spec.unhealthyPodEvictionPolicy (IfHealthyBudget, the default, or AlwaysAllow).  Validation follows
ValidatePodDisruptionBudgetSpec (pkg/apis/policy/validation): a percentage is "N%" with N at most 100, an
integer is 0 or more, and a quoted number ("2") is neither.
"""

from __future__ import annotations

import re

from ..objects import PodDisruptionBudget
from . import Kind
from .common import policy
from .manifest import MODELLED, label_selector, meta, modelled, short

POLICIES = ("IfHealthyBudget", "AlwaysAllow")
_PERCENT = re.compile(r"[0-9]+%")
_POLICY = policy(spec=modelled({
    "selector": modelled({"matchLabels": MODELLED, "matchExpressions": MODELLED}),
    "minAvailable": MODELLED, "maxUnavailable": MODELLED, "unhealthyPodEvictionPolicy": MODELLED,
}))


def int_or_percent(doc, spec: dict, key: str) -> str:
    """An IntOrString field as ValidatePositiveIntOrPercent and IsNotMoreThan100Percent accept it: an integer of
    0 or more ("2"), or a percentage of at most 100 ("50%"); "" when unset."""
    fpath = f"spec.{key}"
    if key not in spec or spec[key] is None:
        return ""
    v = spec[key]
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise doc.error(fpath, f"must be an integer or percentage (e.g. '5%'), got {short(v)}")
    if isinstance(v, int):
        if v < 0 or v >= 2 ** 31:
            raise doc.error(fpath, f"must be greater than or equal to 0, and a 32-bit integer, got {v}")
        return str(v)
    if not _PERCENT.fullmatch(v):
        raise doc.error(fpath, f"must be an integer or percentage (e.g. '5%'), got {short(v)}"
                        + (" (a quoted number is a string: write it unquoted)" if v.isdigit() else ""))
    if int(v[:-1]) > 100:
        raise doc.error(fpath, f"must not be greater than 100%, got {short(v)}")
    return v


def parse(doc) -> PodDisruptionBudget:
    m = meta(doc, doc.raw, True)
    spec = doc.get(doc.raw, "spec", "", dict, {})
    sel = doc.get(spec, "selector", "spec", dict, None)
    selector = None if sel is None else label_selector(doc, sel, "spec.selector")
    low = int_or_percent(doc, spec, "minAvailable")
    high = int_or_percent(doc, spec, "maxUnavailable")
    if low and high:
        raise doc.error("spec", "minAvailable and maxUnavailable cannot be both set")
    unhealthy = doc.get(spec, "unhealthyPodEvictionPolicy", "spec", str, "IfHealthyBudget")
    if unhealthy not in POLICIES:
        raise doc.error("spec.unhealthyPodEvictionPolicy",
                        f"expected IfHealthyBudget or AlwaysAllow, got {short(unhealthy)}")
    return PodDisruptionBudget(meta=m, selector=selector, min_available=low, max_unavailable=high,
                               unhealthy_pod_eviction_policy=unhealthy)


def encode(o, rec) -> None:
    if o.min_available:
        rec["minAvailable"] = o.min_available
    if o.max_unavailable:
        rec["maxUnavailable"] = o.max_unavailable
    if o.unhealthy_pod_eviction_policy != "IfHealthyBudget":
        rec["unhealthyPodEvictionPolicy"] = o.unhealthy_pod_eviction_policy
    st = o.status
    rec["status"] = {"observedGeneration": st.observed_generation, "currentHealthy": st.current_healthy,
                     "desiredHealthy": st.desired_healthy, "expectedPods": st.expected_pods,
                     "disruptionsAllowed": st.disruptions_allowed}


KIND = Kind("PodDisruptionBudget", ("policy/v1",), "poddisruptionbudgets", parse=parse, policy=_POLICY,
            install_order=7, spec_fields=("selector", "min_available", "max_unavailable",
                                          "unhealthy_pod_eviction_policy"),
            status_subresource=True, encode=encode, controllers=("disruption",), doc=__doc__)
