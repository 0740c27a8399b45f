"""The user: the scenario's `spec.changes`, made in order, each once.

Each change is one step (what `kubectl scale` or `kubectl apply` sends), and
changes are weakly fair (DESIGN section 2.1): the next change is eventually
made, interleaved with everything the components do.  A change whose
request fails for a passing reason (no apiserver or etcd quorum, a
conflict, a name still taken by an object being deleted) is retried: it is
not enabled until it can succeed.  `delete` of a Pod is graceful, or forced
with gracePeriodSeconds 0 (the object goes at once, containers may still
run until their kubelet notices).  `apply` of an object
that exists replaces its spec and labels (a new generation when they
differ), keeping its identity and status; of a new one, creates it.
"""

from __future__ import annotations

from typing import Iterator, List, Sequence


from explorer import Rule, label

from ..scenario import Change
from ..state import ClusterState
from . import apiserver
from ..objects import evolve


# What `kubectl apply` may change on an existing object: its spec (and labels),
# never its status, which an update of the main resource drops (strategy.go).
SPEC_FIELDS = {
    "Pod": ("spec",),
    "Node": ("taints", "unschedulable"),
    "Namespace": (),
    "ReplicaSet": ("replicas", "selector", "template"),
    "Deployment": ("replicas", "selector", "template", "strategy", "rolling"),
    "DaemonSet": ("selector", "template"),
    "Job": (),
    "Service": ("selector", "type", "publish_not_ready"),     # spec.clusterIP is immutable
    "CustomResourceDefinition": ("group", "kind_name", "plural", "scope", "versions"),
    "CustomObject": ("spec",),
}


def available_pods_of(store, d) -> int:
    """Pods of all of a Deployment's ReplicaSets that are Ready and not terminating (minReadySeconds 0)."""
    from .deployment import owned_replicasets
    uids = {rs.meta.uid for rs in owned_replicasets(store, d)}
    return sum(1 for p in store.pods if p.active and p.ready and p.meta.controller_uid() in uids)


def make_change(s: ClusterState, ch: Change):
    store = s.store
    cur = store.get(ch.kind, ch.namespace, ch.name)
    if cur is not None and ch.kind == "CustomObject" and cur.custom_kind != ch.obj.custom_kind:
        cur = next((o for o in store.custom_objects if o.custom_kind == ch.obj.custom_kind
                    and o.meta.namespace == ch.namespace and o.meta.name == ch.name), None)
    if ch.op == "scale":
        if cur is None:
            return s  # kubectl scale of a missing object fails: nothing changes
        return apiserver.update(s, evolve(cur, replicas=ch.replicas), cur.meta.resource_version)
    if not any(s.apiservers_up):
        return None  # kubectl cannot reach any apiserver: the user retries
    if ch.op == "delete":
        if cur is None:
            return s  # NotFound: nothing to do
        return apiserver.delete(s, cur, grace=ch.grace_seconds != 0, propagation=ch.propagation)
    if ch.op == "apply":
        if cur is None:
            return apiserver.create(s, ch.obj)  # None on AlreadyExists: the user retries
        fields = {f: getattr(ch.obj, f) for f in SPEC_FIELDS[ch.kind]}
        meta = evolve(cur.meta, labels=ch.obj.meta.labels)
        new = evolve(cur, meta=meta, **fields)
        if new == cur:
            return s
        nxt = apiserver.update(s, new, cur.meta.resource_version)
        if nxt is not None and ch.kind == "Deployment" and new.template != cur.template:
            mark = f"rollout-from-available:{cur.meta.key}"
            if available_pods_of(s.store, cur) >= cur.replicas and mark not in nxt.marks:
                nxt = evolve(nxt, marks=tuple(sorted(nxt.marks + (mark,))))
        return nxt
    raise AssertionError(ch.op)


def rules(changes: Sequence[Change]) -> List[Rule]:
    if not changes:
        return []

    def change(s: ClusterState) -> Iterator:
        """The user makes the next change of the scenario."""
        i = s.next_change
        if i >= len(changes):
            return
        nxt = make_change(s, changes[i])
        if nxt is None:
            return  # the request failed (no quorum, conflict, AlreadyExists): retried later
        yield (label("user", "change", (("index", i + 1),), (("what", changes[i].describe()),)),
               evolve(nxt, next_change=i + 1))

    return [Rule("user.change", change, fair=True, doc=change.__doc__)]
