"""Random exploration with Hypothesis, for systems too large to search exhaustively.

Each Hypothesis example is one behaviour: from an initial state, it draws one
of the enabled steps at a time (Hypothesis' own choice sequence, so failing
behaviours shrink to short ones), checking the invariants and action
properties at every step.  After `max_steps` steps, faults stop and only fair
steps are drawn for up to `max_steps` more: a state outside a convergence
goal where no fair step is enabled is a violation (stuck); a goal not reached
by then is `unknown`, never `holds` (DESIGN section 2.1).

Deterministic for a given seed: no example database, no deadline, and the
seed fixes Hypothesis' generation.  A violation found becomes an ordinary
Trace, shrunk, which replays like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Set

from hypothesis import HealthCheck, Phase, given, seed as hseed, settings, strategies as st

from .check import CheckResult, Trace, Verdict
from .search import Stats
from .system import System


@dataclass
class Coverage:
    runs: int = 0
    steps: int = 0
    distinct_states: int = 0
    rules_never_fired: List[str] = field(default_factory=list)


class _Found(Exception):
    pass


def random_check(system: System, *, seed: int = 0, max_examples: int = 200, max_steps: int = 60):
    canon = system.canonical or (lambda s: s)
    props_left = {p.name for p in list(system.invariants) + list(system.actions) + list(system.convergences)}
    violations: Dict[str, Verdict] = {}
    seen: Set = set()
    fired: Set[str] = set()
    cov = Coverage()
    start = time.perf_counter()

    def enabled(s, fair_only: bool):
        out = []
        for rule in system.rules:
            if fair_only and not rule.fair:
                continue
            for lab, nxt in rule.fn(s):
                out.append((rule, lab, canon(nxt)))
        return out

    def run_once(data, targets: Set[str], record: list):
        s = canon(system.init_states[0])
        states, labels = [s], [None]
        record.clear()
        cov.runs += 1
        for phase in ("any", "fair"):
            for _ in range(max_steps):
                trans = enabled(s, fair_only=phase == "fair")
                if not trans:
                    if phase == "fair":
                        for c in system.convergences:
                            if c.name in targets and not c.goal(s):
                                record[:] = [c.name, f"stuck outside the goal, no component can act: {c.diagnose(s)}",
                                             list(states), list(labels)]
                                raise _Found()
                    break
                rule, lab, nxt = trans[data.draw(st.integers(0, len(trans) - 1))]
                fired.add(rule.name)
                cov.steps += 1
                for ap in system.actions:
                    if ap.name in targets and (ap.watches is None or (lab[0], lab[1]) in ap.watches):
                        d = ap.check(s, lab, nxt)
                        if d is not None:
                            record[:] = [ap.name, d, states + [nxt], labels + [lab]]
                            raise _Found()
                s = nxt
                states.append(s)
                labels.append(lab)
                seen.add(s)
                for inv in system.invariants:
                    if inv.name in targets:
                        d = inv.check(s)
                        if d is not None:
                            record[:] = [inv.name, d, list(states), list(labels)]
                            raise _Found()

    while props_left:
        record: list = []
        targets = set(props_left)

        @settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                  phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck),
                  report_multiple_bugs=False, print_blob=False)
        @hseed(seed)
        @given(st.data())
        def behaviour(data):
            run_once(data, targets, record)

        try:
            behaviour()
            break
        except _Found:
            pass
        name, diag, states, labels = record
        kind = "convergence" if any(c.name == name for c in system.convergences) else "safety"
        violations[name] = Verdict(name, kind, "violated", False, diag, Trace(states, labels))
        props_left.discard(name)

    cov.distinct_states = len(seen)
    cov.rules_never_fired = sorted(r.name for r in system.rules if r.name not in fired)
    secs = time.perf_counter() - start
    stats = Stats(distinct_states=len(seen), transitions=cov.steps, depth=max_steps * 2, seconds=secs,
                  complete=False, stop_reason="random")
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
