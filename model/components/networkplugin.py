"""The network plugin (CNI) and its IPAM: each pod gets an IP from its node's pod CIDR.

Modelled (the CNI spec's ADD and DEL, as the bridge plugin with host-local
IPAM does them): when the container runtime creates a pod's sandbox, the
plugin gives it a free address of the node's pod CIDR; the address is
released when the sandbox is torn down.  The kubelet reports it as
status.podIP with the pod's Running status.

Abstracted: the node's pod CIDR is fixed, `10.244.<i>.0/24` for the i-th
Node of the scenario (the node IPAM controller's `--allocate-node-cidrs`
allocation is not modelled, nor a Node re-created with another CIDR);
host-local hands out the address after the last one it reserved, the model
the lowest free one (.2 upward; .1 is the bridge) — which address a pod gets
is not observable by any property, only whether two share one.  Pod IPs are
modelled only where something reads them (a Service); elsewhere they stay "".

Where the plugin also replaces kube-proxy (`addons.networkPlugin.
replacesKubeProxy`, as Cilium's kube-proxy replacement does), it programs the
Service rules on each node: see model/components/kubeproxy.py.
"""

from __future__ import annotations

from ..state import Host


def pod_cidr_prefix(node_index: int) -> str:
    """The first three octets of the i-th node's /24 pod CIDR."""
    return f"10.244.{node_index}."


def allocate_ip(host: Host, node_index: int) -> str:
    """CNI ADD: the lowest address of the node's pod CIDR that no sandbox on it holds."""
    prefix = pod_cidr_prefix(node_index)
    taken = {rp.ip for rp in host.pods}
    k = 2
    while f"{prefix}{k}" in taken:
        k += 1
    return f"{prefix}{k}"

