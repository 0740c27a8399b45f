"""The taint-eviction controller's scheduled evictions (model/components/tainteviction.py) and the node lifecycle
controller's return to Ready in two passes (kubernetes issues 90794 and 112930)."""

from explorer import render_label
from model.components.nodelifecycle import NO_EXECUTE, NO_SCHEDULE

from test_scenarios import run


def test_stale_schedule_fires_after_the_node_is_back():
    """Before PR 93722: the eviction scheduled while n1 was unreachable fires after the monitor pass removed the
    unreachable taint, on a Ready Node whose only NoExecute taint web tolerates for ever."""
    sc, comp, res = run("taint-eviction-stale-schedule")
    v = {x.prop: x for x in res.verdicts}["taint-eviction-justified"]
    assert v.verdict == "violated"
    labels = [render_label(lab) for lab in v.trace.labels[1:]]
    assert labels[-1].startswith("taint-eviction.evict(node=n1") and "pods=default/web" in labels[-1]
    assert "after=an earlier schedule" in labels[-1]
    before = v.trace.states[-2]
    n1 = before.store.get("Node", "", "n1")
    # The unreachable NoExecute taint is gone (here the full-disruption mode removed it: n2 cut off too).
    assert [str(t) for t in n1.taints if t.effect == "NoExecute"] == ["dedicated=web:NoExecute"]
    assert before.taint_evictions      # the timer is still there


def test_fixed_controller_cancels_once_every_taint_left_is_tolerated_for_ever():
    """Since PR 93722: in every state where n1 is Ready again without the unreachable taint and the controller has
    handled the update, no eviction of web is scheduled; the same states with the old behaviour keep one."""
    def stale_timers(name):
        sc, comp, res = run(name)
        rule = next(r for r in comp.system.rules if r.name == "taint-eviction.schedule")

        def schedule_enabled(s):
            return any(True for _ in rule.fn(s))
        out = 0
        for s in res.search.graph.states:
            n1 = s.store.get("Node", "", "n1")
            web = s.store.get("Pod", "default", "web")
            if (n1.ready == "True" and NO_EXECUTE not in n1.taints and web is not None and s.taint_evictions
                    and not schedule_enabled(s)):
                out += 1
        return out
    assert stale_timers("taint-eviction-tolerated-cancelled") == 0
    assert stale_timers("taint-eviction-stale-schedule") > 0


def test_the_noschedule_taint_goes_before_the_noexecute_one():
    """112930: a Node Ready again loses its unreachable NoSchedule taint first (mark_ready), the NoExecute one in a
    later monitor pass (mark_reachable); in between the scheduler may bind a pod there.  (partitioned-node with the
    timers composed, behaviour.taintEvictionTimers; by default the two passes are one step.)"""
    import dataclasses
    import os
    from explorer import check
    from kubecheck.compose import compose
    from model.scenario import load_scenario
    from conftest import SCENARIOS
    sc = dataclasses.replace(load_scenario(os.path.join(SCENARIOS, "partitioned-node.yaml")),
                             taint_eviction_timers=True)
    res = check(compose(sc).system, reduction="none", symmetry=False)
    window = [s for s in res.search.graph.states for n in s.store.nodes
              if n.ready == "True" and NO_EXECUTE in n.taints and NO_SCHEDULE not in n.taints]
    assert window
    assert any(p.spec.node_name == n.meta.name and not p.meta.deleting
               for s in window for n in s.store.nodes if NO_EXECUTE in n.taints and n.ready == "True"
               for p in s.store.pods if p.phase == "Pending")
