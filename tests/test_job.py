"""The Job controller (model/components/job.py): suspend, podFailurePolicy, activeDeadlineSeconds, the release of
orphan pods' tracking finalizers, and the property job-succeeds, each on its built-in scenario and against a
controller broken where the scenario says it matters."""

import os

import pytest

from explorer import check, render_label
from kubecheck.compose import compose
from model.scenario import load_scenario, parse_scenario

from conftest import SCENARIOS
from test_scenarios import run

TRACKING = "batch.kubernetes.io/job-tracking"


def _verdicts(res):
    return {v.prop: v for v in res.verdicts}


def _without_rule(comp, name):
    comp.system.rules = [r for r in comp.system.rules if r.name != name]
    return check(comp.system, reduction="none", symmetry=False)


def _steps(comp, s, rule_name):
    for rule in comp.system.rules:
        if rule.name == rule_name:
            yield from rule.fn(s)


def test_a_deleted_jobs_pods_are_released_from_their_finalizer():
    """job-delete: syncOrphanPod removes the tracking finalizer of the deleted Job's pods, so the garbage collector's
    deletion completes.  Without it (as the model once was) the pod waits on the finalizer for ever: both
    garbage-collected and stable-reconciliation are violated on the plain `pi` example."""
    sc, comp, res = run("job-delete")
    v = _verdicts(res)
    assert v["garbage-collected"].verdict == v["stable-reconciliation"].verdict == "holds"
    labels = {render_label(l).split("(")[0] for s in res.search.graph.states
              for r in comp.system.rules for l, _ in r.fn(s)}
    assert "job.release_orphan" in labels
    v = _verdicts(_without_rule(compose(sc), "job.release_orphan"))
    for prop in ("garbage-collected", "stable-reconciliation"):
        assert v[prop].verdict == "violated", prop
        assert f"waiting on finalizers {TRACKING}" in v[prop].diagnosis


def test_a_suspended_job_runs_no_pod_and_its_deleted_pods_are_not_failures():
    """job-suspend: no pod is created while the Job is suspended; its active pods are deleted with their tracking
    finalizer removed first (deleteJobPods), so backoffLimit 0 is not spent and the Job completes once resumed."""
    from model.components import job
    sc, comp, res = run("job-suspend")
    assert _verdicts(res)["job-succeeds"].verdict == "holds"
    deleted_while_suspended = 0
    for s in res.search.graph.states:
        for j in s.store.jobs:
            if j.suspend:
                assert not list(_steps(comp, s, "job.create_pod"))
                for lab, nxt in _steps(comp, s, "job.delete_excess"):
                    victim = dict(lab[3])["pod"] if len(lab) > 3 else None
                    gone = [p for p in nxt.store.pods if p.meta.key == victim]
                    assert all(TRACKING not in p.meta.finalizers for p in gone)
                    deleted_while_suspended += 1
    assert deleted_while_suspended
    # Broken: the pods deleted for the suspension keep their finalizer (deleteActivePods' way) and are counted.
    from model.components import apiserver

    def keeping(s, pod):
        live = s.store.by_uid("Pod", pod.meta.uid)
        return None if live is None else apiserver.delete(s, live)
    real = job.delete_job_pod
    try:
        job.delete_job_pod = keeping
        v = _verdicts(check(compose(sc).system, reduction="none", symmetry=False))["job-succeeds"]
    finally:
        job.delete_job_pod = real
    assert v.verdict == "violated" and "reason BackoffLimitExceeded" in v.diagnosis


def test_job_succeeds_is_violated_with_the_reason_of_the_failure():
    """job-succeeds names why the Job failed: backoffLimit spent (job-tracking-finalizers), the deadline
    (job-deadline); job-completes holds on both, a Failed Job being finished."""
    for name, reason in (("job-tracking-finalizers", "BackoffLimitExceeded"), ("job-deadline", "DeadlineExceeded")):
        sc, comp, res = run(name)
        v = _verdicts(res)
        assert v["job-completes"].verdict == "holds"
        assert v["job-succeeds"].verdict == "violated"
        assert f"is Failed, reason {reason}: " in v["job-succeeds"].diagnosis
        assert v["job-succeeds"].trace.states[-1].store.jobs[0].condition == "Failed"


def test_the_deadline_deletes_the_running_pod_and_counts_it_failed():
    """job-deadline: once the deadline passed, the running pod is deleted keeping its finalizer (deleteActivePods),
    counted failed, and only then is the Job Failed; the step is not fair (a run where it never passes completes)."""
    sc, comp, res = run("job-deadline")
    rule = next(r for r in comp.system.rules if r.name == "job.deadline_exceeded")
    assert not rule.fair
    finals = [res.search.graph.states[i] for i in res.search.deadlocks]
    outcomes = {(s.store.jobs[0].condition, s.store.jobs[0].reason, s.store.jobs[0].failed) for s in finals}
    assert ("Complete", "", 0) in outcomes and ("Failed", "DeadlineExceeded", 1) in outcomes
    for s in res.search.graph.states:
        j = s.store.jobs[0]
        if j.condition == "Failed":
            assert not any(p.active for p in s.store.pods)
        for lab, nxt in _steps(comp, s, "job.delete_active"):
            assert j.failure_target == "DeadlineExceeded"
            assert all(TRACKING in p.meta.finalizers for p in nxt.store.pods if p.meta.deleting)


def _policy_search(text):
    sc = parse_scenario(text, "job-pod-failure-policy.yaml")
    comp = compose(sc)
    return comp, check(comp.system, reduction="none", symmetry=False)


def _disrupted_counts(comp, res):
    """How many steps count a pod with the DisruptionTarget condition as a failure, and how many release one
    without counting it."""
    counted = ignored = 0
    for s in res.search.graph.states:
        for lab, nxt in _steps(comp, s, "job.track_finished"):
            pod = dict(lab[3])["pod"]
            p = next(p for p in s.store.pods if p.meta.key == pod)
            if p.disruption:
                assert p.phase == "Failed" and p.exit_code == 143
                if nxt.store.jobs[0].failed > s.store.jobs[0].failed:
                    counted += 1
                else:
                    ignored += 1
    return counted, ignored


def test_pod_failure_policy_ignores_a_disruption_and_fails_the_job_on_exit_code_42():
    """job-pod-failure-policy: an evicted pod (DisruptionTarget) is never counted, and the Job goes on; exit code 42
    fails it (PodFailurePolicy, the rule's message); without the Ignore rule the eviction is counted and spends
    backoffLimit 0."""
    text = open(os.path.join(SCENARIOS, "job-pod-failure-policy.yaml")).read()
    comp, res = _policy_search(text)
    counted, ignored = _disrupted_counts(comp, res)
    assert counted == 0 and ignored > 0
    reasons = {(s.store.jobs[0].reason, s.store.jobs[0].message) for s in res.search.graph.states
               if s.store.jobs[0].condition == "Failed"}
    assert ("PodFailurePolicy", "Container main failed with exit code 42 matching FailJob rule at index 0") in reasons
    # Complete after an ignored eviction: a pod ran on n1, was evicted, and another succeeded.
    assert any(s.store.jobs[0].condition == "Complete" and s.store.jobs[0].failed == 0
               for s in res.search.graph.states)
    broken = text.replace("    - action: Ignore\n      onPodConditions: [{type: DisruptionTarget}]\n", "")
    assert broken != text
    comp, res = _policy_search(broken)
    counted, ignored = _disrupted_counts(comp, res)
    assert counted > 0 and ignored == 0


def test_a_pod_failure_policy_counts_only_failed_pods():
    """onlyReplaceFailedPods: with a podFailurePolicy a pod being deleted is not failed until it is Failed."""
    from model.components.job import pod_failed
    from model.objects import ObjectMeta, Pod, PodFailurePolicyRule, PodSpec, Job, PodTemplate
    deleting = Pod(meta=ObjectMeta("default", "p", 1, deleting=True), spec=PodSpec(), phase="Running")
    plain = Job(meta=ObjectMeta("default", "j", 2), template=PodTemplate((), PodSpec()))
    with_policy = Job(meta=ObjectMeta("default", "j", 2), template=PodTemplate((), PodSpec()),
                      pod_failure_policy=(PodFailurePolicyRule("Ignore", conditions=(("DisruptionTarget", "True"),)),))
    assert pod_failed(deleting, plain) and not pod_failed(deleting, with_policy)


@pytest.mark.parametrize("field,value,message", [
    ("kubecheck.io/exit-codes", "'zero'", "expected exit codes from 0 to 255"),
    ("kubecheck.io/exit-codes", "'0,300'", "expected exit codes from 0 to 255"),
])
def test_bad_exit_codes_are_one_clear_error(field, value, message):
    from model.kinds.manifest import ScenarioError
    text = open(os.path.join(SCENARIOS, "job-deadline.yaml")).read().replace('"0"}', value + "}")
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text, "x.yaml")


@pytest.mark.parametrize("old,new,message", [
    ("action: Ignore", "action: Retry", "expected FailJob, Ignore or Count, got 'Retry'"),
    ("operator: In", "operator: Above", "expected In or NotIn, got 'Above'"),
    ("containerName: main", "containerName: other", "must be one of the pod template's containers"),
    ("restartPolicy: Never", "restartPolicy: OnFailure", "only allowed with spec.template.spec.restartPolicy Never"),
    ("action: Ignore", "action: FailIndex", "FailIndex needs backoffLimitPerIndex"),
])
def test_bad_pod_failure_policies_are_one_clear_error(old, new, message):
    from model.kinds.manifest import ScenarioError
    text = open(os.path.join(SCENARIOS, "job-pod-failure-policy.yaml")).read()
    assert old in text
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_scenario(text.replace(old, new), "x.yaml")


@pytest.mark.parametrize("name", ["job-delete", "job-suspend", "job-pod-failure-policy", "job-deadline"])
def test_job_footprints_hold_on_every_step_and_verdicts_are_unchanged(name):
    """Partial-order reduction's declarations (model/footprint.py) cover the Job controller's new steps: every step's
    writes are within its actor's footprint, and the reduced search gives the same verdicts."""
    from explorer.search import search
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp = compose(sc)
    assert comp.system.independence is not None
    search(comp.system, reduction="por", check_footprints=True)
    full = {v.prop: v.verdict for v in check(comp.system, reduction="none").verdicts}
    assert {v.prop: v.verdict for v in check(comp.system).verdicts} == full
