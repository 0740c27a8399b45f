"""The cluster DNS addon: CoreDNS answering each Service name with its ClusterIP, a headless Service's name
with its ready pods' addresses, and a pod's `<hostname>.<service>`.

Modelled (the addon as kubeadm installs it, and CoreDNS's `kubernetes`
plugin): a Deployment `kube-system/coredns` (labels `k8s-app: kube-dns`,
requests 100m cpu and 70Mi memory, tolerating the control-plane taint and
CriticalAddonsOnly; 2 replicas unless `addons.dns.replicas` says otherwise)
behind the Service `kube-system/kube-dns` at 10.96.0.10, the address every
kubelet writes into its pods' resolv.conf.  Its pods are scheduled, run and
fail like any other workload.  CoreDNS watches Services through its
apiserver and serves a record `<name>.<namespace>.svc` -> ClusterIP for each
one it has seen (`sync_records`, weakly fair while one of its pods runs).

The records are read by nothing but `dns-converges`, so the search runs
around this sync (an observer, explorer/observers.py): `observer` says how a
sync would set them, and that where no replica runs the goal fails whatever
they are (it asks for a serving DNS pod), except where CoreDNS's apiserver is
down, which makes the search fall back to composing it.

Headless Services (coredns/coredns plugin/kubernetes: findServices,
endpointHostname; object/endpoint.go EndpointSliceToEndpoints): a Service
with clusterIP None is answered, from its EndpointSlices (by their
kubernetes.io/service-name label), with the address of each endpoint whose
`ready` condition is true (a not-ready or terminating pod is left out,
unless publishNotReadyAddresses marks it ready); an endpoint with a
hostname (the EndpointSlice controller copies the pod's spec.hostname where
its spec.subdomain names the Service, ShouldSetHostname: a StatefulSet's
pods with its serviceName) is also answered as `<hostname>.<service>`
(written `<namespace>/<hostname>.<service>` here), for any Service, as
CoreDNS answers an endpoint query of a ClusterIP Service too.  Abstracted:
the names CoreDNS makes from an address for an endpoint without a hostname
(`10-244-1-5.<service>`: nobody relies on them), SRV records and ports.

Abstracted: the replicas share one record set (`ClusterState.dns_records`):
each really has its own informer, but they list the same Services, and only
whether the answer is right once they have caught up is checked; a new
replica serves what the set holds until its next sync.  Only A records;
pods use the DNS by the kube-dns Service, which the
EndpointSlice controller and kube-proxy route like any other.  Composed only
where the scenario has a Service of its own (nothing else resolves names).
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from explorer import Observer, Rule, label

from ..objects import (Container, Deployment, ObjectMeta, PodSpec, PodTemplate, Resources, Service, Toleration,
                       evolve)
from ..quantity import cpu_millis, whole
from ..state import ClusterState
from . import apiserver

NAMESPACE = "kube-system"
LABELS = (("k8s-app", "kube-dns"),)
CLUSTER_IP = "10.96.0.10"
CLIENT = "coredns"


def addon_objects(replicas: int = 2) -> Tuple[object, object]:
    """The Deployment and Service of the DNS addon, as kubeadm's manifests define them."""
    spec = PodSpec(containers=(Container("coredns", "registry.k8s.io/coredns/coredns:v1.11.3"),),
                   requests=Resources(cpu_millis("100m"), whole("70Mi"), 1),
                   tolerations=(Toleration("CriticalAddonsOnly", "Exists"),
                                Toleration("node-role.kubernetes.io/control-plane", "Exists", "", "NoSchedule")))
    deployment = Deployment(meta=ObjectMeta(NAMESPACE, "coredns", labels=LABELS), replicas=replicas,
                            selector=LABELS, template=PodTemplate(LABELS, spec))
    service = Service(meta=ObjectMeta(NAMESPACE, "kube-dns", labels=LABELS), selector=LABELS, cluster_ip=CLUSTER_IP)
    return deployment, service


def is_dns_pod(namespace: str, labels) -> bool:
    return namespace == NAMESPACE and all(pair in labels for pair in LABELS)


def serving_replicas(s: ClusterState) -> List[str]:
    """The DNS pods whose containers run on a machine that is up (so they can answer)."""
    out = []
    for h in s.hosts:
        if not h.up:
            continue
        for rp in h.pods:
            pod = s.store.by_uid("Pod", rp.uid)
            if pod is not None and is_dns_pod(pod.meta.namespace, pod.meta.labels):
                out.append(rp.key)
    return out


def records_of(store) -> Tuple[Tuple[str, str], ...]:
    """The zone CoreDNS serves for these Services: each Service's name -> its ClusterIP, or for a headless
    Service -> each of its ready endpoints' addresses; and `<hostname>.<service>` -> the address of each ready
    endpoint with a hostname (`endpoint_records`).  A name with several addresses has one record per address."""
    out = {(svc.meta.key, svc.cluster_ip) for svc in store.services if not svc.headless}
    if store.endpointslices:
        for svc in store.services:
            out.update(endpoint_records(store, svc))
    return tuple(sorted(out))


def endpoint_records(store, svc) -> Iterator[Tuple[str, str]]:
    """The records CoreDNS's kubernetes plugin serves from a Service's EndpointSlices (findServices, with the
    slices as EndpointSliceToEndpoints keeps them: only endpoints whose `ready` condition is true): a headless
    Service's name -> each address; `<hostname>.<service>` (as `<namespace>/<hostname>.<service>`) -> the
    address of an endpoint with a hostname (endpointHostname), for any Service."""
    ns, name = svc.meta.namespace, svc.meta.name
    for es in store.endpointslices:
        if es.meta.namespace != ns or es.service != name:
            continue     # CoreDNS indexes slices by their kubernetes.io/service-name label
        for e in es.endpoints:
            if not e.ready:
                continue
            if svc.headless:
                yield svc.meta.key, e.ip
            if e.hostname:
                yield f"{ns}/{e.hostname}.{name}", e.ip


def sync_records(s: ClusterState) -> Iterator:
    """CoreDNS's kubernetes plugin brings its records in step with the Services it has seen."""
    if not serving_replicas(s):
        return
    view = apiserver.view(s, CLIENT)
    if view is None:
        return
    records = records_of(view)
    if records != s.dns_records:
        yield label("dns", "sync_records", ()), evolve(s, dns_records=records)


def rules() -> List[Rule]:
    return [Rule("dns.sync_records", sync_records, doc=sync_records.__doc__)]


def observer() -> Observer:
    """CoreDNS as an observer: its state is the records it serves."""
    def strip(s: ClusterState) -> ClusterState:
        return evolve(s, dns_records=()) if s.dns_records else s

    def fill(s: ClusterState) -> ClusterState:
        if not serving_replicas(s):
            return s
        view = apiserver.view(s, CLIENT)
        if view is None:
            return s
        records = records_of(view)
        return s if records == s.dns_records else evolve(s, dns_records=records)

    def exact(s: ClusterState) -> bool:
        """Where a replica runs, its records are read: it must be able to sync them."""
        return not serving_replicas(s) or apiserver.view(s, CLIENT) is not None

    def where(s: ClusterState) -> bool:
        """Whether it can sync: a replica runs and its apiserver serves it."""
        return bool(serving_replicas(s)) and apiserver.view(s, CLIENT) is not None

    return Observer("dns", ("dns.sync_records",), strip, fill, lambda s: s.dns_records, exact, where)
