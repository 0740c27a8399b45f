"""Where the control plane runs: etcd members and their failure domains.

From DESIGN section 3: with `etcd.topology: stacked`, one member per
control-plane node (label `node-role.kubernetes.io/control-plane`), in that
node's zone; where no node carries the label, the control plane runs on one
machine of its own, outside the worker nodes.  With `external`, `members`
members, the i-th in `zones[i]`.  A `managed` control plane is outside the
scenario's failure domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

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
    if not nodes:
        return [EtcdMember("etcd-1", "", None if cp.placement == "managed" else OWN_MACHINE)]
    return [EtcdMember(f"etcd-{n}", dict(next(x for x in sc.nodes if x.meta.name == n).meta.labels)
                       .get(ZONE_LABEL, ""), n) for n in nodes]


def quorum(n: int) -> int:
    """Raft's majority: floor(n/2) + 1."""
    return n // 2 + 1
