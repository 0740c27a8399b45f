"""Scenario files (DESIGN section 3): one Cluster document, then Kubernetes manifests.

`load_scenario(path)` parses and validates a file into a `Scenario`.  Any
error is a `ScenarioError` whose message names the file, the document (index
and kind/name) and the field path, e.g.::

    scenarios/x.yaml: document 2 (Deployment default/web): spec.replicas: expected an integer, got 'three'

Unknown fields are ignored with a warning (real manifests load as they are).
"""

from __future__ import annotations

import math
import re

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import yaml

from .objects import (AntiAffinityTerm, TopologySpreadConstraint, DaemonSet, Container, CustomObject,
                      CustomResourceDefinition, Deployment, Job, Namespace, NodeSelectorRequirement, Node, ObjectMeta,
                      Pod, PodSpec, PodTemplate, ReplicaSet, Resources, RollingUpdate, Service, ServiceAccount, Taint,
                      Toleration,
                      labels_match)
from .quantity import QuantityError, cpu_millis, whole

FAULT_KINDS = ("node-crash", "node-recover", "zone-outage", "zone-recover", "etcd-member-crash",
               "etcd-member-restart", "apiserver-restart", "controller-crash", "kubelet-restart",
               "partition", "partition-heal", "pause", "vm-deleted", "request-timeout")
PLACEMENTS = ("traditional", "static-pods", "self-hosted", "managed")
ZONE_LABEL = "topology.kubernetes.io/zone"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
SUPPORTED_KINDS = ("Node", "Namespace", "Pod", "Deployment", "ReplicaSet", "Job", "DaemonSet", "Service",
                   "CustomResourceDefinition", "ServiceAccount")


class ScenarioError(Exception):
    """A scenario that cannot be loaded; the message says where and what."""


@dataclass(frozen=True)
class LeaderElection:
    lease_duration: float = 15
    renew_deadline: float = 10
    retry_period: float = 2
    max_clock_rate_ratio: float = 1.0
    max_pause: float = 0


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

    def describe(self) -> str:
        if self.kind == "CustomObject" and self.obj is not None:
            return f"{self.op} {self.obj.custom_kind} {self.namespace}/{self.name}"
        if self.op == "scale":
            return f"scale {self.kind} {self.namespace}/{self.name} to {self.replicas}"
        if self.op == "rolloutStatus":
            return f"rollout status {self.kind} {self.namespace}/{self.name}"
        if self.op == "delete" and self.grace_seconds == 0:
            return f"force-delete {self.kind} {self.namespace}/{self.name}"
        return f"{self.op} {self.kind} {self.namespace}/{self.name}"


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
    # Namespaces the scenario's own manifests create (Namespace documents), not implied by their use.
    declared_namespaces: Tuple[str, ...] = ()
    # (kind, namespace, name) of the objects the addons brought (the DNS addon's Deployment and Service),
    # installed and settled before the scenario's own manifests are applied (model/bootstrap.py).
    addon_keys: Tuple[Tuple[str, str, str], ...] = ()

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
        return [o for o in self.objects if o.kind == kind]


class _Doc:
    """Error and warning context for one document."""

    def __init__(self, path: str, index: int, raw: Any, warnings: List[str]):
        self.path, self.index, self.raw, self.warnings = path, index, raw, warnings
        kind = raw.get("kind", "?") if isinstance(raw, dict) else "?"
        meta = raw.get("metadata") if isinstance(raw, dict) else None
        name = meta.get("name", "?") if isinstance(meta, dict) else "?"
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        what = f"{kind} {ns + '/' if ns else ''}{name}"
        self.what = what if len(what) <= 80 else what[:77] + "..."   # names quoted in messages stay short

    def where(self, fpath: str) -> str:
        return f"{self.path}: document {self.index} ({self.what}): {fpath}"

    def error(self, fpath: str, msg: str) -> ScenarioError:
        return ScenarioError(f"{self.where(fpath)}: {msg}")

    def warn(self, fpath: str, msg: str) -> None:
        self.warnings.append(f"{self.where(fpath)}: {msg}")

    # -- typed accessors -------------------------------------------------
    def get(self, obj: dict, key: str, fpath: str, typ, default=None, required=False):
        full = f"{fpath}.{key}" if fpath else key
        if not isinstance(obj, dict):
            raise self.error(fpath or "(document)", f"expected a mapping, got {type(obj).__name__}")
        if key not in obj or obj[key] is None:
            if required:
                raise self.error(full, "required field is missing")
            return default
        val = obj[key]
        shown = repr(val) if len(repr(val)) <= 60 else repr(val)[:57] + "..."
        if typ is int and (isinstance(val, bool) or not isinstance(val, int)):
            raise self.error(full, f"expected an integer, got {shown}")
        if typ is int and not -2**31 <= val < 2**31:
            raise self.error(full, f"out of range: Kubernetes integers here are 32-bit, got {shown}")
        if typ is float and (isinstance(val, bool) or not isinstance(val, (int, float))):
            raise self.error(full, f"expected a number, got {shown}")
        if typ is float and not math.isfinite(val):
            raise self.error(full, f"expected a finite number, got {shown}")
        if typ is bool and not isinstance(val, bool):
            raise self.error(full, f"expected true or false, got {val!r}")
        if typ is str and not isinstance(val, str):
            raise self.error(full, f"expected a string, got {val!r}")
        if typ is dict and not isinstance(val, dict):
            raise self.error(full, f"expected a mapping, got {type(val).__name__}")
        if typ is list and not isinstance(val, list):
            raise self.error(full, f"expected a list, got {type(val).__name__}")
        return val

    def known(self, obj: dict, fpath: str, keys) -> None:
        for k in obj:
            if k not in keys:
                self.warn(f"{fpath}.{k}" if fpath else str(k), "unknown field, ignored")

    def labels(self, obj: dict, key: str, fpath: str) -> Tuple[Tuple[str, str], ...]:
        d = self.get(obj, key, fpath, dict, {})
        out = []
        for k, v in d.items():
            if v is None:
                v = ""
            if not isinstance(v, (str, int, float, bool)) or isinstance(v, bool):
                raise self.error(f"{fpath}.{key}.{k}", f"expected a string label value, got {v!r}")
            out.append((str(k), str(v)))
        return tuple(sorted(out))


def _quantities(doc: _Doc, obj: dict, fpath: str, required=()) -> Resources:
    cpu = mem = 0
    pods = None
    for key in required:
        if key not in obj:
            raise doc.error(f"{fpath}.{key}", "required field is missing")
    for key, val in obj.items():
        try:
            if key == "cpu":
                cpu = cpu_millis(val)
            elif key == "memory":
                mem = whole(val)
            elif key == "pods":
                pods = whole(val)
            else:
                doc.warn(f"{fpath}.{key}", "resource not modelled, ignored")
        except QuantityError as e:
            raise doc.error(f"{fpath}.{key}", str(e)) from None
    return Resources(cpu, mem, 110 if pods is None else pods)


def _meta(doc: _Doc, raw: dict, namespaced: bool) -> ObjectMeta:
    m = doc.get(raw, "metadata", "", dict, required=True)
    name = doc.get(m, "name", "metadata", str, required=True)
    if not name:
        raise doc.error("metadata.name", "must not be empty")
    ns = doc.get(m, "namespace", "metadata", str, "default") if namespaced else ""
    return ObjectMeta(namespace=ns, name=name, labels=doc.labels(m, "labels", "metadata"))


def _pod_spec(doc: _Doc, spec: dict, fpath: str) -> PodSpec:
    containers = doc.get(spec, "containers", fpath, list, required=True)
    if not containers:
        raise doc.error(f"{fpath}.containers", "a pod needs at least one container")
    cs = []
    total = Resources(0, 0, 1)
    for i, c in enumerate(containers):
        cp = f"{fpath}.containers[{i}]"
        name = doc.get(c, "name", cp, str, required=True)
        image = doc.get(c, "image", cp, str, "")
        res = doc.get(c, "resources", cp, dict, {})
        req = doc.get(res, "requests", f"{cp}.resources", dict, None)
        if req is None:
            req = doc.get(res, "limits", f"{cp}.resources", dict, {})  # requests default to limits
        r = _quantities(doc, req, f"{cp}.resources.requests")
        total = Resources(total.cpu + r.cpu, total.memory + r.memory, 1)
        cs.append(Container(name, image))
    tols = []
    for i, t in enumerate(doc.get(spec, "tolerations", fpath, list, [])):
        tp = f"{fpath}.tolerations[{i}]"
        op = doc.get(t, "operator", tp, str, "Equal")
        if op not in ("Equal", "Exists"):
            raise doc.error(f"{tp}.operator", f"expected Equal or Exists, got {op!r}")
        eff = doc.get(t, "effect", tp, str, "")
        if eff not in ("", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise doc.error(f"{tp}.effect", f"expected NoSchedule, PreferNoSchedule or NoExecute, got {eff!r}")
        secs = doc.get(t, "tolerationSeconds", tp, int, None)
        tols.append(Toleration(doc.get(t, "key", tp, str, ""), op, str(t.get("value", "") or ""), eff, secs))
    node_affinity, anti_affinity = _affinity(doc, spec, fpath)
    policy = doc.get(spec, "restartPolicy", fpath, str, "Always")
    if policy not in ("Always", "OnFailure", "Never"):
        raise doc.error(f"{fpath}.restartPolicy", f"expected Always, OnFailure or Never, got {policy!r}")
    return PodSpec(containers=tuple(cs), requests=total, restart_policy=policy, node_affinity=node_affinity,
                   anti_affinity=anti_affinity, topology_spread=_topology_spread(doc, spec, fpath),
                   node_name=doc.get(spec, "nodeName", fpath, str, ""),
                   scheduler_name=doc.get(spec, "schedulerName", fpath, str, "default-scheduler"),
                   service_account=doc.get(spec, "serviceAccountName", fpath, str, "default"),
                   node_selector=doc.labels(spec, "nodeSelector", fpath),
                   tolerations=tuple(tols))


def _affinity(doc: _Doc, spec: dict, fpath: str):
    """Required node affinity (nodeSelectorTerms) and required pod anti-affinity; preferred terms are scoring,
    which the model abstracts (every feasible node is explored)."""
    aff = doc.get(spec, "affinity", fpath, dict, {})
    ap = f"{fpath}.affinity"
    terms = []
    na = doc.get(aff, "nodeAffinity", ap, dict, {})
    req = doc.get(na, "requiredDuringSchedulingIgnoredDuringExecution", f"{ap}.nodeAffinity", dict, {})
    rp = f"{ap}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    for i, term in enumerate(doc.get(req, "nodeSelectorTerms", rp, list, [])):
        reqs = []
        for j, e in enumerate(doc.get(term, "matchExpressions", f"{rp}.nodeSelectorTerms[{i}]", list, [])):
            ep = f"{rp}.nodeSelectorTerms[{i}].matchExpressions[{j}]"
            op = doc.get(e, "operator", ep, str, required=True)
            if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
                raise doc.error(f"{ep}.operator", f"expected In, NotIn, Exists or DoesNotExist, got {op!r}")
            values = tuple(str(v) for v in doc.get(e, "values", ep, list, []))
            reqs.append(NodeSelectorRequirement(doc.get(e, "key", ep, str, required=True), op, values))
        for j, e in enumerate(doc.get(term, "matchFields", f"{rp}.nodeSelectorTerms[{i}]", list, [])):
            ep = f"{rp}.nodeSelectorTerms[{i}].matchFields[{j}]"
            if doc.get(e, "key", ep, str, required=True) != "metadata.name":
                raise doc.error(f"{ep}.key", "matchFields supports only metadata.name")
            op = doc.get(e, "operator", ep, str, required=True)
            if op not in ("In", "NotIn"):
                raise doc.error(f"{ep}.operator", f"expected In or NotIn, got {op!r}")
            values = tuple(str(v) for v in doc.get(e, "values", ep, list, []))
            reqs.append(NodeSelectorRequirement("metadata.name", op, values, field=True))
        terms.append(tuple(reqs))
    anti = []
    pa = doc.get(aff, "podAntiAffinity", ap, dict, {})
    pp = f"{ap}.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    for i, t in enumerate(doc.get(pa, "requiredDuringSchedulingIgnoredDuringExecution", f"{ap}.podAntiAffinity",
                                  list, [])):
        sel = doc.get(t, "labelSelector", f"{pp}[{i}]", dict, {})
        anti.append(AntiAffinityTerm(doc.labels(sel, "matchLabels", f"{pp}[{i}].labelSelector"),
                                     doc.get(t, "topologyKey", f"{pp}[{i}]", str, required=True)))
    if "podAffinity" in aff:
        doc.warn(f"{ap}.podAffinity", "pod affinity is not modelled yet, ignored")
    return tuple(terms), tuple(anti)


def _topology_spread(doc: _Doc, spec: dict, fpath: str):
    """spec.topologySpreadConstraints.  `ScheduleAnyway` constraints are scoring, which the model abstracts
    (every feasible node is explored), so only `DoNotSchedule` ones are kept."""
    out = []
    for i, c in enumerate(doc.get(spec, "topologySpreadConstraints", fpath, list, [])):
        cp = f"{fpath}.topologySpreadConstraints[{i}]"
        if not isinstance(c, dict):
            raise doc.error(cp, f"expected a mapping, got {type(c).__name__}")
        skew = doc.get(c, "maxSkew", cp, int, required=True)
        if skew < 1:
            raise doc.error(f"{cp}.maxSkew", f"must be at least 1, got {skew}")
        when = doc.get(c, "whenUnsatisfiable", cp, str, required=True)
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            raise doc.error(f"{cp}.whenUnsatisfiable", f"expected DoNotSchedule or ScheduleAnyway, got {when!r}")
        key = doc.get(c, "topologyKey", cp, str, required=True)
        sel = doc.get(c, "labelSelector", cp, dict, {})
        min_domains = doc.get(c, "minDomains", cp, int, 1)
        if min_domains < 1:
            raise doc.error(f"{cp}.minDomains", f"must be at least 1, got {min_domains}")
        taints = doc.get(c, "nodeTaintsPolicy", cp, str, "Ignore")
        if taints not in ("Honor", "Ignore"):
            raise doc.error(f"{cp}.nodeTaintsPolicy", f"expected Honor or Ignore, got {taints!r}")
        if doc.get(c, "nodeAffinityPolicy", cp, str, "Honor") != "Honor":
            doc.warn(f"{cp}.nodeAffinityPolicy", "only Honor (the default) is modelled")
        if when == "DoNotSchedule":
            out.append(TopologySpreadConstraint(skew, key, doc.labels(sel, "matchLabels", f"{cp}.labelSelector"),
                                                min_domains, taints == "Honor"))
    return tuple(out)


def _template(doc: _Doc, spec: dict, selector) -> PodTemplate:
    t = doc.get(spec, "template", "spec", dict, required=True)
    tm = doc.get(t, "metadata", "spec.template", dict, {})
    labels = doc.labels(tm, "labels", "spec.template.metadata")
    ps = doc.get(t, "spec", "spec.template", dict, required=True)
    if not labels_match(selector, labels):
        raise doc.error("spec.template.metadata.labels", "`selector` does not match template `labels`")
    return PodTemplate(labels, _pod_spec(doc, ps, "spec.template.spec"))


def _selector(doc: _Doc, spec: dict):
    sel = doc.get(spec, "selector", "spec", dict, required=True)
    if "matchExpressions" in sel:
        doc.warn("spec.selector.matchExpressions", "not modelled, ignored")
    ml = doc.labels(sel, "matchLabels", "spec.selector")
    if not ml:
        raise doc.error("spec.selector.matchLabels", "required field is missing")
    return ml


def parse_object(doc: _Doc):
    raw = doc.raw
    kind = raw["kind"]
    if kind == "Node":
        meta = _meta(doc, raw, False)
        spec = doc.get(raw, "spec", "", dict, {})
        status = doc.get(raw, "status", "", dict, {})
        alloc = doc.get(status, "allocatable", "status", dict, None)
        if alloc is None:
            alloc = doc.get(status, "capacity", "status", dict, None)
        if alloc is None:
            raise doc.error("status.allocatable", "required field is missing (cpu, memory, pods)")
        taints = []
        for i, t in enumerate(doc.get(spec, "taints", "spec", list, [])):
            tp = f"spec.taints[{i}]"
            eff = doc.get(t, "effect", tp, str, required=True)
            if eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
                raise doc.error(f"{tp}.effect", f"expected NoSchedule, PreferNoSchedule or NoExecute, got {eff!r}")
            taints.append(Taint(doc.get(t, "key", tp, str, required=True), eff, str(t.get("value", "") or "")))
        return Node(meta=meta, allocatable=_quantities(doc, alloc, "status.allocatable", ("cpu", "memory")),
                    taints=tuple(taints), unschedulable=doc.get(spec, "unschedulable", "spec", bool, False))
    if kind == "Namespace":
        return Namespace(meta=_meta(doc, raw, False))
    if kind == "ServiceAccount":
        return ServiceAccount(meta=_meta(doc, raw, True))
    if kind == "Service":
        meta = _meta(doc, raw, True)
        spec = doc.get(raw, "spec", "", dict, {})
        stype = doc.get(spec, "type", "spec", str, "ClusterIP")
        if stype not in ("ClusterIP", "NodePort", "LoadBalancer"):
            raise doc.error("spec.type", f"expected ClusterIP, NodePort or LoadBalancer, got {stype!r}")
        if "selector" not in spec:
            doc.warn("spec.selector", "a Service without a selector has no managed endpoints; modelled with none")
        ip = doc.get(spec, "clusterIP", "spec", str, "")
        if ip == "None":
            raise doc.error("spec.clusterIP", "headless Services are not modelled yet")
        return Service(meta=meta, selector=doc.labels(spec, "selector", "spec"), cluster_ip=ip,
                       type="LoadBalancer" if stype == "LoadBalancer" else "ClusterIP",
                       publish_not_ready=doc.get(spec, "publishNotReadyAddresses", "spec", bool, False))
    if kind == "CustomResourceDefinition":
        meta = _meta(doc, raw, False)
        spec = doc.get(raw, "spec", "", dict, required=True)
        names = doc.get(spec, "names", "spec", dict, required=True)
        scope = doc.get(spec, "scope", "spec", str, "Namespaced")
        if scope not in ("Namespaced", "Cluster"):
            raise doc.error("spec.scope", f"expected Namespaced or Cluster, got {scope!r}")
        group = doc.get(spec, "group", "spec", str, required=True)
        plural = doc.get(names, "plural", "spec.names", str, required=True)
        if meta.name != f"{plural}.{group}":
            raise doc.error("metadata.name", f"must be <plural>.<group>, {plural}.{group}, got {meta.name!r}")
        versions = doc.get(spec, "versions", "spec", list, required=True)
        if not versions:
            raise doc.error("spec.versions", "at least one version is required")
        for i, v in enumerate(versions):
            if not isinstance(v, dict):
                raise doc.error(f"spec.versions[{i}]", f"expected a mapping, got {type(v).__name__}")
        if "subresources" in spec:
            raise doc.error("spec.subresources", "apiextensions.k8s.io/v1 has subresources per version: "
                            "spec.versions[].subresources")
        with_status = [isinstance(doc.get(v, "subresources", f"spec.versions[{i}]", dict, {}).get("status"), dict)
                       for i, v in enumerate(versions)]
        if len(set(with_status)) > 1:
            raise doc.error("spec.versions", "a status subresource on some versions and not others is not modelled")
        return CustomResourceDefinition(meta=meta, group=group,
                                        kind_name=doc.get(names, "kind", "spec.names", str, required=True),
                                        plural=plural, scope=scope,
                                        versions=tuple(str(doc.get(v, "name", f"spec.versions[{i}]", str,
                                                                   required=True)) for i, v in enumerate(versions)),
                                        status_subresource=with_status[0])
    if kind == "Pod":
        meta = _meta(doc, raw, True)
        return Pod(meta=meta, spec=_pod_spec(doc, doc.get(raw, "spec", "", dict, required=True), "spec"))
    if kind == "Job":
        meta = _meta(doc, raw, True)
        spec = doc.get(raw, "spec", "", dict, required=True)
        nums = {}
        for key, default in (("completions", 1), ("parallelism", 1), ("backoffLimit", 6)):
            nums[key] = doc.get(spec, key, "spec", int, default)
            if nums[key] < (0 if key == "backoffLimit" else 1):
                raise doc.error(f"spec.{key}", f"must be at least {0 if key == 'backoffLimit' else 1}, got {nums[key]}")
        t = doc.get(spec, "template", "spec", dict, required=True)
        tm = doc.get(t, "metadata", "spec.template", dict, {})
        pod_spec = _pod_spec(doc, doc.get(t, "spec", "spec.template", dict, required=True), "spec.template.spec")
        if pod_spec.restart_policy == "Always":
            raise doc.error("spec.template.spec.restartPolicy", "a Job's pods need restartPolicy Never or OnFailure")
        return Job(meta=meta, template=PodTemplate(doc.labels(tm, "labels", "spec.template.metadata"), pod_spec),
                   completions=nums["completions"], parallelism=nums["parallelism"], backoff_limit=nums["backoffLimit"])
    if kind == "DaemonSet":
        meta = _meta(doc, raw, True)
        spec = doc.get(raw, "spec", "", dict, required=True)
        sel = _selector(doc, spec)
        return DaemonSet(meta=meta, selector=sel, template=_template(doc, spec, sel))
    if kind in ("Deployment", "ReplicaSet"):
        meta = _meta(doc, raw, True)
        spec = doc.get(raw, "spec", "", dict, required=True)
        replicas = doc.get(spec, "replicas", "spec", int, 1)
        if replicas < 0:
            raise doc.error("spec.replicas", f"must be 0 or more, got {replicas}")
        sel = _selector(doc, spec)
        template = _template(doc, spec, sel)
        if kind == "ReplicaSet":
            return ReplicaSet(meta=meta, replicas=replicas, selector=sel, template=template)
        strat = doc.get(spec, "strategy", "spec", dict, {})
        stype = doc.get(strat, "type", "spec.strategy", str, "RollingUpdate")
        if stype not in ("RollingUpdate", "Recreate"):
            raise doc.error("spec.strategy.type", f"expected RollingUpdate or Recreate, got {stype!r}")
        ru = doc.get(strat, "rollingUpdate", "spec.strategy", dict, {})
        rolling = RollingUpdate(str(ru.get("maxSurge", "25%")), str(ru.get("maxUnavailable", "25%")))
        for k in ("maxSurge", "maxUnavailable"):
            v = getattr(rolling, "max_surge" if k == "maxSurge" else "max_unavailable")
            if not (v.isdigit() or (v.endswith("%") and v[:-1].isdigit())):
                raise doc.error(f"spec.strategy.rollingUpdate.{k}", f"expected an integer or a percentage, got {v!r}")
        return Deployment(meta=meta, replicas=replicas, selector=sel, template=template,
                          strategy=stype, rolling=rolling)
    raise AssertionError(kind)


def _flat(value: Any, prefix: str, out: list) -> None:
    if isinstance(value, dict):
        for k in sorted(value, key=str):
            _flat(value[k], f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flat(v, f"{prefix}[{i}]", out)
    else:
        out.append((prefix, str(value)))


def parse_custom_object(doc: _Doc, crd: CustomResourceDefinition) -> CustomObject:
    """An object of a kind the scenario's CustomResourceDefinition `crd` defines."""
    api = doc.raw["apiVersion"]
    group, _, version = api.partition("/")
    if group != crd.group or version not in crd.versions:
        raise doc.error("apiVersion", f"{crd.kind_name} is served as {', '.join(crd.group + '/' + v for v in crd.versions)}"
                        f" (CustomResourceDefinition {crd.meta.name}), got {api!r}")
    meta = _meta(doc, doc.raw, crd.scope == "Namespaced")
    spec: list = []
    _flat(doc.raw.get("spec", {}), "", spec)
    return CustomObject(meta=meta, api_version=api, custom_kind=crd.kind_name, spec=tuple(spec))


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
    doc.known(spec, "spec", ("controlPlane", "addons", "behaviour", "faults", "changes", "check", "operators"))
    cp = doc.get(spec, "controlPlane", "spec", dict, {})
    doc.known(cp, "spec.controlPlane", ("placement", "etcd", "apiservers", "controllerManagers", "schedulers",
                                        "cloudControllerManager", "leaderElection", "staticApiservers"))
    placement = doc.get(cp, "placement", "spec.controlPlane", str, "traditional")
    if placement not in PLACEMENTS:
        raise doc.error("spec.controlPlane.placement", f"expected one of {', '.join(PLACEMENTS)}, got {placement!r}")
    etcd = doc.get(cp, "etcd", "spec.controlPlane", dict, {})
    topology = doc.get(etcd, "topology", "spec.controlPlane.etcd", str, "stacked")
    if topology not in ("stacked", "external"):
        raise doc.error("spec.controlPlane.etcd.topology", f"expected stacked or external, got {topology!r}")
    members = doc.get(etcd, "members", "spec.controlPlane.etcd", int, 1 if topology == "stacked" else 3)
    zones = tuple(str(z) for z in doc.get(etcd, "zones", "spec.controlPlane.etcd", list, []))
    if members < 1:
        raise doc.error("spec.controlPlane.etcd.members", f"must be at least 1, got {members}")
    if topology == "external" and zones and len(zones) != members:
        raise doc.error("spec.controlPlane.etcd.zones", f"one zone per member: {members} members, {len(zones)} zones")
    if topology == "stacked" and ("members" in etcd or "zones" in etcd):
        doc.warn("spec.controlPlane.etcd", "stacked etcd has one member per control-plane node; members and zones ignored")
    counts = {}
    for key in ("apiservers", "controllerManagers", "schedulers"):
        counts[key] = doc.get(cp, key, "spec.controlPlane", int, 1)
        if counts[key] < 1:
            raise doc.error(f"spec.controlPlane.{key}", f"must be at least 1, got {counts[key]}")
    le = doc.get(cp, "leaderElection", "spec.controlPlane", dict, {})
    lease = LeaderElection(*(float(doc.get(le, k, "spec.controlPlane.leaderElection", float, d)) for k, d in (
        ("leaseDuration", 15), ("renewDeadline", 10), ("retryPeriod", 2), ("maxClockRateRatio", 1.0), ("maxPause", 0))))
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
    control = ControlPlane(placement, topology, members, zones, counts["apiservers"], counts["controllerManagers"],
                           counts["schedulers"], doc.get(cp, "cloudControllerManager", "spec.controlPlane", bool, False),
                           lease, static)
    addons = doc.get(spec, "addons", "spec", dict, {})
    npl = doc.get(addons, "networkPlugin", "spec.addons", dict, {})
    beh = doc.get(spec, "behaviour", "spec", dict, {})
    doc.known(beh, "spec.behaviour", ("kubeletRelist", "informerRelist", "expectations", "jobTrackingWithFinalizers",
                                      "schedulerAssume", "stableLoadBalancerNodeSet", "rolloutStatusChecksGeneration",
                                      "workqueuePerKey"))
    relist = doc.get(beh, "kubeletRelist", "spec.behaviour", str, "quorum")
    if relist not in ("quorum", "cache"):
        raise doc.error("spec.behaviour.kubeletRelist", f"expected quorum or cache, got {relist!r}")
    informer = doc.get(beh, "informerRelist", "spec.behaviour", str, "lastSynced")
    if informer not in ("lastSynced", "cache"):
        raise doc.error("spec.behaviour.informerRelist", f"expected lastSynced or cache, got {informer!r}")
    faults = doc.get(spec, "faults", "spec", dict, {})
    budget = doc.get(faults, "budget", "spec.faults", int, 0)
    if budget < 0:
        raise doc.error("spec.faults.budget", f"must be 0 or more, got {budget}")
    kinds = doc.get(faults, "kinds", "spec.faults", list, [])
    for i, k in enumerate(kinds):
        if k not in FAULT_KINDS:
            raise doc.error(f"spec.faults.kinds[{i}]", f"unknown fault kind {k!r}; known: {', '.join(FAULT_KINDS)}")
    if "pause" in kinds and lease.max_pause == 0:
        doc.warn("spec.faults.kinds", "pause is allowed but spec.controlPlane.leaderElection.maxPause is 0: "
                 "no pause can outlast a lease, so pauses cannot make two leaders")
    check = doc.get(spec, "check", "spec", dict, {})
    doc.known(check, "spec.check", ("properties", "maxDepth", "maxStates", "maxStaleness"))
    props = doc.get(check, "properties", "spec.check", list, ["all"])
    for i, p in enumerate(props):
        if not isinstance(p, str):
            raise doc.error(f"spec.check.properties[{i}]", f"expected a property name, got {p!r}")
    max_depth = doc.get(check, "maxDepth", "spec.check", int, None)
    max_states = doc.get(check, "maxStates", "spec.check", int, 2_000_000)
    staleness = doc.get(check, "maxStaleness", "spec.check", int, 0)
    for key, val in (("maxDepth", max_depth), ("maxStates", max_states), ("maxStaleness", staleness)):
        if val is not None and val < 0:
            raise doc.error(f"spec.check.{key}", f"must be 0 or more, got {val}")
    dns = addons.get("dns", True)
    if isinstance(dns, dict):
        doc.known(dns, "spec.addons.dns", ("replicas",))
        dns_replicas = doc.get(dns, "replicas", "spec.addons.dns", int, 2)
        if dns_replicas < 1:
            raise doc.error("spec.addons.dns.replicas", f"must be at least 1, got {dns_replicas}")
        dns = True
    else:
        dns, dns_replicas = doc.get(addons, "dns", "spec.addons", bool, True), 2
    doc.known(addons, "spec.addons", ("dns", "kubeProxy", "networkPlugin", "dashboard", "monitoring", "logging"))
    others = tuple(k for k in ("dashboard", "monitoring", "logging") if doc.get(addons, k, "spec.addons", bool, False))
    return dict(name=name, control_plane=control, dns=dns, dns_replicas=dns_replicas, other_addons=others,
                kube_proxy=doc.get(addons, "kubeProxy", "spec.addons", bool, True),
                network_plugin_replaces_kube_proxy=doc.get(npl, "replacesKubeProxy", "spec.addons.networkPlugin", bool, False),
                kubelet_relist=relist, informer_relist=informer, expectations=doc.get(beh, "expectations", "spec.behaviour", bool, True),
                job_tracking_with_finalizers=doc.get(beh, "jobTrackingWithFinalizers", "spec.behaviour", bool, True),
                scheduler_assume=doc.get(beh, "schedulerAssume", "spec.behaviour", bool, True),
                stable_lb_node_set=doc.get(beh, "stableLoadBalancerNodeSet", "spec.behaviour", bool, True),
                rollout_status_checks_generation=doc.get(beh, "rolloutStatusChecksGeneration", "spec.behaviour", bool, True),
                workqueue_per_key=doc.get(beh, "workqueuePerKey", "spec.behaviour", bool, True),
                fault_budget=budget, fault_kinds=tuple(kinds), properties=tuple(props), max_depth=max_depth,
                max_states=max_states, max_staleness=staleness,
                raw_changes=doc.get(spec, "changes", "spec", list, []),
                raw_operators=doc.get(spec, "operators", "spec", list, []))


def _changes(doc: _Doc, raw_changes: list, path: str, warnings, crds=()) -> Tuple[Change, ...]:
    out = []
    for i, ch in enumerate(raw_changes):
        cp = f"spec.changes[{i}]"
        if not isinstance(ch, dict) or len(ch) != 1:
            raise doc.error(cp, "expected exactly one of scale, apply, delete, rolloutStatus")
        (op, body), = ch.items()
        if op == "scale":
            b = doc.get(ch, "scale", cp, dict)
            out.append(Change("scale", doc.get(b, "kind", f"{cp}.scale", str, required=True),
                              doc.get(b, "namespace", f"{cp}.scale", str, "default"),
                              doc.get(b, "name", f"{cp}.scale", str, required=True),
                              replicas=doc.get(b, "replicas", f"{cp}.scale", int, required=True)))
            if out[-1].kind not in ("Deployment", "ReplicaSet"):
                raise doc.error(f"{cp}.scale.kind", f"expected Deployment or ReplicaSet, got {out[-1].kind!r}")
            if out[-1].replicas < 0:
                raise doc.error(f"{cp}.scale.replicas", f"must be 0 or more, got {out[-1].replicas}")
        elif op == "apply":
            b = doc.get(ch, "apply", cp, dict)
            kind = doc.get(b, "kind", f"{cp}.apply", str, required=True)
            crd = next((c for c in crds if c.kind_name == kind), None)
            if kind not in SUPPORTED_KINDS and crd is None:
                raise doc.error(f"{cp}.apply.kind", f"kind {kind} is not modelled yet, and no CustomResourceDefinition "
                                f"of the scenario defines it; modelled: {', '.join(SUPPORTED_KINDS)}")
            sub = _Doc(path, doc.index, b, warnings)
            sub.what = f"{doc.what}, {cp}.apply"
            obj = parse_object(sub) if crd is None else parse_custom_object(sub, crd)
            out.append(Change("apply", obj.kind, obj.meta.namespace, obj.meta.name, obj=obj))
        elif op == "delete":
            b = doc.get(ch, "delete", cp, dict)
            kind = doc.get(b, "kind", f"{cp}.delete", str, required=True)
            if kind not in SUPPORTED_KINDS or kind == "Node":
                raise doc.error(f"{cp}.delete.kind", f"deleting a {kind} is not modelled; modelled: Namespace, Pod, "
                                "Deployment, ReplicaSet, DaemonSet, Job, Service")
            grace = doc.get(b, "gracePeriodSeconds", f"{cp}.delete", int, None)
            policy = doc.get(b, "propagationPolicy", f"{cp}.delete", str, "Background")
            if policy not in ("Background", "Foreground", "Orphan"):
                raise doc.error(f"{cp}.delete.propagationPolicy", f"expected Background, Foreground or Orphan, got {policy!r}")
            out.append(Change("delete", kind, doc.get(b, "namespace", f"{cp}.delete", str, "default"),
                              doc.get(b, "name", f"{cp}.delete", str, required=True), propagation=policy,
                              grace_seconds=grace))
        elif op == "rolloutStatus":
            b = doc.get(ch, "rolloutStatus", cp, dict)
            doc.known(b, f"{cp}.rolloutStatus", ("kind", "namespace", "name"))
            kind = doc.get(b, "kind", f"{cp}.rolloutStatus", str, "Deployment")
            if kind != "Deployment":
                raise doc.error(f"{cp}.rolloutStatus.kind", f"waiting for the rollout of a {kind} is not modelled; "
                                "modelled: Deployment")
            out.append(Change("rolloutStatus", kind, doc.get(b, "namespace", f"{cp}.rolloutStatus", str, "default"),
                              doc.get(b, "name", f"{cp}.rolloutStatus", str, required=True)))
        else:
            raise doc.error(cp, f"unknown change {op!r}; expected scale, apply, delete or rolloutStatus")
    return tuple(out)


def _operators(doc: _Doc, raw: list, crds) -> Tuple[str, ...]:
    """spec.operators: the custom kinds an operator (a controller of the user's, model/components/operator.py)
    reconciles; each must be a kind a CustomResourceDefinition of the scenario defines."""
    kinds = []
    for i, op in enumerate(raw):
        where = f"spec.operators[{i}]"
        if not isinstance(op, dict):
            raise doc.error(where, f"expected a mapping with kind, got {type(op).__name__}")
        doc.known(op, where, ("kind",))
        kind = doc.get(op, "kind", where, str, required=True)
        if not any(c.kind_name == kind for c in crds):
            raise doc.error(f"{where}.kind", f"no CustomResourceDefinition of the scenario defines kind {kind!r}"
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


def load_scenario(path: str) -> Scenario:
    """The scenario in file `path` ("-": standard input), read as model/inputs.py says (limits, UTF-8)."""
    from .inputs import InputError, read_text
    try:
        text = read_text(path)
    except InputError as e:
        raise ScenarioError(str(e)) from None
    return parse_scenario(text, "<stdin>" if path == "-" else path)


def parse_scenario(text: str, path: str = "<scenario>") -> Scenario:
    from .inputs import InputError, load_yaml_documents
    try:
        raws = load_yaml_documents(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}:{where}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    except InputError as e:
        raise ScenarioError(f"{path}: {e}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply to read") from None
    warnings: List[str] = []
    docs = [(_Doc(path, i + 1, r, warnings)) for i, r in enumerate(raws) if r is not None]
    if not docs:
        raise ScenarioError(f"{path}: empty file: a scenario needs a Cluster document")
    cluster = None
    # CustomResourceDefinitions first: the documents of the kinds they define are parsed against them.
    crds = [parse_object(d) for d in docs if isinstance(d.raw, dict) and d.raw.get("kind") == "CustomResourceDefinition"
            and isinstance(d.raw.get("apiVersion"), str)]
    nodes: List[Node] = []
    objects: List[Any] = []
    seen = {}
    for doc in docs:
        if not isinstance(doc.raw, dict):
            raise doc.error("(document)", f"expected a mapping, got {type(doc.raw).__name__}")
        kind = doc.get(doc.raw, "kind", "", str, required=True)
        doc.get(doc.raw, "apiVersion", "", str, required=True)
        if kind == "Cluster":
            if cluster is not None:
                raise doc.error("kind", "a second Cluster document; a scenario has exactly one")
            if doc.raw.get("apiVersion") != "kubecheck/v1alpha1":
                raise doc.error("apiVersion", f"expected kubecheck/v1alpha1, got {doc.raw.get('apiVersion')!r}")
            cluster = (doc, _cluster(doc, warnings))
            continue
        if kind not in SUPPORTED_KINDS:
            crd = next((c for c in crds if c.kind_name == kind), None)
            if crd is None:
                doc.warn("kind", f"kind {kind} is not modelled yet, and no CustomResourceDefinition of the "
                         "scenario defines it; document ignored")
                continue
            obj = parse_custom_object(doc, crd)
        else:
            obj = parse_object(doc)
        key = (kind, obj.meta.namespace, obj.meta.name)
        if key in seen:
            raise doc.error("metadata.name", f"{kind} {obj.meta.key} is already defined in document {seen[key]}")
        seen[key] = doc.index
        (nodes if kind == "Node" else objects).append(obj)
    if cluster is None:
        raise ScenarioError(f"{path}: no Cluster document (apiVersion: kubecheck/v1alpha1, kind: Cluster)")
    cdoc, c = cluster
    if not nodes:
        raise cdoc.error("(scenario)", "no Node manifests: a cluster needs at least one node")
    # A CustomResourceDefinition a change applies defines its kind for the changes after it too.
    applied_crds = [x for x in c["raw_changes"] if isinstance(x, dict) and isinstance(x.get("apply"), dict)
                    and x["apply"].get("kind") == "CustomResourceDefinition"]
    crds = crds + [ch.obj for ch in _changes(cdoc, applied_crds, path, [])]
    changes = _changes(cdoc, c.pop("raw_changes"), path, warnings, crds)
    c["operators"] = _operators(cdoc, c.pop("raw_operators"), crds)
    # A namespace used by a manifest exists, as `kubectl create namespace` would have made it.
    namespaces = {o.meta.name for o in objects if o.kind == "Namespace"}
    declared = tuple(sorted(namespaces))
    used = {o.meta.namespace for o in objects if o.meta.namespace} | {ch.namespace for ch in changes}
    for ns in sorted(used - namespaces):
        objects.append(Namespace(meta=ObjectMeta(namespace="", name=ns)))
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
    order = {"Namespace": 0, "ServiceAccount": 0.5, "CustomResourceDefinition": 1, "CustomObject": 2, "Service": 3, "Deployment": 4,
             "ReplicaSet": 5, "DaemonSet": 6, "Job": 7, "Pod": 8}
    objects.sort(key=lambda o: (order[o.kind], o.meta.namespace, o.meta.name))
    nodes.sort(key=lambda n: n.meta.name)
    return Scenario(path=path, text=text, changes=changes, nodes=tuple(nodes), objects=tuple(objects),
                    warnings=tuple(warnings), addon_keys=tuple(addon_keys), declared_namespaces=declared, **c)
