"""kubelet and the container runtime of each node.

Modelled (pkg/kubelet): the kubelet watches the pods bound to its node
through its apiserver's cache.  A pod bound here that is not terminal, not
being deleted and not running goes through admission
(pkg/kubelet/lifecycle/predicate.go): the requests of the pods already
admitted, plus this one, must fit the node's allocatable cpu, memory and pod
count, its nodeSelector must match, and it must tolerate the node's
NoExecute taints; a rejected pod becomes Failed with the reason (OutOfcpu,
OutOfmemory, OutOfpods, NodeAffinity, Taint), and its host ports must be
free there (NodePorts).  An admitted pod's containers
are started by the runtime (CRI) and the kubelet reports it Running and
Ready; if that status write fails (a conflict on a stale view, no etcd
quorum) the containers run anyway and `report_status` retries.  A pod being
deleted gracefully has its containers stopped, then the kubelet completes
the deletion with grace 0.  Containers of a pod that the kubelet no longer
sees bound to its node (force-deleted, or moved) are stopped
(`kill_orphan`, the pod workers' HandlePodRemoves).

Restarts: a `kubelet-restart` fault stops the kubelet (its containers keep
running: the runtime is independent of it); its supervisor restarts it
(weakly fair).  On restart it relists its pods, connecting to any apiserver
that is up.  By default (`behaviour.kubeletRelist: cache`, what upstream
does) the list is served from that apiserver's watch cache, which may be
older than what the kubelet saw before: a restarted reflector's first list
asks for resourceVersion "0" (client-go relistResourceVersion; PR 83520 fixed
only relists inside a running reflector, and kubernetes issue 59848 is still
open).  With `consistent` the list is never older than etcd (the WatchList
path, or a resourceVersion "" list), so its view never goes back in time.

Volumes (model/components/attachdetach.py): a pod whose spec names
PersistentVolumeClaims is started only once each claim's volume is attached
to this node (the volume manager's WaitForAttachAndMount); its containers
then have them mounted (`RunningPod.volumes`) until they stop, when they are
unmounted in the same step.

Pod IPs, where modelled (model/components/networkplugin.py): the sandbox
gets its IP when the runtime creates it, and the kubelet reports it as
status.podIP with the Running status.

Abstracted: image pulls, probes and container restarts (a started pod is
Ready at once); the status manager's batching; static pods.  A kubelet or
machine that is down does nothing.
"""

from __future__ import annotations

import functools
from typing import Iterator, List, Optional


from explorer import Rule, label

from ..objects import Node, Pod, Resources, evolve, labels_match, node_affinity_matches
from ..state import ClusterState, Host, RunningPod
from . import apiserver, attachdetach, networkplugin
from .scheduler import ports_conflict, untolerated_taints


def client(node: str) -> str:
    return f"kubelet/{node}"


def admission_failure(node: Node, host: Host, pod: Pod) -> Optional[str]:
    """Why the kubelet rejects `pod` at admission, or None if it admits it."""
    used = Resources()
    for rp in host.pods:
        used = used + rp.requests
    short = (used + pod.spec.requests).short_of(node.allocatable)
    if short:
        return f"OutOf{short}"
    if not labels_match(pod.spec.node_selector, node.meta.labels) or not node_affinity_matches(
            pod.spec.node_affinity, node.meta.labels, node.meta.name):
        return "NodeAffinity"
    if untolerated_taints(node, pod, effects=("NoExecute",)):
        return "Taint"
    if pod.spec.host_ports and ports_conflict(pod.spec.host_ports, [p for rp in host.pods for p in rp.host_ports]):
        return "NodePorts"
    return None


def _working(h: Host) -> bool:
    """The kubelet runs and can reach the control plane (a partitioned one keeps its containers, alone)."""
    return h.up and h.kubelet_up and h.reachable


def _kubelets(s: ClusterState, need_pods: bool = False):
    """(host, view) for each kubelet that runs and reaches its apiserver (and, with need_pods, runs pods)."""
    for _, host, view in _indexed_kubelets(s, need_pods):
        yield host, view


def _indexed_kubelets(s: ClusterState, need_pods: bool = False):
    """(node index, host, view) for each kubelet that runs and reaches its apiserver."""
    for index, host in enumerate(s.hosts):
        if not _working(host) or (need_pods and not host.pods):
            continue
        view = apiserver.view(s, client(host.name))
        if view is not None:
            yield index, host, view


def _with_pods(s: ClusterState, host: Host, pods) -> ClusterState:
    return s.with_host(evolve(host, pods=tuple(sorted(pods, key=lambda r: r.uid))))


def run_pod(s: ClusterState, pod_ips: bool = False) -> Iterator:
    """The kubelet admits a pod bound to its node and the runtime starts its containers (the network plugin
    gives the sandbox its IP)."""
    for index, host, view in _indexed_kubelets(s):
        node = view.get("Node", "", host.name)
        if node is None:
            continue
        for pod in view.pods:
            if (pod.spec.node_name != host.name or pod.meta.deleting or pod.phase in ("Succeeded", "Failed")
                    or host.running(pod.meta.uid) is not None):
                continue
            args = (("node", host.name), ("pod", pod.meta.key))
            reason = admission_failure(node, host, pod)
            if reason is not None:
                failed = evolve(pod, phase="Failed", ready=False, ready_long=False, reason=reason)
                nxt = apiserver.update(s, failed, pod.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    yield label("kubelet", "reject_pod", args, (("reason", reason),)), nxt
                continue
            if pod.spec.claims and not attachdetach.all_attached(s, pod, host.name):
                continue   # the volume manager waits for its volumes to be attached here (WaitForAttachAndMount)
            nxt = None
            ip = networkplugin.allocate_ip(host, index) if pod_ips else ""
            if pod.phase != "Running" or not pod.ready or pod.ip != ip:
                running = evolve(pod, phase="Running", ready=True, ip=ip)
                nxt = apiserver.update(s, running, pod.meta.resource_version, spec_changed=False)
            rp = RunningPod(pod.meta.namespace, pod.meta.name, pod.meta.uid, pod.spec.requests, pod.meta.generate_name,
                            ip, pod.spec.host_ports, tuple(attachdetach.claim_keys(pod)))
            yield label("kubelet", "run_pod", args), _with_pods(nxt or s, host, host.pods + (rp,))


def exit_codes(spec) -> tuple:
    """The exit codes a run-to-completion pod's containers may end with: those its Job's template declares
    (annotation kubecheck.io/exit-codes), else 0 or 1 for restartPolicy Never and 0 for OnFailure (a failing
    container is restarted in place; restarts are abstracted)."""
    if spec.exit_codes:
        return spec.exit_codes
    return (0, 1) if spec.restart_policy == "Never" else (0,)


KILLED = 143   # 128 + SIGTERM: the exit code of a container stopped because its pod is deleted


def container_exits(s: ClusterState) -> Iterator:
    """A run-to-completion pod's containers exit: Succeeded (exit code 0), or Failed with a non-zero exit code."""
    for host, view in _kubelets(s, need_pods=True):
        for rp in host.pods:
            pod = view.by_uid("Pod", rp.uid)
            if pod is None or pod.spec.restart_policy == "Always" or pod.phase != "Running" or pod.meta.deleting:
                continue
            for code in exit_codes(pod.spec):
                outcome = "Failed" if code else "Succeeded"
                nxt = apiserver.update(s, evolve(pod, phase=outcome, ready=False, ready_long=False, exit_code=code),
                                       pod.meta.resource_version, spec_changed=False)
                if nxt is None:
                    continue
                nxt = _with_pods(nxt, host, tuple(r for r in host.pods if r.uid != rp.uid))
                if outcome == "Succeeded":
                    nxt = _count_success(nxt, pod)
                choice = (("outcome", outcome),) + ((("exit_code", code),) if pod.spec.exit_codes and code else ())
                yield label("kubelet", "container_exits", (("node", host.name), ("pod", rp.key)), choice), nxt


def _count_success(s: ClusterState, pod: Pod) -> ClusterState:
    """The history variable `job_successes`: one more pod of this Job has succeeded (saturating)."""
    for ref in pod.meta.owner_references:
        if ref.kind == "Job":
            job = s.store.by_uid("Job", ref.uid)
            cap = (job.completions + 1) if job is not None else 1
            counts = dict(s.job_successes)
            counts[ref.uid] = min(cap, counts.get(ref.uid, 0) + 1)
            return evolve(s, job_successes=tuple(sorted(counts.items())))
    return s


def report_status(s: ClusterState) -> Iterator:
    """The kubelet's status manager reports a pod whose containers run as Running and Ready."""
    for host, view in _kubelets(s, need_pods=True):
        for rp in host.pods:
            pod = view.by_uid("Pod", rp.uid)
            if pod is None or pod.spec.node_name != host.name or pod.meta.deleting:
                continue
            if pod.phase in ("Succeeded", "Failed") or (pod.phase == "Running" and pod.ready and pod.ip == rp.ip):
                continue
            nxt = apiserver.update(s, evolve(pod, phase="Running", ready=True, ip=rp.ip), pod.meta.resource_version,
                                   spec_changed=False)
            if nxt is not None:
                yield label("kubelet", "report_status", (("node", host.name), ("pod", rp.key))), nxt


def kill_orphan(s: ClusterState) -> Iterator:
    """The kubelet stops the containers of a pod it no longer sees bound to its node."""
    for host, view in _kubelets(s, need_pods=True):
        for rp in host.pods:
            pod = view.by_uid("Pod", rp.uid)
            if pod is not None and pod.spec.node_name == host.name and pod.phase not in ("Succeeded", "Failed"):
                continue
            yield (label("kubelet", "kill_orphan", (("node", host.name), ("pod", rp.key))),
                   _with_pods(s, host, tuple(r for r in host.pods if r.uid != rp.uid)))


def finish_deletion(s: ClusterState) -> Iterator:
    """The kubelet stops a terminating pod's containers and completes its deletion (grace 0)."""
    for host, view in _kubelets(s):
        for pod in view.pods:
            if pod.spec.node_name != host.name or not pod.meta.deleting:
                continue
            nxt = s
            if pod.meta.finalizers and pod.phase not in ("Succeeded", "Failed") and pod.spec.restart_policy != "Always":
                # The kubelet reports a terminal phase for a pod it stopped (since 1.27, KEP-3329): Failed, its
                # containers killed; the finalizers keep the object for the controller that reads it (a Job's).
                nxt = apiserver.update(s, evolve(pod, phase="Failed", ready=False, exit_code=KILLED),
                                       pod.meta.resource_version, spec_changed=False)
                pod = None if nxt is None else nxt.store.by_uid("Pod", pod.meta.uid)
                if pod is None:
                    continue
            nxt = apiserver.delete(nxt, pod, grace=False)
            if nxt is None:
                continue
            yield (label("kubelet", "finish_deletion", (("node", host.name), ("pod", pod.meta.key))),
                   _with_pods(nxt, host, tuple(rp for rp in host.pods if rp.uid != pod.meta.uid)))


def restart_rule(relist: str) -> Rule:
    def restart(s: ClusterState) -> Iterator:
        """The supervisor restarts a crashed kubelet, which relists its pods through an apiserver."""
        for host in s.hosts:
            if not host.up or host.kubelet_up:
                continue
            back = s.with_host(evolve(host, kubelet_up=True))
            for k, up in enumerate(s.apiservers_up):
                if not up:
                    continue
                nxt = apiserver.reconnect(back, client(host.name), k, quorum_read=(relist == "consistent"))
                choice = (("apiserver", k + 1),) if len(s.apiservers_up) > 1 else ()
                yield label("kubelet", "restart", (("node", host.name),), choice), nxt

    return Rule("kubelet.restart", restart, doc=restart.__doc__)


def rules(restarts: bool = False, relist: str = "cache", pod_ips: bool = False) -> List[Rule]:
    run = functools.partial(run_pod, pod_ips=True) if pod_ips else run_pod
    out = [Rule("kubelet.run_pod", run, doc=run_pod.__doc__),
           Rule("kubelet.container_exits", container_exits, doc=container_exits.__doc__),
           Rule("kubelet.report_status", report_status, doc=report_status.__doc__),
           Rule("kubelet.kill_orphan", kill_orphan, doc=kill_orphan.__doc__),
           Rule("kubelet.finish_deletion", finish_deletion, doc=finish_deletion.__doc__)]
    if restarts:
        out.append(restart_rule(relist))
    return out
