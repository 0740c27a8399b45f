"""The status subresource, metadata.generation and status.observedGeneration, and the rollout wait that reads them."""

import os

from explorer import render_label
from kubecheck.compose import compose
from model.components import apiserver, deployment, user
from model.objects import DeploymentStatus, evolve
from model.scenario import load_scenario

from conftest import SCENARIOS
from test_scenarios import run


def _web(name="rollout-status-observed-generation"):
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    s = compose(sc).system.init_states[0]
    return sc, s, s.store.get("Deployment", "default", "web")


def test_a_spec_write_drops_status_and_bumps_generation():
    sc, s, d = _web()
    forged = evolve(d, replicas=3, status=DeploymentStatus(observed_generation=9, replicas=3))
    t = apiserver.update(s, forged, d.meta.resource_version)
    stored = t.store.get("Deployment", "default", "web")
    assert stored.replicas == 3 and stored.meta.generation == d.meta.generation + 1
    assert stored.status == d.status          # the main resource ignores the status it was sent


def test_a_status_write_keeps_spec_and_generation():
    sc, s, d = _web()
    s = s.with_store(evolve(s.store, track_revisions=True))   # resourceVersions observable (maxStaleness > 0)
    sent = evolve(d, replicas=7, status=DeploymentStatus(observed_generation=1, replicas=1))
    t = apiserver.update_status(s, sent, d.meta.resource_version)
    stored = t.store.get("Deployment", "default", "web")
    assert stored.status == sent.status
    assert stored.replicas == d.replicas and stored.meta.generation == d.meta.generation
    # ... and, like any update, it is a compare-and-swap on the resourceVersion it read.
    assert apiserver.update_status(t, evolve(sent, status=DeploymentStatus()), d.meta.resource_version) is None


def test_controller_reports_the_generation_it_synced():
    sc, s, d = _web()
    [(lab, t)] = list(deployment.sync_status(s))
    assert render_label(lab) == "deployment.update_status(deployment=default/web)"
    st = t.store.get("Deployment", "default", "web").status
    assert st == DeploymentStatus(observed_generation=d.meta.generation, replicas=0, updated_replicas=0,
                                  available_replicas=0)
    assert list(deployment.sync_status(t)) == []      # nothing new to report


def test_rollout_wait_compares_generations():
    sc, s, d = _web()
    done = evolve(d, status=DeploymentStatus(observed_generation=1, replicas=1, updated_replicas=1,
                                             available_replicas=1))
    assert user.rollout_complete(done)
    applied = evolve(done, meta=evolve(done.meta, generation=2))   # a new template, not yet synced
    assert not user.rollout_complete(applied)
    assert user.rollout_complete(applied, checks_generation=False)  # the previous rollout's counts pass
    surging = evolve(applied, status=DeploymentStatus(observed_generation=2, replicas=2, updated_replicas=1,
                                                      available_replicas=1))
    assert not user.rollout_complete(surging)                       # an old replica remains


def test_status_writes_only_where_something_reads_them():
    sc, comp, res = run("rolling-update")
    assert "deployment.status" not in {r.name for r in comp.system.rules}
    assert any("Deployment status writes" in x for x in comp.model.left_out)
    sc, comp, res = run("rollout-status-observed-generation")
    assert "deployment.status" in {r.name for r in comp.system.rules}


def test_wait_without_generation_check_returns_on_the_previous_rollout():
    sc, comp, res = run("rollout-status-ignores-generation")
    v = next(v for v in res.verdicts if v.prop == "rollout-status-current")
    assert v.verdict == "violated" and "before any ReplicaSet of its current template existed" in v.diagnosis
    labels = [render_label(l) for l in v.trace.labels[1:]]
    # The status of generation 1 is written, the new template applied, and the wait returns at once.
    assert "deployment.update_status(deployment=default/web)" in labels[:-2]
    assert labels[-2] == "user.change(index=1, what=apply Deployment default/web)"
    assert labels[-1] == "user.change(index=2, what=rollout status Deployment default/web)"
    last = v.trace.states[-1].store.get("Deployment", "default", "web")
    assert last.meta.generation == 2 and last.status.observed_generation == 1


def test_controller_counting_old_pods_as_updated_breaks_the_wait():
    """With the generation check on, rollout-status-current still catches a Deployment controller that reports
    the new generation with counts that are not the new template's (every pod counted as updated)."""
    from explorer import Rule, check
    from model.components import leaderelection

    def broken_status(s):
        for actor, by, view in leaderelection.acting_views(s, deployment.CLIENT):
            for d in view.deployments:
                st = deployment.calculate_status(view, d)
                st = evolve(st, updated_replicas=st.replicas)
                if st != d.status:
                    nxt = apiserver.update_status(s, evolve(d, status=st), d.meta.resource_version)
                    if nxt is not None:
                        yield deployment.label("deployment", "update_status", (("deployment", d.meta.key),) + by), nxt

    sc = load_scenario(os.path.join(SCENARIOS, "rollout-status-observed-generation.yaml"))
    system = compose(sc, ("rollout-status-current",)).system
    system.rules = [Rule(r.name, broken_status) if r.name == "deployment.status" else r for r in system.rules]
    [v] = check(system).verdicts
    assert v.verdict == "violated", v


def _backup(name):
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    s = compose(sc).system.init_states[0]
    return sc, s, next(o for o in s.store.custom_objects if o.custom_kind == "Backup")


def test_crd_status_subresource_parsed_per_version():
    sc, s, b = _backup("operator-status-subresource")
    assert [c.status_subresource for c in s.store.crds] == [True]
    sc, s, b = _backup("operator-no-status-subresource")
    assert [c.status_subresource for c in s.store.crds] == [False]
    assert sc.operators == ("Backup",)


def test_custom_object_without_status_subresource():
    """No /status (404); a status written through the main resource bumps the generation."""
    sc, s, b = _backup("operator-no-status-subresource")
    report = evolve(b, status=evolve(b.status, observed_generation=b.meta.generation))
    assert apiserver.update_status(s, report, b.meta.resource_version) is None
    t = apiserver.update(s, report, b.meta.resource_version)
    stored = t.store.by_uid("CustomObject", b.meta.uid)
    assert stored.status.observed_generation == 1 and stored.meta.generation == 2


def test_custom_object_with_status_subresource():
    """/status keeps the generation; the main resource drops status changes and bumps only on spec changes."""
    sc, s, b = _backup("operator-status-subresource")
    report = evolve(b, status=evolve(b.status, observed_generation=1))
    t = apiserver.update_status(s, report, b.meta.resource_version)
    stored = t.store.by_uid("CustomObject", b.meta.uid)
    assert stored.status.observed_generation == 1 and stored.meta.generation == 1
    assert apiserver.update(s, report, b.meta.resource_version, spec_changed=False).store.by_uid(
        "CustomObject", b.meta.uid) == b                 # the status it carried is dropped, nothing changes
    respec = evolve(b, spec=(("retain", "1"),))
    assert apiserver.update(s, respec, b.meta.resource_version).store.by_uid(
        "CustomObject", b.meta.uid).meta.generation == 2


def test_operator_without_status_subresource_never_settles():
    sc, comp, res = run("operator-no-status-subresource")
    v = next(v for v in res.verdicts if v.prop == "stable-reconciliation")
    assert v.verdict == "violated" and "no status subresource" in v.diagnosis
    assert v.trace.loop is not None
    cycle = [render_label(l) for l in v.trace.labels[v.trace.loop + 1:]]
    assert cycle and all(l == "operator.update(kind=Backup, object=default/nightly)" for l in cycle)


def test_relative_generations_are_canonical_only():
    from model.canonical import canonical, presentation
    sc, s, b = _backup("operator-no-status-subresource")
    far = evolve(b, meta=evolve(b.meta, generation=7), status=evolve(b.status, observed_generation=6))
    s7 = s.with_store(s.store.put(far))
    near = evolve(b, meta=evolve(b.meta, generation=2), status=evolve(b.status, observed_generation=1))
    s2 = s.with_store(s.store.put(near))
    assert canonical(s7) == canonical(s2)              # only the difference is observable
    assert presentation(s7).store.by_uid("CustomObject", b.meta.uid).meta.generation == 7
    assert canonical(presentation(s7)) == canonical(s7)


def test_architecture_shows_the_operator():
    from kubecheck.render import architecture_dot
    sc = load_scenario(os.path.join(SCENARIOS, "operator-status-subresource.yaml"))
    assert '"operator_Backup" [label="Backup operator' in architecture_dot(sc)
