"""CronJob: the kind, the controller (cronjob_controllerv2.go), the clock's ticks, cronjob-concurrency-respected."""

import os
import subprocess
import sys

import pytest

from explorer import check, render_label
from kubecheck.compose import compose
from model.components import cronjob as cronjob_controller
from model.scenario import load_scenario, parse_scenario
from model.kinds.manifest import ScenarioError

from conftest import ROOT, SCENARIOS

CRONJOB = """\
apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {{name: cron}}
spec: {{{cluster}}}
---
apiVersion: v1
kind: Node
metadata: {{name: n1}}
status: {{allocatable: {{cpu: "2", memory: 4Gi, pods: "110"}}}}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: default
{annotations}spec:
  schedule: "{schedule}"
  concurrencyPolicy: {policy}
{extra}  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: {restart}
          containers: [{{name: report, image: busybox, resources: {{requests: {{cpu: 500m}}}}}}]
"""


def cron(policy="Forbid", schedule="*/5 * * * *", annotations="", extra="", restart="OnFailure", cluster=""):
    return parse_scenario(CRONJOB.format(policy=policy, schedule=schedule, annotations=annotations, extra=extra,
                                         restart=restart, cluster=cluster), os.path.join(SCENARIOS, "cron.yaml"))


def run_scenario(sc):
    comp = compose(sc)
    return comp, check(comp.system, max_depth=sc.max_depth, max_states=sc.max_states, reduction="none",
                       symmetry=False)


def run(name):
    return run_scenario(load_scenario(os.path.join(SCENARIOS, f"{name}.yaml")))


def verdicts(res):
    return {v.prop: v for v in res.verdicts}


def job(s, name):
    return s.store.get("Job", "default", name)


def ticks(s):
    return s.ticks_of("default/report")


# -- the kind ------------------------------------------------------------------------------------------------

def test_the_manifest_is_read_with_its_defaults_and_the_ticks_annotation():
    cj = cron(annotations='  annotations: {kubecheck.io/ticks: "3", team: batch}\n').of_kind("CronJob")[0]
    assert (cj.ticks, cj.concurrency_policy, cj.successful_limit, cj.failed_limit, cj.starting_deadline,
            cj.suspend) == (3, "Forbid", 3, 1, None, False)
    assert cj.job.template.spec.restart_policy == "OnFailure" and cj.job.completions == 1
    assert cron().of_kind("CronJob")[0].ticks == 2     # the default


@pytest.mark.parametrize("kwargs, where, what", [
    (dict(policy="Sometimes"), "spec.concurrencyPolicy", "expected Allow, Forbid or Replace, got 'Sometimes'"),
    (dict(schedule="every five minutes"), "spec.schedule", "not a cron schedule"),
    (dict(annotations='  annotations: {kubecheck.io/ticks: "many"}\n'), "metadata.annotations.kubecheck.io/ticks",
     "expected a whole number of scheduled times from 0 to 100"),
    (dict(annotations='  annotations: {kubecheck.io/ticks: "1000"}\n'), "metadata.annotations.kubecheck.io/ticks",
     "from 0 to 100"),
    (dict(extra="  startingDeadlineSeconds: -5\n"), "spec.startingDeadlineSeconds", "must be 0 or more, got -5"),
    (dict(extra="  successfulJobsHistoryLimit: -1\n"), "spec.successfulJobsHistoryLimit", "must be 0 or more"),
    (dict(restart="Always"), "spec.jobTemplate.spec.template.spec.restartPolicy", "Never or OnFailure"),
])
def test_bad_fields_are_one_clear_error(kwargs, where, what):
    with pytest.raises(ScenarioError) as e:
        cron(**kwargs)
    assert f"(CronJob default/report): {where}: " in str(e.value) and what in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_input_exits_2_without_a_traceback(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(CRONJOB.format(policy="Sometimes", schedule="@hourly", annotations="", extra="", restart="Never",
                                cluster=""))
    r = subprocess.run([sys.executable, "-m", "kubecheck", "verify", str(p)], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
    assert "spec.concurrencyPolicy: expected Allow, Forbid or Replace" in r.stderr + r.stdout


def test_the_field_policy_warns_of_what_is_not_modelled_and_not_of_what_is_inert():
    sc = cron(extra="  timeZone: Europe/Paris\n  startingDeadlineSeconds: 60\n  suspend: false\n"
                    "  failedJobsHistoryLimit: 2\n",
              annotations='  annotations: {kubecheck.io/ticks: "1", owner: me}\n')
    assert not sc.warnings
    text = CRONJOB.format(policy="Allow", schedule="@daily", annotations="", extra="", restart="Never", cluster="")
    text = text.replace("    spec:\n      template:", "    spec:\n      podReplacementPolicy: Failed\n      template:")
    sc = parse_scenario(text, os.path.join(SCENARIOS, "cron.yaml"))
    assert len(sc.warnings) == 1 and "spec.jobTemplate.spec.podReplacementPolicy: not modelled" in sc.warnings[0]


# -- the controller ------------------------------------------------------------------------------------------

def test_forbid_never_runs_two_jobs_and_starts_a_skipped_time_late():
    """cronjob-forbid: at the second time, with the first Job running, nothing starts and lastScheduleTime stays
    (the time is still unmet); report-2 is started only once report-1 is Complete; every end state has run
    both (no startingDeadlineSeconds)."""
    comp, res = run("cronjob-forbid")
    assert verdicts(res)["cronjob-concurrency-respected"].verdict == "holds"
    g = res.search.graph
    skipped = [s for s in g.states if ticks(s)[0] == 2 and s.store.cronjobs[0].status.last_schedule == 1
               and job(s, "report-1") is not None and not job(s, "report-1").condition]
    assert skipped and all(job(s, "report-2") is None for s in skipped)
    for s in g.states:
        if job(s, "report-2") is not None:
            assert job(s, "report-1") is None or job(s, "report-1").condition == "Complete"
    ends = [s for i, s in enumerate(g.states) if not g.fair_edges[i]]
    assert ends and all(s.store.cronjobs[0].status.last_schedule == 2 and job(s, "report-2").condition
                        for s in ends)


def test_a_controller_that_ignores_forbid_runs_two_jobs_at_once(monkeypatch):
    """The holds verdict of cronjob-forbid is not vacuous: a sync that takes Forbid for Allow starts report-2
    beside the running report-1, and the property names both."""
    honest = cronjob_controller.sync
    monkeypatch.setattr(cronjob_controller, "sync",
                        lambda s, cj, view: honest(s, cronjob_controller.evolve(cj, concurrency_policy="Allow"), view))
    comp, res = run("cronjob-forbid")
    v = verdicts(res)["cronjob-concurrency-respected"]
    assert v.verdict == "violated"
    assert "has 2 active Jobs: report-1, report-2" in v.diagnosis
    last = v.trace.states[-1]
    assert not job(last, "report-1").condition and not job(last, "report-2").condition


def test_replace_deletes_the_old_job_in_the_background_and_its_pod_runs_beside_the_new_one():
    comp, res = run("cronjob-replace")
    v = verdicts(res)["cronjob-concurrency-respected"]
    assert v.verdict == "violated"
    labels = [render_label(lab) for lab in v.trace.labels[1:]]
    assert any(lab.startswith("cronjob.sync(cronjob=default/report, deleted=report-1, created=report-2") for lab in labels)
    last = v.trace.states[-1]
    assert job(last, "report-1") is None                       # the Job went at once (background propagation)
    old = [p for p in last.store.pods if p.meta.owner_references[0].name == "report-1"]
    assert old and not old[0].meta.deleting                    # the garbage collector has not acted yet
    running = {rp.uid for h in last.hosts for rp in h.pods}
    assert {p.meta.uid for p in last.store.pods} <= running and len(running) == 2
    assert "Job report-1 (deleted) on n1; Job report-2 on n1" in v.diagnosis
    assert verdicts(res)["garbage-collected"].verdict == "holds"
    assert verdicts(res)["job-completes"].verdict == "holds"


def _stopped_early(res) -> bool:
    """Some state holds the deleted report-1's pod being deleted before it finished (the garbage collector)."""
    return any(p.meta.deleting and p.phase == "Running" and job(s, "report-1") is None
               for s in res.search.graph.states for p in s.store.pods if p.meta.owner_references[0].name == "report-1")


def test_the_garbage_collector_deletes_the_replaced_jobs_pod(monkeypatch):
    """Composed because the CronJob controller deletes Jobs: it deletes the pod of the replaced Job while it runs;
    without it that pod runs to its end (and PodGC removes it then)."""
    comp, res = run("cronjob-replace")
    assert any(r.name == "garbagecollector.collect" for r in comp.system.rules) and _stopped_early(res)
    from model.components import garbagecollector
    monkeypatch.setattr(garbagecollector, "rules", lambda: [])
    comp, res = run("cronjob-replace")
    assert not _stopped_early(res)


def test_the_orphan_worker_releases_the_replaced_jobs_pod(monkeypatch):
    """garbage-collected holds on cronjob-replace because the Job controller's orphan worker (syncOrphanPod, the
    rule job.release_orphan) removes the tracking finalizer of the deleted Job's pod: without it the pod stays,
    terminating, with its dangling reference."""
    from model.components import job
    real = job.rules
    monkeypatch.setattr(job, "rules", lambda **kw: [r for r in real(**kw) if r.name != "job.release_orphan"])
    comp, res = run("cronjob-replace")
    v = verdicts(res)["garbage-collected"]
    assert v.verdict == "violated" and "still references its deleted owner Job report-" in v.diagnosis


def test_a_cache_two_writes_behind_lets_forbid_run_two_jobs():
    """cronjob-forbid-stale-cache: the sync at the second time reads a cache without report-1 and without the
    status that lists it; it creates report-2, and its status write fails (409)."""
    comp, res = run("cronjob-forbid-stale-cache")
    v = verdicts(res)["cronjob-concurrency-respected"]
    assert v.verdict == "violated" and "report-1, report-2" in v.diagnosis
    last = v.trace.labels[-1]
    assert render_label(last) == "cronjob.sync(cronjob=default/report, created=report-2)"   # no status written
    assert v.trace.states[-1].store.cronjobs[0].status.active == ("report-1",)


@pytest.mark.parametrize("live_read, verdict", [(True, "holds"), (False, "violated")])
def test_one_write_behind_the_live_read_of_the_cronjob_keeps_forbid(monkeypatch, live_read, verdict):
    """With a cache one write behind, the controller may see report-1 but not the status that lists it: it reads
    the CronJob live (GetCronJob) and goes on with that copy, so Forbid holds; without that read it does not."""
    if not live_read:
        monkeypatch.setattr(cronjob_controller, "fresher_copy", lambda s, cj, jobs, active: None)
    sc = load_scenario(os.path.join(SCENARIOS, "cronjob-forbid-stale-cache.yaml"))
    bound = "" if live_read else ", maxDepth: 12"     # the violation is 5 steps deep; the whole space is large
    text = sc.text.replace("check: {maxStaleness: 2, maxDepth: 18}", "check: {maxStaleness: 1%s}" % bound)
    comp, res = run_scenario(parse_scenario(text, sc.path))
    assert res.stats.complete == live_read
    assert verdicts(res)["cronjob-concurrency-respected"].verdict == verdict


def test_a_starting_deadline_may_miss_a_time_and_forbid_then_never_runs_it():
    """startingDeadlineSeconds: a time may pass its deadline before the controller starts its Job (a clock step
    that is not fair), the second while report-1 runs, and then no Job is started for it: some end states ran
    both Jobs, some one, some none."""
    sc = cron(extra="  startingDeadlineSeconds: 60\n")
    comp, res = run_scenario(sc)
    assert {k: v.verdict for k, v in verdicts(res).items() if k in ("cronjob-concurrency-respected", "job-completes",
                                                                     "stable-reconciliation")} == dict.fromkeys(
        ("cronjob-concurrency-respected", "job-completes", "stable-reconciliation"), "holds")
    g = res.search.graph
    ends = [s for i, s in enumerate(g.states) if not g.fair_edges[i]]
    assert {s.store.cronjobs[0].status.last_schedule for s in ends} == {0, 1, 2}   # 0: tick 1 missed too
    assert all(ticks(s) == (2, True) for s in ends if s.store.cronjobs[0].status.last_schedule < 2)
    assert any(ticks(s) == (2, True) and job(s, "report-1") is not None for s in ends)


def test_history_limits_delete_finished_jobs_and_the_collector_their_pods():
    """successfulJobsHistoryLimit 0 with Allow: each Complete Job is deleted (background), the garbage collector
    deletes its pod; every end state holds no Job and no pod."""
    sc = cron(policy="Allow", extra="  successfulJobsHistoryLimit: 0\n")
    comp, res = run_scenario(sc)
    vs = verdicts(res)
    assert vs["garbage-collected"].verdict == "holds" and vs["job-completes"].verdict == "holds"
    assert "cronjob-concurrency-respected" not in vs        # Allow: not applicable
    g = res.search.graph
    assert any(len([j for j in s.store.jobs if not j.condition]) == 2 for s in g.states)   # Allow: both at once
    ends = [s for i, s in enumerate(g.states) if not g.fair_edges[i]]
    assert ends and all(not s.store.jobs and not s.store.pods for s in ends)


def test_suspend_starts_nothing():
    comp, res = run_scenario(cron(extra="  suspend: true\n"))
    assert all(not s.store.jobs for s in res.search.graph.states)


def test_deleting_a_cronjob_collects_its_jobs(monkeypatch):
    """A deleted CronJob's Jobs are garbage-collected dependents (model/kinds/job.py): garbage-collected holds;
    with Jobs not among the collector's dependents, a Job keeps its dangling reference for ever."""
    from model.components import garbagecollector
    sc = cron(cluster="changes: [{delete: {kind: CronJob, namespace: default, name: report}}]")
    comp, res = run_scenario(sc)
    assert not sc.warnings and verdicts(res)["garbage-collected"].verdict == "holds"
    assert "Job" in garbagecollector.DEPENDENT_KINDS
    monkeypatch.setattr(garbagecollector, "DEPENDENT_KINDS",
                        tuple(k for k in garbagecollector.DEPENDENT_KINDS if k != "Job"))
    comp, res = run_scenario(sc)
    v = verdicts(res)["garbage-collected"]
    assert v.verdict == "violated" and "Job default/report-1 still references its deleted owner CronJob" in v.diagnosis
