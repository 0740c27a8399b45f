"""The canonical form of a ClusterState: what makes the state space finite.

Applied to every state the explorer keeps (DESIGN section 2, "Finite by
construction"):

* PodGC, with its threshold abstracted: a Failed or Succeeded pod owned by a
  ReplicaSet, which no controller counts any more, is removed.  So is a
  ReplicaSet's pod left terminating on a machine that is down for good (no
  fault budget left to recover it): no kubelet will finish its deletion, and
  nothing reads it but a foreground deletion, which then must not be pending.
  A StatefulSet's pods are kept in both cases: its controller deletes a
  Failed one itself, and a terminating one holds its identity.
* uids are renumbered densely in their order (1, 2, ...), and the names the
  apiserver generated from them with it (a StatefulSet's pods are named
  `<set>-<ordinal>`, not from generateName: they keep their names); `next_uid`
  becomes one past the largest.  Only equality and order of uids are
  observable.
* resourceVersions and the etcd revision, where tracked, are renumbered
  densely in their order, for the same reason.
* etcd's history is kept only as far back as some watch cache or quorum
  read still reads it.

Every place that holds a uid or a revision must be renumbered here; a new
one in the state must be added here too (a test checks that a renumbered
state has the same successors, renumbered).
"""

from __future__ import annotations

import bisect


from .components.apiserver import generated_name
from .components.daemonset import pinned_node
from .components.replicaset import COMPONENT as REPLICA_CONTROLLERS
from .store import KIND_FIELDS
from .state import ClusterState
from .objects import evolve

REPLICA_KINDS = tuple(REPLICA_CONTROLLERS)   # the kinds the ReplicaSet code keeps: no controller counts their terminated pods


def _terminated_and_uncounted(pod) -> bool:
    if pod.phase not in ("Failed", "Succeeded") or pod.meta.finalizers:
        return False
    return any(r.kind in REPLICA_KINDS for r in pod.meta.owner_references)


def _terminating_for_good(s: ClusterState):
    """The uids of ReplicaSet pods terminating on a machine that is down and stays down (its VM deleted,
    or no fault budget left to recover it): no kubelet will finish their deletion, and nothing but a foreground deletion waiting for
    its dependents reads them (so none may be pending)."""
    down = {h.name for h in s.hosts if not h.up and (s.faults_left == 0 or h.vm_deleted)}
    if not down:
        return ()
    pods = s.store.pods
    out = [p.meta.uid for p in pods
           if p.meta.deleting and p.spec.node_name in down and not p.meta.finalizers
           and any(r.kind in REPLICA_KINDS for r in p.meta.owner_references)]
    if out and any("foregroundDeletion" in o.meta.finalizers for o in s.store.objects()):
        return ()
    return out


def collect_terminated_pods(s: ClusterState) -> ClusterState:
    pods = s.store.pods
    gone = _terminating_for_good(s)
    if not gone and not any(_terminated_and_uncounted(p) for p in pods):
        return s
    keep = tuple(p for p in pods if not _terminated_and_uncounted(p) and p.meta.uid not in gone)
    return evolve(s, store=evolve(s.store, pods=keep))


def _stores(s: ClusterState):
    yield s.store
    yield from s.history


def _uids(s: ClusterState) -> set:
    uids = set()
    for store in _stores(s):
        for obj in store.objects():
            uids.add(obj.meta.uid)
            for r in obj.meta.owner_references:
                uids.add(r.uid)
        for es in store.endpointslices:
            for e in es.endpoints:
                uids.add(e.pod_uid)
    for h in s.hosts:
        for rp in h.pods:
            uids.add(rp.uid)
    for _, u, _ in s.expectations:
        uids.add(u)
    for u, _ in s.job_successes:
        uids.add(u)
    for _, u in s.taint_evictions:
        uids.add(u)
    return uids


def _renumber_meta(meta, umap, rmap):
    uid = umap[meta.uid]
    changes = {}
    if uid != meta.uid:
        changes["uid"] = uid
        if meta.generate_name:
            changes["name"] = generated_name(meta.generate_name, uid)
    if rmap is not None and rmap[meta.resource_version] != meta.resource_version:
        changes["resource_version"] = rmap[meta.resource_version]
    if meta.owner_references and any(umap[r.uid] != r.uid for r in meta.owner_references):
        changes["owner_references"] = tuple(evolve(r, uid=umap[r.uid]) for r in meta.owner_references)
    return evolve(meta, **changes) if changes else meta


def _dense_uids(s: ClusterState) -> bool:
    """Fast path: objects hold uids 1..n and every reference points among them."""
    store = s.store
    n = 0
    top = 0
    for obj in store.objects():
        n += 1
        u = obj.meta.uid
        if u > top:
            top = u
        for r in obj.meta.owner_references:
            if r.uid > top:
                top = r.uid
    if top != n or store.next_uid != n + 1:
        return False
    if any(e.pod_uid > n for es in store.endpointslices for e in es.endpoints):
        return False
    if any(u > n for _, u, _ in s.expectations) or any(u > n for u, _ in s.job_successes):
        return False
    if any(u > n for _, u in s.taint_evictions):
        return False
    for h in s.hosts:
        for rp in h.pods:
            if rp.uid > n:
                return False
    return True


def _renumber_store(store, umap, rmap, next_uid):
    fields = {}
    for f in KIND_FIELDS.values():
        new = []
        for o in getattr(store, f):
            m = _renumber_meta(o.meta, umap, rmap)
            o = o if m is o.meta else evolve(o, meta=m)
            if f == "endpointslices" and any(umap[e.pod_uid] != e.pod_uid for e in o.endpoints):
                o = evolve(o, endpoints=tuple(evolve(e, pod_uid=umap[e.pod_uid]) for e in o.endpoints))
            new.append(o)
        fields[f] = tuple(new)
    if rmap is not None:
        fields["revision"] = rmap[store.revision]
    return evolve(store, next_uid=next_uid, **fields)


_KIND_RANK = {kind: i for i, kind in enumerate(KIND_FIELDS)}


def uid_group(obj) -> tuple:
    """The group whose members' uids (their creation order) a rule may compare: the objects of one kind that
    one controller owns (a ReplicaSet's pods, a Deployment's ReplicaSets, a Service's slices; a DaemonSet's
    pods for one node), or else the objects of one kind and one name or generateName prefix.  No rule of the
    model compares the uids of two groups (see `quotient`), so their relative order is not kept."""
    m = obj.meta
    for r in m.owner_references:
        if r.controller:
            node = ""
            if r.kind == "DaemonSet":
                node = pinned_node(obj) or obj.spec.node_name   # the pin: it does not change when bound
            return (_KIND_RANK[obj.kind], m.namespace, r.kind, r.name, node)
    return (_KIND_RANK[obj.kind], m.namespace, "", m.generate_name or m.name, "")


_LAST = (len(KIND_FIELDS) + 1, "", "", "", "")   # uids no live object holds (a deleted owner's, a Job's count)


def _group_keys(s: ClusterState) -> dict:
    """Every uid of `s` (as `_uids` finds them) -> its group (`uid_group`; `_LAST` for a uid no object or
    machine holds)."""
    keys = {}
    refs = set()
    for store in _stores(s):
        for obj in store.objects():
            m = obj.meta
            if m.uid not in keys:
                keys[m.uid] = uid_group(obj)
            for r in m.owner_references:
                refs.add(r.uid)
        for es in store.endpointslices:
            for e in es.endpoints:
                refs.add(e.pod_uid)
    pod_rank = _KIND_RANK["Pod"]
    for h in s.hosts:
        for rp in h.pods:
            if rp.uid not in keys:
                keys[rp.uid] = (pod_rank, rp.namespace, "", rp.generate_name or rp.name, "")
    refs.update(u for _, u, _ in s.expectations)
    refs.update(u for u, _ in s.job_successes)
    refs.update(u for _, u in s.taint_evictions)
    for u in refs:
        if u not in keys:
            keys[u] = _LAST
    return keys


def _resorted(s: ClusterState) -> ClusterState:
    """Every collection kept in uid order sorted again after uids were permuted."""
    def store_of(store):
        fields = {}
        for f in KIND_FIELDS.values():
            items = getattr(store, f)
            if f == "endpointslices":
                items = tuple(evolve(es, endpoints=tuple(sorted(es.endpoints, key=_pod_uid)))
                              if any(a.pod_uid > b.pod_uid for a, b in zip(es.endpoints, es.endpoints[1:])) else es
                              for es in items)
            if any(a.meta.uid > b.meta.uid for a, b in zip(items, items[1:])):
                items = tuple(sorted(items, key=_meta_uid))
            fields[f] = items
        return evolve(store, **fields)
    hosts = tuple(evolve(h, pods=tuple(sorted(h.pods, key=_rp_uid)))
                  if any(a.uid > b.uid for a, b in zip(h.pods, h.pods[1:])) else h for h in s.hosts)
    return evolve(s, store=store_of(s.store), history=tuple(store_of(h) for h in s.history), hosts=hosts)


def _pod_uid(e):
    return e.pod_uid


def _meta_uid(o):
    return o.meta.uid


def _rp_uid(rp):
    return rp.uid


def renumber(s: ClusterState, grouped: bool = False) -> ClusterState:
    """uids (and revisions, where tracked) renumbered densely: in creation order, or with `grouped` in the
    order of (their group, creation), so that two creations by different controllers give one state
    whichever came first (`quotient`)."""
    store = s.store
    if not grouped and not store.track_revisions and _dense_uids(s):
        return s
    if grouped:
        keys = _group_keys(s)
        uids = sorted(keys, key=lambda u: (keys[u], u))
        in_order = all(u == i for i, u in enumerate(uids, 1))
    else:
        uids = sorted(_uids(s))
        in_order = not uids or (uids[-1] == len(uids) and uids[0] == 1)
    rmap = None
    if store.track_revisions:
        revs = sorted({o.meta.resource_version for st in _stores(s) for o in st.objects()}
                      | {st.revision for st in _stores(s)})
        if revs[-1] != len(revs):
            rmap = {r: i + 1 for i, r in enumerate(revs)}
    next_uid = len(uids) + 1
    if in_order and rmap is None:
        if store.next_uid != next_uid:
            return evolve(s, store=evolve(store, next_uid=next_uid))
        return s
    out = apply_uid_map(s, {u: i + 1 for i, u in enumerate(uids)}, rmap, next_uid)
    return _resorted(out) if grouped and not in_order else out


def apply_uid_map(s: ClusterState, umap, rmap, next_uid: int) -> ClusterState:
    """`s` with every uid u replaced by umap[u] (and every revision r by rmap[r], where rmap is given): in
    the objects, their references, the runtimes' pods, the expectations and the history variables."""
    store = _renumber_store(s.store, umap, rmap, next_uid)
    history = tuple(_renumber_store(h, umap, rmap, 0) for h in s.history)   # views allocate nothing
    hosts = []
    for h in s.hosts:
        if any(umap[rp.uid] != rp.uid for rp in h.pods):
            pods = []
            for rp in h.pods:
                u = umap[rp.uid]
                if u != rp.uid:
                    name = generated_name(rp.generate_name, u) if rp.generate_name else rp.name
                    rp = evolve(rp, uid=u, name=name)
                pods.append(rp)
            h = evolve(h, pods=tuple(pods))
        hosts.append(h)
    marks, expects = s.watermarks, tuple((c, umap[u], r) for c, u, r in s.expectations)
    if rmap is not None:
        # A watermark or expectation maps to the smallest kept revision at or above it: its
        # comparisons with the revisions of views are kept, and it adds no revision of its own.
        keys = sorted(rmap)

        def ceiling(r: int) -> int:
            return rmap[keys[bisect.bisect_left(keys, r)]]
        marks = tuple((c, ceiling(r)) for c, r in marks)
        expects = tuple((c, u, ceiling(r)) for c, u, r in expects)
    return evolve(s, store=store, history=history, hosts=tuple(hosts), watermarks=marks,
                  expectations=tuple(sorted(expects)),
                  job_successes=tuple(sorted((umap[u], n) for u, n in s.job_successes)),
                  taint_evictions=tuple(sorted((c, umap[u]) for c, u in s.taint_evictions)))


def forget_unread_history(s: ClusterState) -> ClusterState:
    """Keep only as much history as some view reads; a down apiserver's cache is empty."""
    if not s.history and not any(s.cache_lag):
        return s
    lags = tuple(lag if up else 0 for lag, up in zip(s.cache_lag, s.apiservers_up))
    need = max(lags + tuple(p for _, p in s.pins)) if (lags or s.pins) else 0
    if need == len(s.history) and lags == s.cache_lag:
        return s
    return evolve(s, history=s.history[:need], cache_lag=lags)


def forget_satisfied_expectations(s: ClusterState) -> ClusterState:
    """An expectation its client's view has reached stays satisfied (views only move forward): drop it."""
    if not s.expectations:
        return s
    from .components.apiserver import view
    keep = []
    for c, u, rev in s.expectations:
        v = view(s, c)
        if v is None or v.revision < rev:
            keep.append((c, u, rev))
    return s if len(keep) == len(s.expectations) else evolve(s, expectations=tuple(keep))


def relative_generations(s: ClusterState) -> ClusterState:
    """A custom object's generation and status.observedGeneration are only ever compared with each other (by
    its operator, and by stable-reconciliation): shift both so that a reported generation is 1, the same
    shift in every copy of the object (current and history).  An operator whose every status write bumps the
    generation (no status subresource) then loops through finitely many states, a cycle the explorer sees."""
    objs = s.store.custom_objects
    if not objs:
        return s
    shifts = {o.meta.uid: o.status.observed_generation - 1 for o in objs if o.status.observed_generation > 1}
    if not shifts:
        return s

    def shifted(store):
        out = []
        for o in store.custom_objects:
            d = shifts.get(o.meta.uid)
            if d:
                o = evolve(o, meta=evolve(o.meta, generation=o.meta.generation - d),
                           status=evolve(o.status, observed_generation=o.status.observed_generation - d))
            out.append(o)
        return evolve(store, custom_objects=tuple(out))

    return evolve(s, store=shifted(s.store), history=tuple(shifted(h) for h in s.history))


def presentation(s: ClusterState) -> ClusterState:
    """How traces show a state: the canonical form but for the renumbering of uids and revisions, so that
    a pod keeps its name from one step of a trace to the next (canonical(presentation(s)) == canonical(s))."""
    return forget_unread_history(forget_satisfied_expectations(collect_terminated_pods(s)))


def _settled(s: ClusterState) -> ClusterState:
    """What both canonical forms do before renumbering."""
    return relative_generations(forget_unread_history(forget_satisfied_expectations(collect_terminated_pods(s))))


def canonical(s: ClusterState) -> ClusterState:
    return renumber(_settled(s))


def _counted_job_pod(pod, live_jobs) -> bool:
    """A pod of a live Job that has finished and been counted: its tracking finalizer is removed."""
    return (pod.phase in ("Failed", "Succeeded") and not pod.meta.finalizers and not pod.meta.deleting
            and any(r.kind == "Job" and r.uid in live_jobs for r in pod.meta.owner_references))


def collect_counted_job_pods(s: ClusterState) -> ClusterState:
    """A Job's finished pod whose tracking finalizer the Job controller has removed (it is counted in the
    Job's status) is read by no rule and no property until something deletes it (PodGC past its threshold,
    the garbage collector when the Job goes), and that deletion is read by nothing either: drop it, as
    PodGC eventually would.  Only where Jobs track with finalizers: the legacy tracking counts exactly these
    pods (`model/components/job.py`).  Pods of a Job being deleted, or already gone, are kept: the garbage
    collector must delete them, and `garbage-collected` reads that."""
    pods = s.store.pods
    if not any(p.phase in ("Failed", "Succeeded") and not p.meta.finalizers for p in pods):
        return s
    live = {j.meta.uid for j in s.store.jobs if not j.meta.deleting}
    if not live:
        return s
    keep = tuple(p for p in pods if not _counted_job_pod(p, live))
    return s if len(keep) == len(pods) else evolve(s, store=evolve(s.store, pods=keep))


def quotient_with_job_tracking(s: ClusterState) -> ClusterState:
    """`quotient`, for scenarios whose Jobs track with finalizers: counted Job pods dropped too."""
    return quotient(collect_counted_job_pods(s))


def quotient(s: ClusterState) -> ClusterState:
    """The canonical form that the reductions search with (`--reduction por`): `canonical`, with uids
    renumbered group by group (`renumber`).

    It is a quotient by a bisimulation: renaming uids maps the steps of a state onto the steps of the
    renamed state as long as every uid comparison a rule makes is kept, and the rules compare uids for
    equality everywhere and for order only within a group (a ReplicaSet ranks its pods and a Job its active
    pods by creation order, a DaemonSet keeps the oldest of two pods for one node, the EndpointSlice
    controller deletes the newest of a Service's slices, the Deployment controller scales its oldest
    ReplicaSets down first).  Where a scenario can compare uids across groups (preemption orders victims of
    any owner by creation; a ReplicaSet adopts an orphan, which then joins its group), the composer does
    not use it (`model/compose.py`).  Collections kept in uid order (the store, a machine's pods, a slice's
    endpoints) are sorted again, and the names the apiserver generated follow their uids as before."""
    return renumber(_settled(s), grouped=True)
