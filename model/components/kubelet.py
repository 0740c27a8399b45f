"""kubelet and the container runtime of each node.

Modelled (pkg/kubelet): the kubelet watches the pods bound to its node.  A
new pod goes through admission (pkg/kubelet/lifecycle/predicate.go): the
requests of the pods already admitted, plus this one, must fit the node's
allocatable cpu, memory and pod count, its nodeSelector must match, and it
must tolerate the node's NoExecute taints; a rejected pod becomes Failed with
the reason (OutOfcpu, OutOfmemory, OutOfpods, NodeAffinity, Taint).  An
admitted pod's containers are started by the runtime (CRI), and the kubelet
reports the pod Running and Ready.  A pod being deleted gracefully has its
containers stopped, then the kubelet completes the deletion with grace 0.

Abstracted: image pulls, probes and restarts (a started pod is Ready at
once); starting the containers and reporting status are one step; the
status manager's batching; static pods.  A kubelet or machine that is down
does nothing.
"""

from __future__ import annotations

from typing import Iterator, List, Optional

import attrs

from explorer import Rule, label

from ..objects import Node, Pod, Resources, labels_match
from ..state import ClusterState, Host, RunningPod
from . import apiserver
from .scheduler import untolerated_taints


def admission_failure(node: Node, host: Host, pod: Pod) -> Optional[str]:
    """Why the kubelet rejects `pod` at admission, or None if it admits it."""
    used = Resources()
    for rp in host.pods:
        used = used + rp.requests
    total = used + pod.spec.requests
    cap = node.allocatable
    if total.cpu > cap.cpu:
        return "OutOfcpu"
    if total.memory > cap.memory:
        return "OutOfmemory"
    if total.pods > cap.pods:
        return "OutOfpods"
    if not labels_match(pod.spec.node_selector, node.meta.labels):
        return "NodeAffinity"
    if untolerated_taints(node, pod, effects=("NoExecute",)):
        return "Taint"
    return None


def _working(h: Host) -> bool:
    return h.up and h.kubelet_up


def run_pod(s: ClusterState) -> Iterator:
    """The kubelet admits a pod newly bound to its node and the runtime starts its containers."""
    for host in s.hosts:
        if not _working(host):
            continue
        view = apiserver.view(s, f"kubelet/{host.name}")
        node = view.get("Node", "", host.name)
        if node is None:
            continue
        for pod in view.pods:
            if (pod.spec.node_name != host.name or pod.meta.deleting or pod.phase != "Pending"
                    or host.running(pod.meta.uid) is not None):
                continue
            args = (("node", host.name), ("pod", pod.meta.key))
            reason = admission_failure(node, host, pod)
            if reason is not None:
                failed = attrs.evolve(pod, phase="Failed", ready=False, reason=reason)
                nxt = apiserver.update(s, failed, pod.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    yield label("kubelet", "reject_pod", args, (("reason", reason),)), nxt
                continue
            running = attrs.evolve(pod, phase="Running", ready=True)
            nxt = apiserver.update(s, running, pod.meta.resource_version, spec_changed=False)
            if nxt is None:
                continue
            rp = RunningPod(pod.meta.namespace, pod.meta.name, pod.meta.uid, pod.spec.requests)
            pods = tuple(sorted(host.pods + (rp,), key=lambda r: r.uid))
            yield label("kubelet", "run_pod", args), nxt.with_host(attrs.evolve(host, pods=pods))


def finish_deletion(s: ClusterState) -> Iterator:
    """The kubelet stops a terminating pod's containers and completes its deletion (grace 0)."""
    for host in s.hosts:
        if not _working(host):
            continue
        view = apiserver.view(s, f"kubelet/{host.name}")
        for pod in view.pods:
            if pod.spec.node_name != host.name or not pod.meta.deleting:
                continue
            nxt = apiserver.delete(s, pod, grace=False)
            if nxt is None:
                continue
            pods = tuple(rp for rp in host.pods if rp.uid != pod.meta.uid)
            yield (label("kubelet", "finish_deletion", (("node", host.name), ("pod", pod.meta.key))),
                   nxt.with_host(attrs.evolve(host, pods=pods)))


def rules() -> List[Rule]:
    return [Rule("kubelet.run_pod", run_pod, doc=run_pod.__doc__),
            Rule("kubelet.finish_deletion", finish_deletion, doc=finish_deletion.__doc__)]
