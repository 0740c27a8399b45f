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

Abstracted: ports, session affinity, traffic policies (every endpoint of the
cluster is used), NodePorts; kube-proxy runs as a node agent of the machine
(its DaemonSet pod is not modelled).
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from explorer import Rule, label

from ..objects import evolve
from ..state import ClusterState
from . import apiserver


def client(component: str, node: str) -> str:
    return f"{component}/{node}"


def service_rules(store) -> Tuple[Tuple[str, str, Tuple[str, ...]], ...]:
    """The rules the proxy programs from the Services and EndpointSlices in `store`."""
    out = []
    for svc in store.services:
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
