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

Watch caches (fidelity checklist items 7-8): each instance serves list and
watch reads (resourceVersion "0") from its own cache, which may be up to
`check.maxStaleness` writes behind etcd; `watch` delivers the next event to
a cache (one write at a time, in order, so intermediate states are seen).
A quorum read (resourceVersion "") is served from etcd itself; a client
that made one keeps a view at least that fresh (the cache waits for the
revision before serving its watch).  Writes always go to etcd, so a write
based on a stale read fails its compare-and-swap.  An instance can crash
(`apiserver-restart` fault) and is restarted by its supervisor (weakly
fair); it comes back with a cache freshly listed from etcd.  Its clients are
unavailable meanwhile (the load balancer's failover is abstracted: a
client changes instance only when it restarts).

Abstracted: admission plugins; 410 Gone (a cache is never further behind
than maxStaleness, so compaction never strands a watch).
"""

from __future__ import annotations

from typing import Iterator, List, Optional


from explorer import Rule, label

from ..components.etcd import Store
from ..state import ClusterState
from ..objects import evolve


def view(s: ClusterState, client: str = "") -> Optional[Store]:
    """What `client` sees: the watch cache of the apiserver instance it talks to.

    None when that instance is down.
    """
    if not s.history:
        return s.store if s.apiservers_up[s.instance_of(client)] else None
    k = s.instance_of(client)
    if not s.apiservers_up[k]:
        return None
    lag = s.cache_lag[k]
    pin = s.pin_of(client)
    if pin is not None and pin < lag:
        lag = pin
    return s.store if lag == 0 else s.history[lag - 1]


def quorum_view(s: ClusterState, client: str = "") -> Optional[Store]:
    """A consistent read (resourceVersion ""): etcd's current keyspace, if a quorum and the instance are up."""
    if not s.etcd_quorum() or not s.apiservers_up[s.instance_of(client)]:
        return None
    return s.store


def reconnect(s: ClusterState, client: str, instance: int, quorum_read: bool) -> ClusterState:
    """`client` (re)starts talking to `instance`, having listed from its cache or with a quorum read."""
    conns = s.connections
    if len(s.apiservers_up) > 1:
        conns = tuple(sorted([(c, k) for c, k in conns if c != client] + [(client, instance)]))
    pins = tuple(p for p in s.pins if p[0] != client)
    if quorum_read and s.cache_lag[instance] > 0:
        pins = tuple(sorted(pins + ((client, 0),)))
    return evolve(s, connections=conns, pins=pins)


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
    meta = evolve(meta, name=name, uid=uid, generation=1, deleting=False)
    return s.with_store(store.put(evolve(obj, meta=meta)))


def update(s: ClusterState, obj, read_rv: int, spec_changed: bool = True) -> Optional[ClusterState]:
    """PUT with the resourceVersion it was read at; None on 409 Conflict or NotFound."""
    cur = s.store.by_uid(obj.kind, obj.meta.uid)
    if cur is None or cur.meta.resource_version != read_rv or not s.etcd_quorum():
        return None
    if spec_changed:
        obj = evolve(obj, meta=evolve(obj.meta, generation=cur.meta.generation + 1))
    if obj.meta.deleting and not obj.meta.finalizers and cur.meta.finalizers and not _graceful_pod(obj):
        return s.with_store(s.store.remove(cur))  # the last finalizer removed: the object goes
    return s.with_store(s.store.put(obj))


def _graceful_pod(obj) -> bool:
    return obj.kind == "Pod" and obj.spec.node_name != ""


def delete(s: ClusterState, obj, grace: bool = True, propagation: str = "Background") -> Optional[ClusterState]:
    """DELETE, uid-preconditioned; graceful for a pod bound to a node.

    propagationPolicy Orphan or Foreground adds the garbage collector's
    `orphan` or `foregroundDeletion` finalizer, so the object only gets a
    deletionTimestamp until the collector has dealt with its dependents.
    """
    cur = s.store.by_uid(obj.kind, obj.meta.uid)
    if cur is None or not s.etcd_quorum():
        return None
    finalizers = cur.meta.finalizers
    extra = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(propagation)
    if extra and not cur.meta.deleting and extra not in finalizers:
        finalizers = finalizers + (extra,)
    graceful = grace and _graceful_pod(cur)
    if graceful or finalizers:
        if cur.meta.deleting and finalizers == cur.meta.finalizers:
            return s
        return s.with_store(s.store.put(evolve(cur, meta=evolve(cur.meta, deleting=True, finalizers=finalizers))))
    return s.with_store(s.store.remove(cur))


def watch(s: ClusterState) -> Iterator:
    """An apiserver's watch cache receives the next event from etcd."""
    for k, lag in enumerate(s.cache_lag):
        if lag > 0 and s.apiservers_up[k]:
            lags = s.cache_lag[:k] + (lag - 1,) + s.cache_lag[k + 1:]
            pins = tuple((c, p) for c, p in s.pins if p < lags[s.instance_of(c)])
            yield label("apiserver", "watch", (("instance", k + 1),)), evolve(s, cache_lag=lags, pins=pins)


def restart(s: ClusterState) -> Iterator:
    """The supervisor restarts a crashed apiserver; it lists etcd afresh into its cache."""
    for k, up in enumerate(s.apiservers_up):
        if not up:
            nxt = evolve(s, apiservers_up=s.apiservers_up[:k] + (True,) + s.apiservers_up[k + 1:],
                               cache_lag=s.cache_lag[:k] + (0,) + s.cache_lag[k + 1:])
            nxt = evolve(nxt, pins=tuple((c, p) for c, p in nxt.pins if p < nxt.cache_lag[nxt.instance_of(c)]))
            yield label("apiserver", "restart", (("instance", k + 1),)), nxt


def rules(watch_caches: bool, restarts: bool) -> List[Rule]:
    out = []
    if watch_caches:
        out.append(Rule("apiserver.watch", watch, doc=watch.__doc__))
    if restarts:
        out.append(Rule("apiserver.restart", restart, doc=restart.__doc__))
    return out
