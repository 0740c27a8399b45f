"""The variables of a ClusterState as ITF values (the trace format of DESIGN section 6).

Values follow ADR-015 (the Informal Trace Format of Apalache and Quint), so
ITF readers such as itf-py and the Rust `itf` crate accept them:

* a collection keyed by values is a map, `{"#map": [[key, value], ...]}`:
  etcd's objects (keyed by "Kind ns/name"), the machines (by name), the
  etcd members, the apiserver instances, the controller replicas, an
  object's labels, a Service's selector, a custom object's spec (keyed by
  field path), a machine's pod IPs and Service rules, the DNS records, the
  cloud's routes and load balancers, the syncs in flight.  An empty one is
  `{"#map": []}`, never `{}` (a record without fields, which readers refuse);
* a collection without order or repetition is a set, `{"#set": [...]}`: the
  clients of an apiserver instance, the nodes behind a cloud load balancer;
* a record (a JSON object) only where the field names are fixed in advance
  and are identifiers: an object as stored (uid, labels, owner, ...), a
  machine (up, kubelet, running, ...), etcd (revision, objects), the cloud
  (routes, loadBalancers);
* sequences (JSON arrays) where Kubernetes keeps a list: owner references,
  finalizers, taints, endpoints, the pods a runtime runs (sorted by uid: two
  pods of one name can run at once), one entry per worker of a sync;
* integers are JSON numbers, `{"#bigint": "..."}` beyond 2**53 - 1.

Every variable of VARS is in every state: `syncs_in_flight`, `dns` and
`cloud` are empty maps (and a cloud without routes or load balancers) where
the scenario has none.  `kubecheck.traces.plain` turns these values back into
plain Python values (maps as dicts, sets and tuples as lists).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

from .kinds import KINDS
from .state import ClusterState

VARS = ("etcd", "hosts", "etcd_members", "apiservers", "replicas", "faults_left", "changes_made",
        "syncs_in_flight", "dns", "cloud")

# JSON integers beyond this are not exact in every reader (RFC 7159): ADR-015 writes them as #bigint.
SAFE_INT = 2 ** 53 - 1


def itf_map(pairs: Iterable[Tuple[Any, Any]]) -> Dict[str, List[List[Any]]]:
    """An ADR-015 map from (key, value) pairs, in their order (a key given twice keeps its last value)."""
    return {"#map": [[k, v] for k, v in dict(pairs).items()]}


def itf_set(items: Iterable[Any]) -> Dict[str, List[Any]]:
    """An ADR-015 set of `items` (distinct, in the order given)."""
    return {"#set": list(items)}


def _big(v: Any) -> Any:
    """`v` with every integer beyond JSON's exact range written as {"#bigint": "..."}."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if -SAFE_INT <= v <= SAFE_INT else {"#bigint": str(v)}
    if isinstance(v, dict):
        return {k: _big(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_big(x) for x in v]
    return v


def encode_object(o) -> Dict[str, Any]:
    m = o.meta
    rec: Dict[str, Any] = {"uid": m.uid}
    if m.resource_version:
        rec["resourceVersion"] = m.resource_version
    if m.labels:
        rec["labels"] = itf_map(m.labels)
    if m.owner_references:
        rec["owner"] = [f"{r.kind}/{r.name}" for r in m.owner_references]
    if m.deleting:
        rec["deletionTimestamp"] = "set"
    if m.finalizers:
        rec["finalizers"] = list(m.finalizers)
    encode = KINDS[o.kind].encode
    if encode is not None:
        encode(o, rec)
    return rec


def encode_state(s: ClusterState) -> Dict[str, Any]:
    etcd = []
    for o in s.store.objects():
        kind = o.custom_kind if o.kind == "CustomObject" else o.kind
        etcd.append((f"{kind} {o.meta.key}", encode_object(o)))
    hosts = []
    for h in s.hosts:
        rec = {"up": h.up, "kubelet": h.kubelet_up, "running": [rp.key for rp in h.pods]}
        if any(rp.ip for rp in h.pods):
            rec["podIPs"] = itf_map((rp.key, rp.ip) for rp in h.pods)
        attached = [claim for claim, node in s.attachments if node == h.name]
        if attached:
            rec["volumesAttached"] = attached
        if any(rp.volumes for rp in h.pods):
            rec["volumesMounted"] = itf_map((rp.key, list(rp.volumes)) for rp in h.pods if rp.volumes)
        if h.service_rules:
            rec["serviceRules"] = itf_map((key, {"clusterIP": ip, "backends": list(b)}) for key, ip, b in h.service_rules)
        hosts.append((h.name, rec))
    members = itf_map((f"etcd-{i + 1}", "up" if up else "down") for i, up in enumerate(s.etcd_up))
    apiservers = []
    for k, (up, lag) in enumerate(zip(s.apiservers_up, s.cache_lag)):
        rec = {"up": up, "cache_behind_writes": lag}
        clients = [c for c, i in s.connections if i == k]
        if clients:
            rec["clients"] = itf_set(clients)
        apiservers.append((f"apiserver-{k + 1}", rec))
    if s.pins:
        apiservers.append(("quorum_reads", itf_map(s.pins)))
    syncs: Dict[str, List[str]] = {}
    for c, key in s.syncs:
        syncs.setdefault(c, []).append(key)
    replicas = [(p.name, {"up": p.up, "paused": p.paused, "leader": p.leader}) for p in s.processes]
    replicas += [(f"lease {name}", "expired") for name in s.expired_leases]
    replicas += [(f"clock CronJob {key}", f"{n} scheduled time{'s' if n != 1 else ''} come"
                  + (", the last one's starting deadline passed" if late else "")) for key, n, late in s.cron_ticks]
    due: Dict[str, List[str]] = {}
    for c, u in s.taint_evictions:   # the taint-eviction controller's scheduled evictions (its timers)
        pod = s.store.by_uid("Pod", u)
        due.setdefault(c, []).append(pod.meta.key if pod is not None else f"uid {u}")
    replicas += [(f"evictions scheduled by {c}", sorted(keys)) for c, keys in sorted(due.items())]
    return _big({"etcd": {"revision": s.store.revision, "objects": itf_map(etcd)}, "hosts": itf_map(hosts),
                 "etcd_members": members, "apiservers": itf_map(apiservers), "replicas": itf_map(replicas),
                 "faults_left": s.faults_left, "changes_made": s.next_change,
                 "syncs_in_flight": itf_map(syncs.items()),
                 "dns": itf_map(s.dns_records),
                 "cloud": {"routes": itf_map(s.cloud_routes),
                           "loadBalancers": itf_map((k, itf_set(b)) for k, b in s.cloud_lbs)}})
