"""Node symmetry (model/symmetry.py) and convergence on the quotient graph (explorer/check.py): the same
verdicts as the concrete search, with traces of concrete states."""

import dataclasses
import glob
import os

import pytest

from conftest import SCENARIOS, assert_trace_of
from explorer import Convergence, Invariant, Rule, System, check, label


def _composed(path):
    from kubecheck.compose import compose
    from model.scenario import load_scenario
    return compose(load_scenario(path))


SYMMETRIC = [os.path.basename(p)[:-5] for p in sorted(glob.glob(os.path.join(SCENARIOS, "*.yaml")))
             if _composed(p).system.representative is not None]

# (distinct states with symmetry, without), both with the default reductions (the quotient of uids per owner
# among them): pinned so that a change of the representative shows.  As composed (--reduction none), the
# same scenarios have 42,069 / 245,181, 5,353 / 29,235 and 458 / 882 states.
REDUCED = {"rolling-update-node-crash": (9575, 55409), "rolling-update": (1175, 6281),
           "greedy-scheduling": (82, 152)}


def test_the_suite_has_symmetric_scenarios():
    assert set(REDUCED) <= set(SYMMETRIC)


@pytest.mark.parametrize("name", SYMMETRIC)
def test_verdicts_with_and_without_node_symmetry(name):
    comp = _composed(os.path.join(SCENARIOS, f"{name}.yaml"))
    sc = comp.model.scenario
    opts = dict(max_depth=sc.max_depth, max_states=sc.max_states)
    # Symmetry alone: observer elimination, where it applies, is preferred to it (their searches do not
    # combine yet), so it is left out here.
    system = dataclasses.replace(comp.system, observers=[])
    sym = check(system, **opts)
    full = check(system, symmetry=False, **opts)
    assert sym.stats.symmetry and not full.stats.symmetry
    assert [(v.prop, v.verdict) for v in sym.verdicts] == [(v.prop, v.verdict) for v in full.verdicts]
    if name in REDUCED:
        assert (sym.stats.distinct_states, full.stats.distinct_states) == REDUCED[name]
    for v in sym.verdicts:
        if v.trace is not None:
            assert_trace_of(comp.system, v.trace)


# --- the quotient's cycles on small systems -----------------------------------------------------------
# Two interchangeable workers, each 0 -> 1 -> 2 -> 0 ..., a state (a, b); the representative sorts them.

def workers(loop_both: bool, goal, fair_b=True):
    def step(k):
        def fn(s):
            t = list(s)
            if s[k] < 2 or loop_both:
                t[k] = (s[k] + 1) % 3
                yield label("worker", "step", (("w", k),)), tuple(t)
        return fn
    return System(init_states=[(0, 0)], rules=[Rule("w0", step(0)), Rule("w1", step(1), fair=fair_b)],
                  invariants=[Invariant("any", lambda s: None)],
                  convergences=[Convergence("goal", goal, str)],
                  representative=lambda s: tuple(sorted(s)), symmetric_convergence=True,
                  fixed_instance=lambda inst: False)


@pytest.mark.parametrize("loop_both, goal", [
    (True, lambda s: s != (1, 1)),          # both cycle for ever: (1, 1) is on a fair cycle: violated
    (False, lambda s: s == (2, 2)),         # both stop at 2: converges
    (False, lambda s: s[0] == s[1]),        # stop at (2, 2): converges, though the quotient merges (0,1),(1,0)
    (True, lambda s: sorted(s) != [0, 2]),  # a fair cycle passes (2, 0) and (0, 2): violated
])
def test_quotient_convergence_agrees_with_the_concrete_search(loop_both, goal):
    """(The goals are symmetric, as every property of the model is: symmetry is only sound for those.)"""
    system = workers(loop_both, goal)
    sym = check(system)
    full = check(system, symmetry=False)
    assert sym.stats.symmetry and sym.stats.distinct_states < full.stats.distinct_states
    assert [v.verdict for v in sym.verdicts] == [v.verdict for v in full.verdicts]
    for v in sym.verdicts:
        if v.trace is not None:
            assert_trace_of(system, v.trace)
            if v.trace.loop is not None:
                assert any(not goal(s) for s in v.trace.states[v.trace.loop:])


from test_quotient import TWO_NODES  # noqa: E402

LEGACY_JOB = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: legacy-job-two-nodes}
spec:
  behaviour: {jobTrackingWithFinalizers: false}
  faults: {budget: 1, kinds: [node-crash]}
  check: {properties: [node-status-converges, job-completes]}
""" + TWO_NODES + """---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: default}
spec:
  completions: 1
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox, resources: {requests: {cpu: 100m}}}]
"""


def test_a_fair_step_that_leaves_the_quotient_component_is_not_forgotten():
    """A Job with the legacy tracking, whose failed pods PodGC may remove before they are counted, loops for
    ever (create, fail, collect) — also after a node has crashed.  On that cycle the node lifecycle
    controller's mark_unreachable of the crashed node is enabled all along and never taken (it leaves the
    cycle), so the cycle is not fair and node-status-converges holds.  The quotient's candidate cycles are
    confirmed on concrete states; that re-exploration once dropped the steps leaving the component, the
    instance then looked never enabled, and the cycle fair: node-status-converges was violated with symmetry
    and held without it."""
    from kubecheck.compose import compose
    from model.scenario import parse_scenario
    system = compose(parse_scenario(LEGACY_JOB)).system
    with_sym, without = check(system), check(system, symmetry=False)
    assert with_sym.stats.symmetry and not without.stats.symmetry
    verdicts = lambda r: {v.prop: v.verdict for v in r.verdicts}  # noqa: E731
    assert verdicts(with_sym) == verdicts(without) == {"node-status-converges": "holds", "job-completes": "violated"}
    lasso = next(v for v in with_sym.verdicts if v.prop == "job-completes").trace
    assert_trace_of(system, lasso)
