"""kube-scheduler: binds each pending pod to a node that passes its filters.

Modelled (pkg/scheduler/framework/plugins): the NodeResourcesFit filter
(requests of the pods assigned to the node, plus this one, within the node's
allocatable cpu, memory and pod count), NodeName/NodeUnschedulable,
NodeAffinity (nodeSelector and required node affinity), InterPodAffinity
(required pod anti-affinity, both ways, by topologyKey), TaintToleration (every NoSchedule and
NoExecute taint of the node tolerated) and PodTopologySpread (DoNotSchedule constraints: maxSkew,
minDomains, nodeTaintsPolicy; a Node whose machine is down still counts as a domain, as it does in
kube-scheduler until the Node object goes).  A pod whose `spec.nodeName` is set
skips the scheduler entirely; a pod is only taken by the scheduler named in
its `schedulerName`.  A bind is one write of the pod's nodeName (the Binding
subresource), which fails if nodeName is already set.

Assume-then-bind (pkg/scheduler/schedule_one.go, internal/cache): the
scheduler's cache is its informer's view plus the pods it has *assumed*: a
pod it has just bound is counted on its node at once, before its informer
shows the bind, and forgotten as assumed once the informer does.  The
assumption lives in the scheduler's memory (the state's expectations, keyed by
the pod's uid and the bind's revision): a crashed replica loses it, and a
replica that takes over the Lease starts without any, from a view that may
lag.  `behaviour.schedulerAssume: false` takes the assumption away, so that a
scheduler on a lagging cache overbooks the node of its own last bind.  The
assume and the Binding call are one step here (the real bind runs
asynchronously; a failed bind forgets the assumption).

Abstracted: scoring.  Any feasible node may be chosen, so every choice the
real scheduler could make is explored, and the choice is the step's outcome,
not part of its fairness instance.
"""

from __future__ import annotations

from functools import partial
from typing import Dict, Iterator, List, Optional


from explorer import Rule, label

from ..objects import Node, Pod, Resources, Taint, evolve, labels_match, node_affinity_matches, tolerated
from ..state import ClusterState
from . import apiserver, leaderelection, preemption

DEFAULT = "default-scheduler"


def requested_on_nodes(pods) -> Dict[str, Resources]:
    """Requests of the pods assigned to each node that still hold resources there."""
    used: Dict[str, Resources] = {}
    for p in pods:
        n = p.spec.node_name
        if n and p.phase not in ("Succeeded", "Failed"):
            used[n] = used[n] + p.spec.requests if n in used else p.spec.requests
    return used


def untolerated_taints(node: Node, pod: Pod, effects=("NoSchedule", "NoExecute")) -> List[str]:
    return [str(t) for t in node.taints if t.effect in effects and not tolerated(pod.spec.tolerations, t)]


def anti_affinity_conflict(node: Node, pod: Pod, nodes, pods) -> bool:
    """InterPodAffinity filter, required anti-affinity both ways: a pod already assigned in the same
    topology domain (same value of the term's topologyKey) matches the pod's term, or the pod matches
    an assigned pod's term."""
    labels_of = {n.meta.name: dict(n.meta.labels) for n in nodes}
    here = dict(node.meta.labels)
    for other in pods:
        m = other.spec.node_name
        if not m or other.phase in ("Succeeded", "Failed") or other.meta.uid == pod.meta.uid or m not in labels_of:
            continue
        for term, subject, target in [(t, other, pod) for t in pod.spec.anti_affinity] + \
                                     [(t, pod, other) for t in other.spec.anti_affinity]:
            key = term.topology_key
            if key in here and labels_of[m].get(key) == here[key] and labels_match(term.selector, subject.meta.labels):
                if target.meta.namespace == subject.meta.namespace:
                    return True
    return False


UNSCHEDULABLE = Taint("node.kubernetes.io/unschedulable", "NoSchedule")


def ports_conflict(wanted, used) -> bool:
    """NodePorts (HostPortInfo.CheckConflict): two host ports clash on one protocol and port when either
    binds 0.0.0.0 or both bind the same address."""
    for proto, ip, port in wanted:
        for p2, ip2, port2 in used:
            if port == port2 and proto == p2 and (ip == ip2 or ip == "0.0.0.0" or ip2 == "0.0.0.0"):
                return True
    return False


def host_ports_on(node_name: str, pods) -> list:
    return [hp for p in pods if p.spec.node_name == node_name and p.phase not in ("Succeeded", "Failed")
            for hp in p.spec.host_ports]


def affinity_unmet(node: Node, pod: Pod, nodes, pods) -> bool:
    """InterPodAffinity filter, required pod affinity (satisfyPodAffinity): the node has every term's
    topologyKey, and in its domain an assigned pod of the namespace matches each term; or no assigned pod in
    the cluster matches any term and the pod matches all its own terms (the first of a group that attracts
    itself)."""
    here = dict(node.meta.labels)
    labels_of = {n.meta.name: dict(n.meta.labels) for n in nodes}
    found_any = False
    all_here = True
    for term in pod.spec.affinity:
        key = term.topology_key
        if key not in here:
            return True
        here_count = 0
        for other in pods:
            m = other.spec.node_name
            if (not m or other.phase in ("Succeeded", "Failed") or other.meta.uid == pod.meta.uid
                    or m not in labels_of or other.meta.namespace != pod.meta.namespace
                    or not labels_match(term.selector, other.meta.labels) or key not in labels_of[m]):
                continue
            found_any = True
            if labels_of[m][key] == here[key]:
                here_count += 1
        if here_count == 0:
            all_here = False
    if all_here:
        return False
    return found_any or not all(labels_match(t.selector, pod.meta.labels) for t in pod.spec.affinity)


def spread_prefilter(pod: Pod, nodes, pods):
    """PodTopologySpread's PreFilter: for each DoNotSchedule constraint, the matching pods per topology domain
    and the global minimum.  Domains come from the nodes that carry every constraint's topologyKey and pass
    the pod's node affinity and nodeSelector (nodeAffinityPolicy Honor), and, with nodeTaintsPolicy Honor,
    whose NoSchedule/NoExecute taints it tolerates; a Node whose machine is down still counts.  Counted pods
    are assigned, non-terminal, not terminating, in the pod's namespace (countPodsMatchSelector)."""
    keys = [c.topology_key for c in pod.spec.topology_spread]
    out = []
    for c in pod.spec.topology_spread:
        domain_of = {}
        for n in nodes:
            labels = dict(n.meta.labels)
            if not all(k in labels for k in keys):
                continue
            if not (labels_match(pod.spec.node_selector, n.meta.labels)
                    and node_affinity_matches(pod.spec.node_affinity, n.meta.labels, n.meta.name)):
                continue
            if c.honor_taints and untolerated_taints(n, pod):
                continue
            domain_of[n.meta.name] = labels[c.topology_key]
        counts = dict.fromkeys(domain_of.values(), 0)
        for p in pods:
            d = domain_of.get(p.spec.node_name)
            if (d is not None and not p.meta.deleting and p.phase not in ("Succeeded", "Failed")
                    and p.meta.namespace == pod.meta.namespace and labels_match(c.selector, p.meta.labels)):
                counts[d] += 1
        if len(counts) < c.min_domains:
            low = 0
        else:
            low = min(counts.values()) if counts else None
        out.append((counts, low))
    return out


def spread_failure(node: Node, pod: Pod, prefilter) -> Optional[str]:
    """PodTopologySpread's Filter: existing matching pods in the node's domain, plus one if the pod matches
    its own selector, minus the global minimum, must not exceed maxSkew."""
    labels = dict(node.meta.labels)
    for c, (counts, low) in zip(pod.spec.topology_spread, prefilter):
        if c.topology_key not in labels:
            return "node(s) didn't match pod topology spread constraints (missing required label)"
        if low is None:
            continue
        own = 1 if labels_match(c.selector, pod.meta.labels) else 0
        if counts.get(labels[c.topology_key], 0) + own - low > c.max_skew:
            return "node(s) didn't match pod topology spread constraints"
    return None


def filter_failure(node: Node, pod: Pod, used: Resources, nodes=(), pods=(), prefilter=None) -> Optional[str]:
    """The first of the scheduler's filters that rejects `node` for `pod`, in kube-scheduler's words
    (as its FailedScheduling event reports them), or None when the node is feasible.  `used` is the
    requests already on the node; `prefilter` is `spread_prefilter(pod, nodes, pods)`, computed once per pod."""
    if node.meta.deleting or (node.unschedulable and not tolerated(pod.spec.tolerations, UNSCHEDULABLE)):
        return "node(s) were unschedulable"
    if not labels_match(pod.spec.node_selector, node.meta.labels) or \
            not node_affinity_matches(pod.spec.node_affinity, node.meta.labels, node.meta.name):
        return "node(s) didn't match Pod's node affinity/selector"
    if pod.spec.anti_affinity or any(p.spec.anti_affinity for p in pods):
        if anti_affinity_conflict(node, pod, nodes, pods):
            return "node(s) didn't match pod anti-affinity rules"
    if pod.spec.affinity and affinity_unmet(node, pod, nodes, pods):
        return "node(s) didn't match pod affinity rules"
    taints = untolerated_taints(node, pod)
    if taints:
        return f"node(s) had untolerated taint {taints[0]}"
    if pod.spec.topology_spread:
        why = spread_failure(node, pod, prefilter if prefilter is not None else spread_prefilter(pod, nodes, pods))
        if why:
            return why
    if pod.spec.host_ports and ports_conflict(pod.spec.host_ports, host_ports_on(node.meta.name, pods)):
        return "node(s) didn't have free ports for the requested pod ports"
    short = (used + pod.spec.requests).short_of(node.allocatable)
    if short:
        return "Too many pods" if short == "pods" else f"Insufficient {short}"
    return None


def failure_among(node: Node, pod: Pod, nodes, pods, nominated=None) -> Optional[str]:
    """filter_failure with the requests on `node` counted from `pods` (plus `nominated`: node -> the requests
    of pods nominated there), for a what-if set of pods (preemption's dry run, preemption-justified)."""
    used = requested_on_nodes(pods).get(node.meta.name, Resources())
    if nominated and node.meta.name in nominated:
        used = used + nominated[node.meta.name]
    return filter_failure(node, pod, used, nodes, pods,
                          spread_prefilter(pod, nodes, pods) if pod.spec.topology_spread else None)


def feasible(node: Node, pod: Pod, used: Resources, nodes=(), pods=(), prefilter=None) -> bool:
    """Does `node` pass the filters for `pod`, given the requests already on it (and the pods assigned)?"""
    return filter_failure(node, pod, used, nodes, pods, prefilter) is None


def unschedulable_message(pod: Pod, nodes, pods) -> str:
    """kube-scheduler's FailedScheduling message: `0/3 nodes are available: 2 Insufficient cpu, 1 node(s) ...`."""
    used = requested_on_nodes(pods)
    pre = spread_prefilter(pod, nodes, pods) if pod.spec.topology_spread else None
    reasons: Dict[str, int] = {}
    ok = 0
    for n in nodes:
        why = filter_failure(n, pod, used.get(n.meta.name, Resources()), nodes, pods, pre)
        if why is None:
            ok += 1
        else:
            reasons[why] = reasons.get(why, 0) + 1
    detail = ", ".join(f"{v} {k}" for k, v in sorted(reasons.items()))
    return f"{ok}/{len(nodes)} nodes are available" + (f": {detail}" if detail else "")


def scheduler_cache(s: ClusterState, actor: str, view):
    """The pods in `actor`'s scheduler cache: its view, with the pods it assumed (bound, but not yet seen
    bound by its informer) placed on their nodes as etcd has them."""
    assumed = {u for c, u, rev in s.expectations if c == actor and rev > view.revision}
    if not assumed:
        return view.pods
    now = {p.meta.uid: p for p in s.store.pods if p.meta.uid in assumed}
    pods = [now.get(p.meta.uid, p) if p.meta.uid in assumed else p for p in view.pods]
    seen = {p.meta.uid for p in view.pods}
    return pods + [p for u, p in sorted(now.items()) if u not in seen]


def bind_rule(name: str, assume: bool = True) -> Rule:
    """The `bind` rule of the scheduler called `name` (its schedulerName)."""

    component = "kube-scheduler" if name == DEFAULT else name  # its Lease's name

    def bind(s: ClusterState) -> Iterator:
        """The scheduler binds a pending pod to a node that passes its filters."""
        for one_pod in by_pod(s):
            yield from one_pod()

    def by_pod(s: ClusterState) -> list:
        """The bind steps grouped by pending pod (one fairness instance each), computed on demand."""
        out = []
        for actor, by, view in leaderelection.acting_views(s, component):
            pods = scheduler_cache(s, actor, view) if assume else view.pods
            pending = [p for p in pods
                       if not p.spec.node_name and not p.meta.deleting and p.phase == "Pending"
                       and p.spec.scheduler_name == name]
            if pending:
                used = requested_on_nodes(pods)
                out += [partial(_bind_pod, s, actor, by, view.nodes, pods, pod, used) for pod in pending]
        return out

    def _bind_pod(s: ClusterState, actor: str, by, nodes, pods, pod: Pod, used) -> Iterator:
        args = (("pod", pod.meta.key),) + by
        zero = Resources()
        # Pods nominated to a node, of priority at least this pod's, count there (preemption.py).
        nominated = preemption.nominated_requests(pod, pods) if any(p.nominated for p in pods) else {}

        def room(node):
            u = used.get(node.meta.name, zero)
            return u + nominated[node.meta.name] if node.meta.name in nominated else u

        pre = spread_prefilter(pod, nodes, pods) if pod.spec.topology_spread else None
        targets = nodes
        if pod.nominated:   # evaluateNominatedNode: the nominated node alone, when it passes the filters
            mine = [n for n in nodes if n.meta.name == pod.nominated]
            if mine and feasible(mine[0], pod, room(mine[0]), nodes, pods, pre):
                targets = mine
        fits_somewhere = False
        for node in targets:
            if feasible(node, pod, room(node), nodes, pods, pre):
                fits_somewhere = True
                bound = evolve(pod, spec=evolve(pod.spec, node_name=node.meta.name), nominated="")
                nxt = apiserver.update(s, bound, pod.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    if assume:
                        nxt = nxt.expect(actor, pod.meta.uid, nxt.store.revision)
                    yield label(name, "bind", args, (("node", node.meta.name),)), nxt
        if not fits_somewhere and pod.spec.preempts and any(
                p.spec.priority < pod.spec.priority and p.spec.node_name for p in pods):

            def failure(node, p, others):
                return failure_among(node, p, nodes, others, nominated)

            yield from preemption.steps(s, name, args, by, nodes, pods, pod, label, failure)

    return Rule(f"{name}.bind", bind, fair=True, doc=bind.__doc__, groups=by_pod)


def rules(scheduler_names=(DEFAULT,), assume: bool = True) -> List[Rule]:
    return [bind_rule(n, assume) for n in scheduler_names]
