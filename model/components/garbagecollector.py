"""The garbage collector of kube-controller-manager (pkg/controller/garbagecollector).

Modelled: ownerReferences form the dependency graph.  An object all of whose
owners are gone (checked by uid against etcd with a live read, as
attemptToDeleteItem does, not against the cache) is deleted: background
cascading deletion, which reaches grandchildren in turn.  An owner being
deleted with the `orphan` finalizer has the ownerReference to it removed
from each dependent, then the finalizer; with `foregroundDeletion`, its
dependents are deleted first, then the finalizer is removed.  Removing the
last finalizer of an object being deleted removes it (the apiserver).  Each
deletion, patch or finalizer removal is one step; the collector is a
leader-only controller of kube-controller-manager.

Abstracted: the dependency graph is read from the collector's view each
step (no separate graph builder and its own informers); blockOwnerDeletion
is treated as always set in foreground deletion.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..kinds import dependent_kinds, owner_kinds
from ..objects import evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
DEPENDENT_KINDS = tuple(dependent_kinds())    # from the registry of kinds (model/kinds/)
OWNER_KINDS = tuple(owner_kinds())


def dependents(store, owner) -> list:
    uid = owner.meta.uid
    return [o for kind in DEPENDENT_KINDS for o in store.of(kind)
            if any(r.uid == uid for r in o.meta.owner_references)]


def _owner_alive(s: ClusterState, ref) -> bool:
    """A live lookup (quorum read): does an object with this uid exist and not wait for its dependents?"""
    for kind in OWNER_KINDS:
        o = s.store.by_uid(kind, ref.uid)
        if o is not None:
            return "foregroundDeletion" not in o.meta.finalizers
    return False


def _finalizer_removed(obj, name):
    return evolve(obj, meta=evolve(obj.meta, finalizers=tuple(f for f in obj.meta.finalizers if f != name)))


def collect(s: ClusterState) -> Iterator:
    """The collector deletes a dependent whose owners are all gone (or being deleted in the foreground)."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for kind in DEPENDENT_KINDS:
            for o in view.of(kind):
                refs = o.meta.owner_references
                if not refs or o.meta.deleting:
                    continue
                live = s.store.by_uid(kind, o.meta.uid)
                if live is None or any(_owner_alive(s, r) for r in live.meta.owner_references):
                    continue
                nxt = apiserver.delete(s, live)
                if nxt is not None:
                    yield label("garbagecollector", "delete_dependent", (("object", f"{kind} {o.meta.key}"),) + by), nxt


def orphan(s: ClusterState) -> Iterator:
    """For an owner deleted with propagationPolicy Orphan, the collector removes its ownerReference from
    one dependent, or, once none is left, its `orphan` finalizer."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for kind in OWNER_KINDS:
            for owner in view.of(kind):
                if not owner.meta.deleting or "orphan" not in owner.meta.finalizers:
                    continue
                deps = dependents(s.store, owner)
                key = (("owner", f"{kind} {owner.meta.key}"),) + by
                if deps:
                    d = deps[0]
                    refs = tuple(r for r in d.meta.owner_references if r.uid != owner.meta.uid)
                    nxt = apiserver.update(s, evolve(d, meta=evolve(d.meta, owner_references=refs)),
                                           d.meta.resource_version, spec_changed=False)
                    if nxt is not None:
                        yield label("garbagecollector", "orphan_dependent", key, (("dependent", d.meta.key),)), nxt
                    continue
                live = s.store.by_uid(kind, owner.meta.uid)
                if live is not None:
                    nxt = apiserver.update(s, _finalizer_removed(live, "orphan"), live.meta.resource_version, False)
                    if nxt is not None:
                        yield label("garbagecollector", "remove_orphan_finalizer", key), nxt


def foreground(s: ClusterState) -> Iterator:
    """For an owner deleted in the foreground, once its dependents are gone the collector removes its finalizer."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for kind in OWNER_KINDS:
            for owner in view.of(kind):
                if not owner.meta.deleting or "foregroundDeletion" not in owner.meta.finalizers:
                    continue
                live = s.store.by_uid(kind, owner.meta.uid)
                if live is None or dependents(s.store, live):
                    continue
                nxt = apiserver.update(s, _finalizer_removed(live, "foregroundDeletion"), live.meta.resource_version,
                                       False)
                if nxt is not None:
                    yield label("garbagecollector", "remove_foreground_finalizer",
                                (("owner", f"{kind} {owner.meta.key}"),) + by), nxt


def rules() -> List[Rule]:
    return [Rule("garbagecollector.collect", collect, doc=collect.__doc__),
            Rule("garbagecollector.orphan", orphan, doc=orphan.__doc__),
            Rule("garbagecollector.foreground", foreground, doc=foreground.__doc__)]
