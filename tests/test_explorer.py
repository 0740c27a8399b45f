"""The engine on small systems whose answers are known by hand."""

from explorer import ActionProperty, Convergence, Invariant, Rule, System, check, label, render_label, search, \
    tarjan_sccs


def counter(limit=3, fault=False):
    """x counts up to `limit`; optionally a fault resets it to 0 once."""
    def inc(s):
        x, f = s
        if x < limit:
            yield label("c", "inc"), (x + 1, f)

    def reset(s):
        x, f = s
        if not f and x > 0:
            yield label("env", "reset"), (0, True)
    rules = [Rule("inc", inc)] + ([Rule("reset", reset, fair=False)] if fault else [])
    return System(init_states=[(0, False)], rules=rules)


def test_bfs_counts_and_depth():
    res = search(counter(3, fault=True))
    # (0..3, False) and (0..3, True): reset reachable from 1..3.
    assert res.stats.distinct_states == 8
    assert res.stats.depth == 5  # shortest path to (3, True): inc, reset, inc, inc, inc
    assert res.stats.complete


def test_shortest_counterexample():
    system = counter(5)
    system.invariants = [Invariant("below-3", lambda s: f"x is {s[0]}" if s[0] >= 3 else None)]
    res = check(system)
    (v,) = res.verdicts
    assert v.verdict == "violated" and v.diagnosis == "x is 3"
    assert [s[0] for s in v.trace.states] == [0, 1, 2, 3]
    assert [render_label(l) for l in v.trace.labels[1:]] == ["c.inc()"] * 3


def test_bounded_search_says_so():
    system = counter(10)
    system.invariants = [Invariant("never-10", lambda s: "10" if s[0] == 10 else None)]
    system.convergences = [Convergence("reaches-10", lambda s: s[0] == 10, lambda s: f"x={s[0]}")]
    res = check(system, max_depth=4)
    v = {x.prop: x for x in res.verdicts}
    assert v["never-10"].verdict == "holds" and v["never-10"].bounded
    assert "up to depth" in v["never-10"].diagnosis
    assert v["reaches-10"].verdict == "unknown" and v["reaches-10"].bounded
    assert res.stats.stop_reason == "max-depth"
    res = check(system, max_states=3)
    assert res.stats.stop_reason == "max-states" and res.stats.distinct_states == 3


def test_action_property_gives_the_step():
    system = counter(3)
    system.actions = [ActionProperty("no-inc-from-2", lambda s, l, t: "inc at 2" if s[0] == 2 else None,
                                     watches=frozenset({("c", "inc")}))]
    (v,) = check(system).verdicts
    assert v.verdict == "violated"
    assert [s[0] for s in v.trace.states] == [0, 1, 2, 3]


def test_convergence_holds_after_faults_stop():
    system = counter(3, fault=True)
    system.convergences = [Convergence("reaches-3", lambda s: s[0] == 3, lambda s: f"x={s[0]}")]
    (v,) = check(system).verdicts
    assert v.verdict == "holds"


def test_stuck_state_violates_convergence():
    def inc(s):
        if s < 2:
            yield label("c", "inc"), s + 1
    system = System(init_states=[0], rules=[Rule("inc", inc)],
                    convergences=[Convergence("reaches-3", lambda s: s == 3, lambda s: f"x={s}")])
    (v,) = check(system).verdicts
    assert v.verdict == "violated" and "stuck" in v.diagnosis
    assert v.trace.states == [0, 1, 2] and v.trace.loop is None


def toggler(extra_fair: bool):
    """A fair toggle 0 <-> 1 forever; from either, a `finish` step reaches 2 (the goal).

    If `finish` is fair, the toggling cycle is unfair (finish is enabled all along and
    never taken), so convergence holds.  If `finish` is not fair, the cycle is a
    fair lasso and convergence is violated.
    """
    def toggle(s):
        if s < 2:
            yield label("t", "toggle"), 1 - s

    def finish(s):
        if s < 2:
            yield label("t", "finish"), 2
    return System(init_states=[0], rules=[Rule("toggle", toggle), Rule("finish", finish, fair=extra_fair)],
                  convergences=[Convergence("done", lambda s: s == 2, lambda s: f"at {s}")])


def test_weak_fairness_rules_out_an_unfair_cycle():
    (v,) = check(toggler(extra_fair=True)).verdicts
    assert v.verdict == "holds"


def test_fair_lasso_is_a_violation_with_a_loop():
    (v,) = check(toggler(extra_fair=False)).verdicts
    assert v.verdict == "violated" and "fair cycle" in v.diagnosis
    t = v.trace
    assert t.loop == 0 and t.states[-1] == t.states[t.loop]
    assert [render_label(l) for l in t.labels[1:]] == ["t.toggle()", "t.toggle()"]


def test_fairness_is_per_instance_not_per_choice():
    """A rule that picks among outcomes is one fairness instance: taking any outcome counts."""
    def move(s):
        pos, done = s
        if not done:
            for d in (1, 2):
                yield label("m", "move", (), (("to", (pos + d) % 3),)), ((pos + d) % 3, False)

    def stop(s):
        pos, done = s
        if not done and pos == 0:
            yield label("m", "stop"), (0, True)
    system = System(init_states=[(0, False)], rules=[Rule("move", move), Rule("stop", stop)],
                    convergences=[Convergence("stops", lambda s: s[1], lambda s: "moving")])
    # `stop` is only enabled at pos 0, so it is not enabled in every state of the
    # cycle through 1 and 2: weak fairness does not force it, and a fair lasso exists.
    (v,) = check(system).verdicts
    assert v.verdict == "violated"
    loop_labels = [render_label(l) for l in v.trace.labels[v.trace.loop + 1:]]
    assert loop_labels and all(l.startswith("m.move(") for l in loop_labels)
    assert v.trace.states[-1] == v.trace.states[v.trace.loop]


def test_deadlocks_are_counted():
    res = search(counter(2))
    assert res.stats.terminal_states == 1 and res.deadlocks == [2]
    assert "deadlock" in search(counter(2), check_deadlock=True).violations


def test_tarjan_iterative_matches_known_components():
    g = {0: [1], 1: [2], 2: [0, 3], 3: [4], 4: [3], 5: []}
    comps = sorted(sorted(c) for c in tarjan_sccs(6, lambda v: g[v]))
    assert comps == [[0, 1, 2], [3, 4], [5]]


def test_tarjan_survives_a_deep_graph():
    n = 200_000  # far beyond Python's recursion limit
    comps = tarjan_sccs(n, lambda v: [v + 1] if v + 1 < n else [0])
    assert len(comps) == 1 and len(comps[0]) == n


def test_misuse_is_rejected_early():
    import pytest
    with pytest.raises(ValueError, match="unique"):
        System(init_states=[0], rules=[Rule("a", lambda s: ()), Rule("a", lambda s: ())])
    with pytest.raises(ValueError, match="no initial state"):
        System(init_states=[], rules=[])
    with pytest.raises(TypeError, match="function of the state"):
        Rule("x", 3)


def test_a_state_cut_off_at_max_states_is_not_stuck():
    """A state whose successors were all dropped when max-states was reached has no recorded edge, yet
    something can act in it: the verdict is unknown, not a stuck violation (nor a fair lasso)."""
    def grow(s):
        if s < 50:
            yield label("c", "step", (("by", 1),)), s + 1
            yield label("c", "jump", (("by", 10),)), s + 10
    system = System(init_states=[0], rules=[Rule("grow", grow)],
                    convergences=[Convergence("reaches-50", lambda s: s >= 50, lambda s: f"x={s}")])
    res = check(system, max_states=3)
    (v,) = res.verdicts
    assert res.stats.stop_reason == "max-states"
    assert v.verdict == "unknown" and v.bounded, v.diagnosis
    assert check(system).verdicts[0].verdict == "holds"


def test_first_violation_stops_the_search_with_the_same_shortest_trace():
    system = counter(50)
    system.invariants = [Invariant("below-3", lambda s: f"x is {s[0]}" if s[0] >= 3 else None),
                         Invariant("below-40", lambda s: f"x is {s[0]}" if s[0] >= 40 else None)]
    system.convergences = [Convergence("reaches-50", lambda s: s[0] == 50, lambda s: f"x={s[0]}")]
    full = {v.prop: v for v in check(system).verdicts}
    res = check(system, first_violation=True)
    first = {v.prop: v for v in res.verdicts}
    assert res.stats.stop_reason == "first-violation" and not res.stats.complete
    assert res.stats.distinct_states == 4          # 0..3: stopped as x = 3 was generated
    assert first["below-3"].verdict == "violated" and not first["below-3"].bounded
    assert first["below-3"].trace.states == full["below-3"].trace.states
    # What the early stop leaves undecided is said to be bounded, never a confident verdict.
    assert full["below-40"].verdict == "violated"
    assert first["below-40"].verdict == "holds" and first["below-40"].bounded
    assert "stopped at the first violation" in first["below-40"].diagnosis
    assert full["reaches-50"].verdict == "holds"
    assert first["reaches-50"].verdict == "unknown" and first["reaches-50"].bounded


def test_first_violation_in_an_initial_state():
    system = counter(5)
    system.invariants = [Invariant("never", lambda s: "always bad")]
    res = check(system, first_violation=True)
    assert res.stats.distinct_states == 1 and res.stats.stop_reason == "first-violation"
    assert res.verdicts[0].verdict == "violated" and len(res.verdicts[0].trace.states) == 1


def test_a_bounded_search_says_which_rules_and_arguments_made_its_states():
    def step(s):
        x, y = s
        if x < 20:
            yield label("a", "up", (("obj", "x"),)), (x + 1, y)
        if y < 3:
            yield label("b", "up", (("obj", "y"),)), (x, y + 1)
    system = System(init_states=[(0, 0)], rules=[Rule("a.up", lambda s: (t for t in step(s) if t[0][0] == "a")),
                                                 Rule("b.up", lambda s: (t for t in step(s) if t[0][0] == "b"))])
    res = search(system, max_depth=6)
    assert not res.stats.complete
    # Every state but the initial one was discovered by exactly one first step.
    assert sum(n for _, n in res.stats.blame_rules) == res.stats.distinct_states - 1
    rules, objects = dict(res.stats.blame_rules), dict(res.stats.blame_objects)
    assert set(rules) == {"a.up", "b.up"} and rules["b.up"] > 0
    assert objects == {"obj=x": rules["a.up"], "obj=y": rules["b.up"]}
    assert res.stats.blame_rules == sorted(res.stats.blame_rules, key=lambda x: -x[1])   # largest first
    assert "blame" in res.stats.as_dict()
    full = search(system)
    assert full.stats.complete and full.stats.blame_rules == [] and "blame" not in full.stats.as_dict()


def test_an_interrupted_search_keeps_a_consistent_graph_and_bounded_verdicts():
    calls = [0]

    def inc(s):
        calls[0] += 1
        if calls[0] == 30:
            raise KeyboardInterrupt
        if s < 100:
            yield label("c", "inc"), s + 1
            yield label("c", "inc2"), s + 2
    system = System(init_states=[0], rules=[Rule("inc", inc)],
                    invariants=[Invariant("small", lambda s: None)],
                    convergences=[Convergence("reaches-100", lambda s: s >= 100, str)])
    res = check(system)
    st = res.stats
    assert st.stop_reason == "interrupted" and not st.complete
    g = res.search.graph
    assert len(g.states) == len(g.parent) == len(g.depth) == len(g.index) == st.distinct_states
    assert all(g.index[s] == i for i, s in enumerate(g.states))
    assert all(t < len(g.states) for e in g.fair_edges for t in e[1::2])
    v = {x.prop: x for x in res.verdicts}
    assert v["small"].verdict == "holds" and v["small"].bounded
    assert v["reaches-100"].verdict == "unknown" and "interrupted" in v["reaches-100"].diagnosis


def _slow_fan(n: int, pause: float):
    """One state with `n` successors, each taking `pause` seconds to generate: a state as slow to expand as
    a node crash on hundreds of nodes."""
    import time

    def fan(s):
        if s == 0:
            for k in range(1, n + 1):
                time.sleep(pause)
                yield label("c", "fan", (("k", k),)), k
    return System(init_states=[0], rules=[Rule("fan", fan)], invariants=[Invariant("small", lambda s: None)],
                  convergences=[Convergence("settles", lambda s: s > 0, str)])


def test_the_timeout_cuts_a_state_whose_successors_are_slow_and_says_so():
    import time
    t = time.perf_counter()
    res = check(_slow_fan(4000, 0.001), timeout=0.3)
    took = time.perf_counter() - t
    st = res.stats
    assert st.stop_reason == "timeout" and not st.complete
    assert took < 2.0, took          # 4 s of successors: the bound was looked at inside the state
    assert 0 in res.search.graph.truncated   # the initial state was cut in the middle of its successors
    v = {x.prop: x for x in res.verdicts}
    assert v["small"].verdict == "holds" and v["small"].bounded and "timeout" in v["small"].diagnosis
    assert v["settles"].verdict == "unknown"


def test_the_progress_line_is_shown_while_states_are_slow():
    seen = []
    search(_slow_fan(400, 0.001), progress=seen.append, progress_every=0.1)
    assert seen and seen[0]["states"] >= 1 and seen[0]["resident_bytes"] > 0


def test_max_memory_stops_the_search_and_bounds_the_verdicts():
    res = check(_slow_fan(200, 0.0), max_memory=1)   # one byte: passed at the first look
    st = res.stats
    assert st.stop_reason == "max-memory" and not st.complete
    v = {x.prop: x for x in res.verdicts}
    assert v["small"].bounded and "max-memory" in v["small"].diagnosis
    assert check(_slow_fan(200, 0.0), max_memory=1 << 40).stats.complete   # a terabyte: not reached


def test_the_timeout_cuts_a_slow_state_under_partial_order_reduction_too():
    """The reduction generates a state's successors before choosing among them: the clock is looked at there."""
    import dataclasses
    import time
    from test_por import make_system

    def slow(rule):
        def fn(s):
            for step in rule.fn(s):
                time.sleep(0.01)
                yield step
        return dataclasses.replace(rule, fn=fn)
    system = make_system([1] * 200, shared_at=set())
    system = dataclasses.replace(system, rules=[slow(r) for r in system.rules])
    t = time.perf_counter()
    res = search(system, reduction="por", timeout=0.3, symmetry=False)
    assert time.perf_counter() - t < 1.5      # 200 successors of 10 ms: 2 s without the look inside
    assert res.stats.stop_reason == "timeout" and 0 in res.graph.truncated


def test_the_progress_line_comes_in_the_middle_of_a_slow_state():
    seen = []
    search(_slow_fan(4000, 0.001), progress=seen.append, progress_every=0.2, timeout=1.0)
    assert seen and seen[0]["states"] > 1 and seen[0]["expanded"] == 1   # still expanding the initial state


def test_coverage_counts_each_rules_steps_and_names_those_never_enabled():
    """As TLC's -coverage: every step generated is counted against its rule (under partial-order reduction
    too, the steps it does not follow included), and a rule no explored state enables is named."""
    import dataclasses
    from test_por import make_system
    base = make_system([2, 2, 1], shared_at={(1, 0)})
    never = Rule("never", lambda s: ())
    system = dataclasses.replace(base, rules=list(base.rules) + [never])
    for reduction in ("none", "por"):
        st = search(system, reduction=reduction, symmetry=False).stats
        assert sum(n for _, n, _ in st.rule_coverage) == st.transitions, reduction
        assert st.never_fired == ["never"], reduction
        assert sum(f for _, _, f in st.rule_coverage) == st.distinct_states - 1   # all but the initial state
    assert search(system, reduction="por", symmetry=False).stats.reduction == "por"   # the reduction did act
    assert "coverage" in st.as_dict() and st.as_dict()["coverage"]["never_fired"] == ["never"]
