"""kube-apiserver: how every component reads and writes the cluster's objects.

Modelled (fidelity checklist items 1-5 of KUBERNETES-FACTS.md):
* reads are served from the instance's watch cache (`view`);
* create assigns a fresh uid and generation 1, and a name from generateName
  (apiserver/pkg/registry/rest/create.go); a taken name is AlreadyExists;
* update is a compare-and-swap on resourceVersion (GuaranteedUpdate): a
  write based on a stale read is a 409 Conflict (`None` here); a change of
  spec bumps metadata.generation, a status write does not;
* delete: a pod bound to a node is deleted gracefully (deletionTimestamp
  set; the kubelet stops its containers and completes the deletion with grace
  0); any other object, or a pod with grace 0, is removed at once; with
  finalizers only deletionTimestamp is set (registry/store.go).

Every write needs an etcd quorum (`ClusterState.etcd_quorum`): without one
it fails (None here), as a write to etcd times out; reads from the cache go
on.

Abstracted, for now: one instance whose cache is etcd itself (no lag), so
every read is current; admission plugins.
"""

from __future__ import annotations

from typing import Optional

import attrs

from ..components.etcd import Store
from ..state import ClusterState


def view(s: ClusterState, client: str = "") -> Store:
    """What `client` sees: the watch cache of the apiserver instance it talks to."""
    return s.store


def generated_name(prefix: str, uid: int) -> str:
    """The name the apiserver generates from generateName (a suffix unique to the object)."""
    return f"{prefix}{uid}"


def create(s: ClusterState, obj) -> Optional[ClusterState]:
    """POST: store a new object with a fresh uid; None if its name is taken (AlreadyExists)."""
    if not s.etcd_quorum():
        return None
    store = s.store
    uid, store = store.allocate_uid()
    meta = obj.meta
    name = generated_name(meta.generate_name, uid) if meta.generate_name else meta.name
    if store.get(obj.kind, meta.namespace, name) is not None:
        return None
    meta = attrs.evolve(meta, name=name, uid=uid, generation=1, deleting=False)
    return s.with_store(store.put(attrs.evolve(obj, meta=meta)))


def update(s: ClusterState, obj, read_rv: int, spec_changed: bool = True) -> Optional[ClusterState]:
    """PUT with the resourceVersion it was read at; None on 409 Conflict or NotFound."""
    cur = s.store.by_uid(obj.kind, obj.meta.uid)
    if cur is None or cur.meta.resource_version != read_rv or not s.etcd_quorum():
        return None
    if spec_changed:
        obj = attrs.evolve(obj, meta=attrs.evolve(obj.meta, generation=cur.meta.generation + 1))
    return s.with_store(s.store.put(obj))


def delete(s: ClusterState, obj, grace: bool = True) -> Optional[ClusterState]:
    """DELETE, uid-preconditioned; graceful for a pod bound to a node."""
    cur = s.store.by_uid(obj.kind, obj.meta.uid)
    if cur is None or not s.etcd_quorum():
        return None
    graceful = grace and obj.kind == "Pod" and cur.spec.node_name != ""
    if graceful or cur.meta.finalizers:
        if cur.meta.deleting:
            return s
        return s.with_store(s.store.put(attrs.evolve(cur, meta=attrs.evolve(cur.meta, deleting=True))))
    return s.with_store(s.store.remove(cur))
