"""The DaemonSet controller of kube-controller-manager.

Follows pkg/controller/daemon/daemon_controller.go (manage, podsShouldBeOnNode,
NodeShouldRunDaemonPod) and pkg/controller/daemon/util:

* A Node should run a DaemonSet's pod when it matches the template's
  nodeSelector and required node affinity and tolerates its NoSchedule and
  NoExecute taints, counting the tolerations the controller adds to every
  daemon pod (not-ready and unreachable NoExecute for ever, unschedulable,
  disk-, memory- and pid-pressure NoSchedule).  A pod already on a Node
  stays while it tolerates the Node's NoExecute taints (shouldContinueRunning),
  so a crashed or cut-off Node, tainted unreachable, keeps its daemon pod,
  though no new one would be created there.
* For each such Node without an active daemon pod, the controller creates
  one, aimed at the Node by required node affinity `matchFields
  metadata.name In [node]` (ReplaceDaemonSetPodNodeNameNodeAffinity): the
  default scheduler binds it, and the kubelet admits it or rejects it like any
  other pod.  A Failed daemon pod is deleted, so that it is replaced; pods on
  Nodes that should not run one, and extras beyond one per Node, are deleted.
* Expectations, as in the ReplicaSet controller: after its own create or
  delete, a controller replica does not sync that DaemonSet again until its
  informer has seen the write (`behaviour.expectations`).

One create or delete is one step.  Not modelled: rolling updates of the
template (updateStrategy), surge, status, the burst of creates per sync.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..kinds.daemonset import (DAEMON_TOLERATIONS, daemon_tolerations, new_pod, pinned_node,  # noqa: F401
                               should_continue, should_run)
from ..objects import DaemonSet, Pod
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"


def target_node(pod: Pod) -> str:
    """The Node a daemon pod is for: its nodeName once bound, else the name its node affinity pins."""
    return pod.spec.node_name or pinned_node(pod)


def daemon_pods(view, ds: DaemonSet) -> List[Pod]:
    uid = ds.meta.uid
    return [p for p in view.pods if p.meta.namespace == ds.meta.namespace and p.meta.controller_uid() == uid
            and not p.meta.deleting]


def rules(expectations: bool = True) -> List[Rule]:
    def syncable(s: ClusterState, actor: str, view):
        for ds in view.daemonsets:
            if ds.meta.deleting:
                continue
            if expectations and view.revision < s.expectation(actor, ds.meta.uid):
                continue
            yield ds

    def expect(nxt: ClusterState, actor: str, ds: DaemonSet) -> ClusterState:
        return nxt.expect(actor, ds.meta.uid, nxt.store.revision) if expectations else nxt

    def create_pod(s: ClusterState) -> Iterator:
        """The controller creates a daemon pod for a Node that should run one and has none."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for ds in syncable(s, actor, view):
                have = {target_node(p) for p in daemon_pods(view, ds) if p.phase != "Failed"}
                for node in view.nodes:
                    if node.meta.name not in have and should_run(ds, node):
                        nxt = apiserver.create(s, new_pod(ds, node.meta.name))
                        if nxt is not None:
                            yield (label("daemonset", "create_pod", (("ds", ds.meta.key), ("node", node.meta.name)) + by),
                                   expect(nxt, actor, ds))

    def delete_pod(s: ClusterState) -> Iterator:
        """The controller deletes a Failed daemon pod, one on a Node that should not run it, or an extra one."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for ds in syncable(s, actor, view):
                nodes = {n.meta.name: n for n in view.nodes}
                seen = set()
                for p in daemon_pods(view, ds):
                    where = target_node(p)
                    node = nodes.get(where)
                    extra = where in seen and p.phase != "Failed"
                    if p.phase != "Failed":
                        seen.add(where)
                    if p.phase == "Failed" or node is None or not should_continue(ds, node) or extra:
                        nxt = apiserver.delete(s, p)
                        if nxt is not None:
                            yield (label("daemonset", "delete_pod", (("ds", ds.meta.key), ("pod", p.meta.key)) + by),
                                   expect(nxt, actor, ds))

    return [Rule("daemonset.create_pod", create_pod, doc=create_pod.__doc__),
            Rule("daemonset.delete_pod", delete_pod, doc=delete_pod.__doc__)]
