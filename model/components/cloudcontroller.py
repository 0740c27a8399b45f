"""cloud-controller-manager: the cloud provider's controllers (k8s.io/cloud-provider).

Modelled: its node lifecycle controller (controllers/nodelifecycle/
node_lifecycle_controller.go, MonitorNodes): for a Node that is not Ready,
it asks the cloud whether the Node's instance still exists
(InstanceExistsByProviderID) and, if the VM is gone (the `vm-deleted` fault),
deletes the Node object.  PodGC then force-deletes the pods bound to it
(model/components/podgc.py), and their owners replace them.  Without a cloud
(`controlPlane.cloudControllerManager: false`, the default) nothing deletes
the Node: it stays NotReady, tainted, and its evicted pods stay Terminating.

Not yet modelled: the node controller's initialisation of new Nodes
(addresses, zone labels, the uninitialized taint), the route controller
(routes-converge) and the service controller (load balancers).
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "cloud-controller-manager"


def vm_gone(s: ClusterState, node_name: str) -> bool:
    return any(h.name == node_name and h.vm_deleted for h in s.hosts)


def delete_node(s: ClusterState) -> Iterator:
    """The cloud node lifecycle controller deletes a Node that is not Ready and whose VM no longer exists."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for node in view.nodes:
            if node.ready != "True" and vm_gone(s, node.meta.name):
                nxt = apiserver.delete(s, node)
                if nxt is not None:
                    yield label("cloud-node-lifecycle", "delete_node", (("node", node.meta.name),) + by), nxt


def rules() -> List[Rule]:
    return [Rule("cloud-node-lifecycle.delete_node", delete_node, doc=delete_node.__doc__)]
