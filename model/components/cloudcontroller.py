"""cloud-controller-manager: the cloud provider's controllers (k8s.io/cloud-provider).

Modelled: its node lifecycle controller (controllers/nodelifecycle/
node_lifecycle_controller.go, MonitorNodes): for a Node that is not Ready,
it asks the cloud whether the Node's instance still exists
(InstanceExistsByProviderID) and, if the VM is gone (the `vm-deleted` fault),
deletes the Node object.  PodGC then force-deletes the pods bound to it
(model/components/podgc.py), and their owners replace them.  Without a cloud
(`controlPlane.cloudControllerManager: false`, the default) nothing deletes
the Node: it stays NotReady, tainted, and its evicted pods stay Terminating.

Route controller (controllers/route/route_controller.go, reconcile): the
cloud has a route per Node's pod CIDR; a Node without one gets it created, a
route whose Node is gone is deleted (one cloud call per step).  The routes of
the Nodes the cluster was installed with exist from the start.

Service controller (controllers/service/controller.go): each `type:
LoadBalancer` Service gets a cloud load balancer (EnsureLoadBalancer) whose
backends are the Nodes the controller selects, updated when they change
(UpdateLoadBalancer) and deleted with the Service (EnsureLoadBalancerDeleted).
The Nodes selected: every Node not labelled
`node.kubernetes.io/exclude-from-external-load-balancers` (since 1.30,
StableLoadBalancerNodeSet: a NotReady Node stays a backend and the cloud's
health checks route around it); with `behaviour.stableLoadBalancerNodeSet:
false`, as before, only Ready ones.

Not yet modelled: the node controller's initialisation of new Nodes
(addresses, zone labels, the uninitialized taint); the Service's
status.loadBalancer; the cloud's health checks; node CIDRs are fixed
(model/components/networkplugin.py).
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Observer, Rule, label

from ..objects import evolve
from ..state import ClusterState
from . import apiserver, leaderelection
from .networkplugin import pod_cidr_prefix

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"

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


def pod_cidr(s: ClusterState, node_name: str) -> str:
    """The fixed pod CIDR of a node (the i-th machine of the scenario)."""
    for i, h in enumerate(s.hosts):
        if h.name == node_name:
            return pod_cidr_prefix(i) + "0/24"
    return ""


def initial_routes(s: ClusterState) -> tuple:
    """The routes of the Nodes the cluster was installed with."""
    return tuple(sorted((n.meta.name, pod_cidr(s, n.meta.name)) for n in s.store.nodes))


def reconcile_routes(s: ClusterState) -> Iterator:
    """The route controller creates the cloud route of a Node that has none, or deletes a route whose Node is gone."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        nodes = {n.meta.name for n in view.nodes}
        have = dict(s.cloud_routes)
        for name in sorted(nodes - set(have)):
            routes = tuple(sorted(s.cloud_routes + ((name, pod_cidr(s, name)),)))
            yield label("cloud-route", "create_route", (("node", name),) + by), evolve(s, cloud_routes=routes)
        for name in sorted(set(have) - nodes):
            routes = tuple(r for r in s.cloud_routes if r[0] != name)
            yield label("cloud-route", "delete_route", (("node", name),) + by), evolve(s, cloud_routes=routes)


def lb_backends(nodes, stable_node_set: bool = True) -> tuple:
    """The Nodes the service controller puts behind a load balancer."""
    return tuple(sorted(n.meta.name for n in nodes if EXCLUDE_LABEL not in dict(n.meta.labels)
                        and (stable_node_set or n.ready == "True")))


def service_rule(stable_node_set: bool) -> Rule:
    def sync_load_balancer(s: ClusterState) -> Iterator:
        """The service controller creates, updates or deletes a LoadBalancer Service's cloud load balancer."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            want = {svc.meta.key: lb_backends(view.nodes, stable_node_set) for svc in view.services
                    if svc.type == "LoadBalancer" and not svc.meta.deleting}
            have = dict(s.cloud_lbs)
            for key in sorted(set(want) | set(have)):
                if want.get(key) == have.get(key):
                    continue
                lbs = dict(have)
                if key in want:
                    lbs[key] = want[key]
                    action = "update_load_balancer" if key in have else "ensure_load_balancer"
                else:
                    del lbs[key]
                    action = "delete_load_balancer"
                yield (label("cloud-service", action, (("service", key),) + by),
                       evolve(s, cloud_lbs=tuple(sorted(lbs.items()))))

    return Rule("cloud-service.sync_load_balancer", sync_load_balancer, doc=sync_load_balancer.__doc__)


def rules(delete_nodes: bool = True, routes: bool = False, load_balancers: bool = False,
          stable_node_set: bool = True) -> List[Rule]:
    out = []
    if delete_nodes:
        out.append(Rule("cloud-node-lifecycle.delete_node", delete_node, doc=delete_node.__doc__))
    if routes:
        out.append(Rule("cloud-route.reconcile_routes", reconcile_routes, doc=reconcile_routes.__doc__))
    if load_balancers:
        out.append(service_rule(stable_node_set))
    return out


def _one_view(s: ClusterState):
    """The view of the one replica acting, or None where none acts or several do (a leader's overlap)."""
    views = [view for _, _, view in leaderelection.acting_views(s, CLIENT)]
    return views[0] if len(views) == 1 else None


def route_observer() -> Observer:
    """The route controller as an observer (explorer/observers.py): the cloud's routes are read by nothing but
    `routes-converge`.  A goal reads them even where the controller cannot act (no replica acting, or two),
    so those states make the check fall back to composing it."""
    def fill(s: ClusterState) -> ClusterState:
        view = _one_view(s)
        if view is None:
            return s
        routes = tuple(sorted((n.meta.name, pod_cidr(s, n.meta.name)) for n in view.nodes))
        return s if routes == s.cloud_routes else evolve(s, cloud_routes=routes)

    return Observer("cloud-route", ("cloud-route.reconcile_routes",),
                    lambda s: evolve(s, cloud_routes=()) if s.cloud_routes else s, fill,
                    lambda s: s.cloud_routes, lambda s: _one_view(s) is not None,
                    lambda s: _one_view(s) is not None)


def load_balancer_observer(stable_node_set: bool) -> Observer:
    """The service controller as an observer: the cloud's load balancers are read by nothing but
    `cloud-load-balancer-converges` (the same fallback as the routes')."""
    def fill(s: ClusterState) -> ClusterState:
        view = _one_view(s)
        if view is None:
            return s
        lbs = tuple(sorted((svc.meta.key, lb_backends(view.nodes, stable_node_set)) for svc in view.services
                           if svc.type == "LoadBalancer" and not svc.meta.deleting))
        return s if lbs == s.cloud_lbs else evolve(s, cloud_lbs=lbs)

    return Observer("cloud-service", ("cloud-service.sync_load_balancer",),
                    lambda s: evolve(s, cloud_lbs=()) if s.cloud_lbs else s, fill,
                    lambda s: s.cloud_lbs, lambda s: _one_view(s) is not None,
                    lambda s: _one_view(s) is not None)
