"""Safety properties: what must never happen in any reachable state or step.

Each builder's docstring is the property's description in `kubecheck
properties`; its first paragraph is the one-line summary.
"""

from __future__ import annotations

from typing import Optional

from explorer import ActionProperty, Invariant
from model.components.replicaset import owned_active_pods
from model.components.scheduler import untolerated_taints
from model.objects import Resources
from model.quantity import format_cpu, format_memory
from model.scenario import Scenario
from model.state import ClusterState

from model.kinds import KINDS, controllers_for, makes_pods, pod_specs

from .catalog import register


def has_pods(sc: Scenario) -> Optional[str]:
    if makes_pods(sc.objects) or any(KINDS[c.kind].makes_pods for c in sc.changes):
        return None
    return "no pods, and no controller that makes them"


def has_replicasets(sc: Scenario) -> Optional[str]:
    if {"replicaset", "replicationcontroller"} & controllers_for([o.kind for o in sc.objects] + [c.kind for c in sc.changes]):
        return None
    return "no ReplicaSet, Deployment or ReplicationController"


@register("node-capacity", "safety", has_pods)
def node_capacity(sc: Scenario):
    """The pods a kubelet has admitted on a node never request more than the node's allocatable cpu, memory or pod count.

    Seed document: kube-scheduler ("resource requirements") and kubelet.  The
    scheduler's Fit filter and the kubelet's admission both guard this; it
    fails when a stale or second scheduler overbooks a node and the kubelet
    admits anyway.
    """
    alloc = {n.meta.name: n.allocatable for n in sc.nodes}

    def check(s: ClusterState) -> Optional[str]:
        for h in s.hosts:
            if not h.pods:
                continue
            used = Resources()
            for rp in h.pods:
                used = used + rp.requests
            cap = alloc[h.name]
            if used.cpu > cap.cpu:
                return f"node {h.name} holds {format_cpu(used.cpu)} cpu of requests, allocatable {format_cpu(cap.cpu)}"
            if used.memory > cap.memory:
                return (f"node {h.name} holds {format_memory(used.memory)} memory of requests, "
                        f"allocatable {format_memory(cap.memory)}")
            if used.pods > cap.pods:
                return f"node {h.name} runs {used.pods} pods, allocatable {cap.pods}"
        return None

    return Invariant("node-capacity", check, node_capacity.__doc__)


@register("taints-respected", "safety", has_pods)
def taints_respected(sc: Scenario):
    """The scheduler never binds a pod to a node with a NoSchedule taint the pod does not tolerate.

    Seed document: kube-scheduler ("hardware/software/policy constraints").
    Checked on every bind step, against the Node as stored when the bind is
    made.
    """

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        pod_key = dict(lab[2]).get("pod")
        node_name = dict(lab[3]).get("node")
        ns, name = pod_key.split("/", 1)
        pod = s.store.get("Pod", ns, name)
        node = s.store.get("Node", "", node_name)
        if pod is None or node is None:
            return None
        bad = untolerated_taints(node, pod, effects=("NoSchedule",))
        if bad:
            return f"{lab[0]} bound pod {pod_key} to node {node_name}, whose taint {bad[0]} it does not tolerate"
        return None

    def check_binds(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        return check(s, lab, t) if lab[1] == "bind" and lab[0] != "leaderelection" and "node" in dict(lab[3]) else None

    from model.components.scheduler import DEFAULT
    schedulers = {DEFAULT} | {spec.scheduler_name for spec in _pod_specs(sc)}
    return ActionProperty("taints-respected", check_binds, taints_respected.__doc__,
                          frozenset((name, "bind") for name in sorted(schedulers)))


@register("pod-single-node", "safety", has_pods)
def pod_single_node(sc: Scenario):
    """No two machines run containers of pods with the same namespace/name at once.

    Seed document: kubelet ("ensures the containers described in PodSpecs are
    running").  Fails when a kubelet acts on a stale view of a pod that was
    moved (kubernetes issue 59848).
    """

    def check(s: ClusterState) -> Optional[str]:
        where = {}
        for h in s.hosts:
            for rp in h.pods:
                if rp.key in where and where[rp.key] != h.name:
                    return f"pod {rp.key} has containers running on {where[rp.key]} and on {h.name}"
                where[rp.key] = h.name
        return None

    return Invariant("pod-single-node", check, pod_single_node.__doc__)


@register("replicas-bounded", "safety", has_replicasets)
def replicas_bounded(sc: Scenario):
    """A ReplicaSet controller never creates a pod while the active pods it owns, as stored in etcd, already number spec.replicas or more.

    Seed document: kube-controller-manager (controllers acting on `replicas`).
    Checked on every create step against etcd's state, not the controller's
    view: it fails when a controller acts on a stale cache without
    expectations.  The ReplicationController controller, the same code
    (model/components/replicaset.py), is checked the same way.
    """

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        args = dict(lab[2])
        kind = "ReplicaSet" if "rs" in args else "ReplicationController"
        ns, name = (args["rs"] if "rs" in args else args["rc"]).split("/", 1)
        rs = s.store.get(kind, ns, name)
        if rs is None:
            return None
        active = len(owned_active_pods(s.store, rs))
        if active >= rs.replicas:
            return (f"{kind} {rs.meta.key} created a pod while it already owned {active} active pods "
                    f"in etcd, spec.replicas {rs.replicas}")
        return None

    return ActionProperty("replicas-bounded", check, replicas_bounded.__doc__,
                          frozenset({("replicaset", "create_pod"), ("replicationcontroller", "create_pod")}))


def stale_scheduler_views(sc: Scenario) -> Optional[str]:
    if sc.max_staleness == 0:
        return "check.maxStaleness is 0: every scheduler reads a current view, so each bind fits what etcd holds"
    if not _pod_specs(sc):
        return "no pods to schedule"
    return None


def _pod_specs(sc: Scenario):
    """The pod specs of the scenario's workloads and of the objects its changes apply."""
    objs = list(sc.objects) + [c.obj for c in sc.changes if c.op == "apply" and c.obj is not None]
    return pod_specs(objs)


@register("scheduler-binds-fit", "safety", stale_scheduler_views)
def scheduler_binds_fit(sc: Scenario):
    """A scheduler never binds a pod to a node whose assigned pods in etcd, this one included, request more than its allocatable cpu, memory or pod count.

    Seed document: kube-scheduler ("selects a node for newly created pods").
    Checked on every bind against etcd, not the scheduler's cache.  It holds
    for one scheduler that assumes its binds (the assume-then-bind cache); it
    fails where the cache misses a bind: two schedulers sharing nodes, a
    scheduler without the assumption (`behaviour.schedulerAssume: false`),
    or a replica that takes over (or restarts) from a lagging cache with its
    predecessor's assumptions lost.  The kubelet's admission then rejects the
    pod (`node-capacity` still holds).
    """
    from model.components.scheduler import requested_on_nodes

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        node_name = dict(lab[3])["node"]
        node = t.store.get("Node", "", node_name)
        if node is None:
            return None
        used = requested_on_nodes(t.store.pods).get(node_name)
        if used is None or used.fits_in(node.allocatable):
            return None
        pod = dict(lab[2])["pod"]
        cap = node.allocatable
        return (f"{lab[0]} bound {pod} to {node_name}, where the pods in etcd then requested cpu "
                f"{format_cpu(used.cpu)}, memory {format_memory(used.memory)}, {used.pods} pods, of allocatable "
                f"cpu {format_cpu(cap.cpu)}, memory {format_memory(cap.memory)}, {cap.pods} pods")

    names = {"default-scheduler"} | {spec.scheduler_name for spec in _pod_specs(sc)}
    return ActionProperty("scheduler-binds-fit", check, scheduler_binds_fit.__doc__,
                          frozenset((n, "bind") for n in names))


def has_priorities(sc: Scenario) -> Optional[str]:
    specs = _pod_specs(sc)
    if len({spec.priority for spec in specs}) > 1 and any(spec.preempts for spec in specs):
        return None
    return "every pod has one priority (no PriorityClass sets them apart): nothing can preempt"


@register("preemption-justified", "safety", has_priorities)
def preemption_justified(sc: Scenario):
    """A scheduler preempts only pods of strictly lower priority, only when the preemptor fits no node, and only victims whose removal makes it fit.

    Seed document: kube-scheduler ("selects a node for newly created pods"),
    with its DefaultPreemption plugin (model/components/preemption.py).
    Checked on every preemption step against etcd, not the scheduler's
    cache: every victim's priority is below the preemptor's; no node in etcd
    then passes the preemptor's filters (else the deletions were needless: a
    scheduler acting on a stale view, or one that ignores a node); and with
    the victims gone, the nominated node passes them.
    """
    from model.components.scheduler import failure_among as fails

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        args, out = dict(lab[2]), dict(lab[3])
        ns, _, name = args["pod"].partition("/")
        pod = s.store.get("Pod", ns, name)
        if pod is None:
            return None
        victims = [s.store.get("Pod", *v.split("/", 1)) for v in out["victims"].split(",") if v]
        victims = [v for v in victims if v is not None]
        for v in victims:
            if v.spec.priority >= pod.spec.priority:
                return (f"{lab[0]} preempted {v.meta.key} (priority {v.spec.priority}) for {pod.meta.key} "
                        f"(priority {pod.spec.priority}): a victim must have a lower priority")
        nodes, pods = s.store.nodes, list(s.store.pods)
        for n in nodes:
            if fails(n, pod, nodes, pods) is None:
                return (f"{lab[0]} preempted {', '.join(v.meta.key for v in victims)} for {pod.meta.key} on "
                        f"{out['node']} although {n.meta.name} had room for it in etcd")
        node = s.store.get("Node", "", out["node"])
        gone = {v.meta.uid for v in victims}
        if node is not None:
            why = fails(node, pod, nodes, [p for p in pods if p.meta.uid not in gone])
            if why is not None:
                return (f"{lab[0]} preempted {', '.join(v.meta.key for v in victims)} for {pod.meta.key}, yet "
                        f"without them {out['node']} still fails its filters ({why})")
        return None

    names = {"default-scheduler"} | {spec.scheduler_name for spec in _pod_specs(sc)}
    return ActionProperty("preemption-justified", check, preemption_justified.__doc__,
                          frozenset((n, "preempt") for n in names))


def leader_elected(sc: Scenario) -> Optional[str]:
    cp = sc.control_plane
    if cp.controller_managers > 1 or cp.schedulers > 1:
        return None
    return "one controller-manager and one scheduler: no leader election among instances"


@register("single-leader", "safety", leader_elected)
def single_leader(sc: Scenario):
    """No replica makes a leader-only write while the Lease names another holder.

    Seed document: kube-controller-manager and kube-scheduler replicas, of
    which only the elected leader's control loops may act.  Checked on every
    step of a controller or scheduler replica (its label names it, `by=`),
    against the Lease as stored in etcd when the write is made.  Fails where
    nothing fences a replica that still believes it leads: a paused leader
    resuming after another took over, or clocks that drift past the lease
    timings (kubernetes issues 89466, 66150).
    """
    from model.components.leaderelection import LEASE_NAMESPACE

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        if lab[0] == "leaderelection":
            return None
        by = dict(lab[2]).get("by")
        if by is None:
            return None
        proc = s.process(by)
        lease = s.store.get("Lease", LEASE_NAMESPACE, proc.component) if proc else None
        if lease is not None and lease.holder != by:
            from explorer import render_label
            return (f"{by} made a leader-only write, {render_label(lab)}, while the Lease "
                    f"{LEASE_NAMESPACE}/{proc.component} names {lease.holder or 'no holder'}")
        return None

    return ActionProperty("single-leader", check, single_leader.__doc__)


def views_can_be_stale(sc: Scenario) -> Optional[str]:
    if sc.max_staleness > 0:
        return None
    return "check.maxStaleness is 0: every view is current, none can go back in time"


@register("no-time-travel", "safety", views_can_be_stale)
def no_time_travel(sc: Scenario):
    """No component, across its restarts, acts on a view of the cluster older than a view it already acted on.

    Seed document: kube-apiserver "designed to scale horizontally" with
    several instances, each serving reads from its own watch cache.  A
    component that restarts, or reconnects, onto an apiserver whose cache
    lags sees the past again (Sieve's "time travel"; kubernetes issue 59848).
    Checked on every step of a controller, scheduler or kubelet: the revision
    of the view it acts on against the newest it acted on before.
    """
    from model.components import apiserver
    from model.observation import client_of, watermark

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        client = client_of(lab)
        if client is None:
            return None
        view = apiserver.view(s, client)
        seen = watermark(s, client)
        if view is not None and view.revision < seen:
            from explorer import render_label
            return (f"{client} acted ({render_label(lab)}) on a view at revision {view.revision}, "
                    f"older than revision {seen} it had already acted on")
        return None

    return ActionProperty("no-time-travel", check, no_time_travel.__doc__)


def etcd_members_can_stop(sc: Scenario) -> Optional[str]:
    from model.topology import etcd_members
    members = etcd_members(sc)
    kinds = set(sc.fault_kinds) if sc.fault_budget > 0 else set()
    stoppable = "etcd-member-crash" in kinds or ("zone-outage" in kinds and any(m.zone for m in members)) or (
        {"node-crash", "vm-deleted"} & kinds and any(m.node and m.node != "control-plane" for m in members))
    if len(members) > 1 and stoppable:
        return None
    return "no fault can stop an etcd member of several" if len(members) > 1 else "a single etcd member"


@register("etcd-no-lost-writes", "safety", etcd_members_can_stop)
def etcd_no_lost_writes(sc: Scenario):
    """A write acknowledged to a client stays in etcd, or is superseded by a later write.

    Seed document: etcd, "consistent and highly-available key value store".
    Raft acknowledges a write once a majority of members has it in its log;
    any later majority then includes a member that has it, and that member's
    log wins the next election.  Checked in every state where etcd serves (a
    quorum is up): some member up holds the last acknowledged write.  Fails
    when writes are acknowledged by fewer than a majority.
    """

    def check(s: ClusterState) -> Optional[str]:
        if not s.etcd_quorum():
            return None
        if any(c and u for c, u in zip(s.etcd_current, s.etcd_up)):
            return None
        up = [f"etcd-{i + 1}" for i, u in enumerate(s.etcd_up) if u]
        holders = [f"etcd-{i + 1}" for i, c in enumerate(s.etcd_current) if c]
        return (f"etcd serves with {', '.join(up)} up, none of which holds the last acknowledged write "
                f"(only {', '.join(holders) or 'no member'} had it)")

    return Invariant("etcd-no-lost-writes", check, etcd_no_lost_writes.__doc__)


def has_rollouts(sc: Scenario) -> Optional[str]:
    if any(c.kind == "Deployment" and c.op == "apply" for c in sc.changes) and any(
            o.kind == "Deployment" for o in sc.objects):
        return None
    return "no Deployment whose template a change rolls out"


def _deployment_pods(store, d):
    from model.components.deployment import owned_replicasets
    uids = {rs.meta.uid for rs in owned_replicasets(store, d)}
    return [p for p in store.pods if p.meta.controller_uid() in uids]


@register("rollout-within-surge", "safety", has_rollouts)
def rollout_within_surge(sc: Scenario):
    """A Deployment never has more than replicas + maxSurge pods that are not terminating.

    Seed document: kube-controller-manager, the Deployment's rolling update
    (pkg/controller/deployment/rolling.go).  Counted over the pods of all the
    Deployment's ReplicaSets, as stored in etcd: active pods (not being
    deleted, not Succeeded or Failed).
    """
    from model.components.deployment import resolve

    def check(s: ClusterState) -> Optional[str]:
        for d in s.store.deployments:
            limit = d.replicas + resolve(d.rolling.max_surge, d.replicas, True)
            active = [p for p in _deployment_pods(s.store, d) if p.active]
            if len(active) > limit:
                return (f"Deployment {d.meta.key} has {len(active)} pods not terminating, more than "
                        f"replicas {d.replicas} + maxSurge {d.rolling.max_surge} = {limit}")
        return None

    return Invariant("rollout-within-surge", check, rollout_within_surge.__doc__)


@register("rollout-availability", "safety", has_rollouts)
def rollout_availability(sc: Scenario):
    """After a template change made while fully available, a Deployment never has fewer than replicas - maxUnavailable available pods, unless a fault took them.

    Seed document: kube-controller-manager, the Deployment's rolling update.
    Available: Ready and not terminating (minReadySeconds 0).  Checked in the
    states after such a change (a history mark set by the change, cleared by
    a later scale of the Deployment, which sets a new size rather than rolls
    out) in which no fault has happened yet.
    """
    from model.components.deployment import resolve

    def check(s: ClusterState) -> Optional[str]:
        if not s.marks or s.faults_left != sc.fault_budget:
            return None
        for d in s.store.deployments:
            if f"rollout-from-available:{d.meta.key}" not in s.marks:
                continue
            floor = d.replicas - resolve(d.rolling.max_unavailable, d.replicas, False)
            ready = sum(1 for p in _deployment_pods(s.store, d) if p.active and p.ready)
            if ready < floor:
                return (f"Deployment {d.meta.key} has {ready} available pods during its rollout, fewer than "
                        f"replicas {d.replicas} - maxUnavailable {d.rolling.max_unavailable} = {floor}")
        return None

    return Invariant("rollout-availability", check, rollout_availability.__doc__)


def has_rollout_waits(sc: Scenario) -> Optional[str]:
    if sc.reads_deployment_status:
        return None
    return "no rolloutStatus change: nothing waits on a Deployment's status"


@register("rollout-status-current", "safety", has_rollout_waits)
def rollout_status_current(sc: Scenario):
    """A rollout wait reports success only for the Deployment's current spec: when it returns, a ReplicaSet of the current pod template exists in etcd, scaled to spec.replicas.

    Seed document: kube-controller-manager (the Deployment controller reports
    status.observedGeneration) and the user's pipeline (`kubectl rollout
    status`, a deploy tool's wait, the next step that trusts it).  Checked on
    every step at which a `rolloutStatus` change returns, against etcd.  It
    fails where the wait reads the status counts without comparing
    status.observedGeneration with metadata.generation: right after a new
    template is applied, the previous rollout's complete counts still stand
    (Shopify/krane PR 325, "an instant false positive success").
    """
    from model.components.deployment import new_replicaset_of

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        ch = sc.changes[dict(lab[2])["index"] - 1]
        if ch.op != "rolloutStatus" or "failed" in dict(lab[3]):   # a failed wait reports no success
            return None
        d = s.store.get("Deployment", ch.namespace, ch.name)
        if d is None:
            return None
        new = new_replicaset_of(s.store, d)
        if new is None:
            return (f"rollout status returned for Deployment {d.meta.key} (generation {d.meta.generation}, status "
                    f"observedGeneration {d.status.observed_generation}) before any ReplicaSet of its current "
                    f"template existed")
        if new.replicas != d.replicas:
            return (f"rollout status returned for Deployment {d.meta.key} while the ReplicaSet of its current "
                    f"template, {new.meta.name}, had spec.replicas {new.replicas} of {d.replicas}")
        return None

    return ActionProperty("rollout-status-current", check, rollout_status_current.__doc__,
                          frozenset({("user", "change")}))


def has_autoscalers(sc: Scenario) -> Optional[str]:
    if any(o.kind == "HorizontalPodAutoscaler" for o in sc.objects) or any(
            c.kind == "HorizontalPodAutoscaler" and c.op == "apply" for c in sc.changes):
        return None
    return "no HorizontalPodAutoscaler"


@register("hpa-within-bounds", "safety", has_autoscalers)
def hpa_within_bounds(sc: Scenario):
    """A HorizontalPodAutoscaler's target has its replicas set only by the autoscaler, and only within minReplicas..maxReplicas.

    Seed document: kube-controller-manager's control loops (the horizontal
    pod autoscaler) and the user's pipeline.  Checked on every step that
    changes the spec.replicas of an object a HorizontalPodAutoscaler in etcd
    targets: the autoscaler's own writes (through the scale subresource) must
    stay within its bounds; any other writer's change undoes the autoscaler's
    decision for the load it measured.  That is how `kubectl apply` fights an
    autoscaler: a manifest that carries `replicas` resets them on every apply
    (kubernetes issue 66385), and removing `replicas` from a manifest that
    had them resets the Deployment to 1 (67135, the three-way merge deletes
    the field); the pods so removed are availability lost under the load
    (the diagnosis counts them).  The fix: no `replicas` in the manifest from
    the start (or taken out of the last-applied configuration first).
    """
    from model.components.podautoscaler import load_of

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        for hpa in sorted(t.store.horizontalpodautoscalers, key=lambda h: h.meta.key):
            before = s.store.get(hpa.target_kind, hpa.meta.namespace, hpa.target_name)
            after = t.store.get(hpa.target_kind, hpa.meta.namespace, hpa.target_name)
            if before is None or after is None or before.replicas == after.replicas:
                continue
            bounds = f"{hpa.min_replicas}..{hpa.max_replicas}"
            target = f"{hpa.target_kind} {after.meta.key}"
            if lab[0] == "podautoscaler":
                if not hpa.min_replicas <= after.replicas <= hpa.max_replicas:
                    return (f"HorizontalPodAutoscaler {hpa.meta.key} set {target} to {after.replicas} replicas, "
                            f"outside {bounds}")
                continue
            who = dict(lab[3]).get("what", f"{lab[0]}.{lab[1]}")
            lost = f": {before.replicas - after.replicas} of its pods are deleted" if after.replicas < before.replicas else ""
            return (f"{who} set {target} from {before.replicas} to {after.replicas} replicas while "
                    f"HorizontalPodAutoscaler {hpa.meta.key} manages it ({bounds}, {load_of(s, hpa.meta.key)} load)"
                    f"{lost}")
        return None

    return ActionProperty("hpa-within-bounds", check, hpa_within_bounds.__doc__,
                          frozenset({("user", "change"), ("podautoscaler", "scale")}))


def has_jobs(sc: Scenario) -> Optional[str]:
    if any(o.kind == "Job" for o in sc.objects) or any(c.kind == "Job" for c in sc.changes):
        return None
    if any(o.kind == "CronJob" for o in sc.objects) or any(c.kind == "CronJob" for c in sc.changes):
        return None   # the Jobs its controller creates
    return "no Job"


@register("job-completions-not-exceeded", "safety", has_jobs)
def job_completions_not_exceeded(sc: Scenario):
    """A Job never has more succeeded pods than spec.completions.

    Seed document: kube-controller-manager, the Job controller ("creates Pods
    to run those tasks to completion").  Counted over the Job's whole life (a
    history variable incremented when a pod of the Job succeeds), since a
    succeeded pod may be removed afterwards: that is how kubernetes issues
    78721 and 91235 ran Jobs more often than asked.
    """

    def check(s: ClusterState) -> Optional[str]:
        done = dict(s.job_successes)
        for job in s.store.jobs:
            n = done.get(job.meta.uid, 0)
            if n > job.completions:
                return (f"Job {job.meta.key} has had more than {job.completions} pods succeed "
                        f"(spec.completions {job.completions})")
        return None

    return Invariant("job-completions-not-exceeded", check, job_completions_not_exceeded.__doc__)


def has_budgets_and_drains(sc: Scenario) -> Optional[str]:
    if not any(o.kind == "PodDisruptionBudget" for o in sc.objects) and not any(
            c.kind == "PodDisruptionBudget" for c in sc.changes):
        return "no PodDisruptionBudget"
    if not any(c.op == "drain" for c in sc.changes):
        return "no drain: nothing evicts through the Eviction API"
    return None


@register("disruption-budget-respected", "safety", has_budgets_and_drains)
def disruption_budget_respected(sc: Scenario):
    """No eviction through the Eviction API takes the healthy pods a PodDisruptionBudget selects below what the budget, as the disruption controller last computed it, allows.

    Seed document: kube-controller-manager (the disruption controller) and
    kube-apiserver (the Eviction subresource that kubectl drain calls).
    Checked on every granted eviction of a pod that is healthy (Ready and not
    terminating, in etcd) against each budget that selects it: the budget's
    status must have been computed for its current spec
    (status.observedGeneration), and the healthy pods the controller last
    counted (status.currentHealthy), less the healthy pods evicted since
    that count (this one included; a history variable the eviction steps
    keep and the controller's status write clears), must be at least
    status.desiredHealthy.  Involuntary disruptions are not counted against
    it: a node that crashes after the controller's last count takes its pods
    below the budget without any eviction, and an eviction the stale count
    still allows is granted, as on a real cluster (a PodDisruptionBudget does
    not protect against faults).  It fails where the eviction ignores the
    budget, does not spend it, or acts on a status not yet computed for the
    budget's spec.
    """
    from model.components.disruption import healthy, selects
    from model.components.eviction import granted_since_sync

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        key = dict(lab[2]).get("pod")
        if key is None:
            return None
        ns, name = key.split("/", 1)
        pod = s.store.get("Pod", ns, name)
        if pod is None or not healthy(pod):
            return None
        for b in s.store.poddisruptionbudgets:
            if not selects(b, pod):
                continue
            st = b.status
            if st.observed_generation < b.meta.generation:
                return (f"eviction of healthy pod {key} granted while PodDisruptionBudget {b.meta.key}'s status "
                        f"was for generation {st.observed_generation}, the budget at {b.meta.generation}")
            evicted = granted_since_sync(s, b) + 1
            if st.current_healthy - evicted < st.desired_healthy:
                return (f"eviction of healthy pod {key} granted: PodDisruptionBudget {b.meta.key} counted "
                        f"{st.current_healthy} healthy pods, {evicted} evicted since, and needs "
                        f"{st.desired_healthy} (disruptionsAllowed {st.disruptions_allowed})")
        return None

    return ActionProperty("disruption-budget-respected", check, disruption_budget_respected.__doc__,
                          frozenset({("user", "evict")}))


def has_concurrency_policy(sc: Scenario) -> Optional[str]:
    objs = list(sc.objects) + [c.obj for c in sc.changes if c.obj is not None]
    if any(o.kind == "CronJob" and o.concurrency_policy in ("Forbid", "Replace") for o in objs):
        return None
    return "no CronJob with concurrencyPolicy Forbid or Replace (Allow lets its Jobs run at once)"


def cronjob_running_jobs(s: ClusterState, cj) -> dict:
    """The Jobs of CronJob `cj` whose pods have containers running on a machine that is up: Job name -> the
    machines, one per pod (pods are not named: their names follow uids, which the canonical form renumbers).
    A Job already deleted counts by the name its controller gave it (`<cronjob>-<tick>`, read from its pod's
    ownerReference, or from the prefix its pod's name was generated from once the pod object is gone)."""
    from model.components.cronjob import controlled_by, tick_of
    out: dict = {}
    for h in s.hosts:
        if not h.up:
            continue
        for rp in h.pods:
            if rp.namespace != cj.meta.namespace:
                continue
            pod = s.store.by_uid("Pod", rp.uid)
            refs = [r for r in pod.meta.owner_references if r.controller] if pod is not None else []
            if refs:
                name = refs[0].name if refs[0].kind == "Job" else ""
            else:
                name = rp.generate_name[:-1] if rp.generate_name.endswith("-") else ""
            if not name or not 1 <= tick_of(cj, name) <= cj.ticks:
                continue
            job = s.store.get("Job", cj.meta.namespace, name)
            if job is not None and not controlled_by(job, cj):
                continue
            out.setdefault(name, []).append(h.name)
    return out


@register("cronjob-concurrency-respected", "safety", has_concurrency_policy)
def cronjob_concurrency_respected(sc: Scenario):
    """A CronJob with concurrencyPolicy Forbid never has two active Jobs, and with Replace never has pods of two of its Jobs running at once.

    Seed document: kube-controller-manager's control loops (the CronJob
    controller, which starts a Job from its template at each scheduled time).
    Forbid: no two Jobs of the CronJob (by their controller reference) are
    unfinished at once (neither Complete nor Failed, not being deleted).
    Replace: no two of its Jobs have pods whose containers run on machines
    that are up, counting Jobs already deleted whose pods still run: the
    controller deletes the old Job with background propagation, so its pods
    stop only once the garbage collector has deleted them and their kubelet
    has acted, and the new Job's pods may start first.
    """
    from model.components.cronjob import jobs_of

    def check(s: ClusterState) -> Optional[str]:
        for cj in s.store.cronjobs:
            if cj.concurrency_policy == "Forbid":
                active = sorted(j.meta.name for j in jobs_of(s.store, cj) if not j.condition and not j.meta.deleting)
                if len(active) > 1:
                    return (f"CronJob {cj.meta.key} (concurrencyPolicy Forbid) has {len(active)} active Jobs: "
                            f"{', '.join(active)}")
            elif cj.concurrency_policy == "Replace":
                running = cronjob_running_jobs(s, cj)
                if len(running) > 1:
                    gone = [n for n in sorted(running) if s.store.get("Job", cj.meta.namespace, n) is None]
                    parts = [f"Job {n}{' (deleted)' if n in gone else ''} on {', '.join(sorted(set(running[n])))}"
                             for n in sorted(running)]
                    return (f"CronJob {cj.meta.key} (concurrencyPolicy Replace) has pods of {len(running)} Jobs "
                            f"running at once: {'; '.join(parts)}")
        return None

    return Invariant("cronjob-concurrency-respected", check, cronjob_concurrency_respected.__doc__)


def has_taint_eviction(sc: Scenario) -> Optional[str]:
    if not sc.taint_eviction_timers:
        return ("the taint-eviction controller's timers are not composed (behaviour.taintEvictionTimers): an eviction "
                "is decided on the controller's view when it is taken")
    if {"node-crash", "zone-outage", "partition", "vm-deleted"} & set(sc.fault_kinds) and sc.fault_budget > 0:
        return None
    if any(c.op == "taint" and c.taint.effect == "NoExecute" for c in sc.changes):
        return None
    return "no fault stops a kubelet's heartbeats and no change taints a Node NoExecute: nothing is evicted"


@register("taint-eviction-justified", "safety", has_taint_eviction)
def taint_eviction_justified(sc: Scenario):
    """The taint-eviction controller deletes a pod only while its Node carries a NoExecute taint the pod does not tolerate for ever.

    Seed document: the node lifecycle ("taint-based evictions").  Checked on
    every eviction step against the Node as etcd holds it: a pod evicted
    although its Node has no NoExecute taint left, or only taints it
    tolerates for ever, was evicted on a schedule its taints no longer
    explain (kubernetes issue 90794, before PR 93722 cancelled such
    schedules; model/components/tainteviction.py).
    """
    from model.components.tainteviction import eviction_seconds

    def check(s: ClusterState, lab, t: ClusterState) -> Optional[str]:
        name = dict(lab[2]).get("node")
        node = s.store.get("Node", "", name)
        for key in dict(lab[3]).get("pods", "").split(","):
            p = s.store.get("Pod", *key.split("/", 1)) if key else None
            if p is not None and node is not None and eviction_seconds(p, node) is None:
                taints = ", ".join(str(x) for x in node.taints if x.effect == "NoExecute") or "none"
                return (f"the taint-eviction controller deleted {p.meta.key} from {name}, whose NoExecute taints "
                        f"({taints}) it tolerates for ever")
        return None

    return ActionProperty("taint-eviction-justified", check, taint_eviction_justified.__doc__,
                          frozenset({("taint-eviction", "evict")}))


def has_volumes(sc: Scenario) -> Optional[str]:
    from model.components.attachdetach import volumes_modelled
    return None if volumes_modelled(sc) else "no StatefulSet with volumeClaimTemplates, no PersistentVolumeClaim"


@register("volume-single-attach", "safety", has_volumes)
def volume_single_attach(sc: Scenario):
    """A ReadWriteOnce volume is never in use on two nodes at once: no two machines that are up run containers
    that have it mounted.

    Seed document: kubelet and kube-controller-manager (the attach/detach
    controller, model/components/attachdetach.py).  A PersistentVolumeClaim's
    volume with the access mode ReadWriteOnce is attached to one node at a
    time; it fails when the controller detaches the volume from a node whose
    containers still write to it (a Node only cut off from the control plane
    that the user marked out-of-service, or whose volumes were force-detached
    on the timeout) and attaches it elsewhere: the documented data-corruption
    hazard of non-graceful node shutdown misused.
    """
    from model.kinds.persistentvolumeclaim import single_node

    def check(s: ClusterState) -> Optional[str]:
        where = {}
        for h in s.hosts:
            if not h.up:
                continue
            for rp in h.pods:
                for claim in rp.volumes:
                    other = where.get(claim)
                    if other is not None and other[0] != h.name:
                        ns, name = claim.split("/", 1)
                        pvc = s.store.get("PersistentVolumeClaim", ns, name)
                        if pvc is None or single_node(pvc.access_modes):
                            return (f"volume of claim {claim} (ReadWriteOnce) is mounted by running containers of "
                                    f"pod {other[1]} on {other[0]} and of pod {rp.key} on {h.name}")
                    where.setdefault(claim, (h.name, rp.key))
        return None

    return Invariant("volume-single-attach", check, volume_single_attach.__doc__)
