"""CronJob (batch/v1): a Job from spec.jobTemplate at each scheduled time (model/components/cronjob.py).

Time is abstract.  The schedule's times are *ticks*: environment steps of the
clock (model/components/environment.py, `tick_rules`), a bounded number per
CronJob, weakly fair until spent, so that convergence is judged after the
last one.  How many is a model option written on the CronJob itself, as an
annotation (a real manifest keeps it and `kubectl apply` accepts it):

    metadata:
      annotations: {kubecheck.io/ticks: "2"}     # default 2; 0 to 100

Modelled: schedule (it must parse as a cron schedule, five fields or a
macro such as @hourly; which times it names is abstracted to the ticks),
concurrencyPolicy (Allow, Forbid, Replace), startingDeadlineSeconds (set: a
scheduled time the controller has not yet acted on may pass its deadline and
be missed, a clock step that is not fair; its number of seconds is not read),
suspend, successfulJobsHistoryLimit and failedJobsHistoryLimit (defaults 3
and 1), and the jobTemplate (its labels, and its spec as a Job's: completions,
parallelism, backoffLimit, the pod template; the Job's own field policy).
Inert: timeZone (which wall-clock times the ticks are changes nothing the
model checks) and annotations other than `kubecheck.io/ticks`.
"""

from __future__ import annotations

import re

from ..objects import CronJob, Job, ObjectMeta, PodTemplate
from . import Kind
from .common import METADATA, policy
from .job import _POLICY as _JOB_POLICY
from .manifest import MODELLED, inert, modelled, meta, short

TICKS_ANNOTATION = "kubecheck.io/ticks"
DEFAULT_TICKS = 2
MAX_TICKS = 100
POLICIES = ("Allow", "Forbid", "Replace")

_METADATA = modelled({**METADATA.children,
                      "annotations": inert(f"read by no modelled component, but for {TICKS_ANNOTATION} (the number "
                                           "of scheduled times that come)")})
_POLICY = policy(metadata=_METADATA, spec=modelled({
    "schedule": MODELLED,
    "timeZone": inert("time is abstract: which wall-clock times the scheduled times are changes nothing checked"),
    "startingDeadlineSeconds": MODELLED, "concurrencyPolicy": MODELLED, "suspend": MODELLED,
    "successfulJobsHistoryLimit": MODELLED, "failedJobsHistoryLimit": MODELLED,
    "jobTemplate": modelled({"metadata": METADATA, "spec": _JOB_POLICY["spec"]}),
}))

# A standard cron line (robfig/cron's ParseStandard, as the apiserver validates it): five fields, or a
# predefined schedule; an optional TZ= or CRON_TZ= prefix.
_FIELD = r"[0-9A-Za-z*?,/\-]+"
_CRON = re.compile(rf"((CRON_)?TZ=\S+\s+)?(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every\s+\S+|"
                   rf"{_FIELD}(\s+{_FIELD}){{4}})")


def _ticks(doc, m: dict) -> int:
    notes = doc.get(m, "annotations", "metadata", dict, {})
    raw = notes.get(TICKS_ANNOTATION)
    if raw is None:
        return DEFAULT_TICKS
    fpath = f"metadata.annotations.{TICKS_ANNOTATION}"
    text = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if text is None or not re.fullmatch(r"[0-9]{1,4}", text.strip()) or not 0 <= int(text) <= MAX_TICKS:
        raise doc.error(fpath, f"expected a whole number of scheduled times from 0 to {MAX_TICKS} (a string, "
                               f"as annotations are), got {short(raw)}")
    return int(text)


def job_from_template(doc, jt: dict, m: ObjectMeta) -> Job:
    """The jobTemplate as a Job (getJobFromTemplate2 copies its labels and spec), read as the Job kind reads a
    Job's spec, with the paths of the CronJob's manifest."""
    from .podspec import pod_spec
    base = "spec.jobTemplate"
    tm = doc.get(jt, "metadata", base, dict, {})
    labels = doc.labels(tm, "labels", f"{base}.metadata")
    spec = doc.get(jt, "spec", base, dict, required=True)
    nums = {}
    for key, default in (("completions", 1), ("parallelism", 1), ("backoffLimit", 6)):
        nums[key] = doc.get(spec, key, f"{base}.spec", int, default)
        least = 0 if key == "backoffLimit" else 1
        if nums[key] < least:
            raise doc.error(f"{base}.spec.{key}", f"must be at least {least}, got {nums[key]}")
    t = doc.get(spec, "template", f"{base}.spec", dict, required=True)
    pm = doc.get(t, "metadata", f"{base}.spec.template", dict, {})
    ps = pod_spec(doc, doc.get(t, "spec", f"{base}.spec.template", dict, required=True), f"{base}.spec.template.spec")
    if ps.restart_policy == "Always":
        raise doc.error(f"{base}.spec.template.spec.restartPolicy", "a Job's pods need restartPolicy Never or OnFailure")
    return Job(meta=ObjectMeta(namespace=m.namespace, name="", labels=labels),
               template=PodTemplate(doc.labels(pm, "labels", f"{base}.spec.template.metadata"), ps),
               completions=nums["completions"], parallelism=nums["parallelism"], backoff_limit=nums["backoffLimit"])


def parse(doc) -> CronJob:
    raw = doc.raw
    m = meta(doc, raw, True)
    ticks = _ticks(doc, doc.get(raw, "metadata", "", dict, required=True))
    spec = doc.get(raw, "spec", "", dict, required=True)
    schedule = doc.get(spec, "schedule", "spec", str, required=True)
    if not _CRON.fullmatch(schedule.strip()):
        raise doc.error("spec.schedule", f"not a cron schedule (five fields, or a macro such as @hourly), got "
                                         f"{short(schedule)}")
    concurrency = doc.get(spec, "concurrencyPolicy", "spec", str, "Allow")
    if concurrency not in POLICIES:
        raise doc.error("spec.concurrencyPolicy", f"expected Allow, Forbid or Replace, got {short(concurrency)}")
    deadline = doc.get(spec, "startingDeadlineSeconds", "spec", int, None)
    if deadline is not None and deadline < 0:
        raise doc.error("spec.startingDeadlineSeconds", f"must be 0 or more, got {deadline}")
    limits = {}
    for key, default in (("successfulJobsHistoryLimit", 3), ("failedJobsHistoryLimit", 1)):
        limits[key] = doc.get(spec, key, "spec", int, default)
        if limits[key] < 0:
            raise doc.error(f"spec.{key}", f"must be 0 or more, got {limits[key]}")
    jt = doc.get(spec, "jobTemplate", "spec", dict, required=True)
    return CronJob(meta=m, job=job_from_template(doc, jt, m), schedule=schedule, concurrency_policy=concurrency,
                   starting_deadline=deadline, successful_limit=limits["successfulJobsHistoryLimit"],
                   failed_limit=limits["failedJobsHistoryLimit"],
                   suspend=doc.get(spec, "suspend", "spec", bool, False), ticks=ticks)


def pod_groups(o, nodes):
    """The pods of the Jobs it may run at once: one Job's (parallelism, at most completions) with Forbid or
    Replace, one per scheduled time with Allow; none while suspended."""
    if o.suspend or o.ticks == 0:
        return []
    jobs = o.ticks if o.concurrency_policy == "Allow" else 1
    return [(f"CronJob {o.meta.key}", o.job.template.spec, jobs * min(o.job.parallelism, o.job.completions),
             o.job.template.labels)]


def encode(o, rec) -> None:
    rec.update(concurrencyPolicy=o.concurrency_policy, ticks=o.ticks, active=list(o.status.active),
               lastScheduleTime=f"tick {o.status.last_schedule}" if o.status.last_schedule else "")
    if o.suspend:
        rec["suspend"] = True


KIND = Kind("CronJob", ("batch/v1",), "cronjobs", parse=parse, policy=_POLICY, install_order=7.5,
            spec_fields=("job", "schedule", "concurrency_policy", "starting_deadline", "successful_limit",
                         "failed_limit", "suspend", "ticks"),
            pod_groups=pod_groups, pod_spec=lambda o: o.job.template.spec, owner=True, status_subresource=True,
            encode=encode, controllers=("cronjob", "job", "podgc"), placement=("job-completes", "n-plus-one-capacity"),
            doc=__doc__)
