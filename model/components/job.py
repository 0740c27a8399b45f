"""The Job controller of kube-controller-manager (pkg/controller/job/job_controller.go).

Modelled: a Job runs pods from its template, at most `parallelism` active at
once and no more than the successes it still needs; it is Complete once
`completions` pods have succeeded, Failed once more than `backoffLimit` have
failed.  Which pods count as succeeded depends on the Job tracking of the
Kubernetes version (`behaviour.jobTrackingWithFinalizers`):

* with finalizers (stable since 1.26, the default): each pod carries the
  `batch.kubernetes.io/job-tracking` finalizer; when it finishes, the
  controller adds it to the Job's status counters and removes the finalizer,
  so a pod removed later (PodGC) stays counted.  Recording the pod in
  status.uncountedTerminatedPods, removing the finalizer and moving it to
  the counters are three writes upstream; here they are one step.
* without (before 1.26): the controller counts the Succeeded and Failed
  pods that still exist, so a succeeded pod removed before it was counted
  is run again (kubernetes issues 78721, 91235).

A pod being deleted that had not succeeded (evicted, removed with its node)
is failed, as upstream's isPodFailed counts it ("to account for orphan Pods
that never have a chance to reach the Failed phase"): with finalizers it is
counted and its finalizer removed (trackJobStatusAndRemoveFinalizers), so its
deletion can finish.  Active pods beyond what parallelism and the remaining
completions allow, and every active pod of a finished Job, are deleted
(manageJob, activePodsForRemoval: unscheduled before scheduled, Pending
before Running, not ready before ready, newest first), one per step.

Abstracted: the exponential back-off between failed pods (a failure is
retried at once); pod failure policy (with which only Failed pods count),
indexed Jobs, suspend,
activeDeadlineSeconds, TTL after finished.  Expectations
(`behaviour.expectations`): after creating a pod, a controller replica does
not sync that Job again until its informer has seen the create, as upstream
(ControllerExpectations); they live in the replica's memory and are lost when
it crashes.  The finalizer-removal expectations are not modelled.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import Job, ObjectMeta, OwnerReference, Pod, evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
TRACKING = "batch.kubernetes.io/job-tracking"


def job_pods(view, job: Job) -> List[Pod]:
    return [p for p in view.pods if p.meta.controller_uid() == job.meta.uid]


def pod_failed(p: Pod) -> bool:
    """isPodFailed (no pod failure policy): Failed, or being deleted without having succeeded."""
    return p.phase == "Failed" or (p.meta.deleting and p.phase != "Succeeded")


def counts(view, job: Job, tracking: bool):
    """(succeeded, failed) as the controller computes them."""
    pods = job_pods(view, job)
    if tracking:
        uncounted_ok = sum(1 for p in pods if p.phase == "Succeeded" and TRACKING in p.meta.finalizers)
        uncounted_failed = sum(1 for p in pods if pod_failed(p) and TRACKING in p.meta.finalizers)
        return job.succeeded + uncounted_ok, job.failed + uncounted_failed
    return sum(1 for p in pods if p.phase == "Succeeded"), sum(1 for p in pods if p.phase == "Failed")


def removal_order(p: Pod):
    """activePodsForRemoval's order (controller.ActivePods): the first is deleted first."""
    return (bool(p.spec.node_name), p.phase == "Running", p.ready, -p.meta.uid)


def new_pod(job: Job, tracking: bool) -> Pod:
    meta = ObjectMeta(namespace=job.meta.namespace, name="", generate_name=f"{job.meta.name}-",
                      labels=job.template.labels,
                      owner_references=(OwnerReference("Job", job.meta.name, job.meta.uid, True),),
                      finalizers=(TRACKING,) if tracking else ())
    return Pod(meta=meta, spec=job.template.spec)


def rules(tracking: bool, expectations: bool = True) -> List[Rule]:
    def create_pod(s: ClusterState) -> Iterator:
        """The controller creates a pod for a Job that has fewer active pods than it still needs."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if job.condition or job.meta.deleting:
                    continue
                if expectations and view.revision < s.expectation(actor, job.meta.uid):
                    continue  # its informer has not yet seen its own last create
                succeeded, failed = counts(view, job, tracking)
                if failed > job.backoff_limit:
                    continue
                active = sum(1 for p in job_pods(view, job) if p.active)
                if active < min(job.parallelism, job.completions - succeeded):
                    nxt = apiserver.create(s, new_pod(job, tracking))
                    if nxt is not None:
                        if expectations:
                            nxt = nxt.expect(actor, job.meta.uid, nxt.store.revision)
                        yield label("job", "create_pod", (("job", job.meta.key),) + by), nxt

    def track_finished(s: ClusterState) -> Iterator:
        """The controller counts a finished pod in the Job's status and removes its tracking finalizer."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                for p in job_pods(view, job):
                    if TRACKING not in p.meta.finalizers or not (p.phase == "Succeeded" or pod_failed(p)):
                        continue
                    live_job = s.store.by_uid("Job", job.meta.uid)
                    if live_job is None:
                        continue
                    field = "succeeded" if p.phase == "Succeeded" else "failed"
                    counted = evolve(live_job, **{field: getattr(live_job, field) + 1})
                    nxt = apiserver.update(s, counted, live_job.meta.resource_version, spec_changed=False)
                    if nxt is None:
                        continue
                    live_pod = nxt.store.by_uid("Pod", p.meta.uid)
                    if live_pod is None:
                        continue
                    released = evolve(live_pod, meta=evolve(live_pod.meta, finalizers=tuple(
                        f for f in live_pod.meta.finalizers if f != TRACKING)))
                    nxt = apiserver.update(nxt, released, live_pod.meta.resource_version, spec_changed=False)
                    if nxt is not None:
                        yield label("job", "track_finished", (("job", job.meta.key),) + by,
                                    (("pod", p.meta.key),)), nxt

    def finish(s: ClusterState) -> Iterator:
        """The controller marks a Job Complete (enough successes) or Failed (backoffLimit exceeded)."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if job.condition:
                    continue
                succeeded, failed = counts(view, job, tracking)
                if succeeded >= job.completions:
                    condition = "Complete"
                elif failed > job.backoff_limit:
                    condition = "Failed"
                else:
                    continue
                if tracking and (succeeded != job.succeeded or failed != job.failed):
                    continue  # finished pods are counted first
                done = evolve(job, condition=condition, succeeded=succeeded, failed=failed)
                nxt = apiserver.update(s, done, job.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    yield label("job", "finish", (("job", job.meta.key),) + by, (("condition", condition),)), nxt

    def delete_excess(s: ClusterState) -> Iterator:
        """The controller deletes an active pod beyond what parallelism and the completions still to go allow
        (every active pod, once the Job has finished)."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for job in view.jobs:
                if job.meta.deleting:
                    continue
                if expectations and view.revision < s.expectation(actor, job.meta.uid):
                    continue
                active = [p for p in job_pods(view, job) if p.active]
                if not active:
                    continue
                succeeded, _ = counts(view, job, tracking)
                want = 0 if job.condition else max(min(job.parallelism, job.completions - succeeded), 0)
                if len(active) <= want:
                    continue
                victim = min(active, key=removal_order)
                live = s.store.by_uid("Pod", victim.meta.uid)
                if live is None:
                    continue
                nxt = apiserver.delete(s, live)
                if nxt is not None:
                    if expectations:
                        nxt = nxt.expect(actor, job.meta.uid, nxt.store.revision)
                    yield label("job", "delete_pod", (("job", job.meta.key),) + by, (("pod", victim.meta.key),)), nxt

    return [Rule("job.create_pod", create_pod, doc=create_pod.__doc__),
            Rule("job.delete_excess", delete_excess, doc=delete_excess.__doc__),
            Rule("job.track_finished", track_finished, doc=track_finished.__doc__),
            Rule("job.finish", finish, doc=finish.__doc__)]
