"""StatefulSet rolling updates (model/components/statefulset.py): revisions, partition, OnDelete, and the
OrderedReady rollout stuck on a broken pod (kubernetes 67250)."""

from __future__ import annotations

import os

import pytest

from model.components import statefulset
from model.components.statefulset import (REVISION_LABEL, healthy, ordinal_of, pod_revision, revision_table,
                                          set_pods, update_revision)
from test_scenarios import SCENARIOS, run


def _verdict(res, prop):
    return next(v for v in res.verdicts if v.prop == prop)


def _load_text(text, tmp_path, name="s.yaml"):
    from explorer import check
    from kubecheck.compose import compose
    from model.scenario import load_scenario
    (tmp_path / name).write_text(text)
    sc = load_scenario(str(tmp_path / name))
    comp = compose(sc)
    return sc, comp, check(comp.system, max_depth=sc.max_depth, max_states=sc.max_states, reduction="none",
                           symmetry=False)


def _update_deletes(comp, res):
    """(state, deleted pod's name) of every enabled delete_pod(why=update) step of the explored graph."""
    rule = next(r for r in comp.system.rules if r.name == "statefulset.delete_pod")
    out = []
    for s in res.search.graph.states:
        for lab, _ in rule.fn(s):
            if dict(lab[3]).get("why") == "update":
                out.append((s, dict(lab[2])["pod"].split("/", 1)[1]))
    return out


def test_a_rolling_update_goes_down_from_the_highest_ordinal_and_stops_at_the_partition():
    """statefulset-rolling-partition (partition 1): every delete for the update is of the highest ordinal not
    yet updated, taken only while every pod is Running and Ready and those above it are of the update revision;
    web-0 is never deleted for it, and keeps the old template wherever the status still names the old revision
    as current."""
    sc, comp, res = run("statefulset-rolling-partition")
    old, new = sc.objects[-1].template, sc.changes[0].obj.template
    old_rev, new_rev = update_revision(sc.objects[-1]), update_revision(sc.changes[0].obj)
    assert old_rev != new_rev
    deletes = _update_deletes(comp, res)
    assert {name for _, name in deletes} == {"web-2", "web-1"}
    for s, name in deletes:
        sts = s.store.statefulsets[0]
        pods = {p.meta.name: p for p in set_pods(s.store, sts)}
        assert all(healthy(p) for p in pods.values()) and len(pods) == 3, name
        target = ordinal_of(pods[name])
        assert pod_revision(pods[name]) != new_rev
        assert all(pod_revision(p) == new_rev for p in pods.values() if ordinal_of(p) > target), name
    for s in res.search.graph.states:
        sts = s.store.statefulsets[0]
        for p in s.store.pods:
            if p.meta.name == "web-0" and sts.status.current_revision == old_rev:
                assert p.spec.containers[0].image == "nginx:1.27" and pod_revision(p) == old_rev
    goal = [s for s in res.search.graph.states if s.next_change == 1 and s.store.statefulsets[0].status
            == statefulset.StatefulSetStatus(old_rev, new_rev)
            and sorted((p.meta.name, p.spec.containers[0].image, p.phase) for p in s.store.pods)
            == [("web-0", "nginx:1.27", "Running"), ("web-1", "nginx:1.28", "Running"),
                ("web-2", "nginx:1.28", "Running")]]
    assert goal, "the staged rollout ends with web-0 old, web-1 and web-2 new, the status naming both revisions"
    assert revision_table(sc.objects, sc.changes) == {old_rev: old, new_rev: new}


def test_statefulset_converges_catches_a_rollout_that_never_happens(monkeypatch):
    """The same scenario with the update loop taken out of the controller: the pods keep the old revision and
    statefulset-converges says which."""
    monkeypatch.setattr(statefulset, "rolling_update_writes", lambda sts, replicas: [])
    sc, comp, res = run("statefulset-rolling-partition")
    v = _verdict(res, "statefulset-converges")
    assert v.verdict == "violated"
    assert "web-2 is of revision" in v.diagnosis and "not the update revision" in v.diagnosis


def test_an_ordered_rollout_to_a_broken_template_is_stuck_even_after_the_revert():
    """statefulset-rollout-broken (kubernetes 67250): the counterexample ends after both changes, the template
    reverted, with a pod of the broken revision (8 CPUs) Pending for ever; and the header's case is reached:
    web-1 deleted for the update, re-created broken, and no StatefulSet step left once the template is
    reverted."""
    sc, comp, res = run("statefulset-rollout-broken")
    bad = update_revision(sc.changes[0].obj)
    v = _verdict(res, "statefulset-converges")
    assert v.verdict == "violated"
    last = v.trace.states[-1]
    assert last.next_change == 2
    assert update_revision(last.store.statefulsets[0]) == update_revision(sc.objects[-1])   # reverted
    broken = [p for p in last.store.pods if pod_revision(p) == bad]
    assert broken and all(p.phase == "Pending" and not p.spec.node_name and p.spec.requests.cpu == 8000
                          for p in broken)
    assert "never replaced: delete it by hand (kubernetes 67250)" in v.diagnosis
    sts_rules = [r for r in comp.system.rules if r.name.startswith("statefulset.")]
    stuck = [s for s in res.search.graph.states if s.next_change == 2
             and sorted((p.meta.name, p.phase, pod_revision(p) == bad) for p in s.store.pods)
             == [("web-0", "Running", False), ("web-1", "Pending", True)]
             and not any(True for r in sts_rules for _ in r.fn(s))]
    assert stuck, "web-1 broken under a reverted template, and the controller has nothing to do"
    assert any(name == "web-1" for _, name in _update_deletes(comp, res))


def test_parallel_or_a_partition_gets_past_the_broken_template(tmp_path):
    """With Parallel the update loop is reached past the Pending pod and replaces it (it converges); with
    partition 2 nothing is deleted for the update, and no pod is made broken once the status names a current
    revision."""
    sc, comp, res = run("statefulset-rollout-broken-parallel")
    assert _verdict(res, "statefulset-converges").verdict == "holds"
    assert any(name == "web-1" and any(p.meta.name == "web-1" and p.phase == "Pending" for p in s.store.pods)
               for s, name in _update_deletes(comp, res)), "Parallel deletes the Pending broken pod for the update"
    text = open(os.path.join(SCENARIOS, "statefulset-rollout-broken.yaml")).read()
    text = text.replace("serviceName: web\n", "serviceName: web\n  updateStrategy: {rollingUpdate: {partition: 2}}\n")
    text = text.replace("\n          updateStrategy: {rollingUpdate: {partition: 2}}\n", "\n          updateStrategy: "
                        "{rollingUpdate: {partition: 2}}\n")
    text = text.replace("          serviceName: web\n  updateStrategy", "          serviceName: web\n          updateStrategy")
    assert text.count("partition: 2") == 3
    sc, comp, res = _load_text(text.replace("verdict: violated", "verdict: unknown"), tmp_path)
    assert all(o.partition == 2 for o in [sc.objects[-1]] + [c.obj for c in sc.changes])
    assert not _update_deletes(comp, res)
    # A pod of the broken revision is made only where the controller never wrote a current revision of the old
    # template (the broken one applied before its first sync: its first revision is the broken one, as upstream);
    # once the status names the old revision, the partition keeps every new pod on it.
    bad = update_revision(sc.changes[0].obj)
    create = next(r for r in comp.system.rules if r.name == "statefulset.create_pod")
    made_bad = [s for s in res.search.graph.states for _, t in create.fn(s)
                if any(pod_revision(p) == bad for p in t.store.pods) and not any(pod_revision(p) == bad
                                                                                  for p in s.store.pods)]
    old = update_revision(sc.objects[-1])
    assert made_bad and all(s.store.statefulsets[0].status.current_revision != old for s in made_bad)


def test_on_delete_never_deletes_for_an_update(tmp_path):
    """OnDelete: the controller leaves the old pods; a pod the user deletes comes back from the new template."""
    text = open(os.path.join(SCENARIOS, "statefulset-rolling-partition.yaml")).read()
    text = text.replace("{type: RollingUpdate, rollingUpdate: {partition: 1}}", "{type: OnDelete}")
    text = text.replace("                  resources: {requests: {cpu: 500m, memory: 256Mi}}\n---",
                        "                  resources: {requests: {cpu: 500m, memory: 256Mi}}\n"
                        "    - delete: {kind: Pod, namespace: default, name: web-2}\n---")
    sc, comp, res = _load_text(text, tmp_path)
    assert [c.op for c in sc.changes] == ["apply", "delete"]
    assert not _update_deletes(comp, res)
    assert _verdict(res, "statefulset-converges").verdict == "holds"
    images = {tuple(sorted((p.meta.name, p.spec.containers[0].image) for p in s.store.pods))
              for s in res.search.graph.states if s.next_change == 2 and all(p.phase == "Running" for p in s.store.pods)
              and len(s.store.pods) == 3}
    assert (("web-0", "nginx:1.27"), ("web-1", "nginx:1.27"), ("web-2", "nginx:1.28")) in images


def test_revisions_are_left_out_where_no_template_changes():
    """statefulset-ordered changes no template: no revision label, no status write (counts and traces as
    before the rolling update was modelled)."""
    sc, comp, res = run("statefulset-ordered")
    assert revision_table(sc.objects, sc.changes) is None
    assert "statefulset.update_status" not in {r.name for r in comp.system.rules}
    assert not any(REVISION_LABEL in dict(p.meta.labels) for s in res.search.graph.states for p in s.store.pods)


@pytest.mark.parametrize("strategy, msg", [
    ("{type: Recreate}", "spec.updateStrategy.type: expected RollingUpdate or OnDelete"),
    ("{type: OnDelete, rollingUpdate: {partition: 1}}", "spec.updateStrategy.rollingUpdate: only allowed"),
    ("{rollingUpdate: {partition: -1}}", "partition: must be 0 or more"),
])
def test_bad_update_strategies_are_refused(strategy, msg):
    from model.scenario import ScenarioError, parse_scenario
    text = open(os.path.join(SCENARIOS, "statefulset-ordered.yaml")).read()
    with pytest.raises(ScenarioError, match=msg):
        parse_scenario(text.replace("  serviceName: web\n", f"  serviceName: web\n  updateStrategy: {strategy}\n"),
                       "x.yaml")


def test_max_unavailable_is_warned_and_defaults_follow_the_apiserver():
    from model.scenario import parse_scenario
    text = open(os.path.join(SCENARIOS, "statefulset-ordered.yaml")).read()
    sc = parse_scenario(text.replace("  serviceName: web\n", "  serviceName: web\n  updateStrategy: {type: "
                                     "RollingUpdate, rollingUpdate: {maxUnavailable: 2}}\n"), "x.yaml")
    assert any("spec.updateStrategy.rollingUpdate.maxUnavailable" in w for w in sc.warnings)
    assert (sc.objects[-1].update_strategy, sc.objects[-1].partition) == ("RollingUpdate", 0)
    sc = parse_scenario(text.replace("  serviceName: web\n", "  serviceName: web\n  updateStrategy: {type: "
                                     "RollingUpdate}\n"), "x.yaml")
    assert sc.objects[-1].partition is None      # no rollingUpdate: newVersionedStatefulSetPod reads currentReplicas
    sc = parse_scenario(text, "x.yaml")
    assert (sc.objects[-1].update_strategy, sc.objects[-1].partition) == ("RollingUpdate", 0)
