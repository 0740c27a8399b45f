"""Random exploration, for systems too large to search exhaustively; and the Hypothesis state machine of a System.

Each run is one behaviour: from an initial state, it takes a step to a state
no earlier run has seen where one is at hand (novelty: the first outcomes of
each group are looked at, in all but large systems), else draws one of the
enabled rules, then one group of its steps (a fairness instance, where the
rule offers `groups`), then one step, at a time, checking the invariants and
action properties at every step.  Each run draws from its own generator,
seeded by the seed and the run's index.  Not from Hypothesis' draws: they
mix in constants Hypothesis collects from whichever modules are loaded, so
the same seed gave different runs under pytest and on the command line, and
novelty (choices that depend on earlier runs) is what Hypothesis calls
flaky.  Hypothesis drives `state_machine` below, the RuleBasedStateMachine
generated from the same rules for a user's own test suite.  After `max_steps` steps, faults stop and
only fair steps are drawn for up to `max_steps` more: a state outside a
convergence goal where no fair step is enabled is a violation (stuck); a goal
not reached by then is `unknown`, never `holds` (DESIGN section 2.1).

The first behaviour that violates a property is kept and the runs go on for
the other properties; then each kept behaviour is shrunk by `shrink`: steps
are removed (halves, quarters, ... single steps, delta-debugging style) for as
long as replaying what is left, label by label, still violates the property.
A label whose generated names (`web-7`) moved because an earlier create was
removed is matched by its name stem.  Shrinking is ours rather than
Hypothesis' because Hypothesis stops shrinking after a wall-clock limit,
which would make the trace depend on the machine's speed.

Deterministic for a given seed: the runs depend only on the seed, and
shrinking is bounded by a count of replays, never by time.  A violation found becomes an ordinary Trace, which replays
like any other.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set

from hypothesis import strategies as st

from .check import CheckResult, Trace, Verdict
from .memory import resident_bytes
from .search import Stats
from .system import System

SHRINK_REPLAYS = 600   # replays one shrink may spend


@dataclass
class Coverage:
    runs: int = 0
    steps: int = 0
    distinct_states: int = 0
    rules_never_fired: List[str] = field(default_factory=list)
    shrink_replays: int = 0


@dataclass
class _Found:
    prop: str
    kind: str             # "invariant" | "action" | "stuck"
    diagnosis: str
    states: list
    labels: list
    rules: list           # the index of the rule behind each step (None for the initial state)


def stable_names(system: System, f: _Found):
    """A found behaviour as its trace shows it, and its diagnosis: in the system's presentation form, where
    it has one (the runs keep canonical states, in which the uids, and the names the apiserver generated
    from them, are renumbered at each step: a label would name report-27 and the next diff remove report-28),
    the same steps re-derived from the initial state one by one, and the diagnosis asked of them, so that
    it names what the trace names."""
    if system.presentation is None:
        return Trace(f.states, f.labels), f.diagnosis
    from .search import find_step
    shown = system.presentation
    cur = shown(system.init_states[0])
    states, labels = [cur], [None]
    for target in f.states[1:]:
        step = find_step(system, cur, target, False, present=True)
        if step is None:   # (the rules are deterministic: not expected) keep the canonical states
            return Trace(f.states, f.labels), f.diagnosis
        lab, cur = step
        states.append(cur)
        labels.append(lab)
    again = None
    if f.kind == "invariant":
        again = next((inv.check(cur) for inv in system.invariants if inv.name == f.prop), None)
    elif f.kind == "action":
        again = next((ap.check(states[-2], labels[-1], cur) for ap in system.actions if ap.name == f.prop), None)
    elif f.kind == "stuck":
        conv = next((c for c in system.convergences if c.name == f.prop), None)
        if conv is not None and not conv.goal(cur):
            again = f"stuck outside the goal, no component can act: {conv.diagnose(cur)}"
    return Trace(states, labels, presented=True), again or f.diagnosis


def enabled(system: System, s, fair_only: bool):
    """The rules enabled in `s`, each with its groups of steps: for each group its first step and the rest,
    not yet computed."""
    out = []
    for ri, rule in enumerate(system.rules):
        if fair_only and not rule.fair:
            continue
        if rule.groups is not None:
            groups = []
            for g in rule.groups(s):
                steps = iter(g())
                first = next(steps, None)
                if first is not None:
                    groups.append((first, steps))
            if groups:
                out.append((ri, groups))
            continue
        steps = iter(rule.fn(s))
        first = next(steps, None)
        if first is not None:
            out.append((ri, [(first, steps)]))
    return out


def stuck(system: System, s) -> bool:
    """No weakly fair rule is enabled in `s`."""
    for rule in system.rules:
        if rule.fair and next(iter(rule.fn(s)), None) is not None:
            return False
    return True


def random_check(system: System, *, seed: int = 0, max_examples: int = 200, max_steps: int = 60,
                 deadline: Optional[float] = None, progress: Optional[Callable[[dict], None]] = None,
                 progress_every: float = 2.0):
    canon = system.canonical or (lambda s: s)
    found: Dict[str, _Found] = {}
    seen: Set = set()
    fired: Set[str] = set()
    cov = Coverage()
    steps_of = [0] * len(system.rules)   # steps taken per rule (coverage)
    start = time.perf_counter()
    conv_names = {c.name for c in system.convergences}

    def run_once(index: int):
        # Each run's own generator, seeded by (seed, run index): see the module docstring for why not
        # Hypothesis' draws.
        rng = random.Random(f"kubecheck:{seed}:{index}")

        def draw(n: int) -> int:
            return rng.randrange(n) if n > 1 else 0

        s = canon(system.init_states[0])
        states, labels, rules_used = [s], [None], [None]
        cov.runs += 1
        for phase in ("any", "fair"):
            for _ in range(max_steps):
                choices = enabled(system, s, fair_only=phase == "fair")
                # No fair step enabled: a behaviour whose faults stop here is stuck (only faults could move it).
                if (phase == "fair" and not choices) or (choices and not any(system.rules[ri].fair
                                                                             for ri, _ in choices)):
                    for c in system.convergences:
                        if c.name not in found and not c.goal(s):
                            found[c.name] = _Found(c.name, "stuck", f"stuck outside the goal, no component can "
                                                   f"act: {c.diagnose(s)}", list(states), list(labels),
                                                   list(rules_used))
                if not choices:
                    break
                # Novelty first: where the first step of some group leads to a state no run has seen yet, one
                # of those is taken (in all but large systems), so that the runs spread over the state space instead
                # of retracing the likeliest paths.  Otherwise a rule, then a group of its steps, then a step:
                # every enabled component gets an even chance however many steps another one offers, and
                # only the drawn group's steps are computed.
                novel = []
                if sum(len(g) for _, g in choices) <= NOVELTY_MAX_GROUPS:
                    for gi, (ri_, groups_) in enumerate(choices):
                        expanded = []
                        for first_, rest_ in groups_:
                            more = list(itertools.islice(rest_, NOVELTY_WIDTH))   # a group's other outcomes
                            expanded.append((first_, itertools.chain(more, rest_)))
                            for lab_, nxt_ in [first_] + more:
                                c = canon(nxt_)
                                if c not in seen:
                                    novel.append((ri_, lab_, c))
                        choices[gi] = (ri_, expanded)
                if novel:
                    ri, lab, nxt = novel[draw(len(novel))]
                else:
                    ri, groups = choices[draw(len(choices))]
                    first, rest = groups[draw(len(groups))]
                    steps = [first] + list(rest)
                    lab, nxt = steps[draw(len(steps))]
                    nxt = canon(nxt)
                fired.add(system.rules[ri].name)
                steps_of[ri] += 1
                cov.steps += 1
                for ap in system.actions:
                    if ap.name not in found and (ap.watches is None or (lab[0], lab[1]) in ap.watches):
                        d = ap.check(s, lab, nxt)
                        if d is not None:
                            found[ap.name] = _Found(ap.name, "action", d, states + [nxt], labels + [lab],
                                                    rules_used + [ri])
                s = nxt
                states.append(s)
                labels.append(lab)
                rules_used.append(ri)
                seen.add(s)
                for inv in system.invariants:
                    if inv.name not in found:
                        d = inv.check(s)
                        if d is not None:
                            found[inv.name] = _Found(inv.name, "invariant", d, list(states), list(labels),
                                                     list(rules_used))

    stop_reason = "random"
    last_report = start
    for index in range(max_examples):
        now = time.perf_counter()
        if deadline is not None and now > deadline:
            stop_reason = "timeout"   # the runs so far are what was explored (time.perf_counter() seconds)
            break
        if progress is not None and now - last_report >= progress_every:
            last_report = now
            progress({"runs": index, "of": max_examples, "steps": cov.steps, "states": len(seen),
                      "violated": len(found), "seconds": now - start, "resident_bytes": resident_bytes()})
        run_once(index)

    violations: Dict[str, Verdict] = {}
    for name in sorted(found):
        f = shrink(system, found[name], cov)
        kind = "convergence" if name in conv_names else "safety"
        trace, diagnosis = stable_names(system, f)
        violations[name] = Verdict(name, kind, "violated", False, diagnosis, trace)

    cov.distinct_states = len(seen)
    cov.rules_never_fired = sorted(r.name for r in system.rules if r.name not in fired)
    secs = time.perf_counter() - start
    stats = Stats(distinct_states=len(seen), transitions=cov.steps, depth=max_steps * 2, seconds=secs,
                  rule_coverage=[(r.name, n, None) for r, n in zip(system.rules, steps_of)],
                  complete=False, stop_reason=stop_reason)
    verdicts = []
    for p in list(system.invariants) + list(system.actions):
        verdicts.append(violations.get(p.name) or Verdict(
            p.name, "safety", "holds", True, f"no violation in {cov.runs} random runs of up to {max_steps} steps",
            states=len(seen), seconds=secs))
    for c in system.convergences:
        verdicts.append(violations.get(c.name) or Verdict(
            c.name, "convergence", "unknown", True,
            f"no stuck state found in {cov.runs} random runs; random exploration cannot show convergence",
            states=len(seen), seconds=secs))
    return CheckResult(verdicts, stats, None), cov


NOVELTY_WIDTH = 8    # outcomes of one group looked at for novelty (a scheduler's nodes, an apiserver choice)
NOVELTY_MAX_GROUPS = 24   # above this many groups (a large cluster), steps are drawn without looking ahead

_GENERATED = re.compile(r"-\d+$")


def _stem(lab) -> tuple:
    """A label with the generated suffixes of its names (`default/web-7`) dropped."""
    def strip(args):
        return tuple((k, _GENERATED.sub("-", v) if isinstance(v, str) else v) for k, v in args)
    return (lab[0], lab[1], strip(lab[2]), strip(lab[3]) if len(lab) > 3 else ())


def _step_like(system: System, s, ri: int, lab):
    """The step of rule `ri` from `s` with label `lab`, else the first one with the same name stems."""
    rule = system.rules[ri]
    groups = rule.groups(s) if rule.groups is not None else [lambda: rule.fn(s)]
    stem, like = _stem(lab), None
    for g in groups:
        for cand, nxt in g():
            if cand == lab:
                return cand, nxt
            if like is None and _stem(cand) == stem:
                like = (cand, nxt)
    return like


def _replay(system: System, f: _Found, labels: list, rules: list) -> Optional[_Found]:
    """Replay `labels` (without the initial None) from the initial state; the shortest prefix that still
    violates `f.prop` the way `f` did, or None."""
    canon = system.canonical or (lambda s: s)
    s = canon(system.init_states[0])
    states, out_labels, out_rules = [s], [None], [None]
    inv = next((p for p in system.invariants if p.name == f.prop), None)
    act = next((p for p in system.actions if p.name == f.prop), None)
    conv = next((c for c in system.convergences if c.name == f.prop), None)
    for lab, ri in zip(labels, rules):
        step = _step_like(system, s, ri, lab)
        if step is None:
            return None
        got, nxt = step
        nxt = canon(nxt)
        if act is not None and (act.watches is None or (got[0], got[1]) in act.watches):
            d = act.check(s, got, nxt)
            if d is not None:
                return _Found(f.prop, f.kind, d, states + [nxt], out_labels + [got], out_rules + [ri])
        s = nxt
        states.append(s)
        out_labels.append(got)
        out_rules.append(ri)
        if inv is not None:
            d = inv.check(s)
            if d is not None:
                return _Found(f.prop, f.kind, d, states, out_labels, out_rules)
    if conv is not None and not conv.goal(s) and stuck(system, s):
        return _Found(f.prop, f.kind, f"stuck outside the goal, no component can act: {conv.diagnose(s)}",
                      states, out_labels, out_rules)
    return None


def rules_of(system: System, states: list, labels: list) -> list:
    """The index of the rule behind each step of a behaviour (None for the initial state)."""
    out = [None]
    for s, lab in zip(states, labels[1:]):
        out.append(next(ri for ri, r in enumerate(system.rules) if any(l == lab for l, _ in r.fn(s))))
    return out


def shrink(system: System, f: _Found, cov: Optional[Coverage] = None, budget: int = SHRINK_REPLAYS) -> _Found:
    """Remove steps from a violating behaviour while it still violates (chunks of half its length, then
    smaller, down to single steps), within `budget` replays.  Deterministic."""
    best = f
    replays = 0
    chunk = max(1, (len(best.labels) - 1) // 2)
    while chunk >= 1 and replays < budget:
        labels, rules = best.labels[1:], best.rules[1:]
        i, shrunk = 0, False
        while i < len(labels) and replays < budget:
            replays += 1
            r = _replay(system, best, labels[:i] + labels[i + chunk:], rules[:i] + rules[i + chunk:])
            if r is not None and len(r.labels) < len(best.labels):
                best, shrunk = r, True
                labels, rules = best.labels[1:], best.rules[1:]
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    if cov is not None:
        cov.shrink_replays += replays
    return best


def state_machine(system: System, max_steps: int = 60, on_failure: Optional[Callable] = None):
    """A Hypothesis `RuleBasedStateMachine` generated from `system`: one Hypothesis rule per System rule
    (enabled when the rule has a step; it draws a group and a step), the invariants as one `@invariant`,
    action properties checked on every step, faults only during the first `max_steps` steps, and a
    teardown that, as a `--strategy random` run does after its steps, lets the fair rules act (faults
    stopped) for up to `max_steps` more steps and fails when a convergence goal is missed in a state where
    no fair rule can act.

    For controller authors who want the model in their own pytest suite::

        TestCluster = state_machine(compose(load_scenario("my.yaml")).system).TestCase

    (or `kubecheck.pytest_plugin.cluster_state_machine("my.yaml")`, which also writes each failure's trace).
    A failure is an AssertionError that names the property, says why, and lists the behaviour's steps as a
    trace shows them; `on_failure(prop, kind, trace, diagnosis)`, where given, is called with the failing
    behaviour as a Trace (in the system's presentation form: it replays) and may return a line to add to the
    message (where it wrote the trace).  Hypothesis shrinks the behaviour; the message is that of the last,
    smallest one.
    """
    from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

    from .system import instance_of, render_label

    canon = system.canonical or (lambda s: s)
    conv_names = {c.name for c in system.convergences}

    def init(self):
        RuleBasedStateMachine.__init__(self)
        self.state = canon(system.init_states[0])
        self.states, self.labels = [self.state], [None]
        self.steps = 0

    def fail(self, prop: str, kind: str, diagnosis: str, states, labels, loop: Optional[int] = None):
        trace, diagnosis = stable_names(system, _Found(prop, kind, diagnosis, list(states), list(labels),
                                                       [None] * len(states)))
        trace.loop = loop
        lines = [f"{prop} violated: {diagnosis}", f"the behaviour, {len(trace.states) - 1} steps:"]
        lines += [f"  {i}. {render_label(lab)}" + ("   <- the cycle starts here" if loop is not None and i == loop + 1
                                                   else "")
                  for i, lab in enumerate(trace.labels) if lab is not None]
        if on_failure is not None:
            extra = on_failure(prop, "convergence" if prop in conv_names else "safety", trace, diagnosis)
            if extra:
                lines.append(extra)
        raise AssertionError("\n".join(lines))

    def take(self, lab, nxt) -> None:
        """Step to `nxt` by `lab`, checking the action properties on the step and the invariants after it."""
        nxt = canon(nxt)
        for ap in system.actions:
            if ap.watches is None or (lab[0], lab[1]) in ap.watches:
                d = ap.check(self.state, lab, nxt)
                if d is not None:
                    fail(self, ap.name, "action", d, self.states + [nxt], self.labels + [lab])
        self.state, self.steps = nxt, self.steps + 1
        self.states.append(nxt)
        self.labels.append(lab)
        for inv in system.invariants:
            d = inv.check(nxt)
            if d is not None:
                fail(self, inv.name, "invariant", d, self.states, self.labels)

    def make(ri: int, r):
        def enabled_here(self) -> bool:
            if not r.fair and self.steps >= max_steps:
                return False
            return next(iter(r.fn(self.state)), None) is not None

        def step(self, data):
            groups = r.groups(self.state) if r.groups is not None else [lambda: r.fn(self.state)]
            groups = [g for g in (list(g()) for g in groups) if g]
            steps = groups[data.draw(st.integers(0, len(groups) - 1))]
            lab, nxt = steps[data.draw(st.integers(0, len(steps) - 1))]
            take(self, lab, nxt)
        step.__name__ = step.__qualname__ = r.name.replace(".", "_").replace("-", "_")
        return precondition(enabled_here)(rule(data=st.data())(step))

    def quiescent(self) -> bool:
        return not any((r.fair or self.steps < max_steps) and next(iter(r.fn(self.state)), None) is not None
                       for r in system.rules)

    def rest(self):
        """Nothing can act: the cluster stays as it is (so Hypothesis always has a rule to run)."""

    def invariants(self):
        for inv in system.invariants:
            d = inv.check(self.state)
            if d is not None:
                fail(self, inv.name, "invariant", d, self.states, self.labels)

    def fair_instances(s) -> Set:
        """The fairness instances of the fair rules enabled in `s`."""
        return {instance_of(lab) for r in system.rules if r.fair for lab, _ in r.fn(s)}

    def fair_cycle(states, labels) -> bool:
        """Weak fairness of a cycle: every fair rule instance enabled in all its states is taken in it."""
        always = set.intersection(*(fair_instances(x) for x in states))
        return always <= {instance_of(lab) for lab in labels}

    def teardown(self):
        # Faults stop; the fair rules act, each in turn (the enabled ones taken round-robin: none is
        # postponed for ever), until none can or `max_steps` steps have been taken.  A state met again closes
        # a cycle of fair steps: where no state of it is in a convergence goal and it is weakly fair, the
        # behaviour that goes round it for ever is a violation (a lasso, as the exhaustive search reports).
        if not system.convergences:
            return
        first_at = {self.state: len(self.states) - 1}
        for turn in range(max_steps):
            choices = enabled(system, self.state, fair_only=True)
            if not choices:
                break
            _, groups = choices[turn % len(choices)]
            (lab, nxt), _ = groups[0]
            take(self, lab, nxt)
            at = first_at.setdefault(self.state, len(self.states) - 1)
            if at == len(self.states) - 1:
                continue
            cycle, steps = self.states[at:-1], self.labels[at + 1:]
            for c in system.convergences:
                if not any(c.goal(x) for x in cycle) and fair_cycle(cycle, steps):
                    fail(self, c.name, "lasso", f"a fair cycle of {len(steps)} steps outside the goal, for ever: "
                                                f"{c.diagnose(self.state)}", self.states, self.labels, loop=at)
        if stuck(system, self.state):
            for c in system.convergences:
                if not c.goal(self.state):
                    fail(self, c.name, "stuck", f"stuck outside the goal, no component can act: "
                                                f"{c.diagnose(self.state)}", self.states, self.labels)

    namespace = {"__init__": init, "invariants": invariant()(invariants), "teardown": teardown,
                 "rest": precondition(quiescent)(rule()(rest))}
    for ri, r in enumerate(system.rules):
        namespace[f"r{ri}_{r.name.replace('.', '_').replace('-', '_')}"] = make(ri, r)
    machine = type("ClusterStateMachine", (RuleBasedStateMachine,), namespace)
    machine.TestCase.settings = STATE_MACHINE_SETTINGS
    return machine


def _state_machine_settings():
    """The generated machine's own settings (a suite may give others): short behaviours, many of them (a fault
    matters at the moment it strikes, and the teardown's fair steps carry each behaviour on), the same
    behaviours on every run (derandomized, no example database: a CI run does not depend on the last one),
    no deadline (a step of a large cluster is slow, not wrong), one failure reported (the first, shrunk)."""
    from hypothesis import HealthCheck, settings
    return settings(max_examples=200, stateful_step_count=15, derandomize=True, database=None, deadline=None,
                    report_multiple_bugs=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


STATE_MACHINE_SETTINGS = _state_machine_settings()
