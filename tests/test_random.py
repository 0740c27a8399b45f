"""--strategy random: Hypothesis runs over the same rules and properties, shrunk, replayable, deterministic."""

import json
import os

import pytest
import subprocess
import sys

from explorer import render_label
from explorer.randomized import random_check
from kubecheck.compose import compose
from kubecheck.traces import read_trace, replay, to_itf
from model.scenario import load_scenario

from conftest import ROOT, SCENARIOS


def run(name, **kw):
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp = compose(sc)
    res, cov = random_check(comp.system, **kw)
    return sc, res, cov


def assert_replays(tmp_path, sc, v):
    """The verdict's trace, written as an ITF file, replays against the model."""
    doc = to_itf(v.trace, scenario_name=sc.name, scenario_path=sc.path, scenario_text=sc.text, prop=v.prop,
                 verdict=v.verdict, diagnosis=v.diagnosis)
    path = tmp_path / "t.itf.json"
    path.write_text(json.dumps(doc))
    assert replay(read_trace(str(path))).ok


def assert_one_minimal(sc, v):
    """Shrunk means 1-minimal: without any one of its steps, the behaviour no longer violates the property
    (each step is looked up by its label, or by its names' stems where generated names moved)."""
    from explorer.randomized import _Found, _replay, rules_of
    system = compose(sc).system
    rules = rules_of(system, v.trace.states, v.trace.labels)
    f = _Found(v.prop, "", v.diagnosis, v.trace.states, v.trace.labels, rules)
    assert _replay(system, f, f.labels[1:], f.rules[1:]) is not None, "the trace itself must violate"
    for i in range(1, len(f.labels)):
        assert _replay(system, f, f.labels[1:i] + f.labels[i + 1:], f.rules[1:i] + f.rules[i + 1:]) is None, \
            f"step {i} ({render_label(f.labels[i])}) can be removed"


def test_random_finds_the_paused_leader_and_shrinks_it(tmp_path):
    sc, res, cov = run("leader-paused", seed=0, max_examples=100)
    v = next(v for v in res.verdicts if v.prop == "single-leader")
    assert v.verdict == "violated"
    steps = [render_label(l) for l in v.trace.labels[1:]]
    # The leader pauses, its Lease expires, the other replica acquires it, and the paused one then writes.
    assert len(steps) <= 7 and any(x.startswith("environment.pause(process=kube-controller-manager-") for x in steps)
    pause = next(i for i, x in enumerate(steps) if x.startswith("environment.pause("))
    assert any(x.startswith("leaderelection.acquire(") for x in steps[pause + 1:])
    assert_one_minimal(sc, v)
    assert_replays(tmp_path, sc, v)
    assert cov.runs > 0 and cov.steps > 0 and "leaderelection.acquire" not in cov.rules_never_fired


def test_random_convergence_is_violated_when_stuck_and_never_holds():
    sc, res, cov = run("web-two-nodes-crash", seed=1, max_examples=100)
    v = {x.prop: x for x in res.verdicts}
    assert v["deployment-converges"].verdict == "violated" and "stuck" in v["deployment-converges"].diagnosis
    sc, res, cov = run("web-three-nodes", seed=1, max_examples=30)
    v = {x.prop: x for x in res.verdicts}
    assert v["deployment-converges"].verdict == "unknown" and v["deployment-converges"].bounded
    assert v["node-capacity"].verdict == "holds" and v["node-capacity"].bounded


def test_random_is_deterministic_for_a_seed(tmp_path):
    outs = []
    for hashseed in ("0", "7"):
        p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--strategy", "random", "--seed", "3",
                            "--max-examples", "50", "--json", "-", "--traces", str(tmp_path / hashseed),
                            os.path.join(SCENARIOS, "leader-paused.yaml")],
                           capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONHASHSEED=hashseed))
        assert p.returncode == 3, p.stderr   # the expected violation is found; convergence stays unknown
        d = json.loads(p.stdout)
        for r in d["results"]:
            r.pop("seconds")
            r["trace"] = r["trace"] and os.path.relpath(r["trace"], str(tmp_path / hashseed))
        d["stats"].pop("seconds")
        d["stats"].pop("states_per_second")
        outs.append(d)
    assert outs[0] == outs[1]
    # The same runs in this process (other modules loaded, other tests run before): the same verdicts and
    # the same shrunk traces.
    sc, res, cov = run("leader-paused", seed=3, max_examples=50)
    here = {v.prop: (v.verdict, len(v.trace.labels) if v.trace else None) for v in res.verdicts}
    there = {r["property"]: (r["verdict"], len(read_trace(os.path.join(tmp_path / "0", r["trace"]))["states"])
                             if r["trace"] else None) for r in outs[0]["results"] if r["property"] in here}
    assert here == there


# Violations that the default 500 random runs of seed 0 do not reach (none since runs prefer unseen states:
# the pod-single-node race of issue 59848, a specific 11-step interleaving about 1 in 10,000 uniform runs
# take, is now found in about 300).
RANDOM_MISSES = set()
SLOW = {"rolling-update", "rolling-update-node-crash", "large-cluster", "job-restart-lagging"}   # large-cluster: its own test


def _violating_scenarios():
    """The built-in scenarios (but the slow ones) whose spec.expect names a safety or convergence violation: one test
    each, so that the suite's workers share them out."""
    from properties.catalog import get
    out = []
    for f in sorted(os.listdir(SCENARIOS)):
        name = f[:-5]
        if not f.endswith(".yaml") or name in SLOW:
            continue
        sc = load_scenario(os.path.join(SCENARIOS, f))
        if any(v == "violated" and get(p).kind in ("safety", "convergence") for p, v, _ in sc.expect):
            out.append(name)
    return out


@pytest.mark.parametrize("name", _violating_scenarios())
def test_random_finds_what_exhaustive_search_finds(tmp_path, name):
    """Every violation the exhaustive search finds in a built-in scenario, except lassos (a fair cycle is
    not something random runs can show), is found by the random strategy too, with a trace that replays."""
    from explorer import check
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp = compose(sc)
    res = check(comp.system, max_depth=sc.max_depth, max_states=sc.max_states)
    wanted = {v.prop for v in res.verdicts if v.verdict == "violated" and v.trace.loop is None}
    if not wanted:
        pytest.skip("its violations are all fair cycles, which random runs cannot show")
    rres, _ = random_check(comp.system, seed=0, max_examples=500, max_steps=60)   # the CLI's defaults
    found = {v.prop for v in rres.verdicts if v.verdict == "violated"}
    assert wanted - found == {p for n, p in RANDOM_MISSES if n == name}, name
    for v in rres.verdicts:
        if v.prop in wanted:
            assert_replays(tmp_path, sc, v)


def test_the_random_comparison_covers_the_suite():
    assert len(_violating_scenarios()) >= 40


def test_random_finds_the_violation_planted_in_the_large_cluster(tmp_path):
    """20 nodes, 40 Deployment pods and a Job tracked as before 1.26: the exhaustive search, bounded by the
    scenario's maxStates, stays a few steps deep and finds nothing; the random strategy finds the Job's
    extra completion, shrinks away every Deployment step, and the trace replays."""
    from explorer import check
    sc = load_scenario(os.path.join(SCENARIOS, "large-cluster.yaml"))
    comp = compose(sc)
    bfs = {v.prop: v for v in check(comp.system, max_states=sc.max_states).verdicts}
    assert bfs["job-completions-not-exceeded"].verdict == "holds" and bfs["job-completions-not-exceeded"].bounded
    res, cov = random_check(comp.system, seed=0, max_examples=100, max_steps=60)
    v = next(v for v in res.verdicts if v.prop == "job-completions-not-exceeded")
    assert v.verdict == "violated", v.diagnosis
    assert all(l[0] != "replicaset" and "deployment=" not in render_label(l) for l in v.trace.labels[1:])
    assert_one_minimal(sc, v)
    assert_replays(tmp_path, sc, v)


def test_generated_rule_based_state_machine_finds_the_paused_leader(tmp_path):
    """The RuleBasedStateMachine generated from a scenario (for a user's own pytest suite), in its own settings,
    finds the single-leader violation of leader-paused; the failure lists the steps by name and the trace it
    writes replays."""
    from hypothesis.stateful import run_state_machine_as_test
    from kubecheck.pytest_plugin import cluster_state_machine
    from kubecheck.traces import read_trace, replay
    machine = cluster_state_machine(os.path.join(SCENARIOS, "leader-paused.yaml"), traces=str(tmp_path))
    with pytest.raises(AssertionError) as failure:
        run_state_machine_as_test(machine)
    text = str(failure.value)
    assert text.startswith("single-leader violated: kube-controller-manager-")
    assert "environment.pause(process=kube-controller-manager-" in text       # the steps, as a trace names them
    path = tmp_path / "leader-paused" / "single-leader.itf.json"
    assert f"trace: {path}" in text
    assert replay(read_trace(str(path)), str(path)).ok


def test_generated_state_machine_finds_a_fair_cycle_and_holds_where_the_cluster_converges():
    """Its teardown lets the fair rules act: operator-no-status-subresource's operator reconciles for ever (a weakly
    fair cycle outside stable-reconciliation's goal, as the exhaustive search reports it); operator-status-
    subresource, the same operator with the status subresource, converges and nothing fails."""
    from hypothesis.stateful import run_state_machine_as_test
    from kubecheck.pytest_plugin import cluster_state_machine
    with pytest.raises(AssertionError, match="stable-reconciliation violated: a fair cycle of"):
        run_state_machine_as_test(cluster_state_machine(os.path.join(SCENARIOS, "operator-no-status-subresource.yaml")))
    run_state_machine_as_test(cluster_state_machine(os.path.join(SCENARIOS, "operator-status-subresource.yaml")))


def test_random_runs_report_their_progress():
    """A long random exploration is not silent: its runs, steps and states so far, as they grow."""
    sc = load_scenario(os.path.join(SCENARIOS, "rolling-update.yaml"))
    seen = []
    random_check(compose(sc).system, seed=1, max_examples=30, max_steps=20, progress=seen.append,
                 progress_every=0.0)
    assert [i["runs"] for i in seen] == list(range(30))
    assert seen[-1]["steps"] > seen[1]["steps"] > 0 and seen[-1]["states"] > 1 and seen[0]["of"] == 30


def test_random_runs_report_the_rules_they_never_fired():
    sc = load_scenario(os.path.join(SCENARIOS, "rolling-update.yaml"))
    system = compose(sc).system
    res, cov = random_check(system, seed=1, max_examples=30, max_steps=20)
    st = res.stats
    assert sum(n for _, n, _ in st.rule_coverage) == cov.steps
    assert sorted(st.never_fired) == sorted(cov.rules_never_fired) and "kubelet.kill_orphan" in st.never_fired
    assert all(f is None for _, _, f in st.rule_coverage)   # distinct states per rule are not counted there


def test_random_traces_keep_each_object_s_name_from_step_to_step(tmp_path):
    """The runs keep canonical states, whose uids (and the pod names generated from them) are renumbered when a
    pod goes; the trace shows the same steps with stable names: a pod that is gone never comes back under its
    name, the pod PodGC collects is the one the step names, and the diagnosis names the trace's pods."""
    sc, res, _ = run("job-legacy-tracking", seed=0, max_examples=100, max_steps=40)
    v = next(v for v in res.verdicts if v.trace is not None)
    assert v.trace.presented
    gone = set()
    for before, lab, after in zip(v.trace.states, v.trace.labels[1:], v.trace.states[1:]):
        a = {p.meta.name for p in before.store.pods}
        b = {p.meta.name for p in after.store.pods}
        assert not (b - a) & gone, f"{render_label(lab)}: a collected pod's name came back"
        gone |= a - b
        if lab[:2] == ("podgc", "collect_terminated"):
            assert a - b == {dict(lab[2])["pod"].split("/", 1)[1]}, render_label(lab)
    assert len(gone) >= 2
    assert_replays(tmp_path, sc, v)
