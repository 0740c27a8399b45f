"""Convergence properties: "eventually always GOAL" under weak fairness once faults stop.

Fairness, written down (DESIGN section 2.1): every component rule is weakly
fair per rule instance (its label without the outcome choice); the user's
changes are weakly fair and made in order; faults are not fair and stop.
"""

from __future__ import annotations

import functools
from typing import Callable, List, Optional, Sequence

from explorer import Convergence
from model.components.deployment import new_replicaset_of, owned_replicasets
from model.components.replicaset import owned_active_pods
from model.kinds import KINDS, controllers_for
from model.scenario import Scenario

# The controllers whose objects stable-reconciliation follows.
RECONCILERS = {"deployment", "replicaset", "job", "daemonset", "statefulset"}
RECONCILERS.add("replicationcontroller")
from model.state import ClusterState

from .catalog import register
from .safety import has_jobs


def from_problems(name: str, problems: Callable[[ClusterState], Sequence[str]], doc: str,
                  more: Callable[[ClusterState], str] = lambda s: "") -> Convergence:
    """The convergence property whose goal is that `problems` finds none; its diagnosis lists them (then
    whatever `more` adds, such as the placement diagnosis)."""
    return Convergence(name, lambda s: not problems(s), lambda s: "; ".join(problems(s)) + more(s), doc)


def has_deployments(sc: Scenario) -> Optional[str]:
    if any(o.kind == "Deployment" for o in sc.objects) or any(c.kind == "Deployment" for c in sc.changes):
        return None
    return "no Deployment"


@functools.lru_cache(maxsize=65536)
def deployment_problems(s: ClusterState) -> tuple:
    """Why each Deployment is not converged (empty when all are).

    Memoised per state (states hash in O(1) once built): deployment-converges
    and stable-reconciliation both ask it of every state.
    """
    store = s.store
    up = {h.name: h for h in s.hosts if h.up}
    out = []
    for d in store.deployments:
        new = new_replicaset_of(store, d)
        if new is None:
            out.append(f"Deployment {d.meta.key} has no ReplicaSet for its current template"
                       + (" (it is paused: spec.paused stops its rollout until it is resumed)" if d.paused else ""))
            continue
        pods = owned_active_pods(store, new)
        good = [p for p in pods if p.phase == "Running" and p.ready and p.spec.node_name in up
                and up[p.spec.node_name].running(p.meta.uid) is not None]
        if len(good) != d.replicas or len(pods) != d.replicas:
            pending = [p.meta.key for p in pods if not p.spec.node_name]
            msg = f"Deployment {d.meta.key} wants {d.replicas} pods, {len(good)} Running and Ready"
            if pending:
                msg += f"; unscheduled: {', '.join(pending)}"
            if d.status.timed_out:
                msg += "; its Progressing condition is False, reason ProgressDeadlineExceeded"
            out.append(msg)
        for rs in owned_replicasets(store, d):
            if rs is not new and owned_active_pods(store, rs):
                out.append(f"old ReplicaSet {rs.meta.key} still has active pods")
    return tuple(out)


@register("deployment-converges", "convergence", has_deployments)
def deployment_converges(sc: Scenario):
    """Every Deployment eventually has spec.replicas pods of its newest ReplicaSet Running and Ready, and old ReplicaSets have none.

    Seed document: kube-controller-manager ("when a Deployment's `replicas`
    field is unsatisfied, start new Pods").  Goal: the newest ReplicaSet has
    spec.replicas active pods, each Running, Ready, not terminating, on a
    machine that is up; older ReplicaSets have no active pods.  Pods stuck
    terminating on dead machines do not count.
    """

    deployment_problems.cache_clear()   # the memo holds one scenario's states at a time, never the last one's
    return from_problems("deployment-converges", deployment_problems, deployment_converges.__doc__,
                         placement_diagnosis)


def has_rollout_waits(sc: Scenario) -> Optional[str]:
    return None if sc.reads_deployment_status else "no rolloutStatus change: the pipeline waits on no rollout"


@register("rollout-status-returns", "convergence", has_rollout_waits)
def rollout_status_returns(sc: Scenario):
    """Every rollout wait the user's pipeline reaches eventually returns: with success once the rollout is complete, or with an error once its progress deadline has passed.

    Seed document: kube-controller-manager's Deployment controller (the
    Progressing condition, progressDeadlineSeconds) and the user's pipeline
    (`kubectl rollout status`).  Goal: no `rolloutStatus` change is pending.
    It fails where a rollout is stuck (a pod that can never be placed or
    become Ready) and nothing ends the wait: with progressDeadlineSeconds
    2147483647 (no deadline) the controller never reports
    ProgressDeadlineExceeded, so the wait, and the pipeline, hang; with a
    deadline the wait fails and the pipeline stops (model/components/user.py).
    """
    waits = [i for i, c in enumerate(sc.changes) if c.op == "rolloutStatus"]

    def pending(s: ClusterState) -> List[str]:
        if s.next_change not in waits:
            return []
        ch = sc.changes[s.next_change]
        d = s.store.get("Deployment", ch.namespace, ch.name)
        why = "" if d is None else (f" (status: {d.status.updated_replicas} updated, {d.status.available_replicas} "
                                    f"available of {d.replicas}; no progress deadline)"
                                    if d.progress_deadline_seconds == 2147483647 else
                                    f" (status: {d.status.updated_replicas} updated, {d.status.available_replicas} "
                                    f"available of {d.replicas})")
        return [f"change {s.next_change + 1}, rollout status of Deployment {ch.namespace}/{ch.name}, is still "
                f"waiting{why}"]

    return from_problems("rollout-status-returns", pending, rollout_status_returns.__doc__, placement_diagnosis)


def node_failures(sc: Scenario) -> Optional[str]:
    if not ({"node-crash", "zone-outage", "partition", "vm-deleted"} & set(sc.fault_kinds)) or sc.fault_budget == 0:
        return "no fault stops a node (node-crash, zone-outage, partition, vm-deleted)"
    if not {"replicaset", "replicationcontroller"} & controllers_for(o.kind for o in sc.objects):
        return "no Deployment, ReplicaSet or ReplicationController whose pods could be rescheduled"
    return None


def stranded_problems(s: ClusterState, policy=None) -> List[str]:
    """ReplicaSets with pods still counted on failed machines, or too few pods on healthy ones (`policy`: the
    scenario's node lifecycle flags, which say why a Node is not tainted)."""
    from model.components.nodelifecycle import full_disruption, tainting_zones, zone_key
    from model.components.tainteviction import eviction_seconds
    healthy = {h.name for h in s.hosts if h.up and h.reachable}
    hosts = {h.name: h for h in s.hosts}
    out = []
    for rs in s.store.replicasets + s.store.replicationcontrollers:
        if rs.meta.deleting:
            continue
        pods = owned_active_pods(s.store, rs)
        stranded = [p for p in pods if p.spec.node_name and p.spec.node_name not in healthy]
        good = [p for p in pods if p.phase == "Running" and p.ready and p.spec.node_name in healthy
                and hosts[p.spec.node_name].running(p.meta.uid) is not None]
        for p in stranded:
            node = s.store.get("Node", "", p.spec.node_name)
            why = ""
            if node is not None and node.ready == "True":
                why = " (its Node is still Ready: the grace period has not passed)"
            elif node is not None and full_disruption(s.store.nodes):
                why = " (full-disruption mode: not evicted)"
            elif (node is not None and policy is not None and not any(t.effect == "NoExecute" for t in node.taints)
                    and zone_key(node) not in tainting_zones(s.store.nodes, policy)):
                zone = [n for n in s.store.nodes if zone_key(n) == zone_key(node)]
                unready = sum(1 for n in zone if n.ready != "True")
                why = (f" (its Node is not tainted NoExecute: its zone{' ' + zone_key(node)[1] if zone_key(node)[1] else ''}"
                       f" is partially disrupted, {unready} of its {len(zone)} Nodes not Ready, and in a zone of "
                       f"{policy.large_cluster_size_threshold} Nodes or fewer the node lifecycle controller stops "
                       "evicting)")
            elif node is not None and eviction_seconds(p, node) is None:
                why = (" (it tolerates the Node's NoExecute taints for ever)" if any(
                    t.effect == "NoExecute" for t in node.taints) else " (its Node is not tainted NoExecute yet)")
            out.append(f"pod {p.meta.key} of {rs.kind} {rs.meta.key} is still counted on failed node "
                       f"{p.spec.node_name}{why}")
        if len(good) < rs.replicas:
            out.append(f"{rs.kind} {rs.meta.key} wants {rs.replicas} pods, {len(good)} Running and Ready on "
                       "machines that are up and reachable")
    if out and full_disruption(s.store.nodes):
        out.append("the node lifecycle controller is in full-disruption mode: every Node is unready, so it "
                   "assumes its own connectivity is at fault, taints no Node NoExecute and evicts nothing")
    return out


@register("pods-rescheduled-after-node-failure", "convergence", node_failures)
def pods_rescheduled_after_node_failure(sc: Scenario):
    """After a node fails (crash, zone outage, partition or deleted VM), its ReplicaSets' pods are evicted and replaced on machines that are up and reachable.

    Seed document: kube-controller-manager's node controller ("noticing and
    responding when nodes go down").  Goal: no active pod of a ReplicaSet is
    bound to a machine that is down or cut off, and every ReplicaSet has
    spec.replicas pods Running and Ready on machines that are up and
    reachable.  It holds through the node lifecycle controller's
    Ready=Unknown, its NoExecute taint and the taint-eviction controller's
    deletion once the tolerations run out; it fails where every Node is
    unready (full-disruption mode: nothing is evicted), where a small zone is
    partially disrupted (3 or more of its Nodes, and 55% of them, not Ready:
    eviction stops there), where pods tolerate the taint for ever, or where
    the machines left have no room.
    A ReplicationController counts as a ReplicaSet (the same controller code).
    """

    policy = sc.control_plane.node_lifecycle
    return from_problems("pods-rescheduled-after-node-failure", lambda s: stranded_problems(s, policy),
                         pods_rescheduled_after_node_failure.__doc__, placement_diagnosis)


def heartbeat_faults(sc: Scenario) -> Optional[str]:
    if sc.fault_budget > 0 and {"node-crash", "zone-outage", "partition", "vm-deleted"} & set(sc.fault_kinds):
        return None
    return "no fault stops a kubelet's heartbeats (node-crash, zone-outage, partition, vm-deleted)"


def node_status_problems(s: ClusterState) -> List[str]:
    hosts = {h.name: h for h in s.hosts}
    out = []
    for node in s.store.nodes:
        h = hosts.get(node.meta.name)
        if h is None:
            continue
        alive = h.up and h.reachable
        if alive and node.ready != "True":
            out.append(f"Node {node.meta.name} is Ready={node.ready} though its machine and kubelet are up and reachable")
        elif not alive and node.ready == "True":
            out.append(f"Node {node.meta.name} is still Ready though its machine is "
                       f"{'down' if not h.up else 'cut off from the control plane'}")
    return out


@register("node-status-converges", "convergence", heartbeat_faults)
def node_status_converges(sc: Scenario):
    """Each Node object's Ready condition eventually matches whether its machine and kubelet are up and reachable.

    Seed document: the node controller ("responsible for noticing and
    responding when nodes go down") and the kubelet's status reports.  Goal:
    a Node whose machine is up and reaches the control plane is Ready=True;
    one whose machine is down or cut off is not (Unknown, once the grace
    period has passed without heartbeats).  A kubelet restart is taken to be
    shorter than the grace period (its Node stays Ready).
    """

    return from_problems("node-status-converges", node_status_problems, node_status_converges.__doc__)


def has_daemonsets(sc: Scenario) -> Optional[str]:
    return None if any(o.kind == "DaemonSet" for o in sc.objects) else "no DaemonSet"


def daemonset_problems(s: ClusterState) -> List[str]:
    from model.components.daemonset import daemon_pods, should_continue, should_run, target_node
    up = {h.name: h for h in s.hosts if h.up}
    out = []
    for ds in s.store.daemonsets:
        pods = [p for p in daemon_pods(s.store, ds) if p.phase not in ("Succeeded", "Failed")]
        for node in s.store.nodes:
            here = [p for p in pods if target_node(p) == node.meta.name]
            if not should_run(ds, node):
                if here and not should_continue(ds, node):
                    out.append(f"DaemonSet {ds.meta.key} still has a pod on {node.meta.name}, which should not run it")
                continue
            if node.meta.name not in up:
                continue   # a machine that is down runs nothing; its daemon pod waits for it
            good = [p for p in here if p.phase == "Running" and p.ready
                    and up[node.meta.name].running(p.meta.uid) is not None]
            if len(here) != 1 or len(good) != 1:
                msg = (f"DaemonSet {ds.meta.key} has {len(good)} pods Running and Ready on {node.meta.name} "
                       f"({len(here)} active), wants 1")
                pending = [p for p in here if not p.spec.node_name]
                if pending:
                    from model.components.scheduler import unschedulable_message
                    msg += (f" (its pod {pending[0].meta.key} is unscheduled; kube-scheduler: "
                            f"{unschedulable_message(pending[0], s.store.nodes, s.store.pods)})")
                out.append(msg)
    return out


@register("daemonset-converges", "convergence", has_daemonsets)
def daemonset_converges(sc: Scenario):
    """Every DaemonSet eventually runs exactly one pod, Running and Ready, on each Node that should run it and whose machine is up, and none elsewhere.

    Seed document: the node agents of the addons (cluster-level logging,
    resource monitoring) run as DaemonSets, one pod per node.  A Node should
    run the pod when it matches the template's nodeSelector and node affinity
    and tolerates its taints with the tolerations the DaemonSet controller
    adds (unreachable and not-ready for ever, so a failed Node keeps its pod).
    """

    return from_problems("daemonset-converges", daemonset_problems, daemonset_converges.__doc__)


def deletes_owners(sc: Scenario) -> Optional[str]:
    if any(c.op == "delete" and KINDS[c.kind].owner for c in sc.changes):
        return None
    from model.compose import cronjobs_delete_jobs
    if cronjobs_delete_jobs(sc):
        return None   # its controller deletes Jobs with background propagation (Replace, history limits)
    return "no change deletes an object that has dependents"


def dangling_references(s: ClusterState) -> List[str]:
    uids = {o.meta.uid for o in s.store.objects()}
    out = []
    for o in s.store.objects():
        for r in o.meta.owner_references:
            if r.uid not in uids:
                out.append(f"{o.kind} {o.meta.key} still references its deleted owner {r.kind} {r.name}")
    for o in s.store.objects():
        if o.meta.deleting and o.meta.finalizers:
            out.append(f"{o.kind} {o.meta.key} is being deleted, waiting on finalizers {', '.join(o.meta.finalizers)}")
    return out


@register("garbage-collected", "convergence", deletes_owners)
def garbage_collected(sc: Scenario):
    """Eventually no object references an owner uid that no longer exists (with orphan deletion, the references are removed instead).

    Seed document: kube-controller-manager (its garbage collector follows
    ownerReferences).  Background deletion removes the owner at once and
    its dependents after it; foreground and orphan deletion keep the owner,
    with a finalizer, until its dependents are deleted or released.  Goal: no
    ownerReference points to a uid that is gone, and no owner still waits on
    the collector's finalizers.
    """

    return from_problems("garbage-collected", dangling_references, garbage_collected.__doc__)


@register("job-completes", "convergence", has_jobs)
def job_completes(sc: Scenario):
    """Every Job eventually reaches Complete (or Failed when its backoffLimit is spent, which the diagnosis says).

    Seed document: kube-controller-manager, the Job controller.  Goal: every
    Job has the Complete or Failed condition.
    """

    def unfinished(s: ClusterState) -> List[str]:
        return [f"Job {j.meta.key} has neither Complete nor Failed (succeeded {j.succeeded}, failed {j.failed})"
                for j in s.store.jobs if not j.condition]

    return from_problems("job-completes", unfinished, job_completes.__doc__)


@register("job-succeeds", "convergence", has_jobs)
def job_succeeds(sc: Scenario):
    """Every Job eventually reaches Complete; a Job that ends Failed is a violation, whose diagnosis gives the reason.

    Seed document: kube-controller-manager, the Job controller ("creates Pods
    to run those tasks to completion").  Beside `job-completes`, which a
    Failed Job satisfies: this one asks that the work got done.  A Job fails
    when its failures pass backoffLimit (BackoffLimitExceeded), a failed pod
    matches a FailJob rule of its podFailurePolicy (PodFailurePolicy), or its
    activeDeadlineSeconds pass (DeadlineExceeded).  Goal: every Job has the
    Complete condition.
    """

    def problems(s: ClusterState) -> List[str]:
        out = []
        for j in s.store.jobs:
            if j.condition == "Complete":
                continue
            counted = f"succeeded {j.succeeded}, failed {j.failed}"
            if j.condition == "Failed":
                out.append(f"Job {j.meta.key} is Failed, reason {j.reason}: {j.message} ({counted})")
            elif j.failure_target:
                out.append(f"Job {j.meta.key} is failing, reason {j.failure_target}: {j.message} ({counted})")
            else:
                out.append(f"Job {j.meta.key} is not Complete ({counted}{', suspended' if j.suspend else ''})")
        return out

    return from_problems("job-succeeds", problems, job_succeeds.__doc__)


def replicaset_problems(s: ClusterState) -> List[str]:
    """ReplicaSets not owned by a Deployment, and ReplicationControllers, whose pods are not spec.replicas Running
    and Ready."""
    up = {h.name: h for h in s.hosts if h.up}
    out = []
    for rs in s.store.replicasets + s.store.replicationcontrollers:
        if rs.meta.controller_uid() is not None or rs.meta.deleting:
            continue
        pods = owned_active_pods(s.store, rs)
        good = [p for p in pods if p.phase == "Running" and p.ready and p.spec.node_name in up
                and up[p.spec.node_name].running(p.meta.uid) is not None]
        if len(pods) != rs.replicas or len(good) != rs.replicas:
            out.append(f"{rs.kind} {rs.meta.key} wants {rs.replicas} pods, {len(good)} Running and Ready")
    return out


def has_controllers(sc: Scenario) -> Optional[str]:
    kinds = {o.kind for o in sc.objects} | {c.kind for c in sc.changes}
    if controllers_for(kinds) & RECONCILERS or sc.operators:
        return None
    return ("no object that a controller reconciles (Deployment, ReplicaSet, Job, DaemonSet, StatefulSet, or an "
            "operator's kind)")


def operator_problems(s: ClusterState, kinds) -> List[str]:
    """Objects of an operator's kind whose status does not report their current generation."""
    from model.components.apiserver import has_status_subresource
    from model.components.operator import behind
    return [f"{o.custom_kind} {o.meta.key}: status.observedGeneration {o.status.observed_generation}, "
            f"metadata.generation {o.meta.generation}"
            + ("" if has_status_subresource(s.store, o) else
               " (its CRD has no status subresource: every status write bumps the generation; generations are "
               "shown relative to the last report)")
            for o in s.store.custom_objects if o.custom_kind in kinds and behind(o)]


@register("stable-reconciliation", "convergence", has_controllers)
def stable_reconciliation(sc: Scenario):
    """Once the declared state stops changing, every controller's objects eventually match it and stay so (Anvil's ESR).

    Seed document: kube-controller-manager's control loops, which "detect and
    respond to cluster events".  Eventually stable reconciliation (Anvil,
    OSDI 2024), under the fairness of DESIGN section 2.1: after the last
    change and the last fault, every Deployment, every ReplicaSet of its
    own, every Job, every StatefulSet (as `statefulset-converges` says) and
    every deletion reach what was declared, and stay
    there (a fair cycle through a state that does not match is a violation).
    An operator's objects (`spec.operators`) match when their
    status.observedGeneration reports their metadata.generation.
    A ReplicationController counts as a ReplicaSet of its own.
    """

    deployment_problems.cache_clear()

    from model.components.statefulset import revision_table
    revisions = revision_table(sc.objects, sc.changes)

    def problems(s: ClusterState) -> List[str]:
        out = list(deployment_problems(s)) + replicaset_problems(s) + dangling_references(s) + daemonset_problems(s)
        out += statefulset_problems(s, revisions)
        out += [f"Job {j.meta.key} is not finished" for j in s.store.jobs if not j.condition]
        if sc.operators:
            out += operator_problems(s, sc.operators)
        return out

    return from_problems("stable-reconciliation", problems, stable_reconciliation.__doc__)


def has_statefulsets(sc: Scenario) -> Optional[str]:
    if any(o.kind == "StatefulSet" for o in sc.objects) or any(c.kind == "StatefulSet" for c in sc.changes):
        return None
    return "no StatefulSet"


def _unreachable(s: ClusterState, node: str) -> str:
    """Why the machine of `node` is out of the control plane's reach, or "" when it is up and reachable."""
    h = s.host(node)
    if h is None:
        return "it has no machine"
    if not h.up:
        return "its machine is down"
    if not h.reachable:
        return "it is cut off from the control plane"
    return ""


def statefulset_problems(s: ClusterState, revisions=None) -> List[str]:
    """Why each StatefulSet not being deleted is short of its pods <set>-0..replicas-1, each Running and Ready on
    a machine that is up and reachable, or has a pod beyond them, or (where `revisions` are tracked) has a pod
    at or above the partition not of the update revision or a status that does not say so (empty when all are
    converged)."""
    from model.components.statefulset import healthy, ordinal_of, pod_name, running_and_ready, set_pods
    out = []
    for sts in s.store.statefulsets:
        if sts.meta.deleting:
            continue
        ns = sts.meta.namespace
        mine = {p.meta.name: p for p in set_pods(s.store, sts)}
        problems = []
        for o in range(sts.replicas):
            name = pod_name(sts, o)
            p = mine.get(name)
            if p is None:
                other = s.store.get("Pod", ns, name)
                if other is not None:
                    problems.append(f"{name} is missing: its name is taken by a Pod the StatefulSet does not own")
                    continue
                below = [pod_name(sts, i) for i in range(o)
                         if mine.get(pod_name(sts, i)) is None or not healthy(mine[pod_name(sts, i)])]
                if below and sts.pod_management != "Parallel":
                    problems.append(f"{name} does not exist (OrderedReady: it is created once {below[0]} is Running "
                                    "and Ready)")
                else:
                    problems.append(f"{name} does not exist")
                continue
            node = p.spec.node_name
            where = _unreachable(s, node) if node else ""
            if p.meta.deleting:
                if where:
                    problems.append(f"{name} is Terminating on unreachable node {node} ({where}): a "
                                    "StatefulSet never replaces a pod whose deletion is not confirmed (no kubelet can "
                                    "confirm it; a force deletion, or PodGC once the Node is tainted out-of-service, "
                                    "removes it)")
                else:
                    problems.append(f"{name} is Terminating" + (f" on {node}" if node else ""))
            elif not node:
                problems.append(f"{name} is unscheduled")    # the placement diagnosis quotes kube-scheduler
            elif p.phase in ("Failed", "Succeeded"):
                problems.append(f"{name} is {p.phase}" + (f" ({p.reason})" if p.reason else "") + f" on {node}")
            elif where:
                problems.append(f"{name} is on unreachable node {node} ({where})")
            elif not running_and_ready(p) or s.host(node).running(p.meta.uid) is None:
                problems.append(f"{name} is {p.phase}{'' if p.ready else ', not Ready,'} on {node}")
        for p in sorted(mine.values(), key=ordinal_of):
            if ordinal_of(p) >= sts.replicas:
                problems.append(f"{p.meta.name} is beyond spec.replicas {sts.replicas}"
                                + (" (Terminating)" if p.meta.deleting else ""))
        if revisions is not None:
            problems += revision_problems(sts, mine)
        if problems:
            out.append(f"StatefulSet {sts.meta.key} ({sts.pod_management}, {sts.replicas} replicas): "
                       + "; ".join(problems))
    return out


def revision_problems(sts, mine) -> List[str]:
    """A rolling update left unfinished: with RollingUpdate, a pod at or above the partition that is not of the
    update revision (its controller-revision-hash label); status.updateRevision not the template's revision;
    with partition 0, status.currentRevision not the update revision (completeRollingUpdate never ran)."""
    from model.components.statefulset import healthy, pod_name, pod_revision, update_revision
    update = update_revision(sts)
    out = []
    if sts.update_strategy == "RollingUpdate":
        for o in range(sts.partition or 0, sts.replicas):
            p = mine.get(pod_name(sts, o))
            if p is not None and pod_revision(p) != update:
                stuck = ("; OrderedReady waits for it to be Running and Ready before the update loop, so it is "
                         "never replaced: delete it by hand (kubernetes 67250)"
                         if sts.pod_management != "Parallel" and not healthy(p) and not p.meta.deleting else "")
                out.append(f"{p.meta.name} is of revision {pod_revision(p) or '(none)'}, not the update revision "
                           f"{update} (ordinal {o} >= partition {sts.partition or 0}){stuck}")
    if sts.status.update_revision != update:
        out.append(f"status.updateRevision is {sts.status.update_revision or '(unset)'}, not {update}")
    elif sts.update_strategy == "RollingUpdate" and not sts.partition and sts.status.current_revision != update:
        out.append(f"status.currentRevision is {sts.status.current_revision or '(unset)'}, not the update revision "
                   f"{update}: the rolling update is not complete")
    return out


@register("statefulset-converges", "convergence", has_statefulsets)
def statefulset_converges(sc: Scenario):
    """Every StatefulSet eventually has exactly its pods <set>-0..replicas-1, each Running and Ready on a machine that is up and reachable, and no others.

    Seed document: kube-controller-manager's control loops; a StatefulSet
    gives each pod a stable identity (its name, its ordinal), and the
    controller keeps at most one pod per identity: it creates ordinal i
    (with OrderedReady, once every lower ordinal is Running and Ready) only
    when etcd holds no pod of that name.  Goal: for every StatefulSet not
    being deleted, each pod <set>-i for i below spec.replicas exists, is not
    terminating, and is Running and Ready with its containers running on a
    machine that is up and reachable from the control plane; no pod of a
    higher ordinal is left.  It fails where a pod of the set is stuck
    Terminating on a Node that can no longer confirm its deletion (crashed,
    cut off): the set does not replace it, unlike a ReplicaSet, until a force
    deletion or PodGC (the out-of-service taint) removes it.  Where a
    change rolls a set to a new template, also: with RollingUpdate, every
    pod of an ordinal at or above spec.updateStrategy.rollingUpdate.partition
    is of the update revision (its controller-revision-hash label), and the
    status says so: status.updateRevision is the template's revision and,
    with partition 0, status.currentRevision too (the update is complete);
    with OnDelete, status.updateRevision alone (pods keep their revision
    until deleted).  It fails where a new template's pod never gets Running
    and Ready under OrderedReady: the update stops there, and reverting the
    template does not move it (kubernetes 67250).
    """

    from model.components.statefulset import revision_table
    revisions = revision_table(sc.objects, sc.changes)
    return from_problems("statefulset-converges", lambda s: statefulset_problems(s, revisions),
                         statefulset_converges.__doc__, placement_diagnosis)


def placement_diagnosis(s: ClusterState) -> str:
    """Why pods stay unscheduled: kube-scheduler's own message for one of them, then whether any placement
    exists at all (a capacity shortfall), exists on the machines that are up but not once the Nodes of
    machines that are down count as topology spread domains, or exists and the greedy order is the cause."""
    from explorer.smt import SolverTimeout
    try:
        return _placement_diagnosis(s)
    except SolverTimeout:
        return " (the placement oracle did not decide within the run's timeout)"


def _placement_diagnosis(s: ClusterState) -> str:
    from model.components.scheduler import unschedulable_message
    from .placement import placement_exists
    unscheduled = [p for p in s.store.pods if p.active and not p.spec.node_name]
    if not unscheduled:
        return ""
    why = f"; kube-scheduler on Pod {unscheduled[0].meta.key}: {unschedulable_message(unscheduled[0], s.store.nodes, s.store.pods)}"
    up = {h.name for h in s.hosts if h.up}
    nodes = [n for n in s.store.nodes if n.meta.name in up]
    down = [n.meta.name for n in s.store.nodes if n.meta.name not in up]
    from model.workloads import pod_groups
    templates = pod_groups(s.store.objects(), nodes)   # every kind that makes pods, DaemonSets on the nodes up
    if placement_exists(nodes, templates):
        if down and any(t[1].topology_spread for t in templates) and \
                not placement_exists(s.store.nodes, templates, down=down):
            return (why + " (a placement of all these pods on the machines that are up exists, but not while "
                    f"{'the Nodes ' + ', '.join(down) + ', whose machines are down, still count' if len(down) > 1 else 'the Node ' + down[0] + ', whose machine is down, still counts'}"
                    " as a topology spread domain: the spread constraint blocks the replacements)")
        return (why + " (a placement of all these pods on the machines that are up exists: the scheduler's greedy, "
                "one-pod-at-a-time order is the cause)")
    need = sum(t[1].requests.cpu * t[2] for t in templates)
    have = sum(n.allocatable.cpu for n in nodes)
    if need > have:
        return (why + f" (no placement exists on the machines that are up: a capacity shortfall; cpu requested "
                f"{need}m, allocatable {have}m, every scheduling constraint counted)")
    return (why + f" (no placement exists on the machines that are up: the cpu would fit, {need}m requested of "
            f"{have}m allocatable, but the pods' constraints (taints, selectors, affinity, spread) rule every "
            "placement out)")


def has_drains(sc: Scenario) -> Optional[str]:
    return None if any(c.op == "drain" for c in sc.changes) else "no drain"


def drain_problems(sc: Scenario, s: ClusterState) -> List[str]:
    """Why the drain the user is making has not returned (empty when no drain is under way)."""
    from model.components.eviction import budgets_of, refusal
    from model.components.user import pods_to_drain
    i = s.next_change
    if i >= len(sc.changes) or sc.changes[i].op != "drain":
        return []
    node = sc.changes[i].name
    n = s.store.get("Node", "", node)
    head = f"the drain of {node} (change {i + 1}) has not returned"
    if not any(s.apiservers_up) or not s.etcd_quorum():
        return [f"{head}: kubectl reaches no apiserver with an etcd quorum"]
    if n is not None and not n.unschedulable:
        return [f"{head}: {node} is not cordoned yet"]
    why = []
    for p in pods_to_drain(s.store, node):
        if p.meta.deleting:
            where = _unreachable(s, node)
            why.append(f"{p.meta.key} is terminating" + (f" and its node's kubelet cannot confirm it ({where})"
                                                           if where else ""))
            continue
        refused, _ = refusal(p, budgets_of(s.store, p))
        why.append(f"the eviction of {p.meta.key} is refused ({refused})" if refused else
                   f"{p.meta.key} is still to be evicted")
    return [f"{head}: " + "; ".join(why)] if why else [f"{head}: no pod is left to evict, it is about to return"]


@register("drain-completes", "convergence", has_drains)
def drain_completes(sc: Scenario):
    """Every drain a user starts returns: no pod is left on the node but DaemonSet pods and mirror pods.

    Seed document: the user's `kubectl drain` (cordon, then evict each pod
    through the Eviction API, waiting for each to be gone) against
    kube-apiserver's Eviction subresource and the disruption controller.
    Goal: no drain is under way (the user's next change is not a drain).  It
    fails where an eviction is refused for ever: a PodDisruptionBudget that
    allows no disruption (minAvailable equal to the replicas, maxUnavailable
    0, a budget whose pods cannot become healthy elsewhere), or a pod
    selected by two budgets (kubectl stops with an error; here it waits);
    and where an evicted pod stays terminating on a node whose kubelet is
    gone (kubectl waits for it to be deleted).
    """
    return from_problems("drain-completes", lambda s: drain_problems(sc, s), drain_completes.__doc__)
