"""kube-proxy, or the network plugin that replaces it: each node's Service rules.

Modelled (pkg/proxy: the EndpointSlice cache and syncProxyRules): on each
machine that is up and reaches its apiserver, kube-proxy reads the Services
and EndpointSlices through its own watch and programs, for each Service, its
ClusterIP -> the IPs of its ready endpoints; where a Service has none ready,
the serving endpoints that are terminating (ProxyTerminatingEndpoints, GA in
1.28); with none at all, the rule rejects (an empty backend list).  One
`sync_rules` step programs a node's whole rule set, as one iptables-restore
does.  A machine that reboots has no rules until kube-proxy syncs again; a
partitioned one keeps the rules it had.

With `addons.networkPlugin.replacesKubeProxy: true` kube-proxy does not run
and the network plugin (as Cilium's kube-proxy replacement does, with eBPF
maps) programs the same rules, labelled `network-plugin`.  With kube-proxy
off and no replacing plugin nothing programs them: Services do not route.

Its rules are read by nothing but `service-routing-converges`, so the search
runs around it (an observer, explorer/observers.py): `observer` says how a
sync would set every node's rules, and that the goal does not read a node's
rules where kube-proxy cannot run (the machine down or partitioned), except
where its apiserver is down, which makes the search fall back to composing it.

A headless Service (clusterIP None) has no rule at all (ShouldSkipService):
clients reach its pods by the addresses the DNS answers.

Abstracted: ports, session affinity, traffic policies (every endpoint of the
cluster is used), NodePorts; kube-proxy runs as a node agent of the machine
(its DaemonSet pod is not modelled).
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from explorer import Observer, Rule, label

from ..objects import evolve
from ..state import ClusterState
from . import apiserver


def client(component: str, node: str) -> str:
    return f"{component}/{node}"


def should_skip_service(svc) -> bool:
    """pkg/proxy/util ShouldSkipService: a headless Service (no ClusterIP to program) gets no rules."""
    return svc.headless


def service_rules(store) -> Tuple[Tuple[str, str, Tuple[str, ...]], ...]:
    """The rules the proxy programs from the Services and EndpointSlices in `store`."""
    out = []
    for svc in store.services:
        if should_skip_service(svc):
            continue
        eps = [e for es in store.endpointslices if es.meta.namespace == svc.meta.namespace
               and es.service == svc.meta.name for e in es.endpoints]
        backends = sorted({e.ip for e in eps if e.ready})
        if not backends:
            backends = sorted({e.ip for e in eps if e.serving and e.terminating})
        out.append((svc.meta.key, svc.cluster_ip, tuple(backends)))
    return tuple(sorted(out))


def rules(component: str) -> List[Rule]:
    """The sync rule of `component`: "kube-proxy" or "network-plugin"."""
    def sync_rules(s: ClusterState) -> Iterator:
        """The proxy programs a node's Service rules from the Services and EndpointSlices it has seen."""
        for host in s.hosts:
            if not host.up or not host.reachable:
                continue
            view = apiserver.view(s, client(component, host.name))
            if view is None:
                continue
            want = service_rules(view)
            if want != host.service_rules:
                yield label(component, "sync_rules", (("node", host.name),)), s.with_host(evolve(host, service_rules=want))

    sync_rules.__doc__ = sync_rules.__doc__.replace("The proxy", "kube-proxy" if component == "kube-proxy"
                                                    else "The network plugin (replacing kube-proxy)")
    return [Rule(f"{component}.sync_rules", sync_rules, doc=sync_rules.__doc__)]


def observer(component: str) -> Observer:
    """kube-proxy (or the replacing network plugin) as an observer: its state is each node's Service rules."""
    def runs(s: ClusterState, host) -> bool:
        return host.up and host.reachable

    def strip(s: ClusterState) -> ClusterState:
        if not any(h.service_rules for h in s.hosts):
            return s
        return evolve(s, hosts=tuple(evolve(h, service_rules=()) if h.service_rules else h for h in s.hosts))

    def fill(s: ClusterState) -> ClusterState:
        hosts = []
        for h in s.hosts:
            if runs(s, h):
                view = apiserver.view(s, client(component, h.name))
                if view is not None:
                    want = service_rules(view)
                    if want != h.service_rules:
                        h = evolve(h, service_rules=want)
            hosts.append(h)
        return evolve(s, hosts=tuple(hosts))

    def exact(s: ClusterState) -> bool:
        """Where the machine is up and reachable, its rules are read: kube-proxy must be able to sync them."""
        return all(apiserver.view(s, client(component, h.name)) is not None for h in s.hosts if runs(s, h))

    def where(s: ClusterState) -> tuple:
        """On which machines it can sync: up, reachable, its apiserver serving it."""
        return tuple(runs(s, h) and apiserver.view(s, client(component, h.name)) is not None for h in s.hosts)

    return Observer(component, (f"{component}.sync_rules",), strip, fill,
                    lambda s: tuple(h.service_rules for h in s.hosts), exact, where)
