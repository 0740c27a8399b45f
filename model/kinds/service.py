"""Service (v1) with a selector: a stable virtual IP in front of the pods it selects (the EndpointSlice
controller, kube-proxy, DNS).  Ports are abstracted (one port, the same on pod and Service); NodePort is
folded into LoadBalancer's node backends.  A headless Service (spec.clusterIP None, type ClusterIP only, as
ValidateService requires) gets EndpointSlices like any other, no kube-proxy rule (ShouldSkipService), and
DNS records of its ready pods' addresses and `<hostname>.<service>` names (model/components/dns.py).  Not
modelled: ExternalName Services (left out with a warning), traffic policies (warned)."""

from __future__ import annotations

from ..objects import Service
from . import Kind
from .common import policy
from .manifest import MODELLED, LeftOut, inert, modelled, meta, unmodelled, short

_ROUTING = ("service-routing-converges", "endpoints-converge")
_POLICY = policy(spec=modelled({
    "selector": MODELLED, "type": MODELLED, "clusterIP": MODELLED, "clusterIPs": MODELLED,
    "publishNotReadyAddresses": MODELLED,
    "ports": inert("ports are abstracted: one port, the same on pod and Service"),
    "ipFamilies": inert("one IP family is modelled"), "ipFamilyPolicy": inert("one IP family is modelled"),
    "sessionAffinity": inert("which backend a connection picks: no property reads it"),
    "sessionAffinityConfig": inert("which backend a connection picks: no property reads it"),
    "loadBalancerClass": unmodelled("cloud-load-balancer-converges", reason="another load balancer implementation"),
    "loadBalancerIP": inert("the cloud's address: no property reads it"),
    "loadBalancerSourceRanges": inert("traffic filtering: no property reads it"),
    "allocateLoadBalancerNodePorts": inert("node ports are abstracted"),
    "healthCheckNodePort": inert("node ports are abstracted"),
    "externalIPs": inert("addresses outside the cluster: no property reads them"),
    "externalName": unmodelled(*_ROUTING, "dns-converges", reason="ExternalName Services"),
    "externalTrafficPolicy": unmodelled("cloud-load-balancer-converges", "service-routing-converges",
                                        reason="Local: only nodes with endpoints"),
    "internalTrafficPolicy": unmodelled("service-routing-converges", reason="Local: only the node's endpoints"),
    "trafficDistribution": inert("a routing preference: the rules still reach every ready endpoint"),
}))


def parse(doc) -> Service:
    raw = doc.raw
    m = meta(doc, raw, True, name_rule="dns1035")
    spec = doc.get(raw, "spec", "", dict, {})
    stype = doc.get(spec, "type", "spec", str, "ClusterIP")
    if stype == "ExternalName":
        raise LeftOut("an ExternalName Service: a DNS alias, not modelled", ("dns-converges",), field="spec.type")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer"):
        raise doc.error("spec.type", f"expected ClusterIP, NodePort or LoadBalancer, got {short(stype)}")
    if "selector" not in spec:
        doc.warn("spec.selector", "a Service without a selector has no managed endpoints; modelled with none")
    ip = doc.get(spec, "clusterIP", "spec", str, "")
    if not ip and doc.get(spec, "clusterIPs", "spec", list, []) == ["None"]:
        ip = "None"      # clusterIPs[0] is clusterIP
    if ip == "None" and stype != "ClusterIP":
        # ValidateService: a headless Service has no virtual IP for node ports or a load balancer to send to.
        raise doc.error("spec.clusterIP", f"may not be set to 'None' for {stype} services")
    return Service(meta=m, selector=doc.labels(spec, "selector", "spec"), cluster_ip=ip,
                   type="LoadBalancer" if stype == "LoadBalancer" else "ClusterIP",
                   publish_not_ready=doc.get(spec, "publishNotReadyAddresses", "spec", bool, False))


def encode(o, rec) -> None:
    from ..itf import itf_map
    rec.update(clusterIP=o.cluster_ip, type=o.type, selector=itf_map(o.selector))


KIND = Kind("Service", ("v1",), "services", parse=parse, policy=_POLICY, install_order=3,
            spec_fields=("selector", "type", "publish_not_ready"),   # spec.clusterIP is immutable
            owner=True, encode=encode, controllers=("endpointslice", "kubeproxy", "dns"), doc=__doc__)
