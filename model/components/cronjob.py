"""The CronJob controller of kube-controller-manager (pkg/controller/cronjob, cronjob_controllerv2.go).

Read upstream: `sync` (cleanupFinishedJobs, then syncCronJob, then one
UpdateStatus of the CronJob), `syncCronJob`, `cleanupFinishedJobs` /
`removeOldestJobs` (byJobStartTime), `deleteJob` with
`realJobControl.DeleteJob` (injection.go: propagationPolicy Background),
`getJobsToBeReconciled` (the Jobs whose controller reference names the
CronJob), and in utils.go `mostRecentScheduleTime` / `nextScheduleTime`,
`getJobFromTemplate2` and `getJobName`.

Modelled, one sync of a CronJob as one step, its writes made in upstream's
order (a write that fails ends the sync, the writes before it stay, as an
error returned mid-sync leaves them):

* finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit
  are deleted, oldest first (byJobStartTime), each with background
  propagation: the Job goes at once, the garbage collector deletes its pods
  afterwards (model/components/garbagecollector.py);
* an unfinished Job of the CronJob missing from status.active makes it read
  the CronJob live (GetCronJob): where that copy lists the Job (the cache
  had not yet shown the controller its own status write), the sync goes on
  with that copy; else it is only an event (UnexpectedJob), never added back;
* status.active loses the Jobs that finished (IsJobFinished: the Complete or
  Failed condition) and those that are gone (a live GET answers NotFound);
* nothing more while the CronJob is being deleted or suspended;
* the scheduled time to act on is the most recent one that has come since
  status.lastScheduleTime (mostRecentScheduleTime: times missed before it
  are skipped, with every policy); none, nothing to do;
* too late (startingDeadlineSeconds passed since it came): missed
  (MissSchedule), lastScheduleTime unchanged;
* already started (its Job's name is in status.active, or lastScheduleTime
  is that time): nothing;
* Forbid with status.active not empty: nothing (JobAlreadyActive), and
  lastScheduleTime is not moved, so the time is still unmet: once the active
  Job finishes, a later sync starts it late, unless its deadline passed
  (as the documentation warns);
* Replace: every Job in status.active is read (GET) and deleted with
  background propagation, so its pods keep running until the garbage
  collector deletes them and their kubelet stops them: beside the new Job's
  pods, for a while (the hazard `cronjob-concurrency-respected` shows);
* the Job is created from the jobTemplate, named `<cronjob>-<tick>`
  (upstream `<cronjob>-<minutes since the epoch of the scheduled time>`: the
  name, deterministic per scheduled time, is the lock against starting one
  time twice), with a controller reference to the CronJob; AlreadyExists
  with a Job of the CronJob's not in status.active adds it there;
* status.active gains its name and lastScheduleTime becomes that time,
  written through the status subresource with the resourceVersion the sync
  read (a stale read: 409, the sync ends, its Job stays created).

Abstracted: time.  A scheduled time is a tick of the clock
(model/components/environment.py, `tick_rules`), which says how many have
come and whether the last one's starting deadline has passed; the schedule's
string, timeZone and the requeue delays are not read.  The workqueue's
delays and rate limits (a sync is a weakly fair step whenever it has
something to write); events and metrics; status.lastSuccessfulTime (no
property reads it).  The references in status.active are names (see
model/objects.py CronJobStatus).
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from explorer import Rule, label

from ..objects import CronJob, Job, ObjectMeta, OwnerReference, evolve
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"


def job_name(cj: CronJob, tick: int) -> str:
    """getJobName: the name of the Job for one scheduled time (here its tick)."""
    return f"{cj.meta.name}-{tick}"


def tick_of(cj: CronJob, name: str) -> int:
    """The scheduled time a Job named by `job_name` is for; 0 for any other name."""
    prefix = f"{cj.meta.name}-"
    rest = name[len(prefix):] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() and not rest.startswith("0") else 0


def controlled_by(job: Job, cj: CronJob) -> bool:
    """getJobsToBeReconciled: a Job whose controller reference names the CronJob.  Upstream compares the name
    alone (not the uid: a CronJob created again under its name takes its predecessor's Jobs); the model also
    asks that the reference be to a CronJob."""
    return any(r.controller and r.kind == "CronJob" and r.name == cj.meta.name for r in job.meta.owner_references)


def jobs_of(store, cj: CronJob) -> List[Job]:
    return [j for j in store.jobs if j.meta.namespace == cj.meta.namespace and controlled_by(j, cj)]


def start_order(cj: CronJob, job: Job) -> Tuple[int, str]:
    """byJobStartTime: oldest first, ties by name.  The Job of an earlier scheduled time started earlier."""
    return (tick_of(cj, job.meta.name), job.meta.name)


def job_from_template(cj: CronJob, tick: int) -> Job:
    """getJobFromTemplate2: the jobTemplate's labels and spec, the name for the scheduled time, and a controller
    reference to the CronJob."""
    meta = ObjectMeta(namespace=cj.meta.namespace, name=job_name(cj, tick), labels=cj.job.meta.labels,
                      owner_references=(OwnerReference("CronJob", cj.meta.name, cj.meta.uid, True),))
    return evolve(cj.job, meta=meta)


def scheduled_time(cj: CronJob, come: int) -> Optional[int]:
    """mostRecentScheduleTime: the most recent scheduled time that has come since status.lastScheduleTime, or
    None.  (Its earliest time is lastScheduleTime, else the CronJob's creation: the ticks are counted from it.)"""
    return come if come > cj.status.last_schedule else None


def deletes_jobs(cj: CronJob) -> bool:
    """Whether its controller may delete Jobs: Replace, or more finished Jobs than a history limit keeps (a
    Job fails only where its pods may fail: restartPolicy Never)."""
    may_fail = cj.job.template.spec.restart_policy == "Never"
    return (cj.concurrency_policy == "Replace" or cj.ticks > cj.successful_limit
            or (may_fail and cj.ticks > cj.failed_limit))


def fresher_copy(s: ClusterState, cj: CronJob, jobs, active) -> Optional[CronJob]:
    """syncCronJob's GetCronJob: for an unfinished Job of the CronJob missing from the cached status.active, the
    CronJob read live; returned where that copy lists the Job (else None: an UnexpectedJob event only)."""
    missing = [j.meta.name for j in jobs if not j.condition and j.meta.name not in active]
    if not missing:
        return None
    live = s.store.by_uid("CronJob", cj.meta.uid)
    return live if live is not None and any(n in live.status.active for n in missing) else None


class _Sync:
    """One sync's writes, in order; the first that fails ends it (`failed`), the earlier ones stay."""

    def __init__(self, s: ClusterState):
        self.s, self.did, self.failed = s, [], False

    def write(self, nxt: Optional[ClusterState], what: Tuple[str, str]) -> bool:
        if self.failed:
            return False
        if nxt is None:
            self.failed = True
            return False
        self.s = nxt
        self.did.append(what)
        return True


def sync(s: ClusterState, cj: CronJob, view) -> Tuple[ClusterState, list]:
    """One sync of `cj` as read in `view`: the state after its writes, and what it did."""
    w = _Sync(s)
    active = list(cj.status.active)
    last = cj.status.last_schedule
    jobs = jobs_of(view, cj)
    # cleanupFinishedJobs: the oldest finished Jobs beyond each history limit, deleted in the background.
    for condition, limit in (("Complete", cj.successful_limit), ("Failed", cj.failed_limit)):
        done = sorted((j for j in jobs if j.condition == condition), key=lambda j: start_order(cj, j))
        for j in done[:max(len(done) - limit, 0)]:
            if w.write(delete_job(w.s, j), ("deleted", j.meta.name)):
                active = [n for n in active if n != j.meta.name]
    # syncCronJob: an unfinished Job of the CronJob missing from status.active sends the controller to read the
    # CronJob live (GetCronJob); where that copy lists it, the sync goes on with that copy.
    live = fresher_copy(s, cj, jobs, active)
    if live is not None:
        cj = live
        active, last = list(live.status.active), live.status.last_schedule
    # syncCronJob: status.active loses finished Jobs, and Jobs a live GET no longer finds.
    names = {j.meta.name for j in jobs}
    for j in jobs:
        if j.condition and j.meta.name in active:
            active.remove(j.meta.name)
    active = [n for n in active if n in names or w.s.store.get("Job", cj.meta.namespace, n) is not None]
    come, late = s.ticks_of(cj.meta.key)
    t = None if (cj.meta.deleting or cj.suspend or w.failed) else scheduled_time(cj, come)
    if t is not None and late and cj.starting_deadline is not None:
        t = None                                   # MissSchedule: too late to start it
    if t is not None and (job_name(cj, t) in active or last == t):
        t = None                                   # already processed
    if t is not None and cj.concurrency_policy == "Forbid" and active:
        t = None                                   # JobAlreadyActive: the time stays unmet
    if t is not None and cj.concurrency_policy == "Replace":
        for name in list(active):
            live = w.s.store.get("Job", cj.meta.namespace, name)     # GetJob
            if live is None or not w.write(delete_job(w.s, live), ("deleted", name)):
                w.failed, t = True, None
                break
            active.remove(name)
    if t is not None:
        name = job_name(cj, t)
        existing = w.s.store.get("Job", cj.meta.namespace, name)
        if existing is None:
            if w.write(apiserver.create(w.s, job_from_template(cj, t)), ("created", name)):
                active.append(name)
                last = t
        elif controlled_by(existing, cj) and name not in active:   # AlreadyExists, ours: record it
            active.append(name)
            last = t
    status = evolve(cj.status, active=tuple(active), last_schedule=last)
    if status != cj.status and not w.failed:
        if w.write(apiserver.update_status(w.s, evolve(cj, status=status), cj.meta.resource_version),
                   ("status", _describe(status))):
            pass
    return w.s, w.did


def _describe(status) -> str:
    return (f"active [{', '.join(status.active)}]"
            + (f", lastScheduleTime tick {status.last_schedule}" if status.last_schedule else ""))


def delete_job(s: ClusterState, job: Job) -> Optional[ClusterState]:
    """realJobControl.DeleteJob: DELETE with propagationPolicy Background (the Job's pods are left to the
    garbage collector)."""
    return apiserver.delete(s, job, propagation="Background")


def rules() -> List[Rule]:
    def sync_cronjob(s: ClusterState) -> Iterator:
        """The controller syncs a CronJob: it deletes finished Jobs beyond the history limits, drops finished and
        missing Jobs from status.active, and, at a scheduled time that has come, starts its Job as the
        concurrency policy allows (Replace deletes the active ones first), then writes the status."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for cj in view.cronjobs:
                nxt, did = sync(s, cj, view)
                if did:
                    yield label("cronjob", "sync", (("cronjob", cj.meta.key),) + by, tuple(did)), nxt

    return [Rule("cronjob.sync", sync_cronjob, doc=sync_cronjob.__doc__)]
