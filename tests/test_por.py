"""Partial-order reduction (explorer/por.py): it reduces where steps are independent, keeps every verdict,
every stuck state and every violation, and a wrong declaration is caught."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from explorer import Convergence, Invariant, Rule, System, check, label
from explorer.por import UNIVERSAL, Independence
from explorer.search import search


# A generic system: processes, each with a counter it alone writes (0..bound), some of whose steps also
# write a shared variable (a token of its own), and a fault that may reset process 0's counter.  State: (counters,
# shared, faults_left).

def make_system(bounds, shared_at, faults: int = 0, inv_reads_shared: bool = True, fair_cycle: bool = False,
                lie: bool = False):
    n = len(bounds)

    def step_rule(k):
        def fn(s):
            counters, shared, f = s
            c = counters[k]
            if c < bounds[k]:
                new = counters[:k] + (c + 1,) + counters[k + 1:]
                sh = shared + 1 if (k, c) in shared_at else shared
                yield label(f"p{k}", "step", (("at", c),)), (new, sh, f)
            elif fair_cycle and k == 0:
                yield label(f"p{k}", "wrap"), (counters[:k] + (0,) + counters[k + 1:], shared, f)
        return Rule(f"p{k}.step", fn)

    def fault(s):
        counters, shared, f = s
        if f > 0:
            for k in range(1):   # the fault resets process 0 only
                if counters[k] > 0:
                    yield label("env", "reset", (("p", k),)), (counters[:k] + (0,) + counters[k + 1:], shared, f - 1)

    class Decl(Independence):
        def actor(self, lab):
            return lab[0]

        def writes(self, s, lab, nxt):
            out = {("c", k) for k in range(n) if s[0][k] != nxt[0][k]}
            if s[1] != nxt[1]:
                out.add("shared")
            if s[2] != nxt[2]:
                out.add("faults")
            return frozenset(out)

        def reads(self, s, actor):
            if actor == "env":
                return frozenset({("c", 0), "faults"})
            k = int(actor[1:])
            return frozenset({("c", k), "shared"} if any(j == k for j, _ in shared_at) else {("c", k)})

        def actors(self, s):
            return [f"p{k}" for k in range(n)] + ["env"]

        def future(self, s, actor, frozen):
            if actor == "env":
                if s[2] == 0:
                    return frozenset(), frozenset()
                return self.reads(s, actor), frozenset({("c", 0), "faults"})
            k = int(actor[1:])
            w = {("c", k)}
            if any(j == k and c >= s[0][k] for j, c in shared_at) or (fair_cycle and k == 0 and shared_at):
                w.add("shared")
            if lie:
                w.discard("shared")
            return self.reads(s, actor), frozenset(w)

        def visibility(self, names):
            return frozenset({"shared"}) if inv_reads_shared else frozenset({UNIVERSAL})

    limit = max(1, len(shared_at) - 1)
    inv = Invariant("shared-bounded", lambda s: None if s[1] <= limit else f"shared is {s[1]}")
    goal = Convergence("all-done", lambda s: all(c == b for c, b in zip(s[0], bounds)), lambda s: f"at {s[0]}")
    return System(init_states=[(tuple(0 for _ in bounds), 0, faults)],
                  rules=[step_rule(k) for k in range(n)] + ([Rule("env.reset", fault, fair=False)] if faults else []),
                  invariants=[inv], convergences=[goal], independence=Decl(), name="procs")


def _verdicts(res):
    return {v.prop: v.verdict for v in res.verdicts}


def test_independent_processes_are_explored_in_one_order():
    """Four processes that share nothing: their interleavings (5^4 states) reduce to one path."""
    sysm = make_system([4, 4, 4, 4], shared_at=set())
    full = search(sysm)
    red = search(sysm, reduction="por", check_footprints=True)
    assert full.stats.distinct_states == 5 ** 4
    assert red.stats.distinct_states == 17
    assert red.stats.reduced_states > 0


def test_reduction_keeps_the_violation_and_its_trace_is_a_real_one():
    sysm = make_system([3, 3, 3], shared_at={(0, 1), (1, 2), (2, 0)})
    full, red = check(sysm, reduction="none"), check(sysm, reduction="por")
    assert _verdicts(full) == _verdicts(red) == {"shared-bounded": "violated", "all-done": "holds"}
    trace = next(v for v in red.verdicts if v.prop == "shared-bounded").trace
    assert trace.states[-1][1] > 2
    assert red.stats.distinct_states < full.stats.distinct_states


def test_stuck_states_are_all_kept_with_faults_still_enabled():
    """Every state where no fair step is enabled (faults may be) is reached by the reduced search."""
    sysm = make_system([2, 2, 2], shared_at=set(), faults=1)
    full = search(sysm, keep_fair_edges=True)
    red = search(sysm, reduction="por", keep_fair_edges=True, check_footprints=True)

    def stuck(res):
        g = res.graph
        return {g.states[i] for i in range(len(g.states)) if not g.fair_edges[i]}
    assert stuck(full) == stuck(red) and stuck(full)
    assert red.stats.distinct_states < full.stats.distinct_states


def test_a_cycle_of_fair_steps_sends_convergence_back_to_the_full_graph():
    sysm = make_system([2, 2], shared_at=set(), fair_cycle=True)
    res = check(sysm, reduction="por")
    assert _verdicts(res) == _verdicts(check(sysm, reduction="none"))
    assert res.stats.reduction == "none" and "cycle" in res.stats.reduction_note


def test_an_undeclared_write_is_caught():
    sysm = make_system([2, 2], shared_at={(0, 0)}, lie=True)
    with pytest.raises(AssertionError, match="outside its declared footprint"):
        search(sysm, reduction="por", check_footprints=True)


@settings(max_examples=40, deadline=None)
@given(bounds=st.lists(st.integers(1, 3), min_size=2, max_size=4),
       shared=st.sets(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=4),
       faults=st.integers(0, 1), visible=st.booleans())
def test_random_systems_give_the_same_verdicts_with_and_without_reduction(bounds, shared, faults, visible):
    shared = {(k, c) for k, c in shared if k < len(bounds) and c < bounds[k]}
    sysm = make_system(bounds, shared, faults=faults, inv_reads_shared=visible)
    full, red = check(sysm, reduction="none"), check(sysm, reduction="por")
    assert _verdicts(full) == _verdicts(red)
    assert red.stats.distinct_states <= full.stats.distinct_states
    search(sysm, reduction="por", check_footprints=True)


KUBERNETES = ["web-two-nodes-crash", "logging-daemonset", "job-node-crash", "dns-service", "rs-adopts-orphan",
              "daemonset-no-room", "greedy-scheduling",
              # not symmetric (the zone outage reads zones; the change names n2), so the footprints are checked:
              "statefulset-out-of-service", "statefulset-out-of-service-partition",
              "cronjob-forbid", "cronjob-replace"]


@pytest.mark.parametrize("name", KUBERNETES)
def test_kubernetes_declarations_hold_on_every_step_and_verdicts_are_unchanged(name):
    from kubecheck.compose import compose
    from model.scenario import load_scenario
    import os
    sc = load_scenario(os.path.join(os.path.dirname(__file__), "..", "scenarios", f"{name}.yaml"))
    comp = compose(sc)
    assert comp.system.independence is not None
    search(comp.system, reduction="por", check_footprints=True, max_states=4000)
    assert _verdicts(check(comp.system)) == _verdicts(check(comp.system, reduction="none"))


def test_partial_order_reduction_engages_on_the_kubernetes_model():
    """dns-service: the DNS addon's own pods and the web pods are settled by controllers whose steps are
    independent in some states; the reduction explores fewer states, with the same verdicts and traces that
    replay."""
    import dataclasses
    import os
    from kubecheck.compose import compose
    from model.scenario import load_scenario
    from conftest import assert_trace_of
    comp = compose(load_scenario(os.path.join(os.path.dirname(__file__), "..", "scenarios", "dns-service.yaml")))
    # This reduction alone: not the quotient of uids, nor the EndpointSlice controller searched around.
    system = dataclasses.replace(comp.system, quotient=None,
                                 observers=[o for o in comp.system.observers if o.name != "endpointslice"])
    with_por = check(system)
    without = check(dataclasses.replace(system, independence=None))
    assert with_por.stats.reduction == "por" and with_por.stats.reduced_states > 0
    assert (with_por.stats.distinct_states, without.stats.distinct_states) == (1589, 1607)
    assert _verdicts(with_por) == _verdicts(without)
    for v in with_por.verdicts:
        if v.trace is not None:
            assert_trace_of(comp.system, v.trace)


def test_a_search_with_nothing_to_reduce_turns_the_reduction_off():
    """Where no sampled state has a proper persistent subset in the first POR_PROBE states, the search goes on
    without choosing (full expansion is always allowed), and says so."""
    import sys
    search_module = sys.modules["explorer.search"]
    sysm = make_system([3, 3], shared_at={(0, 0), (1, 0)}, inv_reads_shared=False)
    old = search_module.POR_PROBE
    search_module.POR_PROBE = 3
    try:
        res = search(sysm, reduction="por")
    finally:
        search_module.POR_PROBE = old
    assert res.stats.reduction == "none" and "turned off" in res.stats.reduction_note
    assert res.stats.distinct_states == search(sysm).stats.distinct_states
