"""Who acts in each step, and what each actor reads and writes: the declarations partial-order reduction
needs (explorer/por.py).

Actors: each controller of kube-controller-manager (replicaset, job, daemonset, statefulset, deployment,
endpointslice, podgc, nodelifecycle, taint-eviction, replicationcontroller), each scheduler, each node's kubelet and kube-proxy,
CoreDNS, the faults (`environment`), the user's changes (`user`).  An actor not declared here (the
apiserver, leader election, the garbage collector, operators, the cloud controllers) may read and write
anything, so it conflicts with every other: it is always in the persistent set where it may still act.

Tokens name parts of the state:
* ("pods", group, aspect): one aspect of the pods of one workload, as stored.  A group is the root of the
  pod's controller chain, (kind, namespace, name) of its Deployment, bare ReplicaSet, Job, DaemonSet or
  StatefulSet, or ("", namespace) for pods without a controller (listed only while a change may still
  make one); an aspect is meta (metadata and spec but the binding), bind (spec.nodeName, the nominated
  node), phase (and its reason), ready (and the pod IP), or new (a pod created: the group gains a member);
* ("pods-on", node, aspect): the same of the pods bound to a node ("" for unbound pods);
* ("pod", uid): the one pod a step wrote (two writes to different pods of a group commute; a writer of a
  pod reads one of its families, which catches two writers of one pod);
* ("node", name): a Node object; ("kind", K): every object of another kind K;
* ("host", name): the containers a machine runs; ("machine", name): whether it is up, its kubelet runs,
  it is reachable; ("rules", name): its Service rules;
* ("uid",): the uid counter (every create: uids are allocated in creation order, so two creates do not
  commute); ("faults",): the fault budget; ("field", f): any other field f of the ClusterState.
A step's writes are computed, exactly, from the difference between the state and its result (in the
presentation form, so that the pods the canonical form collects count as written); the reads and the
future footprints are declared per actor below, over-approximating what the component's code looks at,
and narrowed by what can still happen (a machine down for good runs no kubelet; the node lifecycle
controller acts only on Nodes whose heartbeats changed or may; PodGC never sees a ReplicaSet's
terminated pod, which the canonical form collects).

Declared only where the views are etcd itself: one apiserver, no lagging cache, no leader-elected
replicas (`independence(sc)` returns None elsewhere, and no reduction is made).  The test suite checks
every explored step's writes against its actor's declared footprint (search's `check_footprints`).
"""

from __future__ import annotations

import copy
from typing import FrozenSet, Hashable, Optional, Sequence, Tuple

import attrs

from explorer.por import UNIVERSAL, Independence

from .canonical import presentation
from .store import KIND_FIELDS
from .kinds import reconciled_by
from .objects import evolve
from .state import ClusterState

ALL = frozenset({UNIVERSAL})
NONE: FrozenSet = frozenset()
VIEW = frozenset({("field", "apiservers_up"), ("field", "etcd_up"), ("field", "etcd_current"),
                  ("field", "connections")})
HOST_INVARIANTS = {"node-capacity", "pod-single-node", "pod-ip-unique"}
WORKLOAD_KINDS = {"Deployment": "replicaset", "ReplicaSet": "replicaset", "Job": "job", "DaemonSet": "daemonset",
                  "StatefulSet": "statefulset"}
WORKLOAD_KINDS["ReplicationController"] = "replicationcontroller"   # the ReplicaSet code, a controller of its own
# The groups whose terminated pods the canonical form collects: those the ReplicaSet code keeps (model/kinds/).
COLLECTED_GROUPS = frozenset(k for c in ("replicaset", "replicationcontroller") for k in reconciled_by(c))
_STATE_FIELDS = [a.name for a in attrs.fields(ClusterState)]


def pod_group(store, pod) -> tuple:
    """The workload a pod belongs to: the root of its controller chain."""
    uid = pod.meta.controller_uid()
    for ref in pod.meta.owner_references:
        if uid is not None and ref.uid == uid:
            owner = store.by_uid(ref.kind, uid) if ref.kind == "ReplicaSet" else None
            return _root_group(store, owner) if owner is not None else (ref.kind, pod.meta.namespace, ref.name)
    return ("", pod.meta.namespace)


ASPECTS = ("meta", "bind", "phase", "ready", "new")
FAMILIES = ("pods", "pods-on")   # tokens of sets of pods: two writes to different pods of one commute


def _aspects(o, p) -> tuple:
    """Which aspects of a pod differ: meta (metadata and spec but its binding), bind (spec.nodeName and
    the nominated node), phase (and its reason), ready (and its IP)."""
    if o is None:   # a new pod: its group gains a member, no existing pod changed
        return ("new",)
    if p is None:
        return ASPECTS
    out = []
    if o.meta != p.meta or evolve(o.spec, node_name="") != evolve(p.spec, node_name=""):
        out.append("meta")
    if o.spec.node_name != p.spec.node_name or o.nominated != p.nominated:
        out.append("bind")
    if o.phase != p.phase or o.reason != p.reason:
        out.append("phase")
    if o.ready != p.ready or o.ip != p.ip:
        out.append("ready")
    return tuple(out)


def _root_group(store, o) -> tuple:
    """The group of the pods a workload object makes."""
    if o.kind == "ReplicaSet" and o.meta.controller_uid() is not None:
        dep = store.by_uid("Deployment", o.meta.controller_uid())
        if dep is not None:
            return ("Deployment", dep.meta.namespace, dep.meta.name)
    return (o.kind, o.meta.namespace, o.meta.name)


def _pod_tokens(store, pod, aspects, out: set) -> None:
    g = pod_group(store, pod)
    for a in aspects:
        out.add(("pods", g, a))
    for a in aspects:
        out.add(("pods-on", pod.spec.node_name, a))
    out.add(("pod", pod.meta.uid))


def state_writes(s: ClusterState, n: ClusterState) -> FrozenSet:
    """The tokens of what differs between two states."""
    out: set = set()
    for f in _STATE_FIELDS:
        a, b = getattr(s, f), getattr(n, f)
        if a is b or a == b:
            continue
        if f == "store":
            _store_writes(a, b, out)
        elif f == "hosts":
            old = {h.name: h for h in a}
            for h in b:
                o = old.pop(h.name, None)
                if o is None or o != h:
                    if o is None or o.pods != h.pods:
                        out.add(("host", h.name))
                    if o is None or (o.up, o.kubelet_up, o.reachable, o.vm_deleted) != (
                            h.up, h.kubelet_up, h.reachable, h.vm_deleted):
                        out.add(("machine", h.name))
                    if o is None or o.service_rules != h.service_rules:
                        out.add(("rules", h.name))
            for name in old:
                out.add(("host", name))
                out.add(("machine", name))
        elif f == "faults_left":
            out.add(("faults",))
        else:
            out.add(("field", f))
    return frozenset(out)


def _store_writes(a, b, out: set) -> None:
    for kind, f in KIND_FIELDS.items():
        x, y = getattr(a, f), getattr(b, f)
        if x is y or x == y:
            continue
        if kind == "Pod":
            old = {p.meta.uid: p for p in x}
            for p in y:
                o = old.pop(p.meta.uid, None)
                if o is None or o != p:
                    aspects = _aspects(o, p)
                    _pod_tokens(b, p, aspects, out)
                    if o is not None:
                        _pod_tokens(a, o, aspects, out)
            for o in old.values():
                _pod_tokens(a, o, ASPECTS, out)   # a pod removed: every aspect of it
        elif kind == "Node":
            old = {o.meta.uid: o for o in x}
            for o in y:
                if old.pop(o.meta.uid, None) != o:
                    out.add(("node", o.meta.name))
            for o in old.values():
                out.add(("node", o.meta.name))
        else:
            out.add(("kind", kind))
    if a.next_uid != b.next_uid:
        out.add(("uid",))
    if a.revision != b.revision:
        out.add(("field", "revision"))


class Kubernetes(Independence):
    """The declarations for one scenario (see the module docstring)."""

    def __init__(self, node_names: Sequence[str], invariant_reads: dict, fault_kinds: Sequence[str],
                 changes: int, schedulers: Sequence[str], preemption: bool = False):
        self.nodes = tuple(node_names)
        self.invariant_reads = invariant_reads
        self.faults_declared = set(fault_kinds) <= {"node-crash"}
        self.changes = changes
        self.schedulers = frozenset(schedulers)
        self.preemption = preemption
        self.kube_system: FrozenSet = NONE
        self._actors: tuple = ()
        self.kubelet_restarts = True
        self.podgc_terminating = False   # PodGC's gcTerminating is composed: it may delete any group's pod
        self.per_key = True
        self.taint_timers = False        # the taint-eviction controller keeps timers (ClusterState.taint_evictions)
        self.dns_slices: FrozenSet = NONE    # CoreDNS reads EndpointSlices (headless Services, pod hostnames)
        self.sts_status = False              # the StatefulSet controller writes status (its revisions)
        self._memo: tuple = (None, None)
        self._fmemo: tuple = (None, {})

    # -- who acts ---------------------------------------------------------------------------------------
    def actor(self, lab) -> Hashable:
        component = lab[0]
        if component in ("kubelet", "kube-proxy", "network-plugin"):
            for k, v in lab[2]:
                if k == "node":
                    return (component, v)
        if component in ("preemption",):
            return "scheduling"
        if component in self.schedulers:
            return "scheduling"
        return component

    def for_rules(self, rule_names: Sequence[str]) -> "Kubernetes":
        """The same declarations for a system of these rules: its actors are those of its rules."""
        out = []
        for name in rule_names:
            component = name.split(".", 1)[0]
            if component in ("kubelet", "kube-proxy", "network-plugin"):
                acts = [(component, n) for n in self.nodes]
            elif component in self.schedulers or component == "preemption":
                acts = ["scheduling"]
            else:
                acts = [component]
            out += [a for a in acts if a not in out]
        clone = copy.copy(self)
        clone._actors = tuple(out)
        clone.kubelet_restarts = "kubelet.restart" in rule_names
        clone.podgc_terminating = "podgc.collect_terminating" in rule_names
        return clone

    def actors(self, s: ClusterState) -> Sequence[Hashable]:
        return self._actors

    # -- what steps wrote -----------------------------------------------------------------------------
    def writes(self, s: ClusterState, lab, nxt: ClusterState) -> FrozenSet:
        return state_writes(s, presentation(nxt))

    # -- groups of pods -------------------------------------------------------------------------------
    def _groups(self, s: ClusterState) -> dict:
        """For each group of pods, existing or that a controller may make: the actor that makes its pods
        (kept for the last state asked about: the chooser asks many times of one state)."""
        if self._memo[0] is s.store:
            return self._memo[1]
        out = self._groups_of(s)
        self._memo = (s.store, out)
        return out

    def _groups_of(self, s: ClusterState) -> dict:
        store = s.store
        out = {}
        namespaces = {"default", "kube-system"}
        for kind, creator in WORKLOAD_KINDS.items():
            for o in store.of(kind):
                namespaces.add(o.meta.namespace)
                if kind == "ReplicaSet" and o.meta.controller_uid() is not None:
                    dep = store.by_uid("Deployment", o.meta.controller_uid())
                    if dep is not None:
                        out[("Deployment", dep.meta.namespace, dep.meta.name)] = creator
                        continue
                out[(kind, o.meta.namespace, o.meta.name)] = creator
        for p in store.pods:
            namespaces.add(p.meta.namespace)
            out.setdefault(pod_group(store, p), None)
        if self.changes > s.next_change:   # a change may yet make a pod without a controller
            for ns in namespaces:
                out.setdefault(("", ns), None)
        return out

    def _pods_all(self, s) -> FrozenSet:
        """Writes to any pod (a write to a pod names its group, the aspects it changed, and its node)."""
        return self._groups_all(s) | self._pods_on_all()

    def _groups_all(self, s, aspects=ASPECTS) -> FrozenSet:
        """Reads of these aspects of every pod: of every group a pod is or will be in."""
        return frozenset(("pods", g, a) for g in self._groups(s) for a in aspects)

    def _selected(self, s: ClusterState, aspects) -> FrozenSet:
        """The groups of pods some Service may select: a workload whose template's labels, or a pod whose
        labels, match a Service's selector in its namespace; and every group of pods without a controller."""
        from .objects import labels_match
        services = [(svc.meta.namespace, svc.selector) for svc in s.store.services if svc.selector]
        out = set()
        for g in self._groups(s):
            if g[0] == "":
                out.add(g)
        for kind in WORKLOAD_KINDS:
            for o in s.store.of(kind):
                t = o.template.labels
                if any(ns == o.meta.namespace and labels_match(sel, t) for ns, sel in services):
                    out.add(_root_group(s.store, o))
        for p in s.store.pods:
            if any(ns == p.meta.namespace and labels_match(sel, p.meta.labels) for ns, sel in services):
                out.add(pod_group(s.store, p))
        return frozenset(("pods", g, a) for g in out for a in aspects)

    def commutes(self, token) -> bool:
        return token[0] in FAMILIES

    def item(self, token) -> bool:
        # Each actor reads a family of every pod it writes (its own groups, or the pods bound to its node).
        return token[0] == "pod"

    def _pods_on_all(self) -> FrozenSet:
        return self._on(self.nodes + ("",))

    def _on(self, nodes, aspects=ASPECTS) -> FrozenSet:
        return frozenset(("pods-on", n, a) for n in nodes for a in aspects)

    def _of(self, s, creator: str, aspects=ASPECTS) -> FrozenSet:
        return frozenset(("pods", g, a) for g, c in self._groups(s).items() if c == creator for a in aspects)

    # -- what each actor reads now, and may read and write from now on ------------------------------------
    def reads(self, s: ClusterState, actor) -> FrozenSet:
        return self._footprint(s, actor, frozenset())[0]

    def future(self, s: ClusterState, actor, frozen) -> Tuple[FrozenSet, FrozenSet]:
        return self._footprint(s, actor, frozen)

    def _footprint(self, s: ClusterState, actor, frozen) -> Tuple[FrozenSet, FrozenSet]:
        key = (actor, frozen)
        memo = self._fmemo
        if memo[0] is not s:
            memo = self._fmemo = (s, {})
        out = memo[1].get(key)
        if out is None:
            out = memo[1][key] = self._footprint_of(s, actor, frozen)
        return out

    def _footprint_of(self, s: ClusterState, actor, frozen) -> Tuple[FrozenSet, FrozenSet]:
        nodes = frozenset(("node", n) for n in self.nodes)
        hosts = frozenset(("host", n) for n in self.nodes)
        machines = frozenset(("machine", n) for n in self.nodes)
        rules = frozenset(("rules", n) for n in self.nodes)
        # Controllers' memory: expectations are not tracked where this is declared (views are current);
        # the ReplicaSet workers' syncs are kept where the workqueue does not hold a key to one worker.
        ctrl = frozenset({("field", "syncs")}) if (actor == "replicaset" and not self.per_key) else NONE
        if actor in ("replicaset", "job", "daemonset", "replicationcontroller"):
            kind = {"replicaset": ("ReplicaSet",), "job": ("Job",), "daemonset": ("DaemonSet",),
                    "replicationcontroller": ("ReplicationController",)}[actor]
            own = self._of(s, actor)
            if actor in ("replicaset", "replicationcontroller"):   # adoption and release: pods without a controller
                own |= frozenset(("pods", g, a) for g in self._groups(s) if g[0] == "" for a in ASPECTS)
            if actor == "job":   # syncOrphanPod: the pods of a Job that is gone, and pods without a controller
                own |= frozenset(("pods", g, a) for g in self._groups(s) if g[0] in ("Job", "") for a in ASPECTS)
            w = own | self._pods_on_all() | {("uid",), ("faults",)} | ctrl | {("kind", k) for k in kind}
            # The DaemonSet controller reads its pods' metadata, target node and phase, not their binding
            # or readiness.
            mine = self._of(s, actor, ("meta", "phase", "new")) if actor == "daemonset" else own
            r = mine | {("uid",)} | ctrl | {("kind", k) for k in kind} | VIEW | (nodes if actor == "daemonset" else NONE)
            return frozenset(r), frozenset(w)
        if actor == "statefulset":
            # Its own pods (not their binding), and the pods that may hold the name of one of its pods: a pod
            # without a controller, or a pod another workload of the set's name generated (`web-<uid>`); its
            # creates fail on a name that is taken (AlreadyExists), and it deletes by name.
            names = {(o.meta.namespace, o.meta.name) for o in s.store.statefulsets}
            clash = frozenset(("pods", g, a) for g in self._groups(s)
                              if (g[0] == "" and any(ns == g[1] for ns, _ in names))
                              or (g[0] not in ("", "StatefulSet") and (g[1], g[2]) in names) for a in ASPECTS)
            w = self._of(s, actor) | clash | self._pods_on_all() | {("uid",)} | ctrl
            w |= {("kind", "PersistentVolumeClaim")}   # the claims it creates before a pod
            if self.sts_status:
                w |= {("kind", "StatefulSet")}
            r = (self._of(s, actor, ("meta", "phase", "ready", "new")) | clash | {("uid",), ("kind", "StatefulSet")}
                 | ctrl | VIEW)
            return frozenset(r), frozenset(w)
        if actor == "deployment":
            from .components.deployment import new_replicaset_of
            w = frozenset({("kind", "ReplicaSet"), ("kind", "Deployment")}) | ctrl
            if self.changes > s.next_change or any(new_replicaset_of(s.store, d) is None for d in s.store.deployments):
                w |= {("uid",)}   # it makes a ReplicaSet only for a template that has none
            return w | VIEW | self._of(s, "replicaset"), w
        if actor == "endpointslice":
            w = frozenset({("kind", "EndpointSlice")}) | ctrl
            from .components.endpointslice import slices_of
            if self.changes > s.next_change or any(svc.selector and not slices_of(s.store, svc)
                                                   for svc in s.store.services):
                w |= {("uid",)}   # it creates a slice only for a Service that has none
            # The pods that Services select (an endpoint needs an IP, so a pod just created is not one).
            return w | VIEW | {("kind", "Service")} | self._selected(s, ("meta", "bind", "phase", "ready")), w
        if actor == "nodelifecycle":   # Node conditions and taints, and MarkPodsNotReady on those Nodes
            some = self._lifecycle_nodes(s, frozen)
            if not some:
                return NONE, NONE
            # MarkPodsNotReady reads whether the pods bound there are Ready, and writes that alone.
            # (A pod newly bound there is not Ready: no kubelet has run it.)
            marked = self._groups_all(s, ("ready",))
            if not self._faults_may_act(s, frozen) and all(not s.host(n).up for n in some if s.host(n)):
                # Machines down for good: only the pods Ready there now can be marked not Ready.
                marked = frozenset(("pods", pod_group(s.store, p), "ready") for p in s.store.pods
                                   if p.ready and p.spec.node_name in some)
            return (nodes | self._on(some, ("ready",)) | machines | VIEW,
                    frozenset(("node", n) for n in some) | marked | self._on(some, ("ready",)))
        if actor == "taint-eviction":   # the pods of Nodes with a NoExecute taint, and its scheduled evictions
            tainted = {n.meta.name for n in s.store.nodes if any(t.effect == "NoExecute" for t in n.taints)}
            if "nodelifecycle" not in frozen:
                tainted |= self._lifecycle_nodes(s, frozen)
            due = {u for _, u in s.taint_evictions}
            tainted |= {p.spec.node_name for p in s.store.pods if p.meta.uid in due}
            if not tainted and not due:
                return NONE, NONE
            mem = frozenset({("field", "taint_evictions")}) if self.taint_timers else NONE
            return self._on(tainted) | VIEW | nodes | ctrl | mem, self._groups_all(s) | self._on(tainted) | mem
        if actor == "podgc":
            # Terminated pods (a pod just created is Pending), and with gcOrphaned their Nodes.  A
            # ReplicaSet's terminated pod is collected by the canonical form at once (model/canonical.py):
            # PodGC never sees one.
            # With gcTerminating (an out-of-service taint), any group's terminating pod.
            groups = {g for g in self._groups(s)
                      if self.podgc_terminating or g[0] not in COLLECTED_GROUPS}
            w = frozenset(("pods", g, a) for g in groups for a in ASPECTS) | self._pods_on_all()
            return self._groups_all(s, ("meta", "bind", "phase")) | VIEW | nodes | ctrl, w
        if actor == "scheduling":
            groups = self._groups(s)
            pending = {pod_group(s.store, p) for p in s.store.pods if not p.spec.node_name}
            w = {("pods", g, "bind") for g, c in groups.items() if g in pending or (c is not None and c not in frozen)}
            if self.preemption:   # victims: any pod bound to a node
                w |= {("pods", pod_group(s.store, p), a) for p in s.store.pods if p.spec.node_name for a in ASPECTS}
            w = frozenset(w) | self._pods_on_all()
            # It reads the pods bound to each node (their requests count there) and the pending pods it
            # binds; a new pending pod adds a bind step and changes none of the others.
            return (self._groups_all(s, ("meta", "bind", "phase")) | self._on(self.nodes, ("meta", "bind", "phase", "new")) | nodes
                    | VIEW | {("kind", "PriorityClass")}, w)
        if isinstance(actor, tuple) and actor[0] == "kubelet":
            n = actor[1]
            host = s.host(n)
            if host is not None and not host.up and not self._faults_may_act(s, frozen):
                return NONE, NONE   # its machine is down for good: it does nothing
            groups = self._groups(s)
            mine = {pod_group(s.store, p) for p in s.store.pods if p.spec.node_name == n}
            if "scheduling" not in frozen:
                mine |= {pod_group(s.store, p) for p in s.store.pods if not p.spec.node_name}
            mine |= {g for g, c in groups.items() if (c is not None and c not in frozen) or g[0] == ""}
            w = frozenset({("host", n), ("field", "job_successes")}) | self._on((n,)) | {
                ("pods", g, a) for g in mine for a in ASPECTS}
            if self.kubelet_restarts:
                w |= {("machine", n)}
            r = frozenset({("host", n), ("machine", n), ("field", "attachments")})   # volumes attached there
            return r | self._on((n,)) | VIEW | {("node", n), ("kind", "Job")}, w
        if isinstance(actor, tuple) and actor[0] in ("kube-proxy", "network-plugin"):
            w = frozenset({("rules", actor[1])})
            return w | VIEW | {("machine", actor[1]), ("kind", "Service"), ("kind", "EndpointSlice")}, w
        if actor == "dns":   # the records, where a DNS pod runs
            w = frozenset({("field", "dns_records")})
            return w | VIEW | hosts | machines | {("kind", "Service")} | self.kube_system | self.dns_slices, w
        if actor == "environment":
            if s.faults_left <= 0:
                return NONE, NONE
            if not self.faults_declared:
                return ALL, ALL
            w = (hosts | machines | rules | {("faults",)} | self._of(s, "replicaset") | self._on(self.nodes)
                 | self._of(s, "replicationcontroller"))
            return machines | {("faults",)}, w
        if actor == "user":
            return (ALL, ALL) if s.next_change < self.changes else (NONE, NONE)
        return ALL, ALL

    def _faults_may_act(self, s: ClusterState, frozen) -> bool:
        return s.faults_left > 0 and "environment" not in frozen

    def _lifecycle_nodes(self, s: ClusterState, frozen) -> set:
        """The Nodes the node lifecycle controller may act on: those whose heartbeats stopped or came back
        (a machine down or cut off, a Node not Ready or tainted), or any, while a fault may yet stop one."""
        if self._faults_may_act(s, frozen):
            return set(self.nodes)
        out = {h.name for h in s.hosts if not (h.up and h.reachable)}
        out |= {n.meta.name for n in s.store.nodes if n.ready != "True" or n.taints}
        return out

    # -- what the invariants read ---------------------------------------------------------------------
    def visibility(self, invariant_names: Sequence[str]) -> FrozenSet:
        out: set = set()
        for name in invariant_names:
            reads = self.invariant_reads.get(name)
            if reads is None:
                return ALL
            out |= reads
        return frozenset(out)


def independence(sc, model, invariant_names: Sequence[str]) -> Optional[Kubernetes]:
    """The declarations for `sc`, or None where they are not made (see the module docstring)."""
    init = model.init
    if init.max_lag > 0 or len(init.apiservers_up) > 1 or init.processes or init.track_expectations:
        return None
    nodes = tuple(h.name for h in init.hosts)
    hosts = frozenset(("host", n) for n in nodes)
    reads = {name: hosts for name in HOST_INVARIANTS}
    reads["job-completions-not-exceeded"] = frozenset({("field", "job_successes"), ("kind", "Job")})
    reads["volume-single-attach"] = hosts | frozenset(("machine", n) for n in nodes)   # containers, machines up
    # Observer elimination's own check (explorer/observers.py): kube-proxy and CoreDNS can run where
    # they are read; it reads the machines and, through the DNS pods, every pod in kube-system.
    reads["observer-elimination-inexact"] = hosts | frozenset(("machine", n) for n in nodes) | VIEW | _kube_system(model)
    from .components import scheduler
    from .kinds import pod_specs
    declared = list(sc.objects) + [c.obj for c in sc.changes if c.obj is not None]
    names = {scheduler.DEFAULT} | {spec.scheduler_name for spec in pod_specs(declared)}
    preemption = any("preempt" in r.name for r in model.rules)
    out = Kubernetes(nodes, reads, sc.fault_kinds if sc.fault_budget > 0 else (), len(sc.changes), sorted(names),
                     preemption)
    out.kube_system = _kube_system(model)
    out.per_key = sc.workqueue_per_key
    out.taint_timers = any(r.name == "taint-eviction.schedule" for r in model.rules)
    out.sts_status = any(r.name == "statefulset.update_status" for r in model.rules)
    if dns_reads_slices(declared):
        out.dns_slices = frozenset({("kind", "EndpointSlice")})
    # Action properties, as the invariant "no enabled step it checks would fail": what decides those steps
    # and their check.  Where views are etcd itself (the only case declared here), every scheduler's
    # TaintToleration filter reads the Node as stored, which is what taints-respected checks a bind
    # against, so no enabled bind can fail it: its value never changes, and it reads nothing that could
    # change it.  The same holds of replicas-bounded while each ReplicaSet sync is one step (a worker that
    # decided to create in an earlier step, behaviour.workqueuePerKey false, creates on an older count).
    out.invariant_reads["taints-respected"] = NONE
    out.invariant_reads["replicas-bounded"] = (
        NONE if sc.workqueue_per_key else out._footprint(init, "replicaset", frozenset())[0])
    return out.for_rules([r.name for r in model.rules])


def dns_reads_slices(declared) -> bool:
    """Whether CoreDNS's records can depend on EndpointSlices: a headless Service, or a pod with a hostname
    (a StatefulSet's, or a pod spec's spec.hostname) that an endpoint may carry."""
    from .kinds import pod_specs
    return (any(o.kind == "Service" and o.headless for o in declared)
            or any(o.kind == "StatefulSet" and o.service_name for o in declared)
            or any(spec.hostname for spec in pod_specs(declared)))


def _kube_system(model) -> FrozenSet:
    store = model.init.store
    groups = {pod_group(store, p) for p in store.pods if p.meta.namespace == "kube-system"}
    for kind in WORKLOAD_KINDS:
        for o in store.of(kind):
            if o.meta.namespace == "kube-system":
                groups.add((kind, o.meta.namespace, o.meta.name))
    groups.add(("", "kube-system"))
    return frozenset(("pods", g, a) for g in groups for a in ASPECTS)
