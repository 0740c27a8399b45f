"""The Job controller of kube-controller-manager (pkg/controller/job/job_controller.go).

Read upstream: syncJob, manageJob, activePodsForRemoval, deleteJobPods and
deleteActivePods, getNewFinishedPods and isPodFailed,
trackJobStatusAndRemoveFinalizers (canRemoveFinalizer,
flushUncountedAndRemoveFinalizers, enactJobFinished), getFailJobMessage,
pastActiveDeadline, syncOrphanPod and cleanupPodFinalizers, and
pod_failure_policy.go (matchPodFailurePolicy, matchOnExitCodes,
matchOnPodConditions).

Modelled: a Job runs pods from its template, at most `parallelism` active at
once and no more than the successes it still needs; it is Complete once
`completions` pods have succeeded and none is active, Failed once it is
bound to fail and its active pods are gone.  Which pods count depends on the
Job tracking of the Kubernetes version (`behaviour.jobTrackingWithFinalizers`):

* with finalizers (stable since 1.26, the default): each pod carries the
  `batch.kubernetes.io/job-tracking` finalizer; when it finishes, the
  controller adds it to the Job's status counters and removes the finalizer,
  so a pod removed later (PodGC) stays counted.  Recording the pod in
  status.uncountedTerminatedPods, removing the finalizer and moving it to
  the counters are three writes upstream; here they are one step.
* without (before 1.26): the controller counts the Succeeded and Failed
  pods that still exist, so a succeeded pod removed before it was counted
  is run again (kubernetes issues 78721, 91235).

What counts as failed (isPodFailed): a Failed pod, and a pod being deleted
that had not succeeded (evicted, removed with its node: "to account for
orphan Pods that never have a chance to reach the Failed phase") unless the
Job has a podFailurePolicy, with which only Failed pods count and a pod
still terminating is neither counted nor replaced (onlyReplaceFailedPods).
A failed pod that a podFailurePolicy rule matches is counted (Count), not
counted (Ignore), or makes the Job fail (FailJob); rules match the pod's
exit code (the kubelet's, model/components/kubelet.py) or its
DisruptionTarget condition (set by whoever deleted it: the taint-eviction
controller here).

manageJob: active pods beyond what parallelism and the remaining
completions allow (every active pod while the Job is suspended) are deleted
(activePodsForRemoval's order: unscheduled before scheduled, Pending before
Running, not ready before ready, newest first), one per step, the tracking
finalizer removed first (deleteJobPods), so they are not counted as
failures.  No pod is created for a suspended Job.

Failure: once a pod matches a FailJob rule, the failures pass backoffLimit,
or the deadline passes, the controller records the interim FailureTarget
condition with its reason (as upstream since 1.26 for the pod failure
policy, and since 1.31 for every failure), deletes the active pods keeping
their finalizers (deleteActivePods), counts them failed, and then sets Failed
with that reason.  activeDeadlineSeconds: time is not modelled; the passing
of the deadline is a step of this controller that is not fair (it may
happen at any moment the Job is active and not suspended, or never):
upstream it is observable only through the sync that sees
pastActiveDeadline, and this step is that sync.

syncOrphanPod: a pod still holding the tracking finalizer whose Job is gone
or finished is released (the finalizer removed, nothing counted), so that a
deleted Job's pods can go.

Abstracted: the exponential back-off between failed pods (a failure is
retried at once); pastBackoffLimitOnFailure (container restarts of
restartPolicy OnFailure are not modelled); indexed Jobs, per-index backoff,
successPolicy, podReplacementPolicy (warned); the interim
SuccessCriteriaMet condition; since 1.31 upstream waits until no pod is
terminating before it sets Complete or Failed (delayTerminalCondition): the
model sets them as before 1.31.  Expectations (`behaviour.expectations`):
after creating or deleting a pod, a controller replica does not sync that
Job again until its informer has seen the write, as upstream
(ControllerExpectations); they live in the replica's memory and are lost
when it crashes.  The finalizer-removal expectations are not modelled.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from explorer import Rule, label

from ..objects import Job, ObjectMeta, OwnerReference, Pod, evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
TRACKING = "batch.kubernetes.io/job-tracking"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"


def job_pods(view, job: Job) -> List[Pod]:
    return [p for p in view.pods if p.meta.controller_uid() == job.meta.uid]


def pod_failed(p: Pod, job: Optional[Job] = None) -> bool:
    """isPodFailed: Failed, or being deleted without having succeeded, unless the Job has a podFailurePolicy
    (onlyReplaceFailedPods: then only a Failed pod is)."""
    if p.phase == "Failed":
        return True
    if job is not None and job.pod_failure_policy:
        return False
    return p.meta.deleting and p.phase != "Succeeded"


def failing(p: Pod, job: Job) -> bool:
    """A pod the controller counts as failed: isPodFailed, or, once the Job is to fail, any pod being deleted
    that did not succeed ("when the job is considered finished, every non-terminated pod is considered
    failed")."""
    return pod_failed(p, job) or (bool(job.failure_target) and p.meta.deleting and p.phase != "Succeeded")


def match_pod_failure_policy(job: Job, p: Pod) -> Tuple[Optional[str], bool]:
    """matchPodFailurePolicy: (the FailJob message or None, whether the failure counts towards backoffLimit).
    The model keeps one exit code per pod, its first container's: a rule naming another container does not
    match; DisruptionTarget is the one pod condition the model sets."""
    for i, rule in enumerate(job.pod_failure_policy):
        if rule.conditions:
            if not (p.disruption and ("DisruptionTarget", "True") in rule.conditions):
                continue
            what = "Pod has condition DisruptionTarget"
        else:
            if not p.exit_code or (p.exit_code in rule.values) != (rule.operator == "In"):
                continue
            name = p.spec.containers[0].name if p.spec.containers else ""
            if rule.container and rule.container != name:
                continue
            what = f"Container {name} failed with exit code {p.exit_code}"
        if rule.action == "Ignore":
            return None, False
        if rule.action == "Count":
            return None, True
        return f"{what} matching FailJob rule at index {i}", True
    return None, True


def counted_failure(job: Job, p: Pod) -> bool:
    """nonIgnoredFailedPodsCount: a failed pod counts unless a podFailurePolicy rule ignores it."""
    return match_pod_failure_policy(job, p)[1] if job.pod_failure_policy else True


def counts(view, job: Job, tracking: bool):
    """(succeeded, failed) as the controller computes them."""
    pods = job_pods(view, job)
    if tracking:
        uncounted_ok = sum(1 for p in pods if p.phase == "Succeeded" and TRACKING in p.meta.finalizers)
        uncounted_failed = sum(1 for p in pods if TRACKING in p.meta.finalizers and failing(p, job)
                               and counted_failure(job, p))
        return job.succeeded + uncounted_ok, job.failed + uncounted_failed
    return (sum(1 for p in pods if p.phase == "Succeeded"),
            sum(1 for p in pods if p.phase == "Failed" and counted_failure(job, p)))


def failure(view, job: Job, tracking: bool) -> Optional[Tuple[str, str]]:
    """Why the Job is to fail now, (reason, message), or None: a failed pod matching a FailJob rule
    (getFailJobMessage), or failures past backoffLimit.  The deadline is its own step (`deadline_exceeded`)."""
    if job.pod_failure_policy:
        for p in job_pods(view, job):
            if pod_failed(p, job):
                message, _ = match_pod_failure_policy(job, p)
                if message is not None:
                    return "PodFailurePolicy", message
    if counts(view, job, tracking)[1] > job.backoff_limit:
        return "BackoffLimitExceeded", BACKOFF_MESSAGE
    return None


def terminating(view, job: Job) -> int:
    """controller.CountTerminatingPods: pods being deleted that have not reached Succeeded or Failed."""
    return sum(1 for p in job_pods(view, job) if p.meta.deleting and p.phase not in ("Succeeded", "Failed"))


def wanted_active(job: Job, succeeded: int) -> int:
    """manageJob's wantActive: none while suspended, else parallelism, at most the completions still to go."""
    if job.suspend:
        return 0
    return max(min(job.parallelism, job.completions - succeeded), 0)


def removal_order(p: Pod):
    """activePodsForRemoval's order (controller.ActivePods): the first is deleted first."""
    return (bool(p.spec.node_name), p.phase == "Running", p.ready, -p.meta.uid)


def new_pod(job: Job, tracking: bool) -> Pod:
    meta = ObjectMeta(namespace=job.meta.namespace, name="", generate_name=f"{job.meta.name}-",
                      labels=job.template.labels,
                      owner_references=(OwnerReference("Job", job.meta.name, job.meta.uid, True),),
                      finalizers=(TRACKING,) if tracking else ())
    return Pod(meta=meta, spec=job.template.spec)


def without_finalizer(s: ClusterState, pod: Pod) -> Optional[ClusterState]:
    """removeTrackingFinalizerPatch, applied to the pod as stored."""
    live = s.store.by_uid("Pod", pod.meta.uid)
    if live is None:
        return None
    released = evolve(live, meta=evolve(live.meta, finalizers=tuple(f for f in live.meta.finalizers if f != TRACKING)))
    return apiserver.update(s, released, live.meta.resource_version, spec_changed=False)


def delete_job_pod(s: ClusterState, pod: Pod) -> Optional[ClusterState]:
    """deleteJobPods: the tracking finalizer removed, then DELETE; the pod is not counted as failed."""
    nxt = without_finalizer(s, pod) if TRACKING in pod.meta.finalizers else s
    live = None if nxt is None else nxt.store.by_uid("Pod", pod.meta.uid)
    return None if live is None else apiserver.delete(nxt, live)


def rules(tracking: bool, expectations: bool = True) -> List[Rule]:
    def synced(s: ClusterState, actor: str, view, job: Job) -> bool:
        """SatisfiedExpectations: its informer has seen this replica's last create or delete for the Job."""
        return not expectations or view.revision >= s.expectation(actor, job.meta.uid)

    def managed(s: ClusterState, actor: str, view, job: Job) -> bool:
        """manageJob runs: the Job is neither finished nor bound to fail nor being deleted, and its
        expectations are satisfied."""
        return (not job.condition and not job.failure_target and not job.meta.deleting
                and synced(s, actor, view, job) and failure(view, job, tracking) is None)

    def create_pod(s: ClusterState) -> Iterator:
        """The controller creates a pod for a Job that has fewer active pods than it still needs."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if not managed(s, actor, view, job):
                    continue
                succeeded, _ = counts(view, job, tracking)
                active = sum(1 for p in job_pods(view, job) if p.active)
                waiting = terminating(view, job) if job.pod_failure_policy else 0
                if active + waiting < wanted_active(job, succeeded):
                    nxt = apiserver.create(s, new_pod(job, tracking))
                    if nxt is not None:
                        if expectations:
                            nxt = nxt.expect(actor, job.meta.uid, nxt.store.revision)
                        yield label("job", "create_pod", (("job", job.meta.key),) + by), nxt

    def delete_excess(s: ClusterState) -> Iterator:
        """The controller deletes an active pod beyond what parallelism and the completions still to go allow
        (every active pod while the Job is suspended), its tracking finalizer removed first."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if not managed(s, actor, view, job):
                    continue
                active = [p for p in job_pods(view, job) if p.active]
                succeeded, _ = counts(view, job, tracking)
                if len(active) <= wanted_active(job, succeeded):
                    continue
                victim = min(active, key=removal_order)
                nxt = delete_job_pod(s, victim)
                if nxt is not None:
                    if expectations:
                        nxt = nxt.expect(actor, job.meta.uid, nxt.store.revision)
                    yield label("job", "delete_pod", (("job", job.meta.key),) + by, (("pod", victim.meta.key),)), nxt

    def fail(s: ClusterState) -> Iterator:
        """The controller records that a Job is to fail (the FailureTarget condition and its reason): a pod
        matched a FailJob rule of its podFailurePolicy, or its failures passed backoffLimit."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if job.condition or job.failure_target:
                    continue
                why = failure(view, job, tracking)
                if why is None:
                    continue
                nxt = apiserver.update(s, evolve(job, failure_target=why[0], message=why[1]),
                                       job.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    yield label("job", "fail", (("job", job.meta.key),) + by, (("reason", why[0]),)), nxt

    def deadline_exceeded(s: ClusterState) -> Iterator:
        """activeDeadlineSeconds pass while the Job runs, and the controller's sync sees it (pastActiveDeadline):
        not fair, it may happen or not."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if (job.active_deadline is None or job.suspend or job.condition or job.failure_target
                        or job.meta.deleting):
                    continue
                nxt = apiserver.update(s, evolve(job, failure_target="DeadlineExceeded", message=DEADLINE_MESSAGE),
                                       job.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    yield label("job", "deadline_exceeded", (("job", job.meta.key),) + by), nxt

    def delete_active(s: ClusterState) -> Iterator:
        """The controller deletes the active pods of a Job that is to fail, keeping their tracking finalizers
        (deleteActivePods): they are counted as failed."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if job.condition or not job.failure_target:
                    continue
                active = [p for p in job_pods(view, job) if p.active]
                if not active:
                    continue
                victim = min(active, key=removal_order)
                live = s.store.by_uid("Pod", victim.meta.uid)
                nxt = None if live is None else apiserver.delete(s, live)
                if nxt is not None:
                    yield label("job", "delete_active", (("job", job.meta.key),) + by, (("pod", victim.meta.key),)), nxt

    def track_finished(s: ClusterState) -> Iterator:
        """The controller counts a finished pod in the Job's status and removes its tracking finalizer (a failure
        its podFailurePolicy ignores is not counted)."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if job.condition:
                    continue
                for p in job_pods(view, job):
                    if TRACKING not in p.meta.finalizers:
                        continue
                    if p.phase == "Succeeded":
                        field = "succeeded"
                    elif failing(p, job):
                        field = "failed" if counted_failure(job, p) else ""
                    else:
                        continue
                    live_job = s.store.by_uid("Job", job.meta.uid)
                    if live_job is None:
                        continue
                    nxt = s
                    if field:
                        counted = evolve(live_job, **{field: getattr(live_job, field) + 1})
                        nxt = apiserver.update(s, counted, live_job.meta.resource_version, spec_changed=False)
                    nxt = None if nxt is None else without_finalizer(nxt, p)
                    if nxt is not None:
                        yield label("job", "track_finished", (("job", job.meta.key),) + by,
                                    (("pod", p.meta.key),)), nxt

    def release_orphan(s: ClusterState) -> Iterator:
        """The controller removes the tracking finalizer of a pod whose Job is gone or finished (syncOrphanPod),
        counting nothing, so that its deletion can complete."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            live_jobs = {j.meta.uid: j for j in view.jobs}
            for p in view.pods:
                if TRACKING not in p.meta.finalizers:
                    continue
                owner = p.meta.controller_uid()
                job = live_jobs.get(owner) if owner is not None else None
                if job is not None and not job.condition:
                    continue   # adopted by a Job that still runs: it counts the pod itself
                nxt = without_finalizer(s, p)
                if nxt is not None:
                    yield label("job", "release_orphan", (("pod", p.meta.key),) + by), nxt

    def finish(s: ClusterState) -> Iterator:
        """The controller marks a Job Complete (enough successes, no pod active) or Failed (bound to fail, its
        active pods gone), once every finished pod is counted."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if job.condition or not synced(s, actor, view, job):
                    continue
                if any(p.active for p in job_pods(view, job)):
                    continue
                succeeded, failed = counts(view, job, tracking)
                if job.failure_target:
                    condition = "Failed"
                elif succeeded >= job.completions:
                    condition = "Complete"
                else:
                    continue
                if tracking and (succeeded != job.succeeded or failed != job.failed):
                    continue  # finished pods are counted first
                done = evolve(job, condition=condition, succeeded=succeeded, failed=failed,
                              reason=job.failure_target if condition == "Failed" else "")
                nxt = apiserver.update(s, done, job.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    yield label("job", "finish", (("job", job.meta.key),) + by, (("condition", condition),)), nxt

    return [Rule("job.create_pod", create_pod, doc=create_pod.__doc__),
            Rule("job.delete_excess", delete_excess, doc=delete_excess.__doc__),
            Rule("job.fail", fail, doc=fail.__doc__),
            Rule("job.deadline_exceeded", deadline_exceeded, fair=False, doc=deadline_exceeded.__doc__),
            Rule("job.delete_active", delete_active, doc=delete_active.__doc__),
            Rule("job.track_finished", track_finished, doc=track_finished.__doc__),
            Rule("job.release_orphan", release_orphan, doc=release_orphan.__doc__),
            Rule("job.finish", finish, doc=finish.__doc__)]
