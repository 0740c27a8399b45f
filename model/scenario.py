"""Scenario files (DESIGN section 3): one Cluster document, then Kubernetes manifests.

`load_scenario(path)` parses and validates a file into a `Scenario`.  Any
error is a `ScenarioError` whose message names the file, the document (index
and kind/name) and the field path, e.g.::

    scenarios/x.yaml: document 2 (Deployment default/web): spec.replicas: expected an integer, got 'three'

Unknown fields are ignored with a warning (real manifests load as they are).
"""

from __future__ import annotations

import json
import re

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import yaml

from . import kinds as registry
from .inputs import printable
from .kinds.customresource import parse_custom_object
from .kinds.manifest import (Doc as _Doc, LeftOut, ScenarioError, check_fields, clip, label_problem, short,
                             type_name)
from .objects import Namespace, Node, ObjectMeta, Service

FAULT_KINDS = ("node-crash", "node-recover", "zone-outage", "zone-recover", "etcd-member-crash",
               "etcd-member-restart", "apiserver-restart", "controller-crash", "kubelet-restart",
               "partition", "partition-heal", "pause", "vm-deleted", "request-timeout", "expectations-timeout")
PLACEMENTS = ("traditional", "static-pods", "self-hosted", "managed")
ZONE_LABEL = "topology.kubernetes.io/zone"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
SUPPORTED_KINDS = tuple(registry.manifest_kinds())     # the kinds a manifest may create (model/kinds/)


@dataclass(frozen=True)
class LeaderElection:
    lease_duration: float = 15
    renew_deadline: float = 10
    retry_period: float = 2
    max_clock_rate_ratio: float = 1.0
    max_pause: float = 0


@dataclass(frozen=True)
class NodeLifecycle:
    """kube-controller-manager's node lifecycle flags that decide, per zone, whether unreachable Nodes are
    tainted for eviction (pkg/controller/nodelifecycle: handleDisruption, ReducedQPSFunc)."""

    unhealthy_zone_threshold: float = 0.55      # --unhealthy-zone-threshold
    large_cluster_size_threshold: int = 50      # --large-cluster-size-threshold
    secondary_node_eviction_rate: float = 0.01  # --secondary-node-eviction-rate (per second)


@dataclass(frozen=True)
class ControlPlane:
    placement: str = "traditional"
    etcd_topology: str = "stacked"
    etcd_members: int = 1
    etcd_zones: Tuple[str, ...] = ()
    apiservers: int = 1
    controller_managers: int = 1
    schedulers: int = 1
    cloud_controller_manager: bool = False
    leader_election: LeaderElection = LeaderElection()
    static_apiservers: int = 0      # self-hosted: the first N apiservers are static pods beside the others
    node_lifecycle: NodeLifecycle = NodeLifecycle()


@dataclass(frozen=True)
class Change:
    """One user action of spec.changes: scale, apply, delete, or a rolloutStatus wait."""

    op: str
    kind: str
    namespace: str
    name: str
    replicas: Optional[int] = None
    obj: Any = None                      # apply: the parsed object
    propagation: str = "Background"
    grace_seconds: Optional[int] = None
    taint: Any = None                    # taint: the Taint to add; untaint: the key and effect ("": any) to remove
    level: str = ""                      # load: the level the autoscaler's metric reports (low, target, high)

    def describe(self) -> str:
        key = f"{self.namespace}/{self.name}" if self.namespace else self.name   # cluster-scoped: no namespace
        if self.kind == "CustomObject" and self.obj is not None:
            return f"{self.op} {self.obj.custom_kind} {key}"
        if self.op == "scale":
            return f"scale {self.kind} {key} to {self.replicas}"
        if self.op == "rolloutStatus":
            return f"rollout status {self.kind} {key}"
        if self.op == "taint":
            return f"taint Node {self.name} {self.taint}"
        if self.op == "untaint":
            return f"untaint Node {self.name} {self.taint.key}{':' + self.taint.effect if self.taint.effect else ''}-"
        if self.op == "load":
            return f"load of HorizontalPodAutoscaler {key} {self.level}"
        if self.op == "delete" and self.grace_seconds == 0:
            return f"force-delete {self.kind} {key}"
        return f"{self.op} {self.kind} {key}"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    text: str
    control_plane: ControlPlane
    dns: bool
    dns_replicas: int
    other_addons: Tuple[str, ...]       # dashboard, monitoring, logging: those installed
    kube_proxy: bool
    network_plugin_replaces_kube_proxy: bool
    kubelet_relist: str
    informer_relist: str                # lastSynced (client-go's reflector) | cache (resourceVersion "0")
    expectations: bool
    job_tracking_with_finalizers: bool
    scheduler_assume: bool
    stable_lb_node_set: bool
    rollout_status_checks_generation: bool   # a rollout wait compares status.observedGeneration with generation
    operators: Tuple[str, ...]          # custom kinds an operator of the user's reconciles (spec.operators)
    workqueue_per_key: bool             # a workqueue key goes to one worker at a time (ReplicaSet controller)
    taint_eviction_cancels_tolerated: bool   # a pod tolerating every NoExecute taint for ever is not evicted (PR 93722)
    taint_eviction_timers: bool              # the taint-eviction controller's timers and the two-pass return to Ready
    fault_budget: int
    fault_kinds: Tuple[str, ...]
    changes: Tuple[Change, ...]
    properties: Tuple[str, ...]
    max_depth: Optional[int]
    max_states: int
    max_staleness: int
    nodes: Tuple[Node, ...]
    objects: Tuple[Any, ...]
    warnings: Tuple[str, ...] = ()
    # The attach/detach controller force-detaches a volume from a NotReady node after maxWaitForUnmountDuration
    # (kube-controller-manager's --disable-force-detach-on-timeout=false, the default; model/components/attachdetach.py).
    force_detach_on_timeout: bool = True
    # Namespaces the scenario's own manifests create (Namespace documents), not implied by their use.
    declared_namespaces: Tuple[str, ...] = ()
    # (kind, namespace, name) of the objects the addons brought (the DNS addon's Deployment and Service),
    # installed and settled before the scenario's own manifests are applied (model/bootstrap.py).
    addon_keys: Tuple[Tuple[str, str, str], ...] = ()
    kubernetes_version: str = ""        # whose schemas validated the manifests ("1.37")
    notes: Tuple[str, ...] = ()         # what the loader did that is not a warning (kinds left out as inert)
    sources: Tuple[str, ...] = ()       # the manifest files spec.manifests read (outputs may not overwrite them)
    # spec.expect: (property, verdict, why) the scenario is meant to give; where it has any, a property not
    # listed must hold or be not-applicable (DESIGN section 3).
    expect: Tuple[Tuple[str, str, str], ...] = ()
    preset: str = ""                    # spec.preset: the cluster tool whose layout filled in the defaults

    def zone_of(self, node_name: str) -> str:
        for n in self.nodes:
            if n.meta.name == node_name:
                return dict(n.meta.labels).get(ZONE_LABEL, "")
        return ""

    @property
    def reads_deployment_status(self) -> bool:
        """Whether anything in the scenario reads Deployment status (a rolloutStatus wait): elsewhere the
        Deployment controller's status writes are left out, as nothing could observe them."""
        return any(c.op == "rolloutStatus" for c in self.changes)

    def of_kind(self, kind: str) -> List[Any]:
        """The scenario's objects of `kind` (for tests and tools that read a scenario)."""
        return [o for o in self.objects if o.kind == kind]


# Instances of one control-plane component (etcd members, apiservers, controller-managers, schedulers). Each is a
# process of the model; a step's successors and the Z3 encodings grow with their square, and one step of 10,000
# etcd members takes 16 s and 1.8 GB before --timeout can act.  Real clusters run 3 to 7 of each.
MAX_INSTANCES = 100
_TOO_MANY = " (each instance is a process of the model: more cannot be explored; real clusters run 3 to 7)"

_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _cluster(doc: _Doc, warnings) -> Dict[str, Any]:
    raw = doc.raw
    doc.known(raw, "", ("apiVersion", "kind", "metadata", "spec"))
    meta = doc.get(raw, "metadata", "", dict, required=True)
    name = doc.get(meta, "name", "metadata", str, required=True)
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name):
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise doc.error("metadata.name", "must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', "
                                         f"starting and ending with a letter or digit, at most 253), got {shown!r}: "
                                         "it names the scenario's traces folder")
    spec = doc.get(raw, "spec", "", dict, {})
    doc.known(spec, "spec", ("controlPlane", "addons", "behaviour", "faults", "changes", "check", "operators",
                             "kubernetesVersion", "manifests", "expect", "preset"))
    cp = doc.get(spec, "controlPlane", "spec", dict, {})
    doc.known(cp, "spec.controlPlane", ("placement", "etcd", "apiservers", "controllerManagers", "schedulers",
                                        "cloudControllerManager", "leaderElection", "staticApiservers",
                                        "nodeLifecycle"))
    # spec.preset (model/presets.py): a cluster tool's defaults; what the scenario writes wins, field by field.
    preset = _preset(doc, spec)
    pcp = preset.control_plane if preset else {}
    placement = doc.get(cp, "placement", "spec.controlPlane", str, pcp.get("placement", "traditional"))
    if placement not in PLACEMENTS:
        raise doc.error("spec.controlPlane.placement",
                        f"expected one of {', '.join(PLACEMENTS)}, got {short(placement)}")
    etcd = doc.get(cp, "etcd", "spec.controlPlane", dict, {})
    doc.known(etcd, "spec.controlPlane.etcd", ("topology", "members", "zones"))
    topology = doc.get(etcd, "topology", "spec.controlPlane.etcd", str,
                       pcp.get("etcd", {}).get("topology", "stacked"))
    if topology not in ("stacked", "external"):
        raise doc.error("spec.controlPlane.etcd.topology", f"expected stacked or external, got {short(topology)}")
    members = doc.get(etcd, "members", "spec.controlPlane.etcd", int, 1 if topology == "stacked" else 3)
    zones = tuple(str(z) for z in doc.get(etcd, "zones", "spec.controlPlane.etcd", list, []))
    for i, z in enumerate(zones):   # a zone is the value of a Node's topology.kubernetes.io/zone label
        problem = label_problem(ZONE_LABEL, z) if z else "a zone must not be empty"
        if problem:
            raise doc.error(f"spec.controlPlane.etcd.zones[{i}]", f"not a zone name: {problem}")
    if not 1 <= members <= MAX_INSTANCES:
        raise doc.error("spec.controlPlane.etcd.members", f"must be between 1 and {MAX_INSTANCES}, got {members}"
                        + _TOO_MANY * (members > MAX_INSTANCES))
    if topology == "external" and zones and len(zones) != members:
        raise doc.error("spec.controlPlane.etcd.zones", f"one zone per member: {members} members, {len(zones)} zones")
    if topology == "stacked" and ("members" in etcd or "zones" in etcd):
        doc.warn("spec.controlPlane.etcd", "stacked etcd has one member per control-plane node; members and zones ignored")
    counts = {}
    for key in ("apiservers", "controllerManagers", "schedulers"):
        # A preset runs one of each per control-plane node: its own machines' count here, the scenario's
        # control-plane Nodes' once they are read (parse_scenario, _apply_preset).
        counts[key] = doc.get(cp, key, "spec.controlPlane", int, preset.machines if preset else 1)
        if not 1 <= counts[key] <= MAX_INSTANCES:
            raise doc.error(f"spec.controlPlane.{key}", f"must be between 1 and {MAX_INSTANCES}, got {counts[key]}"
                            + _TOO_MANY * (counts[key] > MAX_INSTANCES))
    le = doc.get(cp, "leaderElection", "spec.controlPlane", dict, {})
    doc.known(le, "spec.controlPlane.leaderElection", ("leaseDuration", "renewDeadline", "retryPeriod",
                                                       "maxClockRateRatio", "maxPause"))
    ple = pcp.get("leaderElection", {})
    lease = LeaderElection(*(float(doc.get(le, k, "spec.controlPlane.leaderElection", float, ple.get(k, d)))
                             for k, d in (("leaseDuration", 15), ("renewDeadline", 10), ("retryPeriod", 2),
                                          ("maxClockRateRatio", 1.0), ("maxPause", 0))))
    # As client-go's NewLeaderElector validates them (tools/leaderelection/leaderelection.go).
    lep = "spec.controlPlane.leaderElection"
    for key, value in (("leaseDuration", lease.lease_duration), ("renewDeadline", lease.renew_deadline),
                       ("retryPeriod", lease.retry_period)):
        if value <= 0:
            raise doc.error(f"{lep}.{key}", f"must be greater than zero, got {value:g}")
    if lease.lease_duration <= lease.renew_deadline:
        raise doc.error(f"{lep}.leaseDuration", f"must be greater than renewDeadline ({lease.lease_duration:g} <= "
                                                f"{lease.renew_deadline:g}), as client-go requires")
    if lease.renew_deadline <= 1.2 * lease.retry_period:
        raise doc.error(f"{lep}.renewDeadline", f"must be greater than 1.2 x retryPeriod ({lease.renew_deadline:g} <= "
                                                f"{1.2 * lease.retry_period:g}), as client-go requires")
    if lease.max_clock_rate_ratio < 1:
        raise doc.error(f"{lep}.maxClockRateRatio", f"must be 1 or more (the faster clock over the slower), "
                                                    f"got {lease.max_clock_rate_ratio:g}")
    if lease.max_pause < 0:
        raise doc.error(f"{lep}.maxPause", f"must be 0 or more, got {lease.max_pause:g}")
    static = doc.get(cp, "staticApiservers", "spec.controlPlane", int, 0)
    if static and placement != "self-hosted":
        raise doc.error("spec.controlPlane.staticApiservers", f"only a self-hosted control plane has static "
                        f"apiservers beside its self-hosted ones (placement is {placement})")
    if not 0 <= static <= counts["apiservers"]:
        raise doc.error("spec.controlPlane.staticApiservers", f"must be between 0 and apiservers "
                        f"({counts['apiservers']}), got {static}")
    nlp = "spec.controlPlane.nodeLifecycle"
    nl = doc.get(cp, "nodeLifecycle", "spec.controlPlane", dict, {})
    doc.known(nl, nlp, ("unhealthyZoneThreshold", "largeClusterSizeThreshold", "secondaryNodeEvictionRate"))
    lifecycle = NodeLifecycle(float(doc.get(nl, "unhealthyZoneThreshold", nlp, float, 0.55)),
                              doc.get(nl, "largeClusterSizeThreshold", nlp, int, 50),
                              float(doc.get(nl, "secondaryNodeEvictionRate", nlp, float, 0.01)))
    if not 0 < lifecycle.unhealthy_zone_threshold <= 1:
        raise doc.error(f"{nlp}.unhealthyZoneThreshold", f"must be a fraction of a zone's Nodes above 0 and at most 1, "
                                                        f"got {lifecycle.unhealthy_zone_threshold:g}")
    if lifecycle.large_cluster_size_threshold < 0:
        raise doc.error(f"{nlp}.largeClusterSizeThreshold", f"must be 0 or more, got {lifecycle.large_cluster_size_threshold}")
    if not 0 <= lifecycle.secondary_node_eviction_rate < float("inf"):
        raise doc.error(f"{nlp}.secondaryNodeEvictionRate", f"must be 0 or more Nodes per second, got "
                                                           f"{lifecycle.secondary_node_eviction_rate:g}")
    control = ControlPlane(placement, topology, members, zones, counts["apiservers"], counts["controllerManagers"],
                           counts["schedulers"], doc.get(cp, "cloudControllerManager", "spec.controlPlane", bool,
                                                         pcp.get("cloudControllerManager", False)),
                           lease, static, lifecycle)
    addons = doc.get(spec, "addons", "spec", dict, {})
    pad = preset.addons if preset else {}
    npl = doc.get(addons, "networkPlugin", "spec.addons", dict, {})
    doc.known(npl, "spec.addons.networkPlugin", ("replacesKubeProxy",))
    beh = doc.get(spec, "behaviour", "spec", dict, {})
    doc.known(beh, "spec.behaviour", ("kubeletRelist", "informerRelist", "expectations", "jobTrackingWithFinalizers",
                                      "schedulerAssume", "stableLoadBalancerNodeSet", "rolloutStatusChecksGeneration",
                                      "workqueuePerKey",
                                      "taintEvictionCancelsTolerated", "taintEvictionTimers", "forceDetachOnTimeout"))
    relist = doc.get(beh, "kubeletRelist", "spec.behaviour", str, "cache")
    if relist == "quorum":
        doc.warn("spec.behaviour.kubeletRelist", "quorum is the old name of consistent (a relist never older than "
                 "etcd), which upstream kubelets do not do by default: read as consistent")
        relist = "consistent"
    if relist not in ("cache", "consistent"):
        raise doc.error("spec.behaviour.kubeletRelist", f"expected cache (upstream) or consistent, got {short(relist)}")
    informer = doc.get(beh, "informerRelist", "spec.behaviour", str, "lastSynced")
    if informer not in ("lastSynced", "cache"):
        raise doc.error("spec.behaviour.informerRelist", f"expected lastSynced or cache, got {short(informer)}")
    faults = doc.get(spec, "faults", "spec", dict, {})
    doc.known(faults, "spec.faults", ("budget", "kinds"))
    budget = doc.get(faults, "budget", "spec.faults", int, 0)
    if budget < 0:
        raise doc.error("spec.faults.budget", f"must be 0 or more, got {budget}")
    kinds = doc.get(faults, "kinds", "spec.faults", list, [])
    for i, k in enumerate(kinds):
        if k not in FAULT_KINDS:
            raise doc.error(f"spec.faults.kinds[{i}]",
                            f"unknown fault kind {short(k)}; known: {', '.join(FAULT_KINDS)}")
        if k in kinds[:i]:
            raise doc.error(f"spec.faults.kinds[{i}]", f"{k} is listed twice")
    if "pause" in kinds and lease.max_pause == 0:
        doc.warn("spec.faults.kinds", "pause is allowed but spec.controlPlane.leaderElection.maxPause is 0: "
                 "no pause can outlast a lease, so pauses cannot make two leaders")
    check = doc.get(spec, "check", "spec", dict, {})
    doc.known(check, "spec.check", ("properties", "maxDepth", "maxStates", "maxStaleness"))
    props = doc.get(check, "properties", "spec.check", list, ["all"])
    for i, p in enumerate(props):
        if not isinstance(p, str):
            raise doc.error(f"spec.check.properties[{i}]", f"expected a property name, got {short(p)}")
    max_depth = doc.get(check, "maxDepth", "spec.check", int, None)
    max_states = doc.get(check, "maxStates", "spec.check", int, 2_000_000)
    staleness = doc.get(check, "maxStaleness", "spec.check", int, 0)
    if "expectations-timeout" in kinds and staleness == 0:
        doc.warn("spec.faults.kinds", "expectations-timeout is allowed but spec.check.maxStaleness is 0: every "
                 "informer sees each write at once, so no expectation can outlast its timeout unfulfilled")
    for key, val in (("maxDepth", max_depth), ("maxStates", max_states), ("maxStaleness", staleness)):
        if val is not None and val < 0:
            raise doc.error(f"spec.check.{key}", f"must be 0 or more, got {val}")
    dns = addons.get("dns") if addons.get("dns") is not None else pad.get("dns", True)
    if isinstance(dns, dict):
        doc.known(dns, "spec.addons.dns", ("replicas",))
        dns_replicas = doc.get(dns, "replicas", "spec.addons.dns", int, 2)
        if dns_replicas < 1:
            raise doc.error("spec.addons.dns.replicas", f"must be at least 1, got {dns_replicas}")
        dns = True
    else:
        dns, dns_replicas = doc.get(addons, "dns", "spec.addons", bool, dns), 2
    doc.known(addons, "spec.addons", ("dns", "kubeProxy", "networkPlugin", "dashboard", "monitoring", "logging"))
    others = tuple(k for k in ("dashboard", "monitoring", "logging")
                   if doc.get(addons, k, "spec.addons", bool, pad.get(k, False)))
    return dict(name=name, control_plane=control, dns=dns, dns_replicas=dns_replicas, other_addons=others,
                kube_proxy=doc.get(addons, "kubeProxy", "spec.addons", bool, pad.get("kubeProxy", True)),
                network_plugin_replaces_kube_proxy=doc.get(
                    npl, "replacesKubeProxy", "spec.addons.networkPlugin", bool,
                    pad.get("networkPlugin", {}).get("replacesKubeProxy", False)),
                preset=preset, preset_written=_written(cp, addons) if preset else (),
                kubelet_relist=relist, informer_relist=informer, expectations=doc.get(beh, "expectations", "spec.behaviour", bool, True),
                job_tracking_with_finalizers=doc.get(beh, "jobTrackingWithFinalizers", "spec.behaviour", bool, True),
                scheduler_assume=doc.get(beh, "schedulerAssume", "spec.behaviour", bool, True),
                stable_lb_node_set=doc.get(beh, "stableLoadBalancerNodeSet", "spec.behaviour", bool, True),
                rollout_status_checks_generation=doc.get(beh, "rolloutStatusChecksGeneration", "spec.behaviour", bool, True),
                workqueue_per_key=doc.get(beh, "workqueuePerKey", "spec.behaviour", bool, True),
                taint_eviction_cancels_tolerated=doc.get(beh, "taintEvictionCancelsTolerated", "spec.behaviour",
                                                         bool, True),
                # The timers are composed where asked, and where the old cancellation rule needs them.
                taint_eviction_timers=(doc.get(beh, "taintEvictionTimers", "spec.behaviour", bool, False)
                                       or not doc.get(beh, "taintEvictionCancelsTolerated", "spec.behaviour", bool,
                                                      True)),
                force_detach_on_timeout=doc.get(beh, "forceDetachOnTimeout", "spec.behaviour", bool, True),
                fault_budget=budget, fault_kinds=tuple(kinds), properties=tuple(props), max_depth=max_depth,
                max_states=max_states, max_staleness=staleness,
                kubernetes_version=_kubernetes_version(doc, spec), expect=_expect(doc, spec),
                raw_changes=doc.get(spec, "changes", "spec", list, []),
                raw_operators=doc.get(spec, "operators", "spec", list, []))


def _preset(doc: _Doc, spec: dict):
    """spec.preset: the Preset it names (model/presets.py), None where absent; an unknown name is an error."""
    from .presets import PRESETS, known
    name = doc.get(spec, "preset", "spec", str, None)
    if name is None:
        return None
    if name not in PRESETS:
        raise doc.error("spec.preset", f"unknown preset {short(name)}; known: {known()}")
    return PRESETS[name]


def _written(cp: dict, addons: dict) -> Tuple[str, ...]:
    """The fields a preset sets that the scenario writes itself (they win): named in the preset's note."""
    out = []
    for key in ("placement", "apiservers", "controllerManagers", "schedulers", "cloudControllerManager"):
        if cp.get(key) is not None:
            out.append(f"spec.controlPlane.{key}")
    if isinstance(cp.get("etcd"), dict) and cp["etcd"].get("topology") is not None:
        out.append("spec.controlPlane.etcd.topology")
    le = cp.get("leaderElection")
    for key in ("leaseDuration", "renewDeadline", "retryPeriod"):
        if isinstance(le, dict) and le.get(key) is not None:
            out.append(f"spec.controlPlane.leaderElection.{key}")
    for key in ("dns", "kubeProxy", "dashboard", "monitoring", "logging"):
        if addons.get(key) is not None:
            out.append(f"spec.addons.{key}")
    npl = addons.get("networkPlugin")
    if isinstance(npl, dict) and npl.get("replacesKubeProxy") is not None:
        out.append("spec.addons.networkPlugin.replacesKubeProxy")
    return tuple(out)


def _apply_preset(cdoc: _Doc, c: Dict[str, Any], preset, written: Tuple[str, ...], nodes: List[Node]):
    """The control-plane Nodes of `preset` where the scenario labels none (model/presets.py), and one
    apiserver, controller-manager and scheduler per control-plane node where the scenario writes no count.
    Returns the Nodes and the report's note."""
    import dataclasses
    from . import presets
    control = c["control_plane"]
    own = [n for n in nodes if CONTROL_PLANE_LABEL in dict(n.meta.labels)]
    made = not own and control.placement != "managed"
    if made:
        zones = sorted({dict(n.meta.labels).get(ZONE_LABEL, "") for n in nodes} - {""})
        names = presets.node_names(preset.machines)
        taken = {n.meta.name for n in nodes}
        for name in names:
            if name in taken:
                raise cdoc.error("spec.preset", f"preset {preset.name} makes its control-plane Nodes "
                                 f"{', '.join(names)}, but the scenario has a Node {name} without the label "
                                 f"{CONTROL_PLANE_LABEL}: label the scenario's control-plane Nodes (the preset "
                                 "then makes none), or rename that Node")
        where = presets.machine_zones(preset, zones)
        parse = registry.kind("Node").parse
        own = [parse(_Doc(cdoc.path, f"{cdoc.index}, spec.preset", presets.node_manifest(preset, name, zone), [],
                          False)) for name, zone in zip(names, where)]
        nodes = nodes + own
    else:
        where = [dict(n.meta.labels).get(ZONE_LABEL, "") for n in own]
    per_node = len(own) or preset.machines
    counts = {}
    for key, attr in zip(presets.COUNTS, ("apiservers", "controller_managers", "schedulers")):
        if f"spec.controlPlane.{key}" in written:
            continue
        if per_node > MAX_INSTANCES:
            raise cdoc.error("spec.preset", f"preset {preset.name} runs one {key[:-1]} per control-plane node: "
                             f"{per_node} are more than {MAX_INSTANCES}" + _TOO_MANY)
        counts[attr] = per_node
    control = dataclasses.replace(control, **counts)
    if control.static_apiservers > control.apiservers:
        raise cdoc.error("spec.controlPlane.staticApiservers", f"must be between 0 and apiservers "
                         f"({control.apiservers}, one per control-plane node under preset {preset.name}), "
                         f"got {control.static_apiservers}")
    c["control_plane"] = control
    note = presets.describe(preset, control, c["dns"], c["dns_replicas"], c["kube_proxy"],
                            c["network_plugin_replaces_kube_proxy"], [n.meta.name for n in own], where, made,
                            list(written))
    return nodes, note


def _changes(doc: _Doc, raw_changes: list, crds=(), version: str = "") -> Tuple[Change, ...]:
    out = []
    for i, ch in enumerate(raw_changes):
        cp = f"spec.changes[{i}]"
        if not isinstance(ch, dict) or len(ch) != 1:
            raise doc.error(cp, "expected exactly one of scale, apply, delete, rolloutStatus, drain, cordon, uncordon, "
                            "taint, untaint")
        (op, body), = ch.items()
        if op == "scale":
            b = doc.get(ch, "scale", cp, dict)
            doc.known(b, f"{cp}.scale", ("kind", "namespace", "name", "replicas"))
            out.append(Change("scale", doc.get(b, "kind", f"{cp}.scale", str, required=True),
                              doc.get(b, "namespace", f"{cp}.scale", str, "default") or "default",
                              doc.get(b, "name", f"{cp}.scale", str, required=True),
                              replicas=doc.get(b, "replicas", f"{cp}.scale", int, required=True)))
            scalable = [k.name for k in registry.REGISTRY if k.scalable]
            if out[-1].kind not in scalable:
                raise doc.error(f"{cp}.scale.kind", f"expected {' or '.join(scalable)}, got {short(out[-1].kind)}")
            if out[-1].replicas < 0:
                raise doc.error(f"{cp}.scale.replicas", f"must be 0 or more, got {out[-1].replicas}")
        elif op == "apply":
            b = doc.get(ch, "apply", cp, dict)
            kind = doc.get(b, "kind", f"{cp}.apply", str, required=True)
            crd = next((c for c in crds if c.kind_name == kind), None)
            if kind in SUPPORTED_KINDS and not registry.stored(kind):
                raise doc.error(f"{cp}.apply.kind", f"a {kind} is read when the scenario is loaded: give it as a "
                                "manifest, not as a change")
            if kind not in SUPPORTED_KINDS and crd is None:
                raise doc.error(f"{cp}.apply.kind", f"kind {clip(kind)} is not modelled yet, and no CustomResourceDefinition "
                                f"of the scenario defines it; modelled: {', '.join(SUPPORTED_KINDS)}")
            sub = doc.sub(b, f"{cp}.apply")
            if crd is None:
                try:
                    obj = _manifest(sub, kind, version)
                except LeftOut as e:
                    raise sub.error("(document)", f"{e.what}: a change cannot apply it") from None
            else:
                obj = parse_custom_object(sub, crd)
            out.append(Change("apply", obj.kind, obj.meta.namespace, obj.meta.name, obj=obj))
        elif op == "delete":
            b = doc.get(ch, "delete", cp, dict)
            doc.known(b, f"{cp}.delete", ("kind", "namespace", "name", "gracePeriodSeconds", "propagationPolicy"))
            kind = doc.get(b, "kind", f"{cp}.delete", str, required=True)
            deletable = [k for k in SUPPORTED_KINDS if registry.kind(k).deletable]
            if kind not in deletable:
                raise doc.error(f"{cp}.delete.kind", f"deleting a {clip(kind)} is not modelled; modelled: "
                                f"{', '.join(deletable)}")
            grace = doc.get(b, "gracePeriodSeconds", f"{cp}.delete", int, None)
            policy = doc.get(b, "propagationPolicy", f"{cp}.delete", str, "Background")
            if policy not in ("Background", "Foreground", "Orphan"):
                raise doc.error(f"{cp}.delete.propagationPolicy",
                                f"expected Background, Foreground or Orphan, got {short(policy)}")
            # A cluster-scoped kind (Namespace, CRD, Node...) has no namespace, whatever the change says.
            ns = (doc.get(b, "namespace", f"{cp}.delete", str, "default") or "default"
                  if registry.kind(kind).namespaced else "")
            out.append(Change("delete", kind, ns,
                              doc.get(b, "name", f"{cp}.delete", str, required=True), propagation=policy,
                              grace_seconds=grace))
        elif op == "rolloutStatus":
            b = doc.get(ch, "rolloutStatus", cp, dict)
            doc.known(b, f"{cp}.rolloutStatus", ("kind", "namespace", "name"))
            kind = doc.get(b, "kind", f"{cp}.rolloutStatus", str, "Deployment")
            if kind != "Deployment":
                raise doc.error(f"{cp}.rolloutStatus.kind", f"waiting for the rollout of a {clip(kind)} is not modelled; "
                                "modelled: Deployment")
            out.append(Change("rolloutStatus", kind,
                              doc.get(b, "namespace", f"{cp}.rolloutStatus", str, "default") or "default",
                              doc.get(b, "name", f"{cp}.rolloutStatus", str, required=True)))
        elif op in NODE_CHANGES:
            out.append(_node_change(doc, op, ch, cp))
        elif op == "load":
            from .components.podautoscaler import LEVELS
            b = doc.get(ch, "load", cp, dict)
            doc.known(b, f"{cp}.load", ("hpa", "namespace", "level"))
            level = doc.get(b, "level", f"{cp}.load", str, required=True)
            if level not in LEVELS:
                raise doc.error(f"{cp}.load.level", f"expected {', '.join(LEVELS)}, got {short(level)}")
            out.append(Change("load", "HorizontalPodAutoscaler",
                              doc.get(b, "namespace", f"{cp}.load", str, "default") or "default",
                              doc.get(b, "hpa", f"{cp}.load", str, required=True), level=level))
        else:
            raise doc.error(cp, f"unknown change {short(op)}; expected scale, apply, delete, rolloutStatus, "
                            f"{', '.join(NODE_CHANGES)} or load")
    return tuple(out)


NODE_CHANGES = ("drain", "cordon", "uncordon", "taint", "untaint")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _node_change(doc: _Doc, op: str, ch: dict, cp: str) -> Change:
    """drain / cordon / uncordon: {node}; taint: {node, key, value, effect}; untaint: {node, key, effect?}
    (model/components/user.py)."""
    from .objects import Taint
    b = doc.get(ch, op, cp, dict, required=True)
    bp = f"{cp}.{op}"
    fields = {"taint": ("node", "key", "value", "effect"), "untaint": ("node", "key", "effect")}.get(op, ("node",))
    doc.known(b, bp, fields)
    node = doc.get(b, "node", bp, str, required=True)
    taint = None
    if op in ("taint", "untaint"):
        key = doc.get(b, "key", bp, str, required=True)
        problem = label_problem(key, "")
        if problem:
            raise doc.error(f"{bp}.key", f"not a valid taint key: {problem}")
        effect = doc.get(b, "effect", bp, str, required=op == "taint") or ""
        if effect and effect not in TAINT_EFFECTS:
            raise doc.error(f"{bp}.effect", f"expected {', '.join(TAINT_EFFECTS)}, got {short(effect)}")
        value = doc.get(b, "value", bp, str, "") if op == "taint" else ""
        if value and label_problem("k", value):
            raise doc.error(f"{bp}.value", f"not a valid taint value: {label_problem('k', value)}")
        taint = Taint(key, effect, value)
    return Change(op, "Node", "", node, taint=taint)


def _operators(doc: _Doc, raw: list, crds) -> Tuple[str, ...]:
    """spec.operators: the custom kinds an operator (a controller of the user's, model/components/operator.py)
    reconciles; each must be a kind a CustomResourceDefinition of the scenario defines."""
    kinds = []
    for i, op in enumerate(raw):
        where = f"spec.operators[{i}]"
        if not isinstance(op, dict):
            raise doc.error(where, f"expected a mapping with kind, got {type_name(op)}")
        doc.known(op, where, ("kind",))
        kind = doc.get(op, "kind", where, str, required=True)
        if not any(c.kind_name == kind for c in crds):
            raise doc.error(f"{where}.kind", f"no CustomResourceDefinition of the scenario defines kind {short(kind)}"
                            + (f"; defined: {', '.join(sorted(c.kind_name for c in crds))}" if crds else ""))
        if kind in kinds:
            raise doc.error(f"{where}.kind", f"a second operator for kind {kind}")
        kinds.append(kind)
    return tuple(kinds)


def _allocate_cluster_ips(objects: list) -> None:
    """The apiserver's ClusterIP allocator, for the Services of the manifests without spec.clusterIP."""
    from .components.apiserver import lowest_free_cluster_ip
    taken = {o.cluster_ip for o in objects if o.kind == "Service" and o.cluster_ip}
    for i, o in enumerate(objects):
        if o.kind == "Service" and not o.cluster_ip:
            ip = lowest_free_cluster_ip(taken)
            taken.add(ip)
            objects[i] = Service(meta=o.meta, selector=o.selector, cluster_ip=ip, type=o.type,
                                 publish_not_ready=o.publish_not_ready)


VERDICTS = ("holds", "violated", "unknown", "not-applicable")


def _expect(doc: _Doc, spec: dict) -> Tuple[Tuple[str, str, str], ...]:
    """spec.expect: `property: verdict` or `property: {verdict: ..., why: "..."}`."""
    out = []
    for prop, val in doc.get(spec, "expect", "spec", dict, {}).items():
        ep = f"spec.expect.{prop}"
        why = ""
        if isinstance(val, dict):
            doc.known(val, ep, ("verdict", "why"))
            verdict = doc.get(val, "verdict", ep, str, required=True)
            # Printed in the report on one line: a folded or literal block's line breaks become spaces.
            why = printable(" ".join(doc.get(val, "why", ep, str, "").split()))
        elif isinstance(val, str):
            verdict = val
        else:
            raise doc.error(ep, f"expected a verdict or {{verdict: ..., why: ...}}, got {short(val)}")
        if verdict not in VERDICTS:
            raise doc.error(ep, f"expected one of {', '.join(VERDICTS)}, got {short(verdict)}")
        out.append((str(prop), verdict, why))
    return tuple(out)


def _kubernetes_version(doc: _Doc, spec: dict) -> str:
    """spec.kubernetesVersion: the shipped schema version it selects (the newest by default)."""
    from .kinds import schema
    raw = spec.get("kubernetesVersion")
    if raw is not None and not isinstance(raw, (str, int, float)):
        raise doc.error("spec.kubernetesVersion", f"expected a version such as \"1.33\", got {short(raw)}")
    try:
        return schema.resolve(None if raw is None else str(raw))
    except schema.SchemaUnavailable as e:
        raise doc.error("spec.kubernetesVersion", str(e)) from None


def _raw_key(raw) -> Tuple[str, str, str]:
    m = raw.get("metadata") if isinstance(raw, dict) else None
    m = m if isinstance(m, dict) else {}
    ns = m.get("namespace") or "default"
    kind = raw.get("kind", "") if isinstance(raw, dict) else ""
    if kind in registry.KINDS and not registry.kind(kind).namespaced:
        ns = ""
    return (str(kind), str(ns or ""), str(m.get("name", "")))


def _owned_by(raw, declared) -> str:
    """The "Kind name" of the controller owner a manifest's ownerReferences name among `declared`, or ""."""
    m = raw.get("metadata") if isinstance(raw, dict) else None
    refs = m.get("ownerReferences") if isinstance(m, dict) else None
    if not isinstance(refs, list):
        return ""
    ns = _raw_key(raw)[1]
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") and (ref.get("kind"), ns, ref.get("name")) in declared:
            return f"{ref['kind']} {ref['name']}"
    return ""


def _manifest(doc: _Doc, kind: str, version: str):
    """A manifest of a kind of the registry: its apiVersion, its structure against the Kubernetes schema of
    `version` (unknown fields first), its meaning (the kind's parser), then the fields it does not model."""
    from .kinds import schema
    k = registry.kind(kind)
    api = doc.raw.get("apiVersion")
    if api not in k.api_versions:
        raise doc.error("apiVersion", f"{kind} is served as {' or '.join(k.api_versions)}, got {short(api)}")
    found = schema.problems(doc.raw, version) if version else []
    hints = dict(k.hints)
    for path, _, key, known in found:
        if key is not None:
            doc.unknown(_fpath(path[:-1]), key, known, hints.get(_fpath(path), ""))
    obj = k.parse(doc)
    for path, msg, key, _ in found:
        if key is None:
            raise doc.error(_fpath(path) or "(document)", f"{msg} (Kubernetes {version.rsplit('.', 1)[0]} schema)")
    if k.policy is not None:
        check_fields(doc, doc.raw, k.policy, placement=k.placement)
    return obj


def _structure(doc: _Doc, kind: str, version: str) -> None:
    """The structural check of a manifest the model does not run: its apiVersion must be served (as the
    apiserver would refuse it), and its fields must be in the schema (unknown ones are errors, or warnings
    when lenient)."""
    from .kinds import schema
    served = schema.served_api_versions(kind, version)
    if not served:
        return       # not a built-in kind: a custom resource whose definition the scenario does not give
    api = doc.raw.get("apiVersion")
    if api not in served:
        raise doc.error("apiVersion", f"Kubernetes {version.rsplit('.', 1)[0]} does not serve {kind} in {api}: "
                        f"it serves {' and '.join(served)} (an API removed since? see spec.kubernetesVersion)")
    for path, msg, key, known in schema.problems(doc.raw, version):
        if key is not None:
            doc.unknown(_fpath(path[:-1]), key, known)
        else:
            raise doc.error(_fpath(path) or "(document)", f"{msg} (Kubernetes {version.rsplit('.', 1)[0]} schema)")


def _fpath(path) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


DEFAULT_NODE = {"cpu": "4", "memory": "16Gi", "pods": "110"}


def default_cluster(path: str, nodes: int, lenient: bool = False, strict: bool = False) -> Scenario:
    """Plain manifests (a file or a folder with no Cluster document) on a default cluster: `nodes` workers of
    4 cpu, 16Gi and 110 pods, one per zone (zone-a, zone-b, ...), the default control plane and addons,
    every property; the report's first note says so."""
    import os
    if not 1 <= nodes <= 26:
        raise ScenarioError(f"--nodes: expected 1 to 26 workers, got {nodes}")
    full = os.path.abspath(path)
    if not os.path.exists(full):
        raise ScenarioError(f"{path}: no such file or folder")
    base = re.sub(r"[^a-z0-9.-]+", "-", os.path.basename(full.rstrip(os.sep)).lower()).strip("-.") or "manifests"
    name = re.sub(r"\.(ya?ml|json)$", "", base) or "manifests"
    zones = [f"zone-{chr(ord('a') + i)}" for i in range(nodes)]
    text = (f"apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}}}\n"
            f"spec:\n  manifests: [{json.dumps(full)}]\n")
    for i, z in enumerate(zones):
        text += (f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: worker-{i + 1}, labels: "
                 f"{{topology.kubernetes.io/zone: {z}}}}}\nstatus: {{allocatable: {json.dumps(DEFAULT_NODE)}}}\n")
    sc = parse_scenario(text, path + " (default cluster)", lenient=lenient, strict=strict)
    note = (f"default cluster (--nodes {nodes}): {nodes} worker{'s' if nodes > 1 else ''} of "
            f"{DEFAULT_NODE['cpu']} cpu, {DEFAULT_NODE['memory']} memory, {DEFAULT_NODE['pods']} pods, in zones "
            f"{', '.join(zones)}; one apiserver, controller-manager and scheduler, stacked etcd, DNS and kube-proxy")
    import dataclasses
    return dataclasses.replace(sc, path=path, notes=(note,) + sc.notes)


def has_cluster_document(path: str) -> bool:
    """Whether `path` is a file with a Cluster document (else it is plain manifests, or a folder of them)."""
    import os
    if os.path.isdir(path):
        return False
    from .inputs import InputError, read_text
    try:
        text = read_text(path)
    except InputError:
        # Not a Cluster document that can be read: whichever loader reads it next says what is wrong (True
        # made the command line warn, with --nodes, that the file "has a Cluster document").
        return False
    return re.search(r"(?m)^kind:\s*Cluster\s*$", text) is not None


def load_scenario(path: str, lenient: bool = False, strict: bool = False) -> Scenario:
    """The scenario in file `path` ("-": standard input), read as model/inputs.py says (limits, UTF-8).
    `lenient`: fields unknown to the Kubernetes schema are warnings, not errors; `strict`: every warning
    (a field or kind that is not modelled) is an error."""
    from .inputs import InputError, read_text
    try:
        text = read_text(path)
    except InputError as e:
        raise ScenarioError(str(e)) from None
    return parse_scenario(text, "<stdin>" if path == "-" else path, lenient=lenient, strict=strict)


def _read_documents(text: str, path: str) -> List[Any]:
    """The YAML (or JSON) documents of `text`, as model/inputs.py reads them; errors name `path`."""
    from .inputs import InputError, load_yaml_documents
    try:
        return load_yaml_documents(text)
    except yaml.YAMLError as e:
        place = yaml_error_place(e, text)
        raise ScenarioError(f"{path}{':' + place if place else ''}: not valid YAML: {yaml_problem(e)}") from None
    except InputError as e:
        raise ScenarioError(f"{path}: {e}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply to read") from None


def yaml_error_place(e: yaml.YAMLError, text: str) -> str:
    """"LINE:COLUMN" of a YAML error (a reader's error has a character position instead of a mark)."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    if mark is not None:
        return f"{mark.line + 1}:{mark.column + 1}"
    pos = getattr(e, "position", None)
    if isinstance(pos, int):
        line, column = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        return f"{line}:{column}"
    return ""


def yaml_problem(e: yaml.YAMLError) -> str:
    """What a YAML error says, on one line, without PyYAML's excerpt of the text."""
    if isinstance(e, yaml.reader.ReaderError):
        if isinstance(e.character, int):
            return (f"character U+{e.character:04X} is not allowed in YAML (where it is meant, write it as an "
                    f"escape in a double-quoted string)")
        return f"{e.reason}"
    problem = getattr(e, "problem", None)
    context = getattr(e, "context", None)
    text = problem or str(e).split("\n")[0]
    if context and problem:
        text = f"{context}: {problem}"
    return " ".join(text.split())


def _documents(raws, path: str, warnings, lenient: bool) -> List[_Doc]:
    """One Doc per document, the items of a `kind: List` (kubectl get -o yaml) each a document of its own."""
    out = []
    for i, r in enumerate(raws):
        if r is None:
            continue
        if isinstance(r, dict) and r.get("kind") == "List" and isinstance(r.get("items"), list):
            for j, item in enumerate(r["items"]):
                d = _Doc(path, f"{i + 1}, items[{j}]", item, warnings, lenient)
                out.append(d)
            continue
        out.append(_Doc(path, i + 1, r, warnings, lenient))
    return out


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _manifest_files(cdoc: _Doc, path: str, entries: list) -> List[str]:
    """spec.manifests, as `kubectl apply -f` reads its arguments: a file, or a folder's .yaml, .yml and .json
    files in name order (its subfolders too with `recursive: true`, as -R); paths relative to the scenario."""
    import os
    base = os.path.dirname(os.path.abspath(path)) if path not in ("<stdin>", "<scenario>") else os.getcwd()
    files: List[str] = []
    for i, e in enumerate(entries):
        ep = f"spec.manifests[{i}]"
        recursive = False
        if isinstance(e, dict):
            cdoc.known(e, ep, ("path", "recursive"))
            rel = cdoc.get(e, "path", ep, str, required=True)
            recursive = cdoc.get(e, "recursive", ep, bool, False)
        elif isinstance(e, str):
            rel = e
        else:
            raise cdoc.error(ep, f"expected a path or {{path: DIR, recursive: true}}, got {short(e)}")
        full = os.path.normpath(os.path.join(base, rel))
        if os.path.isdir(full):
            found = []
            for root, dirs, names in os.walk(full):
                dirs.sort()
                # Regular files only: a named pipe called x.yaml in the folder would block the read for ever.
                found += [os.path.join(root, n) for n in sorted(names) if n.endswith(MANIFEST_SUFFIXES)
                          and os.path.isfile(os.path.join(root, n))]
                if not recursive:
                    break
            if not found:
                raise cdoc.error(ep, f"{rel}: a folder with no .yaml, .yml or .json file"
                                 + ("" if recursive else " (recursive: true to read its subfolders)"))
            files += found
        elif os.path.exists(full):
            files.append(full)
        else:
            raise cdoc.error(ep, f"{rel}: no such file or folder (paths are relative to the scenario's folder)")
    return files


def parse_scenario(text: str, path: str = "<scenario>", lenient: bool = False, strict: bool = False) -> Scenario:
    from .inputs import InputError, read_text
    from .kinds.unmodelled import INERT, MAY_CHANGE
    from .kinds.manifest import describe_properties
    raws = _read_documents(text, path)
    warnings: List[str] = []
    docs = _documents(raws, path, warnings, lenient)
    sources: List[str] = []
    if not docs:
        raise ScenarioError(f"{path}: empty file: a scenario needs a Cluster document")
    cluster_raw = [d for d in docs if isinstance(d.raw, dict) and d.raw.get("kind") == "Cluster"]
    if cluster_raw and isinstance(cluster_raw[0].raw.get("spec"), dict) \
            and cluster_raw[0].raw["spec"].get("manifests") is not None:
        entries = cluster_raw[0].get(cluster_raw[0].raw["spec"], "manifests", "spec", list, [])
        for f in _manifest_files(cluster_raw[0], path, entries):
            sources.append(f)
            try:
                more = read_text(f, what="manifest")
            except InputError as e:
                raise ScenarioError(str(e)) from None
            docs += _documents(_read_documents(more, f), f, warnings, lenient)
    for doc in docs:
        if not isinstance(doc.raw, dict):
            raise doc.error("(document)", f"expected a mapping, got {type_name(doc.raw)}")
        doc.get(doc.raw, "kind", "", str, required=True)
        doc.get(doc.raw, "apiVersion", "", str, required=True)
    clusters = [d for d in docs if d.raw["kind"] == "Cluster"]
    if not clusters:
        raise ScenarioError(f"{path}: no Cluster document (apiVersion: kubecheck/v1alpha1, kind: Cluster): add one "
                            "(README, \"Scenario files\"), or check these manifests on a default cluster with "
                            "--nodes N")
    if len(clusters) > 1:
        raise clusters[1].error("kind", "a second Cluster document; a scenario has exactly one")
    cdoc = clusters[0]
    if cdoc.raw.get("apiVersion") != "kubecheck/v1alpha1":
        raise cdoc.error("apiVersion", f"expected kubecheck/v1alpha1, got {short(cdoc.raw.get('apiVersion'))}")
    c = _cluster(cdoc, warnings)
    version = c.pop("kubernetes_version")
    preset, written = c.pop("preset"), c.pop("preset_written")
    # CustomResourceDefinitions first: the documents of the kinds they define are parsed against them.
    # PriorityClasses next: pods are admitted with their priority (model/kinds/priorityclass.py).
    classes = {}
    for d in docs:
        if d.raw["kind"] == "PriorityClass":
            pc = _manifest(d, "PriorityClass", version)
            if pc.meta.name in classes:
                raise d.error("metadata.name", f"PriorityClass {pc.meta.name} is defined twice")
            classes[pc.meta.name] = pc
    if sum(1 for pc in classes.values() if pc.global_default) > 1:
        raise cdoc.error("(scenario)", "more than one PriorityClass has globalDefault: true")
    for d in docs:
        d.priority_classes = classes
    crd_of = {id(d): _manifest(d, "CustomResourceDefinition", version) for d in docs
              if d.raw["kind"] == "CustomResourceDefinition"}
    crds = list(crd_of.values())
    nodes: List[Node] = []
    objects: List[Any] = []
    seen = {}
    left_out: Dict[str, List[_Doc]] = {}
    notes: List[str] = []
    declared_keys = {_raw_key(d.raw) for d in docs}
    for doc in docs:
        kind = doc.raw["kind"]
        if doc is cdoc:
            continue
        owner = _owned_by(doc.raw, declared_keys)
        if owner:
            # An object exported with its owner (kubectl get -o yaml): the owner's controller makes it.
            notes.append(f"{kind} {_raw_key(doc.raw)[1] + '/' if _raw_key(doc.raw)[1] else ''}"
                         f"{_raw_key(doc.raw)[2]} ({doc.path}: document {doc.index}) left to its controller's "
                         f"{owner}, which the scenario declares")
            continue
        if kind == "PriorityClass":
            continue     # read above, at admission
        if id(doc) in crd_of:
            obj = crd_of[id(doc)]
        elif kind in SUPPORTED_KINDS:
            try:
                obj = _manifest(doc, kind, version)
            except LeftOut as e:
                doc.warn(e.field, f"{e.what}: {describe_properties(e.properties)}; document left out")
                continue
        else:
            crd = next((c_ for c_ in crds if c_.kind_name == kind), None)
            if crd is None:
                _structure(doc, kind, version)
                left_out.setdefault(kind, []).append(doc)
                continue
            obj = parse_custom_object(doc, crd)
        key = (kind, obj.meta.namespace, obj.meta.name)
        if key in seen:
            raise doc.error("metadata.name", f"{kind} {obj.meta.key} is already defined in {seen[key]}")
        seen[key] = f"document {doc.index}" if doc.path == path else f"{doc.path}: document {doc.index}"
        (nodes if kind == "Node" else objects).append(obj)
    for kind, kdocs in left_out.items():
        n = len(kdocs)
        which = f"{n} document{'s' if n > 1 else ''} left out"
        if kind in INERT:
            notes.append(f"{kind}: {which} ({INERT[kind]})")
        elif kind in MAY_CHANGE:
            props, what = MAY_CHANGE[kind]
            kdocs[0].warn("kind", f"kind {kind} is not modelled ({what}): {describe_properties(props)}; {which}")
        else:
            kdocs[0].warn("kind", f"kind {kind} is not modelled yet, and no CustomResourceDefinition of the scenario "
                          f"defines it: {describe_properties(('*',))}; {which}")
    if not nodes:
        raise cdoc.error("(scenario)", "no Node manifests: a cluster needs at least one node")
    if preset is not None:
        nodes, note = _apply_preset(cdoc, c, preset, written, nodes)
        notes.insert(0, note)
        c["preset"] = preset.name
    notes += _registration_note(docs)
    notes += _abstraction_notes(objects)
    if left_out and not objects and not c["raw_changes"]:
        def why(k: str) -> str:
            if k in INERT:
                return f"ignored: {INERT[k]}"
            if k in MAY_CHANGE:
                return "not modelled"
            return "not modelled, and no CustomResourceDefinition of the scenario defines it"
        kinds_out = ", ".join(f"{k} ({why(k)})" for k in sorted(left_out))
        raise cdoc.error("(scenario)", f"every manifest besides the Nodes was left out: {kinds_out}; nothing "
                         "would be checked")
    # A CustomResourceDefinition a change applies defines its kind for the changes after it too.
    applied_crds = [x for x in c["raw_changes"] if isinstance(x, dict) and isinstance(x.get("apply"), dict)
                    and x["apply"].get("kind") == "CustomResourceDefinition"]
    crds = crds + [ch.obj for ch in _changes(cdoc, applied_crds, (), version)]
    changes = _changes(cdoc, c.pop("raw_changes"), crds, version)
    c["operators"] = _operators(cdoc, c.pop("raw_operators"), crds)
    # A namespace used by a manifest exists, as `kubectl create namespace` would have made it.
    namespaces = {o.meta.name for o in objects if o.kind == "Namespace"}
    declared = tuple(sorted(namespaces))
    used = {o.meta.namespace for o in objects if o.meta.namespace} | {ch.namespace for ch in changes}
    for ns in sorted(used - namespaces):
        objects.append(Namespace(meta=ObjectMeta(namespace="", name=ns)))
    _changes_name_objects(cdoc, changes, objects + nodes)
    addon_keys = []
    if c["dns"] and (any(o.kind == "Service" for o in objects) or any(ch.kind == "Service" for ch in changes)):
        from .components.dns import addon_objects
        have = {(o.kind, o.meta.namespace, o.meta.name) for o in objects}
        for obj in addon_objects(c["dns_replicas"]):
            key = (obj.kind, obj.meta.namespace, obj.meta.name)
            if key in have:
                continue   # the scenario brings its own
            objects.append(obj)
            addon_keys.append(key)
        if not any(o.kind == "Namespace" and o.meta.name == "kube-system" for o in objects):
            objects.append(Namespace(meta=ObjectMeta(namespace="", name="kube-system")))
    if c["other_addons"]:
        from .addons import addon_objects as more_addons
        have = {(o.kind, o.meta.namespace, o.meta.name) for o in objects}
        for obj in more_addons(*(k in c["other_addons"] for k in ("dashboard", "monitoring", "logging"))):
            key = (obj.kind, obj.meta.namespace, obj.meta.name)
            if key not in have:
                objects.append(obj)
                addon_keys.append(key)
        if not any(o.kind == "Namespace" and o.meta.name == "kube-system" for o in objects):
            objects.append(Namespace(meta=ObjectMeta(namespace="", name="kube-system")))
    _allocate_cluster_ips(objects)
    objects.sort(key=lambda o: (registry.kind(o.kind).install_order, o.meta.namespace, o.meta.name))
    nodes.sort(key=lambda n: n.meta.name)
    _scalar_warnings(cdoc, nodes, objects, changes)
    if strict and warnings:
        more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
        raise ScenarioError(f"{warnings[0]}{more}: an error under --strict")
    return Scenario(path=path, text=text, changes=changes, nodes=tuple(nodes), objects=tuple(objects),
                    warnings=tuple(warnings), addon_keys=tuple(addon_keys), declared_namespaces=declared,
                    kubernetes_version=version.rsplit(".", 1)[0], notes=tuple(printable(n) for n in notes),
                    sources=tuple(sources), **c)


def _changes_name_objects(cdoc: _Doc, changes, objects) -> None:
    """A scale, delete or rollout wait must name an object a manifest or an earlier apply creates (kubectl
    would answer NotFound, and the change would do nothing).  Pods too: the pods a controller makes have
    generated names (`web-7d4b9c8f6-x2x9k`: a random suffix upstream, a uid in the model) that no change
    can know in advance, so a Pod a change names must be one of the manifests' or an earlier apply's, or a
    StatefulSet's, whose pods are named `<set>-<ordinal>` (model/components/statefulset.py)."""
    from .components.statefulset import parent_and_ordinal
    exists = {(o.kind, o.meta.namespace, o.meta.name) for o in objects}
    makers = [o for o in objects if registry.pod_specs([o])]
    for i, ch in enumerate(changes):
        key = (ch.kind, ch.namespace, ch.name)
        if ch.op == "apply":
            exists.add(key)
            if ch.obj is not None and registry.pod_specs([ch.obj]):
                makers.append(ch.obj)
            continue
        if ch.kind == "CustomObject" or key in exists:
            continue
        parent, ordinal = parent_and_ordinal(ch.name)
        if ch.kind == "Pod" and ordinal >= 0 and any(o.kind == "StatefulSet" and o.meta.namespace == ch.namespace
                                                     and o.meta.name == parent for o in makers):
            continue     # a StatefulSet's pod: its name is known in advance
        ns = f"{ch.namespace}/" if registry.kind(ch.kind).namespaced else ""
        known = sorted(f"{o[2]}" for o in exists if o[0] == ch.kind and o[1] == ch.namespace)
        why = ""
        if ch.kind == "Pod":
            owner = next((o for o in makers if o.meta.namespace == ch.namespace
                          and ch.name.startswith(o.meta.name + "-")), None)
            why = ("; a controller's pods have generated names that a change cannot know in advance"
                   + (f" ({owner.kind} {owner.meta.name}'s are {owner.meta.name}-<generated>)" if owner else "")
                   + ": name a Pod of the manifests, or scale or delete its controller")
        raise cdoc.error(f"spec.changes[{i}].{ch.op}", f"no manifest or earlier change creates {ch.kind} "
                         f"{ns}{ch.name}: kubectl would answer NotFound"
                         + (f" (the scenario's {ch.kind}s there: {', '.join(known)})" if known else "") + why)


def _abstraction_notes(objects) -> List[str]:
    """Where a manifest's field is read as an abstraction that changes what it says, one note each: a CronJob's
    schedule (abstract ticks), a HorizontalPodAutoscaler's metrics (one load level), and the pods of a Job left
    to either outcome (model/components/kubelet.py `exit_codes`)."""
    out: List[str] = []
    for o in objects:
        if o.kind == "HorizontalPodAutoscaler":
            out.append(f"HorizontalPodAutoscaler {o.meta.key}: its metrics are one abstract load level, at target "
                       "until a `load` change sets it low or high")
            continue
        if o.kind == "CronJob":
            out.append(f"CronJob {o.meta.key}: schedule {o.schedule!r} is abstract time: {o.ticks} scheduled times "
                       "come, one after another (annotation kubecheck.io/ticks)")
            spec = o.job.template.spec
        elif o.kind == "Job":
            spec = o.template.spec
        else:
            continue
        if not spec.exit_codes and spec.restart_policy == "Never":
            out.append(f"{o.kind} {o.meta.key}: each of its pods may succeed or fail (exit code 1); the annotation "
                       "kubecheck.io/exit-codes on its pod template says which codes its containers end with")
    return out


def _registration_note(docs) -> List[str]:
    """Which labels the kubelets' registration added to which Nodes (model/kinds/node.py)."""
    from .kinds.node import REGISTRATION_LABELS
    added: Dict[str, List[str]] = {}
    for d in docs:
        if d.raw.get("kind") != "Node":
            continue
        m = d.raw.get("metadata") or {}
        have = m.get("labels") if isinstance(m.get("labels"), dict) else {}
        for key, value in REGISTRATION_LABELS:
            if key not in have:
                added.setdefault(f"{key}={value}" if value else key, []).append(str(m.get("name")))
    if not added:
        return []
    parts = [f"{label} ({', '.join(names) if len(names) <= 4 else f'{len(names)} Nodes'})"
             for label, names in added.items()]
    return ["Nodes get the labels their kubelets register where the manifest has none: " + "; ".join(parts)]


def _scalar_warnings(cdoc: _Doc, nodes, objects, changes) -> None:
    """A pod that requests a resource no Node has (an extended resource, ephemeral-storage) can never be
    placed: said once per resource, since hand-written Nodes often leave such resources out."""
    have = {k for n in nodes for k, _ in n.allocatable.scalar}
    wanted = {}
    for o in list(objects) + [ch.obj for ch in changes if ch.obj is not None]:
        for spec in registry.pod_specs([o]):
            for k, _ in spec.requests.scalar:
                wanted.setdefault(k, f"{o.kind} {o.meta.key}")
    for k, who in sorted(wanted.items()):
        if k not in have:
            cdoc.warn("(scenario)", f"{who} requests {k}, which no Node's status.allocatable has: such pods can "
                      "never be placed")
