"""The pod spec, as every kind that makes pods carries it (Pod.spec, a workload's spec.template.spec).

What decides placement and convergence is modelled as upstream computes it:

* Requests per container, each missing request defaulted from the limit of
  the same resource (SetDefaults_Pod); cpu, memory and every other resource
  (ephemeral-storage, hugepages-*, extended resources such as
  nvidia.com/gpu).
* The pod's effective request, as kube-scheduler's Fit filter and the
  kubelet's admission compute it (component-helpers resource.PodRequests):
  the larger, per resource, of the containers' sum and each init container
  (with the restartable init containers, sidecars, declared before it), the
  sidecars added to the containers' sum, plus `overhead`.
* Host ports (`ports[].hostPort`; with `hostNetwork` every containerPort),
  for the NodePorts filter and the kubelet's admission.
* nodeSelector, required node affinity, required pod affinity and
  anti-affinity, DoNotSchedule topology spread, tolerations, with full label
  selectors (matchLabels and matchExpressions).

`POD_SPEC` is the field policy of the semantic check: each field of a pod
spec is modelled, inert (with the reason) or not modelled (with the
properties whose verdicts it may change).
"""

from __future__ import annotations

from typing import List, Tuple

from ..objects import (AntiAffinityTerm, Container, NodeSelectorRequirement, PodSpec, Resources, Toleration,
                       TopologySpreadConstraint)
from .manifest import (Doc, MODELLED, expression, inert, label_selector, modelled, quantities, unmodelled, short)

PLACEMENT = ("deployment-converges", "daemonset-converges", "job-completes", "n-plus-one-capacity",
             "pods-rescheduled-after-node-failure", "statefulset-converges")
PROBES = inert("probes are taken to pass once the container runs: kubecheck checks the cluster, not the application")
NO_PROPERTY = "no property kubecheck checks reads it"

_RESOURCES = {"requests": MODELLED, "limits": MODELLED,
              "claims": unmodelled(*PLACEMENT, reason="dynamic resource allocation")}
_PORT = {"hostPort": MODELLED, "protocol": MODELLED, "hostIP": MODELLED, "containerPort": MODELLED,
         "name": inert(NO_PROPERTY)}
CONTAINER = {
    "name": MODELLED, "image": MODELLED, "resources": modelled(_RESOURCES), "ports": modelled(_PORT, items=True),
    "restartPolicy": MODELLED,
    "livenessProbe": PROBES, "readinessProbe": PROBES, "startupProbe": PROBES,
    "resizePolicy": inert("in-place resize is not modelled and changes no request at creation"),
    "restartPolicyRules": inert("container restarts are within a running pod"),
    "lifecycle": inert("hooks run inside the container; termination is a step of unbounded length"),
    **{k: inert("what the container runs and sees: " + NO_PROPERTY) for k in (
        "args", "command", "env", "envFrom", "imagePullPolicy", "securityContext", "stdin", "stdinOnce",
        "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts",
        "workingDir")},
}
_TERM_SELECTOR = {"matchLabels": MODELLED, "matchExpressions": MODELLED}
_POD_TERM = {"labelSelector": modelled(_TERM_SELECTOR), "topologyKey": MODELLED,
             "namespaces": unmodelled(*PLACEMENT, reason="terms match pods of the pod's own namespace only"),
             "namespaceSelector": unmodelled(*PLACEMENT, reason="terms match pods of the pod's own namespace only"),
             "matchLabelKeys": unmodelled(*PLACEMENT), "mismatchLabelKeys": unmodelled(*PLACEMENT)}
SCORING = inert("preferred terms are scoring: every feasible node is explored")
_AFFINITY = {
    "nodeAffinity": modelled({"requiredDuringSchedulingIgnoredDuringExecution": MODELLED,
                              "preferredDuringSchedulingIgnoredDuringExecution": SCORING}),
    "podAffinity": modelled({"requiredDuringSchedulingIgnoredDuringExecution": modelled(_POD_TERM, items=True),
                             "preferredDuringSchedulingIgnoredDuringExecution": SCORING}),
    "podAntiAffinity": modelled({"requiredDuringSchedulingIgnoredDuringExecution": modelled(_POD_TERM, items=True),
                                 "preferredDuringSchedulingIgnoredDuringExecution": SCORING}),
}
_SPREAD = {"maxSkew": MODELLED, "topologyKey": MODELLED, "whenUnsatisfiable": MODELLED,
           "labelSelector": modelled(_TERM_SELECTOR), "minDomains": MODELLED, "nodeTaintsPolicy": MODELLED,
           "nodeAffinityPolicy": MODELLED, "matchLabelKeys": unmodelled(*PLACEMENT)}
_VOLUME = {"name": MODELLED, "*": inert("a volume the kubelet mounts from the pod's own spec or the API: "
                                        "placement and convergence do not depend on it"),
           **{k: unmodelled(*PLACEMENT, reason="volume binding and attachment are not modelled")
              for k in ("persistentVolumeClaim", "ephemeral", "csi")}}
POD_SPEC = {
    "containers": modelled(CONTAINER, items=True), "initContainers": modelled(CONTAINER, items=True),
    "nodeName": MODELLED, "nodeSelector": MODELLED, "affinity": modelled(_AFFINITY), "tolerations": MODELLED,
    "topologySpreadConstraints": modelled(_SPREAD, items=True), "restartPolicy": MODELLED,
    "schedulerName": MODELLED, "serviceAccountName": MODELLED, "serviceAccount": MODELLED,
    "overhead": MODELLED, "hostNetwork": unmodelled("pod-ip-unique", "endpoints-converge",
                                                    reason="the pod's IP as its node's; its host ports are modelled"),
    "volumes": modelled(_VOLUME, items=True),
    "priority": MODELLED, "priorityClassName": MODELLED, "preemptionPolicy": MODELLED,
    "schedulingGates": unmodelled(*PLACEMENT, reason="a gated pod is never scheduled until its gates are removed"),
    "readinessGates": unmodelled("deployment-converges", "endpoints-converge", "service-routing-converges",
                                 reason="readiness conditions set by other controllers"),
    "activeDeadlineSeconds": unmodelled("deployment-converges", "job-completes", reason="time is not modelled"),
    "runtimeClassName": unmodelled(*PLACEMENT, "node-capacity", reason="RuntimeClass overhead and scheduling"),
    "resources": unmodelled(*PLACEMENT, "node-capacity", reason="pod-level resources"),
    "resourceClaims": unmodelled(*PLACEMENT, reason="dynamic resource allocation"),
    "os": unmodelled(*PLACEMENT, reason="the kubelet's check of the node's OS"),
    "terminationGracePeriodSeconds": inert("termination is modelled as a step of unbounded length"),
    "ephemeralContainers": inert("debug containers request no resources"),
    **{k: inert("the containers' environment: " + NO_PROPERTY) for k in (
        "automountServiceAccountToken", "dnsConfig", "dnsPolicy", "enableServiceLinks", "hostAliases", "hostIPC",
        "hostPID", "hostUsers", "hostname", "hostnameOverride", "imagePullSecrets", "securityContext",
        "setHostnameAsFQDN", "shareProcessNamespace", "subdomain")},
    # The pod's DNS name <hostname>.<subdomain> under a Service named subdomain (EndpointSlice hostnames, DNS).
    "hostname": MODELLED, "subdomain": MODELLED,
}


def _container(doc: Doc, c: dict, cp: str) -> Tuple[Container, Resources, Tuple[Tuple[str, str, int], ...], bool]:
    """A container's (Container, requests, host ports, restartable), requests defaulted from limits."""
    name = doc.get(c, "name", cp, str, required=True)
    image = doc.get(c, "image", cp, str, "")
    res = doc.get(c, "resources", cp, dict, {})
    requests = dict(doc.get(res, "requests", f"{cp}.resources", dict, {}))
    for k, v in doc.get(res, "limits", f"{cp}.resources", dict, {}).items():
        requests.setdefault(k, v)       # SetDefaults_Pod: a missing request is the limit of that resource
    r = quantities(doc, requests, f"{cp}.resources.requests", default_pods=0)
    ports = []
    for pp, p in doc.items(c, "ports", cp):
        host = doc.get(p, "hostPort", pp, int, 0)
        if host:
            if not 0 < host < 65536:
                raise doc.error(f"{pp}.hostPort", f"must be between 1 and 65535, got {host}")
            ports.append((doc.get(p, "protocol", pp, str, "TCP"), doc.get(p, "hostIP", pp, str, "") or "0.0.0.0",
                          host))
    return Container(name, image), r, tuple(ports), doc.get(c, "restartPolicy", cp, str, "") == "Always"


def effective_requests(containers: List[Resources], init: List[Tuple[Resources, bool]],
                       overhead: Resources) -> Resources:
    """component-helpers resource.PodRequests: the containers' sum (with the sidecars) against each init
    container (with the sidecars before it), the larger per resource, plus overhead; one pod."""
    total = Resources()
    for r in containers:
        total = total + r
    sidecars = Resources()
    peak = Resources()
    for r, restartable in init:
        if restartable:
            total = total + r
            sidecars = sidecars + r
            need = sidecars
        else:
            need = r + sidecars
        peak = peak.larger(need)
    total = total.larger(peak) + overhead
    return Resources(total.cpu, total.memory, 1, total.scalar)


def pod_spec(doc: Doc, spec: dict, fpath: str) -> PodSpec:
    containers = doc.get(spec, "containers", fpath, list, required=True)
    if not containers:
        raise doc.error(f"{fpath}.containers", "a pod needs at least one container")
    cs, reqs, init, ports = [], [], [], []
    for cp, c in doc.items(spec, "containers", fpath):
        container, r, hp, _ = _container(doc, c, cp)
        if doc.get(c, "restartPolicy", cp, str, ""):
            raise doc.error(f"{cp}.restartPolicy", "only init containers may set restartPolicy")
        cs.append(container)
        reqs.append(r)
        ports += hp
    for cp, c in doc.items(spec, "initContainers", fpath):
        _, r, hp, restartable = _container(doc, c, cp)
        rp = doc.get(c, "restartPolicy", cp, str, "")
        if rp not in ("", "Always"):
            raise doc.error(f"{cp}.restartPolicy", f"expected Always (a sidecar) or nothing, got {short(rp)}")
        init.append((r, restartable))
        ports += hp
    if doc.get(spec, "hostNetwork", fpath, bool, False):
        # SetDefaults_Pod: with hostNetwork, each containerPort is also a host port.
        for cp, c in doc.items(spec, "containers", fpath) + doc.items(spec, "initContainers", fpath):
            for pp, p in doc.items(c, "ports", cp):
                port = doc.get(p, "containerPort", pp, int, 0)
                key = (doc.get(p, "protocol", pp, str, "TCP"), doc.get(p, "hostIP", pp, str, "") or "0.0.0.0", port)
                if port and key not in ports:
                    ports.append(key)
    overhead = quantities(doc, doc.get(spec, "overhead", fpath, dict, {}), f"{fpath}.overhead", default_pods=0)
    tols = []
    for tp, t in doc.items(spec, "tolerations", fpath):
        op = doc.get(t, "operator", tp, str, "Equal")
        if op not in ("Equal", "Exists"):
            raise doc.error(f"{tp}.operator", f"expected Equal or Exists, got {short(op)}")
        eff = doc.get(t, "effect", tp, str, "")
        if eff not in ("", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise doc.error(f"{tp}.effect", f"expected NoSchedule, PreferNoSchedule or NoExecute, got {short(eff)}")
        secs = doc.get(t, "tolerationSeconds", tp, int, None)
        tols.append(Toleration(doc.get(t, "key", tp, str, ""), op, str(t.get("value", "") or ""), eff, secs))
    node_affinity, affinity, anti_affinity = _affinity(doc, spec, fpath)
    policy = doc.get(spec, "restartPolicy", fpath, str, "Always")
    if policy not in ("Always", "OnFailure", "Never"):
        raise doc.error(f"{fpath}.restartPolicy", f"expected Always, OnFailure or Never, got {short(policy)}")
    sa = doc.get(spec, "serviceAccountName", fpath, str, "") or doc.get(spec, "serviceAccount", fpath, str, "")
    priority, preempt = _admitted_priority(doc, spec, fpath)
    return PodSpec(containers=tuple(cs), requests=effective_requests(reqs, init, overhead), restart_policy=policy,
                   node_affinity=node_affinity, anti_affinity=anti_affinity, affinity=affinity,
                   topology_spread=_topology_spread(doc, spec, fpath),
                   node_name=doc.get(spec, "nodeName", fpath, str, ""),
                   scheduler_name=doc.get(spec, "schedulerName", fpath, str, "default-scheduler"),
                   service_account=sa or "default",
                   node_selector=doc.labels(spec, "nodeSelector", fpath),
                   tolerations=tuple(tols), host_ports=tuple(sorted(set(ports))), priority=priority,
                   preempts=preempt, **_dns_identity(doc, spec, fpath))


def _dns_identity(doc: Doc, spec: dict, fpath: str) -> dict:
    """spec.hostname and spec.subdomain (each an RFC 1123 label, as ValidatePodSpec checks them): with a
    Service named `subdomain` in its namespace, the pod is answered as `<hostname>.<subdomain>`."""
    from .manifest import check_name
    out = {}
    for key in ("hostname", "subdomain"):
        value = doc.get(spec, key, fpath, str, "")
        if value:
            check_name(doc, value, f"{fpath}.{key}", "label")
            out[key] = value
    return out


def _admitted_priority(doc: Doc, spec: dict, fpath: str) -> Tuple[int, bool]:
    """The Priority admission plugin: (spec.priority, whether it may preempt) from priorityClassName, or the
    globalDefault class, or 0; a missing class, or a spec.priority other than the class's, is refused."""
    from .priorityclass import SYSTEM_CLASSES
    classes = doc.priority_classes
    name = doc.get(spec, "priorityClassName", fpath, str, "")
    policy = "PreemptLowerPriority"
    if name:
        if name in SYSTEM_CLASSES:
            value = SYSTEM_CLASSES[name]
        elif name in classes:
            value, policy = classes[name].value, classes[name].preemption_policy
        else:
            raise doc.error(f"{fpath}.priorityClassName", f"no PriorityClass with name {name} was found (the "
                            "Priority admission plugin refuses the pod)")
    else:
        default = next((c for c in classes.values() if c.global_default), None)
        value, policy = (default.value, default.preemption_policy) if default else (0, policy)
    given = doc.get(spec, "priority", fpath, int, None)
    if given is not None and given != value:
        raise doc.error(f"{fpath}.priority", f"the integer value of priority ({given}) must not be provided in a "
                        f"pod spec: the Priority admission plugin computed {value} from its PriorityClass")
    policy = doc.get(spec, "preemptionPolicy", fpath, str, policy)
    if policy not in ("PreemptLowerPriority", "Never"):
        raise doc.error(f"{fpath}.preemptionPolicy", f"expected PreemptLowerPriority or Never, got {short(policy)}")
    return value, policy == "PreemptLowerPriority"


def _pod_terms(doc: Doc, aff: dict, key: str, ap: str) -> Tuple[AntiAffinityTerm, ...]:
    block = doc.get(aff, key, ap, dict, {})
    pp = f"{ap}.{key}"
    out = []
    for tp, t in doc.items(block, "requiredDuringSchedulingIgnoredDuringExecution", pp):
        sel = doc.get(t, "labelSelector", tp, dict, {})
        out.append(AntiAffinityTerm(label_selector(doc, sel, f"{tp}.labelSelector"),
                                    doc.get(t, "topologyKey", tp, str, required=True)))
    return tuple(out)


def _affinity(doc: Doc, spec: dict, fpath: str):
    """Required node affinity (nodeSelectorTerms), required pod affinity and anti-affinity; preferred terms
    are scoring, which the model abstracts (every feasible node is explored)."""
    aff = doc.get(spec, "affinity", fpath, dict, {})
    ap = f"{fpath}.affinity"
    terms = []
    na = doc.get(aff, "nodeAffinity", ap, dict, {})
    req = doc.get(na, "requiredDuringSchedulingIgnoredDuringExecution", f"{ap}.nodeAffinity", dict, {})
    rp = f"{ap}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    for tp, term in doc.items(req, "nodeSelectorTerms", rp):
        reqs = [expression(doc, e, ep) for ep, e in doc.items(term, "matchExpressions", tp)]
        for ep, e in doc.items(term, "matchFields", tp):
            if doc.get(e, "key", ep, str, required=True) != "metadata.name":
                raise doc.error(f"{ep}.key", "matchFields supports only metadata.name")
            op = doc.get(e, "operator", ep, str, required=True)
            if op not in ("In", "NotIn"):
                raise doc.error(f"{ep}.operator", f"expected In or NotIn, got {short(op)}")
            values = tuple(str(v) for v in doc.get(e, "values", ep, list, []))
            reqs.append(NodeSelectorRequirement("metadata.name", op, values, field=True))
        terms.append(tuple(reqs))
    return (tuple(terms), _pod_terms(doc, aff, "podAffinity", ap), _pod_terms(doc, aff, "podAntiAffinity", ap))


def _topology_spread(doc: Doc, spec: dict, fpath: str):
    """spec.topologySpreadConstraints.  `ScheduleAnyway` constraints are scoring, which the model abstracts
    (every feasible node is explored), so only `DoNotSchedule` ones are kept."""
    out = []
    for cp, c in doc.items(spec, "topologySpreadConstraints", fpath):
        skew = doc.get(c, "maxSkew", cp, int, required=True)
        if skew < 1:
            raise doc.error(f"{cp}.maxSkew", f"must be at least 1, got {skew}")
        when = doc.get(c, "whenUnsatisfiable", cp, str, required=True)
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            raise doc.error(f"{cp}.whenUnsatisfiable", f"expected DoNotSchedule or ScheduleAnyway, got {short(when)}")
        key = doc.get(c, "topologyKey", cp, str, required=True)
        sel = doc.get(c, "labelSelector", cp, dict, {})
        min_domains = doc.get(c, "minDomains", cp, int, 1)
        if min_domains < 1:
            raise doc.error(f"{cp}.minDomains", f"must be at least 1, got {min_domains}")
        taints = doc.get(c, "nodeTaintsPolicy", cp, str, "Ignore")
        if taints not in ("Honor", "Ignore"):
            raise doc.error(f"{cp}.nodeTaintsPolicy", f"expected Honor or Ignore, got {short(taints)}")
        if doc.get(c, "nodeAffinityPolicy", cp, str, "Honor") != "Honor":
            doc.warn(f"{cp}.nodeAffinityPolicy", "only Honor (the default) is modelled: deployment-converges and "
                     "n-plus-one-capacity may differ from a real cluster")
        if when == "DoNotSchedule":
            out.append(TopologySpreadConstraint(skew, key, label_selector(doc, sel, f"{cp}.labelSelector"),
                                                min_domains, taints == "Honor"))
    return tuple(out)
