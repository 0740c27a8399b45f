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

import dataclasses
import time

from dataclasses import dataclass, field
from typing import Callable, List, Optional

from .fairness import Structure, check_convergence, goal_oracle, structure
from .observers import INEXACT, Undecided, lift_path, restricted, stripped, sync_observers, varying_components
from .search import SearchResult, Stats, concrete_path, search
from .system import Label, Rule, State, System, instance_of


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
    quotient: bool = False   # canonical states are those of the system's `quotient` form (replay applies it)
    # The workloads (kind, namespace, name) the scenario was restricted to when this was found, where its
    # independent groups of workloads were checked apart (model/decompose.py); () for the whole scenario.
    checked_alone: tuple = ()


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
          progress: Optional[Callable[[dict], None]] = None, first_violation: bool = False,
          reduction: str = "auto", checkpoint=None, max_memory: Optional[int] = None) -> CheckResult:
    """Search `system` and give a verdict for each of its properties (`first_violation`: stop the search at
    the first safety violation; what it leaves undecided is reported as bounded).

    `reduction`: "por" (or "auto") uses the exact reductions the system declares: observer elimination
    (`observers.py`) and partial-order reduction by persistent sets of actors where the system declares
    an `Independence` (`por.py`; turned off after the first states if it finds nothing to reduce);
    "none" searches the system as it is, to compare.
    """
    if reduction not in ("por", "auto", "none"):
        raise ValueError(f"reduction must be 'por' or 'none', got {reduction!r}")
    por = "por" if reduction != "none" and system.independence is not None else "none"
    quotient = reduction != "none" and system.quotient is not None
    if quotient:
        # The coarser canonical form of the reductions: every search, trace and lasso below uses it.
        rep, q = system.representative, system.quotient

        def representative(s):
            """A symmetry's renaming (of nodes) can change the groups uids are ordered in: put a renamed state
            back in form (one left as it was already is)."""
            r = rep(s)
            return r if r is s else q(r)
        system = dataclasses.replace(system, canonical=q, representative=representative if rep else None)
    # The timeout bounds every search below together (a fallback search gets what the first one left).
    deadline = None if timeout is None else time.perf_counter() + timeout
    opts = dict(max_depth=max_depth, max_states=max_states, deadline=deadline, symmetry=symmetry,
                progress=progress, first_violation=first_violation, reduction=por, checkpoint=checkpoint,
                max_memory=max_memory)
    if por == "por":
        out = _check(system, opts, reduction != "none")
        if out is not None:
            return _marked(out, quotient)
        opts["reduction"] = "none"   # a cycle of fair steps in the reduced graph: decide on the full one
    return _marked(_check(system, opts, reduction != "none", fallback=True), quotient)


def _marked(out: CheckResult, quotient: bool) -> CheckResult:
    """Traces in canonical form say which canonical form (a replay must apply the same one)."""
    if quotient:
        out.stats.quotient = True
        for v in out.verdicts:
            if v.trace is not None and not v.trace.presented:
                v.trace.quotient = True
    return out


def _check(system: System, opts: dict, observers: bool, fallback: bool = False) -> Optional[CheckResult]:
    """One search and its verdicts; None where a partial-order-reduced graph cannot decide convergence
    (it has a cycle of fair steps: explorer/por.py says why)."""
    try:
        out = _check_without_observers(system, opts) if observers and system.observers else None
        if out is None:
            res = search(system, **_timed(opts))
            out = _verdicts(system, res, _Plain(system, res.stats.symmetry))
    except _ReducedCycle:
        return None
    if fallback and opts.get("reduction") == "none" and system.independence is not None and observers:
        out.stats.reduction_note = ("partial-order reduction not used: the reduced graph has a cycle of fair "
                                    "steps, on which it cannot judge weak fairness (explorer/por.py)")
    return out


def _timed(opts: dict) -> dict:
    """The search options with the time left before the check's deadline as the search's timeout."""
    out = dict(opts)
    deadline = out.pop("deadline")
    out["timeout"] = None if deadline is None else max(deadline - time.perf_counter(), 0.001)
    return out


class _ReducedCycle(Exception):
    """The partial-order-reduced graph has a cycle of fair steps: convergence is decided on the full one."""


class _Fallback(Exception):
    """The reduced search cannot decide a verdict exactly: search the system as it is."""


class _Plain:
    """How verdicts turn paths of the explored graph into traces, for a system searched as it is."""

    def __init__(self, system: System, symmetric: bool):
        self.system = system
        self.symmetric = symmetric
        self.unconfirmed: set = set()   # convergences a symmetric search's candidate cycle was cut for

    def path(self, graph, path, symmetric: bool, present: bool):
        return concrete_path(self.system, graph, path, symmetric, present)

    def named(self, graph, k: int, concrete):
        """The state whose diagnosis a violation gives, for graph state `k` shown in the trace as `concrete`:
        the trace's own state, so that the diagnosis names what the trace names (a symmetric search keeps one
        renaming of the nodes per state, which need not be the trace's)."""
        return concrete

    def settle(self, states, labels, present: bool) -> None:
        """Steps after the end of a path to the state a goal was asked of (none here)."""

    def cycle(self, graph, states, labels, cycle) -> None:
        cur = states[-1]
        for inst_id, target in cycle:
            lab, cur = _step_with_instance(self.system, cur, graph.states[target], graph.instances[inst_id])
            states.append(cur)
            labels.append(lab)

    def loops(self, graph, convergences, struct):
        """Violations that the graph's own analysis cannot see, and the states where its lassos are not
        to be taken as they are (none here)."""
        return {}, set()

    def quotient_lasso(self, graph, conv, bad_at, struct, common) -> Optional[Verdict]:
        """A fair lasso outside `conv`'s goal, on a quotient graph (a symmetric search), confirmed on concrete
        states; None where there is none.

        A cycle of concrete states maps into one strongly connected component Q of the quotient.  A
        component is a candidate when it holds a state outside the goal and no fairness instance that every
        symmetry leaves as it is (`System.fixed_instance`) is enabled in all of its states and never taken
        inside it: such an instance would be enabled all along any concrete cycle over Q and never taken
        there.  Each candidate is explored again on concrete states, from a concrete state of its
        shallowest bad one, by fair steps whose results' representatives stay in Q, and decided there with
        the ordinary weak-fairness test: every concrete fair cycle over Q has an image reachable so.
        """
        system = self.system
        fixed = system.fixed_instance or (lambda inst: False)
        edges = graph.fair_edges
        candidates = []
        for comp in struct.cycles:
            bad = [v for v in comp if bad_at(v)]
            if not bad:
                continue
            members = set(comp)
            always = None
            taken = set()
            for v in comp:
                e = edges[v]
                enabled = {i for i in e[0::2] if fixed(graph.instances[i])}
                always = enabled if always is None else (always & enabled)
                for k in range(0, len(e), 2):
                    if e[k + 1] in members:
                        taken.add(e[k])
            if always and not always <= taken:
                continue
            start = min(bad, key=lambda v: (graph.depth[v], v))
            candidates.append((graph.depth[start], start, comp))
        memo = self.__dict__.setdefault("_concrete", {})
        for _, start, comp in sorted(candidates, key=lambda c: (c[0], c[1])):
            key = (start, comp[0])
            if key not in memo:   # the same component and start for another property: explored once
                states, labels = concrete_path(system, graph, graph.path_to(start), True, False)
                allowed = {graph.states[v] for v in comp}
                sub = _concrete_over(system, allowed, states[-1])
                memo[key] = (states, labels, sub,
                             search(sub, keep_fair_edges=True, symmetry=False, max_states=CONFIRM_LIMIT))
            states, labels, sub, sub_res = memo[key]
            if not sub_res.stats.complete:
                self.__dict__.setdefault("unconfirmed", set()).add(conv.name)
            found = _lasso_in(sub, sub_res, conv, states, labels, common)
            if found is not None:
                return found
        return None


def _lasso_in(sub: System, sub_res: SearchResult, conv, prefix_states, prefix_labels, common) -> Optional[Verdict]:
    """A fair lasso outside `conv`'s goal in the re-exploration `sub_res` of `sub` (which starts at the last
    of `prefix_states`), as a verdict whose trace is the prefix, the path to the loop and the loop; None
    where the re-exploration has none."""
    # Only its cycles: the states it reaches outside the component are not expanded (they are no stuck states).
    cv, _ = check_convergence(sub_res.graph, conv.goal, struct=Structure([], structure(sub_res.graph).cycles))
    if cv is None or cv.kind != "lasso":
        return None
    states, labels = list(prefix_states), list(prefix_labels)
    more, labs = concrete_path(sub, sub_res.graph, sub_res.graph.path_to(cv.state), False, False)
    states += more[1:]
    labels += labs[1:]
    loop_at = len(states) - 1
    _Plain(sub, False).cycle(sub_res.graph, states, labels, cv.cycle)
    diag = f"a fair cycle keeps it outside the goal: {conv.diagnose(sub_res.graph.states[cv.state])}"
    return Verdict(conv.name, "convergence", "violated", False, diag, Trace(states, labels, loop_at), **common)


class _Left:
    """The one state standing for every state outside the component (`_concrete_over`)."""

    def __repr__(self) -> str:
        return "<left the component>"


LEFT = _Left()
CONFIRM_LIMIT = 5_000   # concrete states a candidate cycle of a symmetric search is confirmed within


def _concrete_over(system: System, allowed, start: State) -> System:
    """`system` from the concrete state `start`, by fair steps only, over the states whose representative is
    in `allowed` (a component of the quotient graph).  A step that leaves it is kept, to one state `LEFT`
    that is not expanded: a fair instance enabled all along a cycle whose step leaves the component is
    enabled there and never taken on it, so that cycle is not fair (dropping those steps would hide them,
    and a cycle of the component would look fair when it is not)."""
    canon = system.canonical
    rep = system.representative

    def keep(rule: Rule) -> Rule:
        def fn(s, f=rule.fn):
            if s is LEFT:
                return
            for lab, nxt in f(s):
                c = canon(nxt) if canon else nxt
                yield lab, (nxt if rep(c) in allowed else LEFT)
        return Rule(rule.name, fn, fair=True, doc=rule.doc)

    return System(init_states=[start], rules=[keep(r) for r in system.rules if r.fair],
                  canonical=(lambda s: s if s is LEFT else canon(s)) if canon else None,
                  name=system.name + "/concrete")


def _verdicts(system: System, res: SearchResult, tracer, names=None) -> CheckResult:
    stats = res.stats
    sym = stats.symmetry
    graph = res.graph
    bounded = not stats.complete
    verdicts: List[Verdict] = []
    common = dict(states=stats.distinct_states, depth=stats.depth, seconds=stats.seconds)
    present = tracer.system.presentation is not None
    struct = structure(graph) if system.convergences else None
    if struct is not None and struct.cycles and stats.reduction == "por":
        raise _ReducedCycle()

    for prop in list(system.invariants) + list(system.actions):
        if names is not None and prop.name not in names:
            continue
        v = res.violations.get(prop.name)
        if v is None:
            diag = None
            if bounded:
                diag = f"holds up to depth {stats.depth} ({_bound_text(stats)})"
            watches = getattr(prop, "watches", None)
            if watches and not getattr(res, "checked_steps", {}).get(prop.name):
                steps = ", ".join(sorted(f"{c}.{a}" for c, a in watches))
                vacuous = f"vacuously: no step it checks ({steps}) was reached"
                diag = f"{diag}; {vacuous}" if diag else vacuous
            verdicts.append(Verdict(prop.name, "safety", "holds", bounded, diag, **common))
            continue
        path = graph.path_to(v.state)
        states, labels = tracer.path(graph, path, sym, present)
        diag = v.diagnosis
        if v.label is not None:
            step = _violating_step(tracer.system, states[-1], prop, present)
            if step is not None:
                lab, nxt, diag = step
                states.append(nxt)
                labels.append(lab)
        verdicts.append(Verdict(prop.name, "safety", "violated", False, diag,
                                Trace(states, labels, presented=present), **common))

    oracle = goal_oracle(graph, [conv.goal for conv in system.convergences])
    extra, varying = tracer.loops(graph, system.convergences, struct)
    for k, conv in enumerate(system.convergences):
        bad_at = (lambda i, k=k: oracle(i)[k])
        if sym:
            # The quotient graph: its stuck states are stuck states of the system (being stuck and the goals
            # are symmetric); its cycles are confirmed on concrete states (`quotient_lasso`).
            cv, decided = check_convergence(graph, conv.goal, bad_at, Structure(struct.stuck, []))
            if cv is None:
                found = tracer.quotient_lasso(graph, conv, bad_at, struct, common)
                if found is not None:
                    verdicts.append(found)
                    continue
                if conv.name in getattr(tracer, "unconfirmed", ()):
                    verdicts.append(Verdict(conv.name, "convergence", "unknown", True,
                                            f"a cycle of the symmetric search was not confirmed or refuted within "
                                            f"{CONFIRM_LIMIT:,} concrete states (--no-symmetry decides it on "
                                            "concrete states)", **common))
                    continue
        else:
            cv, decided = check_convergence(graph, conv.goal, bad_at, struct)
        if cv is not None and cv.kind == "lasso" and cv.state in varying:
            if conv.name not in extra:
                raise _Fallback(f"{conv.name}: a lasso of the stripped system that the full system does not show")
            cv = None
        if cv is None and conv.name in extra:
            verdicts.append(extra[conv.name])
            continue
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
        shown = cv.kind == "stuck" and present
        states, labels = tracer.path(graph, path, sym, shown)
        if cv.kind == "stuck":
            tracer.settle(states, labels, shown)
            diag = f"stuck outside the goal, no component can act: {conv.diagnose(tracer.named(graph, cv.state, states[-1]))}"
            trace = Trace(states, labels, presented=shown)
        else:
            tracer.settle(states, labels, False)
            loop_at = len(states) - 1
            bad_state = tracer.named(graph, cv.state, states[loop_at])
            tracer.cycle(graph, states, labels, cv.cycle)
            diag = f"a fair cycle keeps it outside the goal: {conv.diagnose(bad_state)}"
            trace = Trace(states, labels, loop_at)
        verdicts.append(Verdict(conv.name, "convergence", "violated", False, diag, trace, **common))
    return CheckResult(verdicts, stats, res)


class _Lifted(_Plain):
    """Traces of the full system for a search of the system without its observers (observers.py)."""

    def __init__(self, st, symmetric: bool):
        super().__init__(st.full, symmetric)
        self.st = st

    def path(self, graph, path, symmetric: bool, present: bool):
        return lift_path(self.st, [graph.states[k] for k in path], present)

    def named(self, graph, k: int, concrete):
        return graph.states[k]   # the goals are asked of the system without its observers (no symmetry there)

    def settle(self, states, labels, present: bool) -> None:
        more, labs = sync_observers(self.st, states[-1], present)
        states.extend(more)
        labels.extend(labs)

    def cycle(self, graph, states, labels, cycle) -> None:
        st = self.st
        canon = st.full.canonical
        cur = states[-1]
        for inst_id, target in cycle:
            want = graph.instances[inst_id]
            step = fallback = None
            for rule in st.full.rules:
                if not rule.fair or rule.name in st.observer_rules:
                    continue
                for lab, nxt in rule.fn(cur):
                    c = canon(nxt) if canon else nxt
                    if st.project(c) == graph.states[target]:
                        if instance_of(lab) == want:
                            step = (lab, c)
                            break
                        fallback = fallback or (lab, c)
                if step:
                    break
            step = step or fallback
            assert step is not None, "cycle edge with no step: the rules are not deterministic"
            lab, cur = step
            # The synced values are the same all along the cycle: the observers stay synced.
            assert sync_observers(st, cur, False)[0] == [], "observer out of sync on a constant cycle"
            states.append(cur)
            labels.append(lab)

    def loops(self, graph, convergences, struct) -> dict:
        """Fair components of P whose synced values differ between their states: explored again in the
        full system, where a fair cycle may carry a stale value (observers.py)."""
        st = self.st
        out: dict = {}
        varying: set = set()
        if not convergences:
            return out, varying
        for comp in varying_components(graph, lambda s: st.values(st.fill(s)), st.runs, struct):
            varying.update(comp)
            allowed = {graph.states[v] for v in comp}
            start_index = min(comp, key=lambda v: (graph.depth[v], v))
            prefix_states, prefix_labels = self.path(graph, graph.path_to(start_index), False, False)
            self.settle(prefix_states, prefix_labels, False)
            sub = restricted(st.full, allowed, st, prefix_states[-1])
            sub_res = search(sub, keep_fair_edges=True)
            for conv in convergences:
                if conv.name in out:
                    continue
                full_conv = next(c for c in st.full.convergences if c.name == conv.name)
                found = _lasso_in(sub, sub_res, full_conv, prefix_states, prefix_labels,
                                  dict(states=graph_size(graph), depth=max(graph.depth) if len(graph.depth) else 0))
                if found is not None:   # (a stuck state of the full system is one of P, seen there)
                    out[conv.name] = found
        return out, varying


def graph_size(graph) -> int:
    return len(graph.states)


def _check_without_observers(system: System, opts: dict) -> Optional[CheckResult]:
    """Check `system` on the system without its observers; None where an observer's declaration does not
    hold in some reached state (the caller then searches the system as it is)."""
    st = stripped(system)
    res = search(st.system, **_timed(opts))
    if INEXACT in res.violations:
        return None
    names = {p.name for p in list(system.invariants) + list(system.actions)}
    try:
        out = _verdicts(st.system, res, _Lifted(st, res.stats.symmetry), names)
    except (_Fallback, Undecided):
        return None
    out.stats.observers_eliminated = [o.name for o in system.observers]
    return out


def _bound_text(stats: Stats) -> str:
    return {"max-depth": "maxDepth reached", "max-states": "maxStates reached",
            "timeout": "timeout reached", "max-memory": "max-memory reached",
            "first-violation": "stopped at the first violation",
            "interrupted": "interrupted"}.get(stats.stop_reason or "", "bounded")


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
