"""DaemonSet (apps/v1): one pod on each Node that should run it (model/components/daemonset.py).
Not modelled: rolling updates of its template (updateStrategy), minReadySeconds."""

from __future__ import annotations

from ..objects import DaemonSet
from . import Kind
from .common import policy
from .manifest import inert, modelled, unmodelled
from .workload import SELECTOR, TEMPLATE, head, template

_POLICY = policy(spec=modelled({
    "selector": SELECTOR, "template": TEMPLATE,
    "updateStrategy": unmodelled("daemonset-converges", reason="the rollout of a new template"),
    "revisionHistoryLimit": inert("old ControllerRevisions: no property counts them"),
    "minReadySeconds": unmodelled("daemonset-converges", reason="pods are available as soon as they are Ready"),
}))


def parse(doc) -> DaemonSet:
    m, spec, _, sel = head(doc, with_replicas=False)
    return DaemonSet(meta=m, selector=sel, template=template(doc, spec, sel))


def pod_groups(o, nodes):
    """One pod on each of `nodes` it should run on (NodeShouldRunDaemonPod), pinned there as its controller
    pins it."""
    from ..components.daemonset import new_pod, should_run
    return [(f"DaemonSet {o.meta.key} pod for {n.meta.name}", new_pod(o, n.meta.name).spec, 1, o.template.labels)
            for n in nodes if should_run(o, n)]


KIND = Kind("DaemonSet", ("apps/v1",), "daemonsets", parse=parse, policy=_POLICY, install_order=6,
            spec_fields=("selector", "template"), pod_groups=pod_groups, pod_spec=lambda o: o.template.spec,
            owner=True, controllers=("daemonset",),
            placement=("daemonset-converges", "n-plus-one-capacity"), doc=__doc__)
