"""DaemonSet (apps/v1): one pod on each Node that should run it (model/components/daemonset.py).
Not modelled: rolling updates of its template (updateStrategy), minReadySeconds.

Which Nodes should run a daemon pod, and the pod the controller makes for one (pkg/controller/daemon/util,
NodeShouldRunDaemonPod), are here: the registry's pod groups ask them as the controller does.
"""

from __future__ import annotations

from ..objects import (DaemonSet, Node, NodeSelectorRequirement, ObjectMeta, OwnerReference, Pod, Toleration, evolve,
                       labels_match, node_affinity_matches, tolerated)
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


# util.AddOrUpdateDaemonPodTolerations (hostNetwork's network-unavailable left out).
DAEMON_TOLERATIONS = (
    Toleration("node.kubernetes.io/not-ready", "Exists", "", "NoExecute"),
    Toleration("node.kubernetes.io/unreachable", "Exists", "", "NoExecute"),
    Toleration("node.kubernetes.io/disk-pressure", "Exists", "", "NoSchedule"),
    Toleration("node.kubernetes.io/memory-pressure", "Exists", "", "NoSchedule"),
    Toleration("node.kubernetes.io/pid-pressure", "Exists", "", "NoSchedule"),
    Toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule"),
)


def daemon_tolerations(ds: DaemonSet):
    own = ds.template.spec.tolerations
    return own + tuple(t for t in DAEMON_TOLERATIONS if t not in own)


def should_run(ds: DaemonSet, node: Node, effects=("NoSchedule", "NoExecute")) -> bool:
    """NodeShouldRunDaemonPod's shouldRun: selector, required affinity and taints (with the daemon
    tolerations).  With effects=("NoExecute",), its shouldContinueRunning: a pod already there stays
    while it tolerates the Node's NoExecute taints, whatever NoSchedule taints came since."""
    spec = ds.template.spec
    if not labels_match(spec.node_selector, node.meta.labels):
        return False
    if not node_affinity_matches(spec.node_affinity, node.meta.labels, node.meta.name):
        return False
    tols = daemon_tolerations(ds)
    return all(tolerated(tols, t) for t in node.taints if t.effect in effects)


def should_continue(ds: DaemonSet, node: Node) -> bool:
    return should_run(ds, node, effects=("NoExecute",))


def pinned_node(pod: Pod) -> str:
    """The name a daemon pod's node affinity pins (matchFields metadata.name In [one node]), or ""."""
    for term in pod.spec.node_affinity:
        for r in term:
            if r.field and r.operator == "In" and len(r.values) == 1:
                return r.values[0]
    return ""


def new_pod(ds: DaemonSet, node: str) -> Pod:
    t = ds.template
    pin = ((NodeSelectorRequirement("metadata.name", "In", (node,), field=True),),)
    terms = tuple(term + pin[0] for term in t.spec.node_affinity) or pin
    spec = evolve(t.spec, node_affinity=terms, tolerations=daemon_tolerations(ds))
    meta = ObjectMeta(namespace=ds.meta.namespace, name="", generate_name=f"{ds.meta.name}-", labels=t.labels,
                      owner_references=(OwnerReference("DaemonSet", ds.meta.name, ds.meta.uid, True),))
    return Pod(meta=meta, spec=spec)


def pod_groups(o, nodes):
    """One pod on each of `nodes` it should run on (NodeShouldRunDaemonPod), pinned there as its controller
    pins it."""
    return [(f"DaemonSet {o.meta.key} pod for {n.meta.name}", new_pod(o, n.meta.name).spec, 1, o.template.labels)
            for n in nodes if should_run(o, n)]


KIND = Kind("DaemonSet", ("apps/v1",), "daemonsets", parse=parse, policy=_POLICY, install_order=6,
            spec_fields=("selector", "template"), pod_groups=pod_groups, pod_spec=lambda o: o.template.spec,
            owner=True, controllers=("daemonset",),
            placement=("daemonset-converges", "n-plus-one-capacity"), doc=__doc__)
