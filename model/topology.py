"""Where the control plane runs: etcd members and their failure domains.

From DESIGN section 3: with `etcd.topology: stacked`, one member per
control-plane node (label `node-role.kubernetes.io/control-plane`), in that
node's zone; where no node carries the label, the control plane runs on one
machine of its own, outside the worker nodes.  With `external`, `members`
members, the i-th in `zones[i]`.  A `managed` control plane is outside the
scenario's failure domain.

Placement variants (seed document, "control plane deployment options"):
`traditional` runs the control plane as systemd services of its machines;
`static-pods` (kubeadm) as static pods that the kubelet of each control-plane
node runs from its manifest directory, so a crashed instance is restarted
only while that kubelet runs; `self-hosted` (bootkube) as pods of the
cluster itself, here a DaemonSet of apiservers on the control-plane nodes:
the kubelet restarts a crashed container, but a machine that reboots has
lost the pod and gets it back only from an apiserver, so with none left
nothing recreates it (the bootstrapping hazard); `controlPlane.
staticApiservers: N` keeps the first N instances as static pods beside them
(bootkube's checkpointed bootstrap apiserver).  `managed`: outside the
scenario's failure domain.  etcd members are supervised as in
`traditional` in every variant (their restart is a fault of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from .scenario import CONTROL_PLANE_LABEL, ZONE_LABEL, Scenario

OWN_MACHINE = "control-plane"


@dataclass(frozen=True)
class EtcdMember:
    name: str
    zone: str            # "" when unknown
    node: Optional[str]  # the machine it runs on, for stacked members


def control_plane_nodes(sc: Scenario) -> List[str]:
    return [n.meta.name for n in sc.nodes if CONTROL_PLANE_LABEL in dict(n.meta.labels)]


def etcd_members(sc: Scenario) -> List[EtcdMember]:
    cp = sc.control_plane
    if cp.etcd_topology == "external":
        zones = list(cp.etcd_zones) or [""] * cp.etcd_members
        return [EtcdMember(f"etcd-{i + 1}", zones[i], None) for i in range(cp.etcd_members)]
    nodes = control_plane_nodes(sc)
    if not nodes or cp.placement == "managed":
        return [EtcdMember("etcd-1", "", None if cp.placement == "managed" else OWN_MACHINE)]
    return [EtcdMember(f"etcd-{i + 1}", dict(next(x for x in sc.nodes if x.meta.name == n).meta.labels)
                       .get(ZONE_LABEL, ""), n) for i, n in enumerate(nodes)]


def quorum(n: int) -> int:
    """Raft's majority: floor(n/2) + 1."""
    return n // 2 + 1


@dataclass(frozen=True)
class Placement:
    """Which failure domain takes what down: per machine and per zone, the etcd members and apiservers on it."""

    zone_of_host: Tuple[Tuple[str, str], ...]
    members_on_host: Tuple[Tuple[str, Tuple[int, ...]], ...]
    apiservers_on_host: Tuple[Tuple[str, Tuple[int, ...]], ...]
    members_in_zone: Tuple[Tuple[str, Tuple[int, ...]], ...]
    # Who restarts an apiserver: "systemd" (traditional), "kubelet" (static pods, self-hosted) or "provider"
    # (managed); and the instances that are pods of the cluster itself (self-hosted, not static).
    supervisor: str = "systemd"
    self_hosted: Tuple[int, ...] = ()
    apiserver_hosts: Tuple[Optional[str], ...] = ()

    def zones(self) -> List[str]:
        return sorted({z for _, z in self.zone_of_host if z} | {z for z, _ in self.members_in_zone})

    def hosts_in(self, zone: str) -> List[str]:
        return [h for h, z in self.zone_of_host if z == zone]

    def members_on(self, host: str) -> Tuple[int, ...]:
        return dict(self.members_on_host).get(host, ())

    def apiserver_host(self, k: int) -> Optional[str]:
        return self.apiserver_hosts[k] if k < len(self.apiserver_hosts) else None

    def apiservers_on(self, host: str) -> Tuple[int, ...]:
        return dict(self.apiservers_on_host).get(host, ())

    def members_in(self, zone: str) -> Tuple[int, ...]:
        return dict(self.members_in_zone).get(zone, ())


def apiserver_hosts(sc: Scenario) -> List[Optional[str]]:
    """The machine each apiserver instance runs on: spread over the control-plane nodes in name order,
    else on the control plane's own machine (None), outside the worker nodes' failure domains."""
    nodes = control_plane_nodes(sc)
    if not nodes or sc.control_plane.placement == "managed":
        return [None] * sc.control_plane.apiservers
    return [nodes[k % len(nodes)] for k in range(sc.control_plane.apiservers)]


def placement(sc: Scenario) -> Placement:
    members = etcd_members(sc)
    zone_of = tuple((n.meta.name, dict(n.meta.labels).get(ZONE_LABEL, "")) for n in sc.nodes)
    on_host = {}
    for i, m in enumerate(members):
        if m.node and m.node != OWN_MACHINE:
            on_host.setdefault(m.node, []).append(i)
    api_on = {}
    for k, h in enumerate(apiserver_hosts(sc)):
        if h is not None:
            api_on.setdefault(h, []).append(k)
    in_zone = {}
    for i, m in enumerate(members):
        if m.zone:
            in_zone.setdefault(m.zone, []).append(i)
    cp = sc.control_plane
    hosts = apiserver_hosts(sc)
    self_hosted = tuple(k for k in range(cp.apiservers) if cp.placement == "self-hosted" and k >= cp.static_apiservers
                        and hosts[k] is not None)
    supervisor = {"traditional": "systemd", "managed": "provider"}.get(cp.placement, "kubelet")
    return Placement(zone_of, tuple((h, tuple(v)) for h, v in sorted(on_host.items())),
                     tuple((h, tuple(v)) for h, v in sorted(api_on.items())),
                     tuple((z, tuple(v)) for z, v in sorted(in_zone.items())), supervisor, self_hosted, tuple(hosts))
