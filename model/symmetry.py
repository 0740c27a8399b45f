"""Symmetry of Kubernetes states: interchangeable worker nodes (DESIGN section 2, "symmetry").

Two worker nodes are interchangeable when the scenario cannot tell them apart
but by name: the same labels that something reads (`read_label_keys`: pods'
node selectors and affinity, the topology keys of spread and pod affinity,
the zone where zone outages may come; a zone label nothing reads does not
count), taints, allocatable and schedulability, no control-plane component
on either, and nothing in the scenario that names one of them (a pod's
`nodeName` or node affinity, a change such as a drain).  Renaming such nodes
everywhere maps a state onto another state of the same behaviours with the
same verdicts: every property speaks of all nodes alike.  Everywhere includes
what the model derives from a node's name or index: the node a DaemonSet pod's
affinity pins, the endpoints' nodes, and pod IPs, allocated from the pod CIDR
of the machine's index (the lowest free address of the /24 is a function of
the machine's own sandboxes, so it commutes with the renaming), in pods,
sandboxes, endpoints and kube-proxy's rules.

`node_symmetry(sc)` returns the representative for a scenario, or None where
no two nodes are interchangeable, or where the state names nodes in places
this renaming does not cover: the cloud's routes and load balancers, and
clients per node (several apiservers, lagging caches, kubelet restarts: a
kubelet's connection, pin and watermark are keyed by its node).  Those are
left for later; the representative is then simply not composed.

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

from .components.networkplugin import pod_cidr_prefix
from .kinds import pod_specs
from .objects import evolve
from .scenario import Scenario
from .state import ClusterState

HOSTNAME = "kubernetes.io/hostname"


ZONE = "topology.kubernetes.io/zone"


def read_label_keys(sc: Scenario) -> set:
    """The Node label keys something in the scenario reads: pods' nodeSelector and required node affinity, the
    topologyKey of their spread constraints and pod (anti-)affinity terms, and the zone where a zone outage
    may come.  A label no one reads does not tell two nodes apart."""
    keys = set()
    objs = list(sc.objects) + [c.obj for c in sc.changes if getattr(c, "obj", None) is not None]
    for spec in pod_specs(objs):
        keys.update(k for k, _ in spec.node_selector)
        keys.update(r.key for term in spec.node_affinity for r in term if not r.field)
        keys.update(c.topology_key for c in spec.topology_spread)
        keys.update(a.topology_key for a in spec.anti_affinity + spec.affinity)
    if "zone-outage" in sc.fault_kinds or "zone-recover" in sc.fault_kinds:
        keys.add(ZONE)
    return keys


def _static_key(n, read=None) -> tuple:
    labels = tuple((k, v) for k, v in n.meta.labels if k != HOSTNAME and (read is None or k in read))
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
    read = read_label_keys(sc)
    groups: Dict[tuple, List[str]] = {}
    for n in sc.nodes:
        if n.meta.name in named:
            continue
        groups.setdefault(_static_key(n, read), []).append(n.meta.name)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def unsupported(sc: Scenario) -> Optional[str]:
    """Why the state names nodes where the renaming does not reach (see the module docstring), or None."""
    if sc.control_plane.cloud_controller_manager:
        return "a cloud provider (routes and load balancers name nodes)"
    if sc.control_plane.apiservers > 1 or sc.max_staleness > 0:
        return "several apiservers or lagging caches (kubelets' connections and pins are per node)"
    if sc.fault_budget > 0 and "kubelet-restart" in sc.fault_kinds:
        return "kubelet restarts (a kubelet's relist is per node)"
    from .components.attachdetach import volumes_modelled
    if volumes_modelled(sc):
        return "volumes (their attachments name nodes)"
    return None


def symmetry_note(sc: Scenario, control_plane_nodes: Sequence[str] = ()) -> str:
    """One line for the report: which nodes are interchangeable, or why none are taken as such."""
    why = unsupported(sc)
    if why:
        return f"not used: the state names nodes beyond what is renamed ({why})"
    classes = node_classes(sc, control_plane_nodes)
    if not classes:
        return "none: no two worker nodes are interchangeable"
    return "interchangeable nodes " + "; ".join(_listed(c) for c in classes)


def _listed(names, shown: int = 6) -> str:
    """A class of nodes as a report line can hold it: every name up to a few, else the first and last."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown - 1])}, ..., {names[-1]} ({len(names)} nodes)"


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
            sig.append(tuple(p.meta.uid for p in store.pods if not p.spec.node_name and _pins(p, name)))
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
        return renamed(s, rename, read)

    read = read_label_keys(sc)
    return representative


def _pins(pod, name: str) -> bool:
    """The pod's required node affinity names the node (a DaemonSet pod's pin)."""
    return any(r.field and name in r.values for term in pod.spec.node_affinity for r in term)


def renamed(s: ClusterState, rename: Dict[str, str], read: Optional[set] = None) -> ClusterState:
    """`s` with node names mapped by `rename` (a permutation) in every place this module covers: the Nodes,
    the machines, pods' nodeName and nominated node, the node a DaemonSet pod's affinity pins, endpoints'
    nodes, and pod IPs (allocated from the pod CIDR of the machine's index, model/components/networkplugin.py)
    with everything that holds them (pods, sandboxes, endpoints, kube-proxy's rules, CoreDNS's records).  A Node keeps its
    name's uid and, where `read` names the label keys something reads, its name's other labels (a zone no
    one reads stays with the name)."""
    def node_name(n: str) -> str:
        return rename.get(n, n)

    index = {h.name: i for i, h in enumerate(s.hosts)}
    prefixes = {pod_cidr_prefix(index[old]): pod_cidr_prefix(index[new]) for old, new in rename.items()
                if old in index and new in index}

    def ip(a: str) -> str:
        if not a:
            return a
        head, _, last = a.rpartition(".")
        new = prefixes.get(head + ".")
        return new + last if new is not None else a

    def pinned(terms):
        out = []
        for term in terms:
            out.append(tuple(evolve(r, values=tuple(node_name(v) for v in r.values))
                             if r.field and any(v in rename for v in r.values) else r for r in term))
        return tuple(out)

    def store_renamed(store):
        uid_of = {n.meta.name: n.meta.uid for n in store.nodes}   # a Node keeps the uid of its name's slot
        labels_of = {n.meta.name: n.meta.labels for n in store.nodes}
        nodes = []
        for n in store.nodes:
            new = node_name(n.meta.name)
            if new != n.meta.name:
                if read is None:
                    labels = tuple((k, new if k == HOSTNAME else v) for k, v in n.meta.labels)
                else:   # the labels read move with the node; the others stay with the name
                    labels = tuple(sorted([(k, v) for k, v in n.meta.labels if k in read and k != HOSTNAME]
                                          + [(k, v) for k, v in labels_of.get(new, ()) if k not in read or k == HOSTNAME]))
                n = evolve(n, meta=evolve(n.meta, name=new, labels=labels, uid=uid_of.get(new, n.meta.uid)))
            nodes.append(n)
        pods = []
        for p in store.pods:
            spec = p.spec
            if spec.node_name in rename:
                spec = evolve(spec, node_name=rename[spec.node_name])
            if any(r.field for term in spec.node_affinity for r in term):
                spec = evolve(spec, node_affinity=pinned(spec.node_affinity))
            changes = {}
            if spec is not p.spec:
                changes["spec"] = spec
            if p.nominated in rename:
                changes["nominated"] = rename[p.nominated]
            if p.ip and ip(p.ip) != p.ip:
                changes["ip"] = ip(p.ip)
            pods.append(evolve(p, **changes) if changes else p)
        slices = []
        for es in store.endpointslices:
            if any(e.node in rename for e in es.endpoints):
                es = evolve(es, endpoints=tuple(evolve(e, node=node_name(e.node), ip=ip(e.ip)) for e in es.endpoints))
            slices.append(es)
        return evolve(store, nodes=tuple(sorted(nodes, key=lambda n: n.meta.uid)), pods=tuple(pods),
                      endpointslices=tuple(slices))

    def host_renamed(h):
        pods = tuple(evolve(rp, ip=ip(rp.ip)) if rp.ip else rp for rp in h.pods)
        rules = tuple((svc, cip, tuple(sorted(ip(b) for b in backends))) for svc, cip, backends in h.service_rules)
        return evolve(h, name=node_name(h.name), pods=pods, service_rules=rules)

    hosts = {node_name(h.name): host_renamed(h) for h in s.hosts}
    order = [h.name for h in s.hosts]   # the machines keep the scenario's order of names
    # CoreDNS's records of headless Services and pod hostnames hold pod IPs too.
    dns = tuple(sorted((name, ip(a)) for name, a in s.dns_records)) if s.dns_records else s.dns_records
    return evolve(s, store=store_renamed(s.store), history=tuple(store_renamed(h) for h in s.history),
                  hosts=tuple(hosts[n] for n in order), dns_records=dns)
