"""The engine explores exactly what TLC explores on the reference model (shared/reference)."""

import pytest

from explorer import check, search
from explorer.examples.kubedeploy import kubedeploy, representative_by_permutations

# (nodes, R, Cap, symmetry) -> (distinct states, states generated) as TLC reports them.
TLC = {
    (3, 3, 2, False): (3_289, 8_914),
    (3, 3, 2, True): (577, 1_657),
    (4, 4, 2, False): (104_977, 376_785),
    (4, 4, 2, True): (4_888, 19_179),
}


@pytest.mark.parametrize("nodes,r,cap,sym", sorted(TLC))
def test_counts_equal_tlc(nodes, r, cap, sym):
    res = search(kubedeploy(nodes, r, cap), symmetry=sym)
    distinct, generated = TLC[(nodes, r, cap, sym)]
    assert res.stats.distinct_states == distinct
    # TLC's "states generated" counts the initial state too.
    assert res.stats.transitions + 1 == generated
    assert res.stats.complete
    assert not res.violations


def test_fast_representative_equals_tlc_permutations():
    """The O(N log N) node-symmetry representative finds the same orbits as trying all N! permutations."""
    sys_fast = kubedeploy(3, 3, 2)
    sys_perm = kubedeploy(3, 3, 2)
    sys_perm.representative = representative_by_permutations(3)
    assert search(sys_fast).stats.distinct_states == search(sys_perm).stats.distinct_states == 577


def test_invariants_catch_a_too_small_capacity():
    """With R=3 and the controller's pods over 2 nodes of Cap 1, CapacityOK is a real check."""
    system = kubedeploy(3, 3, 2)
    # Break the scheduler's guard: bind regardless of load.
    from explorer import Rule, label
    rules = list(system.rules)

    def schedule_anywhere(s):
        phase, node, crashed, nxt = s
        for p, ph in enumerate(phase):
            if ph == 1:
                for n in range(3):
                    yield label("scheduler", "Schedule", (("p", p + 1),), (("n", n + 1),)), (
                        tuple(2 if q == p else x for q, x in enumerate(phase)),
                        tuple(n if q == p else x for q, x in enumerate(node)), crashed, nxt)
    rules[1] = Rule("Schedule", schedule_anywhere)
    system.rules = rules
    res = check(system, symmetry=False)
    v = {x.prop: x for x in res.verdicts}
    assert v["CapacityOK"].verdict == "violated"
    assert "Cap is 2" in v["CapacityOK"].diagnosis
    # BFS gives a shortest counterexample: 3 creates and 3 binds to one node.
    assert len(v["CapacityOK"].trace.states) == 7
    assert v["NoOverReplication"].verdict == "holds"


def test_symmetry_never_changes_a_verdict():
    for broken in (False, True):
        verdicts = []
        for sym in (False, True):
            system = kubedeploy(3, 3, 1 if broken else 2)
            if broken:  # R=3 on Cap 1: a crash makes room too small, but CapacityOK still holds
                system.invariants = list(system.invariants) + [
                    __import__("explorer").Invariant("AllRunning", lambda s: "not all" if s[0].count(3) == 3 else None)]
            res = check(system, symmetry=sym)
            verdicts.append({v.prop: (v.verdict, len(v.trace.states) if v.trace else None) for v in res.verdicts})
        assert verdicts[0] == verdicts[1]


def test_progress_is_reported():
    seen = []
    search(kubedeploy(3, 3, 2), symmetry=False, progress=seen.append, progress_every=0)
    assert seen and {"states", "depth", "queue", "states_per_second", "seconds"} <= set(seen[0])
