"""Symmetry of Kubernetes states: interchangeable worker nodes (DESIGN section 2, "symmetry").

Two worker nodes are interchangeable when the scenario cannot tell them apart
but by name: the same labels (zone included; `kubernetes.io/hostname`, which
names the node, aside), taints, allocatable and schedulability, no
control-plane component on either, and nothing in the scenario that names
one of them (a pod's `nodeName` or node affinity, a change such as a drain, a
DaemonSet, which pins a pod to each node by name).  Renaming such nodes
everywhere maps a state onto another state of the same behaviours with the
same verdicts: every property speaks of all nodes alike.

`node_symmetry(sc)` returns the representative for a scenario, or None where
no two nodes are interchangeable, or where the state names nodes in places
this renaming does not cover: pod IPs (allocated from each node's pod CIDR,
so a Service's endpoints and kube-proxy's rules encode the node), the cloud's
routes and load balancers, and clients per node (several apiservers, lagging
caches, kubelet restarts: a kubelet's connection, pin and watermark are
keyed by its node).  Those are left for later; the representative is then
simply not composed.

The representative sorts the nodes of each class by a signature of what the
state says of them but their names (the Node object and the machine, the uids
of the pods bound to each, in etcd and in every cache's history) and gives
them the class's names in that order.  Pods keep their uids, so the
signature tells nodes with different pods apart; nodes with equal signatures
are equal, and how a tie falls does not matter.  The signature is built of
strings, numbers and booleans, so the representative, and the counts and
traces of a search with symmetry, do not depend on PYTHONHASHSEED.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from .kinds import pod_specs
from .objects import evolve
from .scenario import Scenario
from .state import ClusterState

HOSTNAME = "kubernetes.io/hostname"


def _static_key(n) -> tuple:
    labels = tuple((k, v) for k, v in n.meta.labels if k != HOSTNAME)
    return (labels, n.taints, n.allocatable, n.unschedulable)


def _named_nodes(sc: Scenario) -> set:
    """The nodes the scenario names outside their own manifest (they are not interchangeable)."""
    names = set()
    for o in list(sc.objects) + [c.obj for c in sc.changes if getattr(c, "obj", None) is not None]:
        for spec in pod_specs([o]):
            if spec.node_name:
                names.add(spec.node_name)
            for term in spec.node_affinity:
                for r in term:
                    names.update(r.values)
            names.update(v for k, v in spec.node_selector if k == HOSTNAME)
    node_names = {n.meta.name for n in sc.nodes}
    for c in sc.changes:   # a change that names a node (as a delete of the Node would)
        names.update(v for v in vars(c).values() if isinstance(v, str) and v in node_names)
    return names


def node_classes(sc: Scenario, control_plane_nodes: Sequence[str] = ()) -> List[List[str]]:
    """The classes of interchangeable worker nodes (two or more each), by name."""
    named = _named_nodes(sc) | set(control_plane_nodes)
    groups: Dict[tuple, List[str]] = {}
    for n in sc.nodes:
        if n.meta.name in named:
            continue
        groups.setdefault(_static_key(n), []).append(n.meta.name)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def unsupported(sc: Scenario) -> Optional[str]:
    """Why the state names nodes where the renaming does not reach (see the module docstring), or None."""
    kinds = {o.kind for o in sc.objects} | {c.kind for c in sc.changes if getattr(c, "kind", None)}
    if "Service" in kinds:
        return "a Service (pod IPs are allocated per node)"
    if "DaemonSet" in kinds:
        return "a DaemonSet (its pods name their nodes)"
    if sc.control_plane.cloud_controller_manager:
        return "a cloud provider (routes and load balancers name nodes)"
    if sc.control_plane.apiservers > 1 or sc.max_staleness > 0:
        return "several apiservers or lagging caches (kubelets' connections and pins are per node)"
    if sc.fault_budget > 0 and "kubelet-restart" in sc.fault_kinds:
        return "kubelet restarts (a kubelet's relist is per node)"
    return None


def symmetry_note(sc: Scenario, control_plane_nodes: Sequence[str] = ()) -> str:
    """One line for the report: which nodes are interchangeable, or why none are taken as such."""
    why = unsupported(sc)
    if why:
        return f"not used: the state names nodes beyond what is renamed ({why})"
    classes = node_classes(sc, control_plane_nodes)
    if not classes:
        return "none: no two worker nodes are interchangeable"
    return "interchangeable nodes " + "; ".join(", ".join(c) for c in classes)


def node_symmetry(sc: Scenario, control_plane_nodes: Sequence[str] = ()) -> Optional[Callable]:
    """The representative of the scenario's node symmetry, or None where it has none this module handles."""
    if unsupported(sc):
        return None
    classes = node_classes(sc, control_plane_nodes)
    if not classes:
        return None

    def signature(s: ClusterState, name: str) -> tuple:
        host = s.host(name)
        node = s.store.get("Node", "", name)
        sig = [(host.up, host.kubelet_up, host.reachable, host.vm_deleted, tuple(rp.uid for rp in host.pods))]
        sig.append(() if node is None else (node.ready, tuple((t.key, t.value, t.effect) for t in node.taints),
                                            node.unschedulable, node.meta.resource_version))
        for store in (s.store,) + s.history:
            sig.append(tuple(p.meta.uid for p in store.pods if p.spec.node_name == name))
        return tuple(sig)

    def representative(s: ClusterState) -> ClusterState:
        rename: Dict[str, str] = {}
        for names in classes:
            order = sorted(names, key=lambda n: signature(s, n))   # stable: ties keep their name order
            for new, old in zip(names, order):
                if new != old:
                    rename[old] = new
        if not rename:
            return s
        return renamed(s, rename)

    return representative


def renamed(s: ClusterState, rename: Dict[str, str]) -> ClusterState:
    """`s` with node names mapped by `rename` (a permutation) in every place this module covers."""
    def node_name(n: str) -> str:
        return rename.get(n, n)

    def store_renamed(store):
        uid_of = {n.meta.name: n.meta.uid for n in store.nodes}   # a Node keeps the uid of its name's slot
        nodes = []
        for n in store.nodes:
            new = node_name(n.meta.name)
            if new != n.meta.name:
                labels = tuple((k, new if k == HOSTNAME else v) for k, v in n.meta.labels)
                n = evolve(n, meta=evolve(n.meta, name=new, labels=labels, uid=uid_of.get(new, n.meta.uid)))
            nodes.append(n)
        pods = []
        for p in store.pods:
            if p.spec.node_name in rename:
                p = evolve(p, spec=evolve(p.spec, node_name=rename[p.spec.node_name]))
            if p.nominated in rename:
                p = evolve(p, nominated=rename[p.nominated])
            pods.append(p)
        return evolve(store, nodes=tuple(sorted(nodes, key=lambda n: n.meta.uid)), pods=tuple(pods))

    hosts = {node_name(h.name): evolve(h, name=node_name(h.name)) if h.name in rename else h for h in s.hosts}
    order = [h.name for h in s.hosts]   # the machines keep the scenario's order of names
    return evolve(s, store=store_renamed(s.store), history=tuple(store_renamed(h) for h in s.history),
                  hosts=tuple(hosts[n] for n in order))
