"""Run a system's properties to verdicts: the engine's entry point.

`check(system, ...)` searches the state space once, then decides every
property: safety (invariants and action properties) during the search,
convergence afterwards on the fair-step graph.  Each verdict carries a
concrete counterexample trace when the property is violated.

Verdicts follow DESIGN section 2.1: a search cut short by a bound gives
safety `holds` and convergence `unknown`, both `bounded`, unless a violation
was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional

from .fairness import check_convergence, outside_goals
from .search import SearchResult, Stats, concrete_path, search
from .system import Label, State, System, instance_of


@dataclass
class Trace:
    """A behaviour: states[0] is initial; labels[i] is the step that led to states[i].

    For a lasso, `loop` is the index of the state that the last state repeats.
    `presented`: the states are in the system's presentation form (stable
    names), not canonical; a replay must apply the same form.
    """

    states: List[State]
    labels: List[Optional[Label]]
    loop: Optional[int] = None
    presented: bool = False


@dataclass
class Verdict:
    prop: str
    kind: str                 # "safety" | "convergence"
    verdict: str              # "holds" | "violated" | "unknown"
    bounded: bool
    diagnosis: Optional[str] = None
    trace: Optional[Trace] = None
    states: int = 0
    depth: int = 0
    seconds: float = 0.0


@dataclass
class CheckResult:
    verdicts: List[Verdict]
    stats: Stats
    search: SearchResult = field(repr=False)


def check(system: System, *, max_depth: Optional[int] = None, max_states: Optional[int] = None,
          timeout: Optional[float] = None, symmetry: bool = True,
          progress: Optional[Callable[[dict], None]] = None, first_violation: bool = False) -> CheckResult:
    """Search `system` and give a verdict for each of its properties (`first_violation`: stop the search at
    the first safety violation; what it leaves undecided is reported as bounded)."""
    res = search(system, max_depth=max_depth, max_states=max_states, timeout=timeout,
                 symmetry=symmetry, progress=progress, first_violation=first_violation)
    stats = res.stats
    sym = stats.symmetry
    graph = res.graph
    bounded = not stats.complete
    verdicts: List[Verdict] = []
    common = dict(states=stats.distinct_states, depth=stats.depth, seconds=stats.seconds)

    for prop in list(system.invariants) + list(system.actions):
        v = res.violations.get(prop.name)
        if v is None:
            diag = None
            if bounded:
                diag = f"holds up to depth {stats.depth} ({_bound_text(stats)})"
            verdicts.append(Verdict(prop.name, "safety", "holds", bounded, diag, **common))
            continue
        path = graph.path_to(v.state)
        present = system.presentation is not None
        states, labels = concrete_path(system, graph, path, sym, present)
        diag = v.diagnosis
        if v.label is not None:
            step = _violating_step(system, states[-1], prop, present)
            if step is not None:
                lab, nxt, diag = step
                states.append(nxt)
                labels.append(lab)
        verdicts.append(Verdict(prop.name, "safety", "violated", False, diag,
                                Trace(states, labels, presented=present), **common))

    outsides = outside_goals(graph, [conv.goal for conv in system.convergences])
    for conv, outside in zip(system.convergences, outsides):
        cv, decided = check_convergence(graph, conv.goal, outside)
        if cv is None:
            if decided:
                verdicts.append(Verdict(conv.name, "convergence", "holds", False, None, **common))
            else:
                verdicts.append(Verdict(conv.name, "convergence", "unknown", True,
                                        f"search cut short ({_bound_text(stats)}): no violation found",
                                        **common))
            continue
        path = graph.path_to(cv.state)
        # A lasso must close on an equal state, so it is shown in canonical form.
        present = cv.kind == "stuck" and system.presentation is not None
        states, labels = concrete_path(system, graph, path, False, present)
        bad_state = graph.states[cv.state]
        if cv.kind == "stuck":
            diag = f"stuck outside the goal, no component can act: {conv.diagnose(bad_state)}"
            trace = Trace(states, labels, presented=present)
        else:
            loop_at = len(states) - 1
            cur = states[-1]
            for inst_id, target in cv.cycle:
                want = graph.instances[inst_id]
                lab, cur = _step_with_instance(system, cur, graph.states[target], want)
                states.append(cur)
                labels.append(lab)
            diag = f"a fair cycle keeps it outside the goal: {conv.diagnose(bad_state)}"
            trace = Trace(states, labels, loop_at)
        verdicts.append(Verdict(conv.name, "convergence", "violated", False, diag, trace, **common))
    return CheckResult(verdicts, stats, res)


def _bound_text(stats: Stats) -> str:
    return {"max-depth": "maxDepth reached", "max-states": "maxStates reached",
            "timeout": "timeout reached",
            "first-violation": "stopped at the first violation"}.get(stats.stop_reason or "", "bounded")


def _violating_step(system: System, state: State, prop, present: bool = False):
    """The first step from `state` that violates action property `prop`, concretely."""
    canon = system.canonical
    for rule in system.rules:
        for lab, nxt in rule.fn(state):
            if prop.watches is not None and (lab[0], lab[1]) not in prop.watches:
                continue
            c = canon(nxt) if canon else nxt
            diag = prop.check(state, lab, c)
            if diag is not None:
                return lab, (system.presentation(nxt) if present else c), diag
    return None


def _step_with_instance(system: System, src: State, target: State, inst) -> tuple:
    canon = system.canonical
    fallback = None
    for rule in system.rules:
        if not rule.fair:
            continue
        for lab, nxt in rule.fn(src):
            c = canon(nxt) if canon else nxt
            if c == target:
                if instance_of(lab) == inst:
                    return lab, c
                fallback = fallback or (lab, c)
    assert fallback is not None, "cycle edge with no step: the rules are not deterministic"
    return fallback
