"""Cluster-tool presets (`spec.preset`, DESIGN section 3): the control-plane layout and the addons that
kubeadm, kops and Kubespray set up by default, so that two tools' layouts can be checked, and compared with
`kubecheck review`, on the same workload.

A preset supplies defaults only.  Precedence, field by field: what the scenario writes in
`spec.controlPlane` (placement, etcd.topology, apiservers, controllerManagers, schedulers,
cloudControllerManager, each leaderElection key) and `spec.addons` (dns, kubeProxy,
networkPlugin.replacesKubeProxy, dashboard, monitoring, logging) wins; a field it leaves out is the
preset's; a field neither sets is the model's default (DESIGN section 3).  The control-plane machines:
where a Node of the scenario carries the label `node-role.kubernetes.io/control-plane`, those are the
control-plane nodes and the preset makes none; where none does, the preset makes its own Nodes
`control-plane-1` ... `control-plane-N` (labelled, tainted `node-role.kubernetes.io/control-plane:NoSchedule`
as each tool taints them, with the tool's documented machine size), placed in the zones of the scenario's
Nodes in turn (sorted; no zone label where the scenario's Nodes have none).  Every preset runs one
kube-apiserver, kube-controller-manager and kube-scheduler on each control-plane node (3 for the HA presets),
unless the scenario writes a count.  Each preset's effect is a `note:` of the report.

The defaults, with the source each is read from (checked against the tools' repositories and the
kubernetes.io documentation; a default that could not be confirmed is said so):

kubeadm, kubeadm-ha (kubeadm).
  * Stacked etcd, one member per control-plane node: "This is the default topology in kubeadm. A local etcd
    member is created automatically on control plane nodes when using kubeadm init and kubeadm join
    --control-plane"; "each control plane node runs an instance of the kube-apiserver, kube-scheduler, and
    kube-controller-manager. The kube-apiserver is exposed to worker nodes using a load balancer"; "a
    minimum of three stacked control plane nodes" for HA
    (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/ha-topology/).  "Three or more
    machines ... for the control-plane nodes" and a load balancer for kube-apiserver
    (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/high-availability/).  `kubeadm`
    is the single control-plane node of `kubeadm init` alone
    (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/create-cluster-kubeadm/).
  * Static pods: `kubeadm init phase control-plane` "Generate all static Pod manifest files necessary to
    establish the control plane" (https://kubernetes.io/docs/reference/setup-tools/kubeadm/generated/
    kubeadm_init/kubeadm_init_phase_control-plane/); `kubeadm init phase etcd` "Generate static Pod manifest
    file for local etcd" (.../kubeadm_init/kubeadm_init_phase_etcd/).
  * The control-plane taint: "By default, your cluster will not schedule Pods on the control plane nodes"
    (create-cluster-kubeadm, "Control plane node isolation": the taint
    node-role.kubernetes.io/control-plane:NoSchedule).  Machine size: kubeadm's stated minimum, "2 GB or more
    of RAM per machine", "2 CPUs or more for control plane machines"
    (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/).
  * Addons: CoreDNS with 2 replicas (`coreDNSReplicas = 2`, kubernetes/kubernetes
    cmd/kubeadm/app/phases/addons/dns/dns.go) and the kube-proxy DaemonSet (`kubeadm init phase addon
    kube-proxy`); no pod network: "You must deploy a Container Network Interface (CNI) based Pod network
    add-on" (create-cluster-kubeadm), so nothing replaces kube-proxy.
  * Leader election: kube-controller-manager and kube-scheduler run with --leader-elect and the component
    defaults, lease 15 s, renew deadline 10 s, retry period 2 s.
  * Machines' zones: kubeadm does not create machines.  The preset spreads them over the scenario's zones in
    turn (what the HA guide's "odd number of control plane nodes can help with leader selection in the case
    of machine or zone failure" asks for); declare control-plane Nodes to place them otherwise.

kops-aws, kops-aws-single (kops on AWS; kubernetes/kops at its newest snapshot).
  * Control-plane count and zones: upup/pkg/fi/cloudup/new_cluster.go (setupControlPlane): "The control-plane
    zones is the default set of zones unless explicitly set. The control-plane count is the number of
    control-plane zones unless explicitly set. We then round-robin around the zones"; without
    --control-plane-zones, "If control-plane count is not specified, default to 1" (`kops-aws-single`: one
    control-plane node, in the first zone).  docs/operations/high_availability.md: "The `--control-plane-zones`
    flag lists the zones you want your control-plane nodes to run in. By default, kOps will create one
    control-plane node per AZ. Since the Kubernetes etcd cluster runs on the control-plane nodes, you have to
    specify an odd number of zones"; with fewer zones than nodes, "--control-plane-count 3" round-robin
    (its Example 3).  `kops-aws` is that HA layout: 3 control-plane nodes over the scenario's zones in turn,
    one per zone where it has 3.
  * etcd: etcd-manager on every control-plane node, one etcd cluster per name of --etcd-clusters
    "(default [main,events])", a member per control-plane instance group (createEtcdCluster in
    new_cluster.go).  Abstracted: the model has one etcd cluster, `main`; `events` only stores Events,
    which no property reads, and it loses and keeps quorum with `main` (same members, same machines).
  * Static pods: docs/boot-sequence.md: on control-plane nodes nodeup writes the manifests of kube-apiserver,
    kube-controller-manager, kube-scheduler and etcd-manager to /etc/kubernetes/manifests, which the kubelet
    runs.
  * Taint: populate_instancegroup_spec.go adds node-role.kubernetes.io/control-plane=:NoSchedule to
    control-plane instance groups.  Machine size: t3.medium (2 vCPU, 4 GiB), the first default instance type
    of upup/pkg/fi/cloudup/awsup/aws_cloud.go (DefaultInstanceType).
  * Addons: --networking "(default "cilium")" (docs/cli/kops_create_cluster.md); for Cilium, kops sets
    `enableNodePort: true` and `kubeProxy.enabled: false` (addCiliumNetwork in new_cluster.go): the network
    plugin replaces kube-proxy.  The AWS cloud-controller-manager is on for every AWS cluster
    (pkg/model/components/awscloudcontrollermanager.go).  CoreDNS: the addon's Deployment leaves replicas
    unset and the cluster-proportional autoscaler sets them with `"linear":{"coresPerReplica":256,
    "nodesPerReplica":16,"preventSinglePointFailure":true}` (upup/models/cloudup/resources/addons/
    coredns.addons.k8s.io/k8s-1.12.yaml.template): 2 on a cluster of 2 to 32 nodes and at most 512 cores, the
    model's fixed count.
    Abstracted: the model's cloud provider also runs the route controller, which kops turns off with a CNI
    (`ConfigureCloudRoutes` false), so routes-converge is checked where kops configures no route; the
    API load balancer or DNS name in front of the apiservers is, as for every preset, one load balancer
    that does not fail.

kubespray-default (Kubespray; kubernetes-sigs/kubespray at its newest snapshot).
  * Hosts: inventory/sample/inventory.ini "describe a HA typology with stacked etcd (== same nodes as control
    plane) and 3 worker nodes": node1-3 in [kube_control_plane], `[etcd:children] kube_control_plane`.
  * etcd: `etcd_deployment_type: host` (roles/kubespray_defaults/defaults/main/main.yml,
    inventory/sample/group_vars/all/etcd.yml); docs/operations/etcd.md: "Host deployment is the default
    method. Using this method will result in etcd installed as a systemd service" (the model supervises etcd
    members as systemd would in every placement, model/topology.py).
  * Control plane: Kubespray runs kubeadm, whose static pods run kube-apiserver, kube-controller-manager and
    kube-scheduler (docs/ansible/ansible.md: "Configuring static pod kube-apiserver", ...); control-plane
    hosts that are not in kube_node get the taint node-role.kubernetes.io/control-plane:NoSchedule
    (roles/kubernetes/control-plane/templates/kubeadm-config.v1beta4.yaml.j2).  Leader election:
    kube_controller_manager_leader_elect_lease_duration 15s, renew_deadline 10s, and the same for the
    scheduler (roles/kubernetes/control-plane/defaults/main/); retry period not set: 2 s.  Machine size: the
    README's "Control Plane Memory: 2 GB"; its CPU count is not stated: kubeadm's preflight minimum, 2.
  * Addons: `dns_mode: coredns`, with the dns-autoscaler's `dns_min_replicas: {{ [2, groups['k8s_cluster'] |
    length] | min }}` and `coredns_replicas: 2` (roles/kubernetes-apps/ansible/defaults/main.yml): 2;
    `kube_proxy_mode: ipvs`, `kube_proxy_remove: false`; `kube_network_plugin: calico` with its eBPF
    dataplane off (`calico_bpf_enabled: false`, roles/network_plugin/calico_defaults/defaults/main.yml), so
    kube-proxy is not replaced.
    Abstracted: nodelocaldns (`enable_nodelocaldns: true`), a per-node DNS cache, and the nginx proxy on each
    worker in front of the apiservers (`loadbalancer_apiserver_localhost`, docs/operations/ha-mode.md), taken
    as the one load balancer every preset has; kube-proxy's mode (ipvs or iptables) does not change what it
    programs here.

None of the presets changes the node lifecycle flags (the tools keep the upstream defaults; Kubespray sets
`kube_controller_node_monitor_grace_period: 40s`, a timing the model abstracts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"
LEADER_ELECTION = {"leaseDuration": 15, "renewDeadline": 10, "retryPeriod": 2}


@dataclass(frozen=True)
class Preset:
    name: str
    tool: str
    machines: int                        # control-plane nodes it makes where the scenario labels none
    control_plane: Dict[str, Any]        # spec.controlPlane defaults, in the scenario's own field names
    addons: Dict[str, Any]               # spec.addons defaults
    allocatable: Dict[str, str]          # of each control-plane node it makes
    network: str                         # the pod network the tool installs, for the note
    source: str                          # where the note says the layout comes from
    first_zone_only: bool = False        # kops without --control-plane-zones: the first zone
    extra: Tuple[str, ...] = field(default=())


def _kubeadm(name: str, machines: int) -> Preset:
    return Preset(name, "kubeadm", machines,
                  {"placement": "static-pods", "etcd": {"topology": "stacked"}, "cloudControllerManager": False,
                   "leaderElection": dict(LEADER_ELECTION)},
                  {"dns": {"replicas": 2}, "kubeProxy": True, "networkPlugin": {"replacesKubeProxy": False}},
                  {"cpu": "2", "memory": "2Gi", "pods": "110"},
                  "no pod network add-on (kubeadm leaves it to the user), nothing replacing kube-proxy",
                  "kubeadm docs: ha-topology, high-availability" if machines > 1 else
                  "kubeadm docs: create-cluster-kubeadm")


def _kops(name: str, machines: int, first_zone_only: bool) -> Preset:
    return Preset(name, "kops", machines,
                  {"placement": "static-pods", "etcd": {"topology": "stacked"}, "cloudControllerManager": True,
                   "leaderElection": dict(LEADER_ELECTION)},
                  {"dns": {"replicas": 2}, "kubeProxy": False, "networkPlugin": {"replacesKubeProxy": True}},
                  {"cpu": "2", "memory": "4Gi", "pods": "110"},
                  "Cilium replacing kube-proxy (kubeProxy.enabled: false)",
                  "kops: docs/operations/high_availability.md, upup/pkg/fi/cloudup/new_cluster.go" if machines > 1
                  else "kops: upup/pkg/fi/cloudup/new_cluster.go, no --control-plane-zones",
                  first_zone_only,
                  ("etcd-manager's main and events clusters modelled as one",))


PRESETS: Dict[str, Preset] = {p.name: p for p in (
    _kubeadm("kubeadm", 1),
    _kubeadm("kubeadm-ha", 3),
    _kops("kops-aws", 3, False),
    _kops("kops-aws-single", 1, True),
    Preset("kubespray-default", "Kubespray", 3,
           {"placement": "static-pods", "etcd": {"topology": "stacked"}, "cloudControllerManager": False,
            "leaderElection": dict(LEADER_ELECTION)},
           {"dns": {"replicas": 2}, "kubeProxy": True, "networkPlugin": {"replacesKubeProxy": False}},
           {"cpu": "2", "memory": "2Gi", "pods": "110"},
           "Calico beside kube-proxy (ipvs)",
           "Kubespray: inventory/sample/inventory.ini, roles/kubespray_defaults/defaults/main/main.yml",
           extra=("etcd as a systemd service (etcd_deployment_type: host)",)),
)}

COUNTS = ("apiservers", "controllerManagers", "schedulers")


def known() -> str:
    return ", ".join(PRESETS)


def node_names(n: int) -> List[str]:
    return [f"control-plane-{i + 1}" for i in range(n)]


def machine_zones(preset: Preset, zones: List[str]) -> List[str]:
    """The zone of each control-plane node the preset makes: the scenario's zones in turn ("" where none)."""
    if not zones:
        return [""] * preset.machines
    if preset.first_zone_only:
        return [zones[0]] * preset.machines
    return [zones[i % len(zones)] for i in range(preset.machines)]


def node_manifest(preset: Preset, name: str, zone: str) -> Dict[str, Any]:
    """The Node manifest of one control-plane machine the preset makes."""
    labels = {CONTROL_PLANE_TAINT: ""}
    if zone:
        labels["topology.kubernetes.io/zone"] = zone
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"taints": [{"key": CONTROL_PLANE_TAINT, "effect": "NoSchedule"}]},
            "status": {"allocatable": dict(preset.allocatable)}}


def describe(preset: Preset, cp, dns: bool, dns_replicas: int, kube_proxy: bool, replaces: bool,
             nodes: List[str], zones: List[str], made: bool, overridden: List[str]) -> str:
    """The report's note: the layout the preset and the scenario give together, and where it comes from."""
    n = len(nodes)
    if made:
        where = (f"in zone{'s' if len(set(zones)) > 1 else ''} {', '.join(zones)}" if any(zones)
                 else "in no zone, as the scenario's Nodes have none")
        machines = (f"{n} control-plane node{'s' if n > 1 else ''} {', '.join(nodes)} (made by the preset, as no "
                    f"Node has the control-plane label; {where}; tainted NoSchedule; "
                    f"{preset.allocatable['cpu']} cpu, {preset.allocatable['memory']})")
    else:
        machines = f"the scenario's {n} control-plane node{'s' if n > 1 else ''} {', '.join(nodes)}"
    if cp.placement == "managed":
        machines = "a managed control plane (the scenario's placement), no control-plane machines"
    etcd = (f"a stacked etcd member on {'each' if n > 1 else 'it'}" if cp.etcd_topology == "stacked"
            else f"an external etcd of {cp.etcd_members} member{'s' if cp.etcd_members > 1 else ''}")
    how = {"static-pods": "static-pod", "traditional": "systemd-run", "self-hosted": "self-hosted",
           "managed": "managed"}[cp.placement]
    le = cp.leader_election
    parts = [f"preset {preset.name}: {machines}, {etcd}, {how} kube-apiserver x{cp.apiservers} behind a load "
             f"balancer, kube-controller-manager x{cp.controller_managers} and kube-scheduler x{cp.schedulers} "
             f"(leader election: lease {le.lease_duration:g} s, renew {le.renew_deadline:g} s, retry "
             f"{le.retry_period:g} s)"]
    if cp.cloud_controller_manager:
        parts.append("the cloud provider's cloud-controller-manager" + (" (AWS)" if preset.tool == "kops" else ""))
    parts.append(f"CoreDNS x{dns_replicas}" if dns else "no DNS addon")
    parts.append(("kube-proxy" if kube_proxy else "no kube-proxy")
                 + (", the network plugin programming Services" if replaces else ""))
    text = "; ".join(parts) + f"; the tool's network: {preset.network}"
    if preset.extra:
        text += "; " + "; ".join(preset.extra)
    text += f" ({preset.source}; model/presets.py cites each default)"
    if overridden:
        text += f"; the scenario's own {', '.join(overridden)} win over the preset"
    return text
