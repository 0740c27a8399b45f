"""kube-apiserver: how every component reads and writes the cluster's objects.

Modelled (fidelity checklist items 1-5 of KUBERNETES-FACTS.md):
* reads are served from the instance's watch cache (`view`);
* create assigns a fresh uid and generation 1, and a name from generateName
  (apiserver/pkg/registry/rest/create.go); a taken name is AlreadyExists; a
  Service without a clusterIP gets the lowest free one (pkg/registry/core/
  service/ipallocator, which picks at random: which address is not observable);
* update is a compare-and-swap on resourceVersion (GuaranteedUpdate): a
  write based on a stale read is a 409 Conflict (`None` here); a change of
  spec bumps metadata.generation, a status write does not;
* the status subresource (Deployment, and custom objects whose CRD has
  one): a write of the main resource keeps the stored status, a write of
  /status keeps the stored spec and generation (registry/apps/deployment/
  strategy.go PrepareForUpdate and statusStrategy.PrepareForUpdate); a
  custom object whose CRD has none has no /status (404), and any change of
  it but its metadata, its status too, bumps its generation
  (apiextensions-apiserver customresource/strategy.go);
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
unavailable until the load balancer sends them to another instance
(`failover`, weakly fair), where their reflectors list again.  client-go's
reflector relists with the resourceVersion it last saw after a broken watch
(as it does, in a real cluster, after the 410 Gone of a watch resumed where
the new cache's window does not reach back: see "Abstracted" below), which
the cache serves only once it has caught up: the client's view never goes
back (a pin holds what it had seen).
`behaviour.informerRelist: cache` lists with resourceVersion "0" instead,
as a restarted process does, which a lagging cache answers with an older
view.

CustomResourceDefinitions: the apiserver stores and serves objects of a kind
a CRD defines (at the CRD's group and versions) while the CRD exists; a
create of such an object before then is a 404.  Their spec is kept as
written (no schema validation or conversion).

Admission: the ServiceAccount plugin, where composed (model/components/
serviceaccount.py), and DefaultTolerationSeconds on every pod created (the
not-ready and unreachable NoExecute tolerations of 300 s, where the pod has
none: `default_toleration_seconds`); no other admission plugin.

Abstracted: 410 Gone itself (a cache is never further behind than
maxStaleness, so compaction never strands a watch: a client's view moves
through every intermediate state; skipped states, the "unobserved state"
class, are not modelled yet).
"""

from __future__ import annotations

from typing import Iterator, List, Optional


from explorer import Rule, label

from ..kinds import REGISTRY
from ..store import Store
from ..state import ClusterState
from ..objects import Toleration, evolve


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
    """A consistent read (resourceVersion ""): etcd's current keyspace, if a quorum and `client`'s instance are
    up (the autoscaler's live GET of the scale subresource, model/components/podautoscaler.py)."""
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


def instances_down(s: ClusterState, down) -> ClusterState:
    """Apiserver instances stop: their caches are gone, and each of their clients keeps, as a pin, how far
    behind etcd the newest view it had seen is (its reflectors' lastSyncResourceVersion), so that a relist
    elsewhere "not older than" that version can be served no older (see `failover`)."""
    down = set(down)
    ups = tuple(False if k in down else up for k, up in enumerate(s.apiservers_up))
    if s.max_lag == 0 or not s.connections:
        return evolve(s, apiservers_up=ups)
    pins = dict(s.pins)
    for c, k in s.connections:
        if k in down and s.apiservers_up[k]:
            lag = min(s.cache_lag[k], pins.get(c, s.cache_lag[k]))
            if lag < s.max_lag:
                pins[c] = lag
            else:
                pins.pop(c, None)
    return evolve(s, apiservers_up=ups, pins=tuple(sorted(pins.items())))


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
    if obj.kind == "CustomObject" and serving_crd(store, obj.api_version, obj.custom_kind) is None:
        return None   # 404: no CustomResourceDefinition serves this kind (yet)
    if obj.kind == "Pod" and s.sa_admission:
        from .serviceaccount import admits
        if not admits(store, obj):
            return None   # 403 from the ServiceAccount admission plugin: the creator retries
    meta = evolve(meta, name=name, uid=uid, generation=1, deleting=False)
    if obj.kind == "Pod":
        obj = default_toleration_seconds(obj)
    if obj.kind == "Service" and not obj.cluster_ip:
        obj = evolve(obj, cluster_ip=allocate_cluster_ip(store))
    return s.with_store(store.put(evolve(obj, meta=meta)))


NOT_READY_TOLERATION = Toleration("node.kubernetes.io/not-ready", "Exists", "", "NoExecute", 300)
UNREACHABLE_TOLERATION = Toleration("node.kubernetes.io/unreachable", "Exists", "", "NoExecute", 300)


def default_toleration_seconds(pod):
    """The DefaultTolerationSeconds admission plugin (plugin/pkg/admission/defaulttolerationseconds, on by
    default): a pod without a toleration of the not-ready or unreachable NoExecute taint (one whose key is that
    taint's or empty and whose effect is NoExecute or empty) gets one, tolerationSeconds 300
    (--default-not-ready-toleration-seconds, --default-unreachable-toleration-seconds), so that it is evicted
    five minutes after its Node becomes unreachable, not at once."""
    tols = pod.spec.tolerations
    add = tuple(d for d in (NOT_READY_TOLERATION, UNREACHABLE_TOLERATION)
                if not any((t.key == d.key or not t.key) and (t.effect == "NoExecute" or not t.effect) for t in tols))
    return evolve(pod, spec=evolve(pod.spec, tolerations=tols + add)) if add else pod


def serving_crd(store, api_version: str, kind: str):
    """The CustomResourceDefinition that serves `kind` at `api_version` (group/version), or None."""
    group, _, version = api_version.partition("/")
    for crd in store.crds:
        if crd.group == group and crd.kind_name == kind and version in crd.versions and not crd.meta.deleting:
            return crd
    return None


def has_status_subresource(store, obj) -> bool:
    """Whether the CustomResourceDefinition that serves custom object `obj` has a status subresource."""
    crd = serving_crd(store, obj.api_version, obj.custom_kind)
    return crd is not None and crd.status_subresource


def get_custom(s: ClusterState, client: str, api_version: str, kind: str, namespace: str, name: str):
    """GET /apis/<group>/<version>/namespaces/<ns>/<plural>/<name> through `client`'s apiserver: the object,
    or None (404) when no CustomResourceDefinition in its view serves the kind, or there is no such object."""
    v = view(s, client)
    if v is None or serving_crd(v, api_version, kind) is None:
        return None
    for o in v.custom_objects:
        if o.custom_kind == kind and o.meta.namespace == namespace and o.meta.name == name:
            return o
    return None


def allocate_cluster_ip(store) -> str:
    """The ClusterIP allocator over the Services in `store` (see `lowest_free_cluster_ip`)."""
    return lowest_free_cluster_ip({svc.cluster_ip for svc in store.services})


def lowest_free_cluster_ip(taken) -> str:
    """The lowest free address of the service CIDR 10.96.0.0/24: .1 is the `kubernetes` Service's and .10
    is kept for the DNS addon (pkg/registry/core/service/ipallocator picks at random: which is not observable)."""
    k = 2
    while f"10.96.0.{k}" in taken or k == 10:
        k += 1
    return f"10.96.0.{k}"


# The kinds whose status the model keeps in a `status` field written through the status subresource
# (the other kinds' status fields are written by their one writer through the main resource).
STATUS_SUBRESOURCE = frozenset(k.name for k in REGISTRY if k.status_subresource)   # model/kinds/


def update(s: ClusterState, obj, read_rv: int, spec_changed: bool = True) -> Optional[ClusterState]:
    """PUT with the resourceVersion it was read at; None on 409 Conflict or NotFound."""
    cur = s.store.by_uid(obj.kind, obj.meta.uid)
    if cur is None or cur.meta.resource_version != read_rv or not s.etcd_quorum():
        return None
    if obj.kind in STATUS_SUBRESOURCE or (obj.kind == "CustomObject" and has_status_subresource(s.store, cur)):
        obj = evolve(obj, status=cur.status)   # the main resource drops status changes (strategy.go)
    if obj.kind == "CustomObject":
        # apiextensions-apiserver customresource/strategy.go PrepareForUpdate: "except for the changes to
        # metadata, any other changes cause the generation to increment" -- a status written through the
        # main resource too, where the CRD has no status subresource.
        spec_changed = obj.spec != cur.spec or obj.status != cur.status
    if spec_changed:
        obj = evolve(obj, meta=evolve(obj.meta, generation=cur.meta.generation + 1))
    if obj.meta.deleting and not obj.meta.finalizers and cur.meta.finalizers and not _graceful_pod(obj):
        return s.with_store(s.store.remove(cur))  # the last finalizer removed: the object goes
    return s.with_store(s.store.put(obj))


def update_status(s: ClusterState, obj, read_rv: int) -> Optional[ClusterState]:
    """PUT .../status with the resourceVersion it was read at: only the status is taken (the spec and
    metadata stay as stored, and metadata.generation does not move); None on 409 Conflict or NotFound."""
    cur = s.store.by_uid(obj.kind, obj.meta.uid)
    if cur is None or cur.meta.resource_version != read_rv or not s.etcd_quorum():
        return None
    if cur.kind == "CustomObject" and not has_status_subresource(s.store, cur):
        return None   # 404: the CRD serves no /status
    if obj.status == cur.status:
        return s
    return s.with_store(s.store.put(evolve(cur, status=obj.status)))


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


def evict(s: ClusterState, namespace: str, name: str):
    """POST pods/<name>/eviction: a delete that the pod's PodDisruptionBudget may refuse (429); (next state, "")
    or (None, why).  The Eviction subresource is model/components/eviction.py."""
    from .eviction import evict as create_eviction
    return create_eviction(s, namespace, name)


def watch(s: ClusterState) -> Iterator:
    """An apiserver's watch cache receives the next event from etcd."""
    for k, lag in enumerate(s.cache_lag):
        if lag > 0 and s.apiservers_up[k]:
            lags = s.cache_lag[:k] + (lag - 1,) + s.cache_lag[k + 1:]
            pins = tuple((c, p) for c, p in s.pins if p < s.pin_limit(c, lags))
            yield label("apiserver", "watch", (("instance", k + 1),)), evolve(s, cache_lag=lags, pins=pins)


def _restarted(s: ClusterState, k: int) -> ClusterState:
    nxt = evolve(s, apiservers_up=s.apiservers_up[:k] + (True,) + s.apiservers_up[k + 1:],
                 cache_lag=s.cache_lag[:k] + (0,) + s.cache_lag[k + 1:],
                 apiserver_pods_lost=tuple(i for i in s.apiserver_pods_lost if i != k))
    return evolve(nxt, pins=tuple((c, p) for c, p in nxt.pins if p < nxt.pin_limit(c, nxt.cache_lag)))


def restart_rules(place) -> List[Rule]:
    """The supervisor of each apiserver instance, by control-plane placement (model/topology.py)."""
    def supervisor_up(s: ClusterState, k: int) -> bool:
        host = place.apiserver_host(k)
        if host is None:
            return True                      # its own machine, or the provider's
        h = s.host(host)
        return h is not None and h.up and (place.supervisor != "kubelet" or h.kubelet_up)

    def restart(s: ClusterState) -> Iterator:
        """The supervisor (systemd, or the kubelet for static and self-hosted pods) restarts a crashed apiserver;
        it lists etcd afresh into its cache."""
        for k, up in enumerate(s.apiservers_up):
            if not up and k not in s.apiserver_pods_lost and supervisor_up(s, k):
                yield label("apiserver", "restart", (("instance", k + 1),)), _restarted(s, k)

    def recreate(s: ClusterState) -> Iterator:
        """The kubelet of a rebooted control-plane node gets its self-hosted apiserver pod back from another
        apiserver, and starts it."""
        for k in s.apiserver_pods_lost:
            if supervisor_up(s, k) and any(up for i, up in enumerate(s.apiservers_up) if i != k):
                yield (label("kubelet", "start_apiserver_pod", (("node", place.apiserver_host(k)), ("instance", k + 1))),
                       _restarted(s, k))

    out = [Rule("apiserver.restart", restart, doc=restart.__doc__)]
    if place.self_hosted:
        out.append(Rule("kubelet.start_apiserver_pod", recreate, doc=recreate.__doc__))
    return out


def _client_runs(s: ClusterState, client: str) -> bool:
    """Whether the process behind `client` runs (a kubelet or node agent on a machine that is up, a replica
    that is up and not paused), so that it notices its apiserver is gone."""
    if "/" in client:
        h = s.host(client.split("/", 1)[1])
        return h is not None and h.up and (not client.startswith("kubelet/") or h.kubelet_up)
    p = s.process(client)
    return p is None or (p.up and not p.paused)


def failover_rule(relist: str) -> Rule:
    def failover(s: ClusterState) -> Iterator:
        """A client whose apiserver is down is sent by the load balancer to one that is up, where its
        reflectors list again."""
        for c, k in s.connections:
            if s.apiservers_up[k] or not _client_runs(s, c):
                continue
            for j, up in enumerate(s.apiservers_up):
                if up:
                    yield (label("apiserver", "failover", (("client", c),), (("to", j + 1),)),
                           relisted(s, c, j, keep_pin=(relist == "not-older")))

    return Rule("apiserver.failover", failover, doc=failover.__doc__)


def relisted(s: ClusterState, client: str, instance: int, keep_pin: bool) -> ClusterState:
    """`client` lists again from `instance`'s cache: with resourceVersion = the last one it saw (client-go's
    reflector after a broken watch, and after 410 Gone), the cache answers once it has caught up to that,
    so the view is the fresher of the cache and what the client had seen (its pin); with resourceVersion
    "0" (`behaviour.informerRelist: cache`), whatever the cache holds, which may be older."""
    nxt = reconnect(s, client, instance, quorum_read=False)
    pin = s.pin_of(client)
    if keep_pin and pin is not None and pin < s.cache_lag[instance]:
        nxt = evolve(nxt, pins=tuple(sorted(nxt.pins + ((client, pin),))))
    return nxt


def rules(watch_caches: bool, restarts: bool, place, failovers: bool = False,
          relist: str = "not-older") -> List[Rule]:
    out = []
    if failovers:
        out.append(failover_rule(relist))
    if watch_caches:
        out.append(Rule("apiserver.watch", watch, doc=watch.__doc__))
    if restarts or place.self_hosted:
        out += restart_rules(place)
    return out
