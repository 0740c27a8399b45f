"""Deployment completed (issue 15 item 6) and the HorizontalPodAutoscaler (item 4): behaviour on the built-in
scenarios, with the counterexamples of the properties that must fail and mutants that break those that hold."""

import os

import pytest

from explorer import check, render_label
from kubecheck.compose import compose
from model.components import deployment as dc
from model.components import podautoscaler
from model.scenario import ScenarioError, load_scenario

from conftest import SCENARIOS


def run(name, **kw):
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp = compose(sc)
    return sc, check(comp.system, reduction="none", symmetry=False, **kw)


def verdict(res, prop):
    return next(v for v in res.verdicts if v.prop == prop)


def test_a_paused_deployment_rolls_nothing_out_and_scales_proportionally():
    """While paused (every state of deployment-paused after the pause), no ReplicaSet is created or scaled
    towards the new template's share but by a scaling event; scaling 1 -> 2 with one old and one new replica
    gives the newer the leftover: 2 new, 1 old (sync.go scale, 3 = 2 + maxSurge 1)."""
    sc, res = run("deployment-paused")
    states = res.search.graph.states
    proportional = [s for s in states for d in s.store.deployments
                    if d.paused and d.replicas == 2 and len([rs for rs in s.store.replicasets if rs.replicas]) == 2
                    and all(rs.desired_replicas == 2 for rs in s.store.replicasets if rs.replicas)]
    assert proportional
    for s in proportional:
        d = s.store.deployments[0]
        new = dc.new_replicaset_of(s.store, d)
        old = [rs for rs in s.store.replicasets if rs is not new]
        assert (new.replicas, old[0].replicas) == (2, 1)
    v = verdict(res, "deployment-converges")
    assert v.verdict == "violated" and "paused" in v.diagnosis
    # nothing of the rollout happens once paused: no paused state has a new ReplicaSet bigger than before the pause
    for s in states:
        d = s.store.deployments[0]
        new = dc.new_replicaset_of(s.store, d)
        if d.paused and new is not None and d.replicas == 1:
            assert new.replicas <= 1
    sc, res = run("deployment-paused-resumed")
    assert verdict(res, "deployment-converges").verdict == "holds"


def test_proportional_scaling_follows_get_proportion():
    from model.objects import ObjectMeta, ReplicaSet, PodTemplate, RollingUpdate, Deployment
    t = PodTemplate((("app", "web"),), None)
    d = Deployment(meta=ObjectMeta("default", "web", uid=1), replicas=15, selector=(), template=t,
                   rolling=RollingUpdate("3", "2"))
    # the Deployment documentation's example: 10 replicas (maxSurge 3) mid-rollout, 8 old and 5 new, scaled to 15
    old = ReplicaSet(ObjectMeta("default", "web-a", uid=2), 8, (), t, desired_replicas=10, max_replicas=13)
    new = ReplicaSet(ObjectMeta("default", "web-b", uid=3), 5, (), t, desired_replicas=10, max_replicas=13)
    plan = {rs.meta.name: rs.replicas for rs in dc.scale_plan(None, d, new, [old])}
    assert plan == {"web-a": 11, "web-b": 7}      # 18 = 15 + 3, shared 8:5 as the documentation says (11 and 7)


def test_min_ready_seconds_holds_the_old_pod_until_the_new_one_is_available():
    sc, res = run("rolling-update-min-ready")
    for s in res.search.graph.states:
        d = s.store.deployments[0]
        new = dc.new_replicaset_of(s.store, d)
        old = [rs for rs in s.store.replicasets if rs is not new]
        if old and new is not None and old[0].replicas == 0:
            assert any(p.ready_long for p in s.store.pods if p.meta.controller_uid() == new.meta.uid)


def test_min_ready_seconds_matters(tmp_path):
    """A mutant controller that takes Ready for available scales the old pod down before minReadySeconds."""
    sc, res = run("rolling-update-min-ready")
    keep = dc.available
    dc.available = lambda p, m: p.ready
    try:
        sc, res = run("rolling-update-min-ready")
        early = any(s.store.replicasets[0].replicas == 0 and not any(p.ready_long for p in s.store.pods)
                    for s in res.search.graph.states if len(s.store.replicasets) == 2)
    finally:
        dc.available = keep
    assert early


def test_revision_history_limit_deletes_the_old_replicaset():
    sc, res = run("deployment-revision-history")
    finals = [s for s in res.search.graph.states if dc.rollout_complete_in(s.store, s.store.deployments[0])
              and s.next_change == 1 and not any(p.meta.deleting for p in s.store.pods)]
    assert any(len(s.store.replicasets) == 1 for s in finals)
    for s in res.search.graph.states:   # never one that still has pods
        assert all(rs.replicas or not [p for p in s.store.pods if p.meta.controller_uid() == rs.meta.uid and p.active]
                   or rs in s.store.replicasets for rs in s.store.replicasets)


def test_a_stuck_rollout_fails_the_pipeline_once_its_deadline_passes():
    """rollout-deadline-exceeded: the wait fails (its label says so), the scale after it is never made, and the
    Deployment's condition is ProgressDeadlineExceeded; without a deadline the wait hangs (a stuck state)."""
    sc, res = run("rollout-deadline-exceeded")
    v = verdict(res, "deployment-converges")
    labels = [render_label(l) for l in v.trace.labels[1:]]
    assert any(l.startswith("time.progress_deadline_exceeded(deployment=default/web") for l in labels)
    assert any("what=rollout status Deployment default/web, failed=" in l for l in labels)
    assert not any("scale Deployment" in l for l in labels)
    assert all(d.replicas == 1 for s in res.search.graph.states for d in s.store.deployments)
    assert "ProgressDeadlineExceeded" in v.diagnosis
    sc, res = run("rollout-deadline-none")
    v = verdict(res, "rollout-status-returns")
    assert v.verdict == "violated" and "no progress deadline" in v.diagnosis
    assert v.trace.states[-1].next_change == 1


def test_the_deadline_never_passes_while_the_rollout_moves():
    """rollout-status-observed-generation (default deadline, 600 s): no deadline step in any state."""
    sc, res = run("rollout-status-observed-generation")
    assert not any(d.status.timed_out for s in res.search.graph.states for d in s.store.deployments)


def test_hpa_levels():
    from model.objects import HorizontalPodAutoscaler, ObjectMeta
    h = HorizontalPodAutoscaler(ObjectMeta("default", "web"), "Deployment", "web", 2, 5)
    assert [podautoscaler.desired_replicas(h, n, "high") for n in (2, 3, 5, 7)] == [4, 5, 5, 5]
    assert [podautoscaler.desired_replicas(h, n, "low") for n in (5, 3, 2, 1)] == [3, 2, 2, 2]
    assert podautoscaler.desired_replicas(h, 3, "target") == 3
    assert podautoscaler.desired_replicas(h, 0, "high") is None     # scaled to 0: autoscaling off


def test_kubectl_apply_fights_the_autoscaler():
    for name, to in (("hpa-apply-replicas", 1), ("hpa-apply-removes-replicas", 1)):
        sc, res = run(name)
        v = verdict(res, "hpa-within-bounds")
        labels = [render_label(l) for l in v.trace.labels[1:]]
        assert any(l.startswith("podautoscaler.scale(hpa=default/web, replicas=2)") for l in labels)
        assert labels[-1].startswith("user.change(index=2, what=apply Deployment default/web")
        assert v.trace.states[-1].store.deployments[0].replicas == to
        assert "from 2 to 1 replicas" in v.diagnosis and "1 of its pods are deleted" in v.diagnosis
    sc, res = run("hpa-apply-without-replicas")
    assert verdict(res, "hpa-within-bounds").verdict == "holds"
    assert any(d.replicas == 2 for s in res.search.graph.states for d in s.store.deployments
               if s.next_change == 2)


def test_an_autoscaler_that_ignores_its_bounds_is_caught():
    keep = podautoscaler.desired_replicas
    # off by one: up to maxReplicas + 1
    podautoscaler.desired_replicas = lambda h, n, level: (min(h.max_replicas + 1, podautoscaler.metric_replicas(n, level))
                                                          if n else None)
    try:
        sc, res = run("hpa-apply-without-replicas")
    finally:
        podautoscaler.desired_replicas = keep
    v = verdict(res, "hpa-within-bounds")
    assert v.verdict == "violated" and "outside 1..2" in v.diagnosis


@pytest.mark.parametrize("bad, msg", [
    ("level: high", "load.level: expected low, target, high"),
    ("minReplicas: 1", "spec.maxReplicas: must be at least minReplicas"),
])
def test_bad_input_is_one_message(tmp_path, bad, msg):
    text = open(os.path.join(SCENARIOS, "hpa-apply-replicas.yaml")).read()
    text = text.replace(bad, {"level: high": "level: extreme", "minReplicas: 1": "minReplicas: 3"}[bad])
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError, match=msg):
        load_scenario(str(tmp_path / "s.yaml"))
