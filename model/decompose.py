"""Workloads checked apart: the cone of influence of each independent group of workloads.

Two workloads that nothing relates (a Deployment behind its Service, a
DaemonSet of agents, a batch Job) take their steps independently: every
interleaving of their steps is explored when they are composed, and the
search multiplies their state spaces.  Here the scenario is split into
*groups* of workloads that may influence each other, each checked with the
shared cluster (Nodes, Namespaces, the addons, the control plane and the
faults) but without the other groups; the verdicts are joined.

Why the verdicts are those of the whole cluster.  Each state of the whole is
a product: the shared part (machines up or down, Node conditions and
taints, leader election, etcd) and one part per group (its objects, its
pods' sandboxes on the machines, its Service rules and DNS records, its
controllers' expectations).  Every step of the model either

* belongs to one group: it reads the shared part and that group's part and
  writes that group's part (a controller's sync of one object, the
  scheduler's bind of one pod, a kubelet starting one pod), or
* is shared: it is enabled by the shared part alone and changes each
  group's part as a function of the shared part and that group's part alone
  (a crash wipes every sandbox of the machine; the node lifecycle
  controller marks every pod of an unreachable Node not ready; a
  controller-manager restart loses every controller's memory; kube-proxy,
  DNS and the taint-eviction controller sync every group's objects of one
  node or zone in one step).

So a behaviour of the whole cluster, restricted to one group and the shared
part, is a behaviour of that group checked alone, fair if the whole one is
(a fair instance enabled for ever in the whole is so alone); and a
behaviour of a group alone is the restriction of one of the whole, in which
the other groups run fairly beside it.  Every property is a conjunction of
parts that each read one group and the shared part (a Service's endpoints,
a Deployment's rollout, a pod's node), and "eventually always" of a
conjunction is the conjunction of the "eventually always": each part is
decided by the group that holds it, a violation in one group is a violation
of the whole (its trace shows that group alone: the others may stay idle
while it happens, or, for a convergence violation, run to their own end
beside it).

What would break that, and what is done about it:

* **Capacity** is the one thing every pod on a node reads: the scheduler's
  fit and the kubelet's admission count every pod of the node.  It cannot
  bind when, for every node, the largest use of it in any state of each
  group's search (requests of the pods bound to it or running on it; the
  shared addon pods counted in every group) sums within its allocatable:
  then a pod fits in the whole exactly when it fits alone (the step reaches
  a state of its group, whose use is within that group's largest).  That is
  checked after the searches, on every state each kept; where it fails, the
  whole cluster is searched instead and the report says why.  The groups are
  searched without partial-order reduction, so that every reachable state's
  use is seen (the quotient, observer elimination and node symmetry keep
  every state's pods; under symmetry each node takes its class's largest).
* **Pod IPs** come from the node's pod CIDR, the lowest address no sandbox
  of the node holds: which address a pod gets depends on the other groups'
  pods, but no rule or property reads an address except to compare it with
  a current pod's (endpoints, Service rules, resynced fairly), and two pods
  never share one (the addresses of a node's sandboxes are allocated among
  all of them; each node's prefix is its own): `pod-ip-unique` is decided
  within each group, and holds across groups by that construction.
* Groups are joined, not split, where a selector of one may match the pods
  of another (a Service, a controller's selector, pod anti-affinity,
  affinity or topology spread: any namespace), where the pods of two hold
  host ports, where the user's changes act on both (changes are made in
  order), or where an object names another as its owner.
  Workloads named with one another's name as prefix go together too (a
  controller names what it makes after its owner: `web-<hash>` may already
  be another's name); a Service without a selector goes with every workload
  of its namespace (service-routing-converges asks it to route to them).
* Not split at all (checked together, the report says why): lagging caches
  (a cache's lag counts writes of every group), several apiservers (the
  clients are spread over them by the components composed), workers shared
  by every ReplicaSet (`workqueuePerKey: false`), request-timeout faults (a
  fault of one group's step, from the budget all share), pods of different
  priorities (preemption picks victims of any group), Pods without a
  controller or orphaning deletions (adoption), an operator's kinds, a
  change to a Node or another shared object, to the DNS addon or to an
  object the manifests do not hold (a pod by its generated name), a
  PodDisruptionBudget (its status counts the pods of every group it selects), a
  selector on the `pod-template-hash` label the Deployment controller adds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .kinds import KINDS
from .objects import Resources, labels_match
from .scenario import Scenario

Key = Tuple[str, str, str]   # (kind, namespace, name)
HASH_LABEL = "pod-template-hash"


@dataclass(frozen=True)
class Group:
    """Workloads that may influence each other, checked together, apart from the other groups."""

    keys: Tuple[Key, ...]          # in the scenario's order
    changes: Tuple[int, ...] = ()   # indexes of the user's changes that act on them
    shared: Tuple[Key, ...] = ()    # the DNS addon's workloads, in every group with a Service

    @property
    def all_keys(self) -> Tuple[Key, ...]:
        return self.keys + self.shared

    def describe(self) -> str:
        shown = [f"{k} {ns}/{n}" for k, ns, n in self.keys]
        return ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")


def key_of(obj) -> Key:
    return (obj.kind, obj.meta.namespace, obj.meta.name)


def is_workload(obj) -> bool:
    """Pods and what makes them, and Services (which select them): everything else is shared."""
    kind = KINDS.get(obj.kind)
    return kind is not None and (kind.makes_pods or obj.kind == "Service")


def _pod_labels(obj, nodes) -> List[tuple]:
    groups = KINDS[obj.kind].pod_groups
    return [g[3] for g in groups(obj, nodes)] if groups is not None else []


def _specs(obj) -> list:
    kind = KINDS[obj.kind]
    return [kind.pod_spec(obj)] if kind.pod_spec is not None else []


def _selectors(obj) -> List[Tuple[object, bool]]:
    """(selector, same namespace only) of everything in `obj` that selects pods."""
    out: List[Tuple[object, bool]] = []
    if obj.kind == "Service":
        # Without a selector, service-routing-converges asks it to route to every pod of its namespace
        # (properties/networking.py `_backing_pods`): it goes with all of them.
        out.append((obj.selector, True))
    elif getattr(obj, "selector", None):
        out.append((obj.selector, True))
    for spec in _specs(obj):
        for term in tuple(spec.anti_affinity) + tuple(spec.affinity) + tuple(spec.topology_spread):
            out.append((term.selector, False))
    return out


class _Union:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def not_split(sc: Scenario) -> Optional[str]:
    """Why the scenario's workloads cannot be checked apart at all, or None."""
    from .compose import uid_order_across_groups
    if sc.max_staleness > 0:
        return "caches may lag (maxStaleness > 0), by writes of every workload"
    if sc.control_plane.apiservers > 1:
        return "several apiservers (the clients' connections are spread over them by the components composed)"
    if not sc.workqueue_per_key:
        return "the ReplicaSet controller's workers are shared by every ReplicaSet (workqueuePerKey: false)"
    if sc.fault_budget > 0 and "request-timeout" in sc.fault_kinds:
        return "a request timeout is a fault of one workload's step, spending the budget every workload shares"
    if sc.operators:
        return "an operator reconciles its kinds (spec.operators)"
    why = uid_order_across_groups(sc)
    if why:
        return why
    pdb = next((o for o in sc.objects if o.kind == "PodDisruptionBudget"), None)
    if pdb is not None:
        return f"PodDisruptionBudget {pdb.meta.key} counts the pods it selects of every workload"
    for c in sc.changes:
        if KINDS.get(c.kind) is None or not (KINDS[c.kind].makes_pods or c.kind == "Service"):
            return f"a change ({c.describe()}) acts on what every workload shares"
    objs = list(sc.objects) + [c.obj for c in sc.changes if getattr(c, "obj", None) is not None]
    for o in objs:
        if is_workload(o) and any(HASH_LABEL in repr(sel) for sel, _ in _selectors(o)):
            return f"{o.kind} {o.meta.key} selects by the {HASH_LABEL} label the Deployment controller adds"
    return None


def _is_dns_object(obj, nodes) -> bool:
    """The DNS addon's Deployment (its pods carry the addon's labels in kube-system) and Service."""
    from .components.dns import LABELS, NAMESPACE, is_dns_pod
    if obj.meta.namespace != NAMESPACE:
        return False
    if obj.kind == "Service":
        return tuple(obj.selector) == tuple(LABELS)
    return any(is_dns_pod(NAMESPACE, lab) for lab in _pod_labels(obj, nodes))


def workload_groups(sc: Scenario) -> Tuple[List[Group], Optional[str]]:
    """The groups of the scenario's workloads (two or more), or ([], why they are checked together); ([], None)
    where there is nothing to split (one group)."""
    items = [o for o in sc.objects if is_workload(o)]
    known = {key_of(o): i for i, o in enumerate(items)}
    for c in sc.changes:   # objects a change applies that the manifests do not hold
        if c.obj is not None and (c.kind, c.namespace, c.name) not in known:
            known[(c.kind, c.namespace, c.name)] = len(items)
            items.append(c.obj)
    # An applied object may replace one of the manifests: both versions' labels and selectors count.
    versions: Dict[int, list] = {i: [o] for i, o in enumerate(items)}
    for c in sc.changes:
        if c.obj is not None:
            versions[known[(c.kind, c.namespace, c.name)]].append(c.obj)
    labels = {i: [(o.meta.namespace, lab) for o in vs for lab in _pod_labels(o, sc.nodes)] for i, vs in versions.items()}
    sels = {i: [(o.meta.namespace, sel, same_ns) for o in vs for sel, same_ns in _selectors(o)]
            for i, vs in versions.items()}
    # The DNS addon (model/components/dns.py) is a layer shared by every group with a Service: dns-converges
    # reads each Service and whether a DNS pod serves, and the addon's own steps read no other workload.
    dns_layer = {i for i, o in enumerate(items) if sc.dns and _is_dns_object(o, sc.nodes)}
    u = _Union(len(items))
    for i in range(len(items)):
        for ns, sel, same_ns in sels[i]:
            for j in range(len(items)):
                if j == i or not any((not same_ns or ns == ns2) and labels_match(sel, lab) for ns2, lab in labels[j]):
                    continue
                if (i in dns_layer) != (j in dns_layer):
                    return [], (f"{items[i].kind} {items[i].meta.key} selects the pods of {items[j].kind} "
                                f"{items[j].meta.key}, and the DNS addon is shared by every group with a Service")
                u.join(i, j)
    ported = [i for i in range(len(items)) if any(s.host_ports for o in versions[i] for s in _specs(o))]
    for i in ported[1:]:
        u.join(ported[0], i)
    by_name = {(o.meta.namespace, o.kind, o.meta.name): i for i, o in enumerate(items)}
    for i, o in enumerate(items):
        for ref in o.meta.owner_references:
            j = by_name.get((o.meta.namespace, ref.kind, ref.name))
            if j is not None:
                u.join(i, j)
    for c in sc.changes:
        if (c.kind, c.namespace, c.name) not in known:
            return [], f"a change ({c.describe()}) names an object the manifests do not hold"
    # An object a controller makes is named after its owner (`web` makes ReplicaSet `web-<hash>`, which
    # another workload's name may already hold): workloads named with one another's prefix go together.
    for i, a in enumerate(items):
        for j, b in enumerate(items):
            if i != j and a.meta.namespace == b.meta.namespace and b.meta.name.startswith(a.meta.name + "-"):
                u.join(i, j)
    changed = [known[(c.kind, c.namespace, c.name)] for c in sc.changes]
    if any(i in dns_layer for i in changed):
        return [], "a change acts on the DNS addon, which every group with a Service shares"
    for i in changed[1:]:
        u.join(changed[0], i)
    members: Dict[int, List[int]] = {}
    for i in range(len(items)):
        if i not in dns_layer:
            members.setdefault(u.find(i), []).append(i)
    if any(u.find(i) in members for i in dns_layer):
        return [], "the DNS addon's workloads are tied to another workload"
    parts = sorted(members.values(), key=lambda m: m[0])
    # A group that makes no pods (a Service that selects none of them) rides with the first that does.
    podless = [m for m in parts if not any(_specs(o) for i in m for o in versions[i])]
    parts = [m for m in parts if m not in podless]
    if not parts:
        return [], None
    for m in podless:
        parts[0] = sorted(parts[0] + m)
    if len(parts) < 2:
        return [], None
    why = not_split(sc)
    if why:
        return [], why
    dns = tuple(key_of(items[i]) for i in sorted(dns_layer))
    out = []
    for m in parts:
        keys = tuple(key_of(items[i]) for i in m)
        acts = tuple(n for n, c in enumerate(sc.changes) if (c.kind, c.namespace, c.name) in keys)
        served = any(items[i].kind == "Service" or any(o.kind == "Service" for o in versions[i]) for i in m)
        out.append(Group(keys, acts, dns if served else ()))
    return out, None


def restrict(sc: Scenario, group: Group) -> Scenario:
    """The scenario with the shared cluster and the workloads of `group` alone (and their changes)."""
    mine = set(group.all_keys)
    objects = tuple(o for o in sc.objects if not is_workload(o) or key_of(o) in mine)
    kept = {key_of(o) for o in objects}
    changes = tuple(c for n, c in enumerate(sc.changes) if n in group.changes)
    # The addons' workloads are installed before the manifests (model/bootstrap.py) where their group is checked.
    addons = tuple(k for k in sc.addon_keys if k in kept)
    return dataclasses.replace(sc, objects=objects, changes=changes, addon_keys=addons)


def restrict_to_keys(sc: Scenario, keys: Sequence[Sequence[str]]) -> Scenario:
    """`restrict` by the keys a trace records (`#meta.checked_alone`)."""
    mine = tuple(tuple(k) for k in keys)
    changes = tuple(n for n, c in enumerate(sc.changes) if (c.kind, c.namespace, c.name) in mine)
    return restrict(sc, Group(mine, changes))


# ---- capacity ---------------------------------------------------------------------------------------------

def _larger(a: Resources, b: Resources) -> Resources:
    if a.fits_in(b) and not a.scalar:
        return b
    scalar = dict(a.scalar)
    for name, amount in b.scalar:
        scalar[name] = max(scalar.get(name, 0), amount)
    return Resources(max(a.cpu, b.cpu), max(a.memory, b.memory), max(a.pods, b.pods), tuple(sorted(scalar.items())))


class UsageMeter:
    """The largest use of each node over the states a search checks: the requests of the pods bound to it
    that are not finished (what the scheduler's fit counts) and of the sandboxes running on it (what the
    kubelet's admission counts), the larger of the two."""

    def __init__(self):
        self.largest: Dict[str, Resources] = {}

    def record(self, s) -> None:
        from .components.scheduler import requested_on_nodes
        use = requested_on_nodes(s.store.pods)
        for h in s.hosts:
            if h.pods:
                ran = Resources()
                for rp in h.pods:
                    ran = ran + rp.requests
                use[h.name] = _larger(use[h.name], ran) if h.name in use else ran
        largest = self.largest
        for n, r in use.items():
            if n not in largest:
                largest[n] = r
            elif not r.fits_in(largest[n]) or r.scalar:
                largest[n] = _larger(largest[n], r)

    def symmetric(self, classes: Sequence[Sequence[str]]) -> Dict[str, Resources]:
        """The largest uses where the search took the nodes of each class as interchangeable (it kept one
        state of each renaming): each node of a class may have had any of the class's uses."""
        out = dict(self.largest)
        for c in classes:
            top = Resources()
            for n in c:
                if n in out:
                    top = _larger(top, out[n])
            for n in c:
                if n in out or top != Resources():
                    out[n] = top
        return out


def capacity_binds(sc: Scenario, uses: Sequence[Dict[str, Resources]]) -> Optional[str]:
    """Why the groups' pods could together fill a node (the sum of each group's largest use of it exceeds its
    allocatable), or None when capacity can never decide a fit."""
    for node in sc.nodes:
        total = Resources()
        for use in uses:
            if node.meta.name in use:
                total = total + use[node.meta.name]
        short = total.short_of(node.allocatable)
        if short:
            return (f"their pods could together use more {short} of node {node.meta.name} than it has "
                    f"(each group's largest use of it, summed)")
    return None


def largest_use_note(sc: Scenario, uses: Sequence[Dict[str, Resources]]) -> str:
    """The tightest node's summed cpu use, for the report."""
    from .quantity import format_cpu
    best = None
    for node in sc.nodes:
        cpu = sum(use[node.meta.name].cpu for use in uses if node.meta.name in use)
        if node.allocatable.cpu and (best is None or cpu * best[2] > best[1] * node.allocatable.cpu):
            best = (node.meta.name, cpu, node.allocatable.cpu)
    if best is None:
        return ""
    return f"at most {format_cpu(best[1])} of {format_cpu(best[2])} cpu on {best[0]}, all groups summed"
