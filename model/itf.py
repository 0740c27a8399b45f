"""The variables of a ClusterState as ITF values (the trace format of DESIGN section 6).

Records are JSON objects, sequences JSON arrays, integers JSON numbers.  The
variables are chosen to be read by a person: `etcd` maps "Kind ns/name" to
the object as stored, `hosts` maps each machine to whether it and its
kubelet are up, which pods its runtime runs (with their IPs) and its Service
rules.  Two variables appear only where the scenario has them: `dns` (the
DNS addon's records) and `cloud` (the cloud provider's routes and load
balancers).
"""

from __future__ import annotations

from typing import Any, Dict

from .kinds import KINDS
from .state import ClusterState

VARS = ("etcd", "hosts", "etcd_members", "apiservers", "replicas", "faults_left", "changes_made")


def encode_object(o) -> Dict[str, Any]:
    m = o.meta
    rec: Dict[str, Any] = {"uid": m.uid}
    if m.resource_version:
        rec["resourceVersion"] = m.resource_version
    if m.labels:
        rec["labels"] = {k: v for k, v in m.labels}
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
    etcd = {}
    for o in s.store.objects():
        kind = o.custom_kind if o.kind == "CustomObject" else o.kind
        etcd[f"{kind} {o.meta.key}"] = encode_object(o)
    hosts = {}
    for h in s.hosts:
        rec = {"up": h.up, "kubelet": h.kubelet_up, "running": [rp.key for rp in h.pods]}
        if any(rp.ip for rp in h.pods):
            rec["podIPs"] = {rp.key: rp.ip for rp in h.pods}
        if h.service_rules:
            rec["serviceRules"] = {key: {"clusterIP": ip, "backends": list(b)} for key, ip, b in h.service_rules}
        hosts[h.name] = rec
    members = {f"etcd-{i + 1}": ("up" if up else "down") for i, up in enumerate(s.etcd_up)}
    apiservers = {}
    for k, (up, lag) in enumerate(zip(s.apiservers_up, s.cache_lag)):
        rec = {"up": up, "cache_behind_writes": lag}
        clients = [c for c, i in s.connections if i == k]
        if clients:
            rec["clients"] = clients
        apiservers[f"apiserver-{k + 1}"] = rec
    for c, lag in s.pins:
        apiservers.setdefault("quorum_reads", {})[c] = lag
    syncs = {}
    for c, key in s.syncs:
        syncs.setdefault(c, []).append(key)
    return {"etcd": {"revision": s.store.revision, "objects": etcd}, "hosts": hosts, "etcd_members": members, "apiservers": apiservers,
            "replicas": {p.name: {"up": p.up, "paused": p.paused, "leader": p.leader} for p in s.processes}
            | {f"lease {name}": "expired" for name in s.expired_leases},
            "faults_left": s.faults_left, "changes_made": s.next_change} | (
            {"syncs_in_flight": syncs} if syncs else {}) | (
            {"dns": {key: ip for key, ip in s.dns_records}} if s.dns_records else {}) | (
            {"cloud": {"routes": {n: cidr for n, cidr in s.cloud_routes},
                       "loadBalancers": {k: list(b) for k, b in s.cloud_lbs}}} if s.cloud_routes or s.cloud_lbs else {})
