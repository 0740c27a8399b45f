"""Properties of Services: endpoints, the nodes' Service rules, cluster DNS, pod IPs.

They apply where the scenario has a Service (pod IPs are modelled only
there: nothing else reads them).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from explorer import ActionProperty, Invariant
from model.scenario import Scenario
from model.state import ClusterState

from .catalog import register
from .convergence import from_problems, placement_diagnosis


def has_services(sc: Scenario) -> Optional[str]:
    if any(o.kind == "Service" for o in sc.objects) or any(c.kind == "Service" for c in sc.changes):
        return None
    return "no Service"


def _pod_names(store) -> Dict[int, str]:
    return {p.meta.uid: p.meta.key for p in store.pods}


def expected_endpoints(store, svc) -> Tuple[Tuple[int, str, str, bool], ...]:
    """The specification, written apart from the controller: (pod uid, IP, node, ready) for each pod of the
    Service's namespace that its selector matches, is not Succeeded or Failed and has an IP; ready when the
    pod is Ready and not terminating (or always, with publishNotReadyAddresses)."""
    return tuple(sorted((p.meta.uid, p.ip, p.spec.node_name, svc.publish_not_ready or (p.ready and not p.meta.deleting))
                        for p in _backing_pods(store, svc)))


def _backing_pods(store, svc):
    """The pods of the Service's namespace that its selector matches, not Succeeded or Failed, with an IP."""
    for p in store.pods:
        if (p.meta.namespace == svc.meta.namespace and p.ip and p.phase not in ("Succeeded", "Failed")
                and all(pair in p.meta.labels for pair in svc.selector)):
            yield p


def endpoint_problems(s: ClusterState) -> List[str]:
    store = s.store
    names = _pod_names(store)
    out = []
    for svc in store.services:
        if not svc.selector:
            continue
        want = expected_endpoints(store, svc)
        slices = [es for es in store.endpointslices if es.meta.namespace == svc.meta.namespace
                  and es.meta.controller_uid() == svc.meta.uid]
        if not slices:
            out.append(f"Service {svc.meta.key} has no EndpointSlice")
            continue
        if len(slices) > 1:
            out.append(f"Service {svc.meta.key} has {len(slices)} EndpointSlices "
                       f"({', '.join(es.meta.name for es in slices)}), listing its pods more than once")
        have = tuple(sorted((e.pod_uid, e.ip, e.node, e.ready) for e in slices[0].endpoints))
        if have != want:
            def show(eps) -> str:
                return ", ".join(f"{names.get(uid, f'gone pod uid {uid}')}@{ip}{'' if ready else ' (not ready)'}"
                                 for uid, ip, _, ready in eps) or "none"
            out.append(f"EndpointSlice {slices[0].meta.key} of Service {svc.meta.key} lists {show(have)}; "
                       f"its pods are {show(want)}")
    services = {svc.meta.uid for svc in store.services}
    for es in store.endpointslices:
        if es.meta.controller_uid() not in services:
            out.append(f"EndpointSlice {es.meta.key} outlives its Service {es.meta.namespace}/{es.service}")
    return out


@register("endpoints-converge", "convergence", has_services)
def endpoints_converge(sc: Scenario):
    """Each Service's EndpointSlices eventually list exactly its selected pods, ready exactly when the pod is Ready and not terminating.

    Seed document: kube-controller-manager's EndpointSlice controller
    ("populates EndpointSlice objects, to provide a link between Services and
    Pods").  Goal: every Service with a selector has one EndpointSlice whose
    endpoints are, for each pod of its namespace that the selector matches,
    is not Succeeded or Failed and has an IP, that pod's IP and node, ready
    when the pod is Ready and not terminating (serving and terminating
    marked as podToEndpoint does); no slice outlives its Service.
    """

    return from_problems("endpoints-converge", endpoint_problems, endpoints_converge.__doc__)


def ready_backends(store, svc) -> Tuple[str, ...]:
    """The pod IPs a Service should route to: its selected pods that are Ready and not terminating, or, with
    none, those Ready and terminating (as kube-proxy falls back to serving terminating endpoints)."""
    ready = sorted({ip for _, ip, _, r in expected_endpoints(store, svc) if r})
    if ready:
        return tuple(ready)
    return tuple(sorted({p.ip for p in _backing_pods(store, svc) if p.ready and p.meta.deleting}))


def routing_problems(s: ClusterState) -> List[str]:
    store = s.store
    want = tuple(sorted((svc.meta.key, svc.cluster_ip, ready_backends(store, svc)) for svc in store.services
                        if not svc.headless))
    out = []
    for h in s.hosts:
        if not h.up or not h.reachable or store.get("Node", "", h.name) is None:
            continue
        if h.service_rules != want:
            have = dict((k, (ip, b)) for k, ip, b in h.service_rules)
            for key, ip, backends in want:
                if key not in have:
                    out.append(f"node {h.name} has no rule for Service {key} ({ip} -> {', '.join(backends) or 'reject'})")
                elif have[key] != (ip, backends):
                    out.append(f"node {h.name} routes Service {key} ({ip}) to {', '.join(have[key][1]) or 'nothing'}"
                               f", not to its ready pods {', '.join(backends) or '(none)'}")
            for key in sorted(set(have) - {k for k, _, _ in want}):
                out.append(f"node {h.name} still routes removed Service {key}")
    return out


@register("service-routing-converges", "convergence", has_services)
def service_routing_converges(sc: Scenario):
    """On every node that is up and reachable, the rules for each Service eventually route its ClusterIP to exactly its ready pods.

    Seed document: kube-proxy ("maintains network rules on nodes ... allow
    network communication to your Pods"), or a network plugin that
    implements packet forwarding itself in its place.  Goal: every machine
    that is up, reachable and has its Node has, for each Service, a rule from
    its ClusterIP to the IPs of the pods it selects that are Ready and not
    terminating (the serving terminating ones where none is ready; a
    rejecting rule where there are none), and no rule of a removed Service.
    Without kube-proxy and without a network plugin that replaces it, no
    rule is ever programmed.  A headless Service (clusterIP None) has no
    rule: kube-proxy skips it (ShouldSkipService).
    """

    return from_problems("service-routing-converges", routing_problems, service_routing_converges.__doc__)


def has_dns(sc: Scenario) -> Optional[str]:
    why = has_services(sc)
    if why:
        return why
    return None if sc.dns else "the DNS addon is off (addons.dns: false)"


def expected_records(store) -> set:
    """The specification of the DNS zone, written apart from CoreDNS and the EndpointSlice controller, from
    the Services and the pods themselves: (name, address) for each ClusterIP Service's name and ClusterIP; for a
    headless Service, its name and the address of each pod it selects that is Ready and not terminating (any
    of them, with publishNotReadyAddresses) and has an IP; and `<namespace>/<hostname>.<service>` with that
    address for each such pod whose spec.hostname is set and whose spec.subdomain names the Service."""
    out = {(svc.meta.key, svc.cluster_ip) for svc in store.services if not svc.headless}
    for svc in store.services:
        if not svc.selector:
            continue
        for p in _backing_pods(store, svc):
            if not (svc.publish_not_ready or (p.ready and not p.meta.deleting)):
                continue
            if svc.headless:
                out.add((svc.meta.key, p.ip))
            if p.spec.hostname and p.spec.subdomain == svc.meta.name:
                out.add((f"{svc.meta.namespace}/{p.spec.hostname}.{svc.meta.name}", p.ip))
    return out


def _by_name(records) -> Dict[str, Tuple[str, ...]]:
    out: Dict[str, list] = {}
    for name, ip in records:
        out.setdefault(name, []).append(ip)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def identity_problems(store, want: set) -> List[str]:
    """StatefulSets whose Ready pods cannot be answered by their stable name `<pod>.<spec.serviceName>`: the
    set's governing Service is missing or does not select them (Kubernetes accepts any serviceName)."""
    from model.components.statefulset import set_pods
    out = []
    for sts in store.statefulsets:
        if not sts.service_name or sts.meta.deleting:
            continue
        ns = sts.meta.namespace
        for p in set_pods(store, sts):
            if not p.ip or not p.ready or not p.active:
                continue
            name = f"{ns}/{p.meta.name}.{sts.service_name}"
            if (name, p.ip) in want:
                continue
            svc = store.get("Service", ns, sts.service_name)
            if svc is None:
                why = f"no Service {sts.service_name} exists in namespace {ns}"
            elif not svc.selector:
                why = f"Service {svc.meta.key} has no selector: no endpoint carries the pod's hostname"
            else:
                why = (f"Service {svc.meta.key} does not select it (selector "
                       f"{', '.join(f'{k}={v}' for k, v in svc.selector)})")
            out.append(f"StatefulSet {sts.meta.key}'s pod {p.meta.name} has no DNS name {p.meta.name}."
                       f"{sts.service_name} (its spec.serviceName): {why}")
    return out


def dns_problems(s: ClusterState) -> List[str]:
    from model.components.dns import is_dns_pod
    out = []
    up = {h.name: h for h in s.hosts if h.up}
    serving = [p for p in s.store.pods if is_dns_pod(p.meta.namespace, p.meta.labels) and p.active
               and p.phase == "Running" and p.ready and p.spec.node_name in up
               and up[p.spec.node_name].running(p.meta.uid) is not None]
    if not serving:
        out.append("no DNS pod (kube-system, k8s-app=kube-dns) is Running and Ready on a machine that is up: "
                   "no name is answered")
    records = expected_records(s.store)
    want, have = _by_name(records), _by_name(s.dns_records)
    services = {svc.meta.key: svc for svc in s.store.services}
    pods = {p.ip: p.meta.name for p in s.store.pods if p.ip}

    def show(ips) -> str:
        return ", ".join(f"{ip} ({pods[ip]})" if ip in pods else ip for ip in ips) or "nothing"
    for key in sorted(set(want) | set(have)):
        w, h = want.get(key, ()), have.get(key, ())
        if w == h:
            continue
        svc = services.get(key)
        if svc is not None and not svc.headless:
            out.append(f"DNS does not answer {key} with {w[0]}" + (f" (it answers {', '.join(h)})" if h else ""))
        elif not w and "." not in key.split("/", 1)[-1] and svc is None:
            out.append(f"DNS still answers removed Service {key}")
        elif not w:
            out.append(f"DNS still answers {key} with {show(h)}, the address of no ready pod it names")
        else:
            out.append(f"DNS answers {key} with {show(h)}, not with its ready pods' {show(w)}")
    out += identity_problems(s.store, records)
    return out


@register("dns-converges", "convergence", has_dns)
def dns_converges(sc: Scenario):
    """The cluster DNS eventually answers each Service name with its ClusterIP (a headless Service's with exactly its ready pods' addresses), and no removed Service.

    Seed document: the DNS addon ("a DNS server, in addition to the other DNS
    servers in your environment, which serves DNS records for Kubernetes
    services"; "containers started by Kubernetes automatically include this
    DNS server in their DNS searches").  Goal: a DNS pod is Running and Ready
    on a machine that is up, and the records it serves are exactly the
    Services' name -> ClusterIP; for a headless Service (clusterIP None),
    its name -> the addresses of exactly the pods it selects that are Ready
    and not terminating (all of them with publishNotReadyAddresses); and a
    pod whose spec.hostname is set and whose spec.subdomain names the
    Service, `<hostname>.<service>` -> its address.  Every Ready pod of a
    StatefulSet is answered by its stable name `<pod>.<spec.serviceName>`:
    it fails where the set's serviceName names no Service that selects it.
    """

    return from_problems("dns-converges", dns_problems, dns_converges.__doc__, placement_diagnosis)


def stale_endpointslice_views(sc: Scenario) -> Optional[str]:
    reason = has_services(sc)
    if reason:
        return reason
    if sc.max_staleness == 0:
        return "check.maxStaleness is 0: the EndpointSlice controller always sees the slices it made"
    return None


@register("endpointslices-not-duplicated", "safety", stale_endpointslice_views)
def endpointslices_not_duplicated(sc: Scenario):
    """The EndpointSlice controller never creates a slice for a Service that already has one in etcd.

    Seed document: kube-controller-manager (the endpoints controllers) and
    the Service model.  Checked on every slice the controller creates,
    against etcd rather than its cache: it fails when the controller syncs a
    Service again from a view that does not yet show the slice it made,
    kubernetes issue 92928 (duplicate slices; consumers such as kube-proxy
    must then merge them), fixed by the EndpointSliceTracker, which holds a
    Service back until its own writes are in the cache (modelled with
    `behaviour.expectations`).
    """

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        ns, name = dict(lab[2])["service"].split("/", 1)
        svc = s.store.get("Service", ns, name)
        if svc is None:
            return None
        have = [es.meta.name for es in s.store.endpointslices
                if es.meta.namespace == ns and es.meta.controller_uid() == svc.meta.uid]
        if have:
            return (f"the EndpointSlice controller created another slice for Service {svc.meta.key}, which "
                    f"already had {', '.join(have)} in etcd")
        return None

    return ActionProperty("endpointslices-not-duplicated", check, endpointslices_not_duplicated.__doc__,
                          frozenset({("endpointslice", "create_slice")}))


@register("pod-ip-unique", "safety", has_services)
def pod_ip_unique(sc: Scenario):
    """No two running pods share an IP.

    Seed document: the network model (every pod gets its own IP address; the
    network plugin gives it).  Checked in every reachable state over the
    sandboxes the container runtimes run: two pods holding one address would
    each receive the other's traffic.
    """

    def check(s: ClusterState) -> Optional[str]:
        seen: Dict[str, str] = {}
        for h in s.hosts:
            for rp in h.pods:
                if not rp.ip:
                    continue
                if rp.ip in seen:
                    return f"pods {seen[rp.ip]} and {rp.key} (on {h.name}) both hold IP {rp.ip}"
                seen[rp.ip] = f"{rp.key} (on {h.name})"
        return None

    return Invariant("pod-ip-unique", check, pod_ip_unique.__doc__)


def has_cloud(sc: Scenario) -> Optional[str]:
    return None if sc.control_plane.cloud_controller_manager else "no cloud provider (cloudControllerManager: false)"


@register("routes-converge", "convergence", has_cloud)
def routes_converge(sc: Scenario):
    """The cloud eventually has exactly one route per Node, to that Node's pod CIDR, and none for a Node that is gone.

    Seed document: cloud-controller-manager's route controller ("for setting
    up routes in the underlying cloud infrastructure").  Goal: the cloud's
    routes are exactly, for each Node object, its pod CIDR.
    """

    def problems(s: ClusterState) -> List[str]:
        from model.components.networkplugin import pod_cidr_prefix
        index = {h.name: i for i, h in enumerate(s.hosts)}
        want = {n.meta.name: pod_cidr_prefix(index[n.meta.name]) + "0/24" for n in s.store.nodes}
        have = dict(s.cloud_routes)
        out = [f"no cloud route for Node {n} ({cidr})" for n, cidr in sorted(want.items()) if have.get(n) != cidr]
        out += [f"the cloud still routes {have[n]} to {n}, whose Node is gone" for n in sorted(set(have) - set(want))]
        return out

    return from_problems("routes-converge", problems, routes_converge.__doc__)


def has_load_balancers(sc: Scenario) -> Optional[str]:
    why = has_cloud(sc)
    if why:
        return why
    objs = list(sc.objects) + [c.obj for c in sc.changes if c.obj is not None]
    return None if any(o.kind == "Service" and o.type == "LoadBalancer" for o in objs) else "no LoadBalancer Service"


@register("cloud-load-balancer-converges", "convergence", has_load_balancers)
def cloud_load_balancer_converges(sc: Scenario):
    """Each LoadBalancer Service eventually has a cloud load balancer whose backends are exactly the Nodes it should send to; none for removed Services.

    Seed document: cloud-controller-manager's service controller ("for
    creating, updating and deleting cloud provider load balancers").  Goal:
    one load balancer per `type: LoadBalancer` Service, whose backends are
    the Nodes not labelled node.kubernetes.io/exclude-from-external-load-
    balancers — every such Node since 1.30 (StableLoadBalancerNodeSet: the
    cloud's health checks skip unready ones), only the Ready ones with
    `behaviour.stableLoadBalancerNodeSet: false` — and no load balancer of a
    Service that is gone or no longer of that type.
    """
    stable = sc.stable_lb_node_set

    def problems(s: ClusterState) -> List[str]:
        nodes = tuple(sorted(n.meta.name for n in s.store.nodes
                             if "node.kubernetes.io/exclude-from-external-load-balancers" not in dict(n.meta.labels)
                             and (stable or n.ready == "True")))
        want = {svc.meta.key: nodes for svc in s.store.services if svc.type == "LoadBalancer"}
        have = dict(s.cloud_lbs)
        out = []
        for key, backends in sorted(want.items()):
            if key not in have:
                out.append(f"Service {key} has no cloud load balancer")
            elif have[key] != backends:
                out.append(f"the load balancer of Service {key} sends to {', '.join(have[key]) or 'no node'}, "
                           f"not {', '.join(backends) or 'no node'}")
        out += [f"the cloud still has a load balancer for Service {k}, which is gone" for k in sorted(set(have) - set(want))]
        return out

    return from_problems("cloud-load-balancer-converges", problems, cloud_load_balancer_converges.__doc__)


def declares_namespaces(sc: Scenario) -> Optional[str]:
    from model.compose import serviceaccounts_modelled
    if serviceaccounts_modelled(sc):
        return None
    return "no Namespace or ServiceAccount manifest: the default ServiceAccounts are taken as made at installation"


@register("default-serviceaccount", "convergence", declares_namespaces)
def default_serviceaccount(sc: Scenario):
    """Every namespace eventually has a `default` ServiceAccount.

    Seed document: kube-controller-manager's ServiceAccount controller
    ("create default ServiceAccounts for new namespaces").  Goal: each
    Namespace that is not being deleted has a ServiceAccount named
    `default`; until it has, the ServiceAccount admission plugin refuses its
    pods.
    """

    def problems(s: ClusterState) -> List[str]:
        have = {sa.meta.namespace for sa in s.store.serviceaccounts if sa.meta.name == "default"}
        return [f"Namespace {ns.meta.name} has no default ServiceAccount" for ns in s.store.namespaces
                if not ns.meta.deleting and ns.meta.name not in have]

    return from_problems("default-serviceaccount", problems, default_serviceaccount.__doc__)
