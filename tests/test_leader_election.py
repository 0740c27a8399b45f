"""Leader election in the explored model: the paused leader, and what keeps one leader."""

import os

import attrs

from explorer import Rule, check, label, render_label
from kubecheck.compose import compose
from model.components import apiserver, leaderelection
from model.scenario import load_scenario, parse_scenario

from conftest import SCENARIOS


def scenario_text(name):
    with open(os.path.join(SCENARIOS, f"{name}.yaml")) as f:
        return f.read()


def single_leader(text, broken_rule=None):
    comp = compose(parse_scenario(text), ["single-leader"])
    if broken_rule is not None:
        comp.system.rules = [broken_rule if r.name == broken_rule.name else r for r in comp.system.rules]
    (v,) = check(comp.system).verdicts
    return v


def test_paused_leader_trace_is_the_classic_one():
    v = single_leader(scenario_text("leader-paused"))
    assert v.verdict == "violated"
    steps = [render_label(l) for l in v.trace.labels[1:]]
    assert steps[:5] == [
        "leaderelection.acquire(lease=kube-controller-manager, by=kube-controller-manager-1)",
        "environment.pause(process=kube-controller-manager-1)",
        "leaderelection.lease_expires(lease=kube-controller-manager)",
        "leaderelection.acquire(lease=kube-controller-manager, by=kube-controller-manager-2)",
        "leaderelection.resume(process=kube-controller-manager-1)",
    ]
    assert "by=kube-controller-manager-1" in steps[5]
    assert "names kube-controller-manager-2" in v.diagnosis


def test_pauses_shorter_than_the_lease_margin_are_safe():
    """maxPause 2 s: 10 + 2 + 2 < 15, so the paused leader resumes before its Lease can expire."""
    text = scenario_text("leader-paused").replace("maxPause: 30", "maxPause: 2")
    assert single_leader(text).verdict == "holds"


def test_clock_skew_lets_the_lease_expire_under_a_leader_that_cannot_renew():
    """With clocks 1.3x apart, a leader that cannot reach etcd is still leading when its Lease expires."""
    text = scenario_text("leader-crash").replace("controllerManagers: 2}", """controllerManagers: 2,
    leaderElection: {maxClockRateRatio: 1.3}, etcd: {topology: external, members: 3}}""").replace(
        "kinds: [controller-crash]", "kinds: [etcd-member-crash, etcd-member-restart]").replace("budget: 1", "budget: 3")
    comp = compose(parse_scenario(text), ["single-leader"])
    res = check(comp.system)
    two_believers = [s for s in res.search.graph.states
                     if sum(1 for p in s.processes if p.leader and p.up and not p.paused) == 2]
    assert two_believers, "both replicas believe they lead at once"
    skew_free = compose(parse_scenario(text.replace("maxClockRateRatio: 1.3", "maxClockRateRatio: 1.0")),
                        ["single-leader"])
    res = check(skew_free.system)
    assert not [s for s in res.search.graph.states
                if sum(1 for p in s.processes if p.leader and p.up and not p.paused) == 2]


def test_single_leader_catches_an_acquire_that_ignores_the_holder():
    """A broken election that takes a held, fresh Lease: the crash scenario then has two leaders."""
    def grab(s):
        for p in s.processes:
            if p.up and not p.leader:
                lease = leaderelection.lease_of(s, p.component)
                nxt = apiserver.update(s, attrs.evolve(lease, holder=p.name), lease.meta.resource_version, False)
                if nxt is not None:
                    yield (label("leaderelection", "acquire", (("lease", p.component),), (("by", p.name),)),
                           nxt.with_process(attrs.evolve(p, leader=True)))
    assert single_leader(scenario_text("leader-crash")).verdict == "holds"
    v = single_leader(scenario_text("leader-crash"), Rule("leaderelection.acquire", grab))
    assert v.verdict == "violated"


def test_only_the_leader_acts():
    comp = compose(load_scenario(os.path.join(SCENARIOS, "leader-crash.yaml")), ["single-leader"])
    s = comp.system.init_states[0]
    labels = [render_label(l) for r in comp.system.rules for l, _ in r.fn(s)]
    assert not any(l.startswith("deployment.") for l in labels), "nobody leads before a Lease is acquired"
