"""Exhaustive breadth-first search with fingerprints, bounds and symmetry.

The search keeps every distinct canonical state once (a dict from state to
index: Python's hash is the fingerprint, and equality settles collisions, so
the counts are exact and do not depend on PYTHONHASHSEED), a parent pointer
per state (so a counterexample is a shortest path), and its BFS depth.  Labels
are not stored: a trace re-derives them from the parent's successors, as TLC
does.

Safety properties are checked as states and steps are generated.  Convergence
properties are decided afterwards on the graph of fair steps (see
`fairness.py`), so when any is asked for, the fair edges are kept and the
search runs on concrete states (symmetry off): a lasso must be a real cycle.
"""

from __future__ import annotations

import gc
import time
from array import array
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from .memory import resident_bytes
from .system import Label, State, System, instance_of


BLAME_TOP = 8   # rules and arguments listed in a bounded search's blame table
POR_PROBE = 2000   # states expanded before a partial-order reduction that reduces too few is turned off
POR_SAMPLE = 7     # ... during which it is tried on one state in 8 (a mask on the state index)
FREEZE_EVERY = (1 << 13) - 1   # states between two gc.freeze() calls (a mask on the state index)
POR_WORTH = 10     # ... and kept only where it reduced at least one in POR_WORTH of the states it was tried on


class _Cut(Exception):
    """A bound (`timeout`, `max_memory`) reached while a state's successors were being generated."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Stats:
    """What a search did: the figures a report prints."""

    distinct_states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    complete: bool = True          # explored to exhaustion
    # "max-depth", "max-states", "timeout", "max-memory", "first-violation", "interrupted"
    stop_reason: Optional[str] = None
    terminal_states: int = 0       # states with no enabled step at all
    symmetry: bool = False
    # Where the states came from, for a search cut short by a bound (DESIGN: say why it is big): for each
    # rule, and for each argument of a label (an object, a node), how many distinct states a step of it
    # discovered first, largest first.
    blame_rules: List[Tuple[str, int]] = field(default_factory=list)
    blame_objects: List[Tuple[str, int]] = field(default_factory=list)
    observers_eliminated: List[str] = field(default_factory=list)   # observers searched around
    reduction: str = "none"        # "por": partial-order reduction was applied (explorer/por.py)
    reduced_states: int = 0        # states explored through a proper persistent subset of their steps
    reduction_note: Optional[str] = None
    quotient: bool = False         # searched with the system's quotient form (check.py; uids per group)
    # Coverage (as TLC's -coverage): per rule searched, (name, steps generated, distinct states it found first;
    # None where not counted: the random strategy).  A rule with no step was never enabled in a state explored.
    rule_coverage: List[Tuple[str, int, Optional[int]]] = field(default_factory=list)

    @property
    def never_fired(self) -> List[str]:
        return [name for name, steps, _ in self.rule_coverage if not steps]

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {
            "distinct_states": self.distinct_states,
            "transitions": self.transitions,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1),
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "terminal_states": self.terminal_states,
            "symmetry": self.symmetry,
            **({"reduction": self.reduction, "reduced_states": self.reduced_states}
               if self.reduction != "none" else {}),
            **({"reduction_note": self.reduction_note} if self.reduction_note else {}),
            **({"quotient": True} if self.quotient else {}),
            **({"coverage": {"rules": [{"rule": r, "steps": n, **({} if f is None else {"distinct_states": f})}
                                       for r, n, f in self.rule_coverage],
                             "never_fired": self.never_fired}} if self.rule_coverage else {}),
            **({"observers_eliminated": list(self.observers_eliminated)} if self.observers_eliminated else {}),
            **({"blame": {"rules": [{"rule": r, "states": n} for r, n in self.blame_rules],
                          "objects": [{"argument": a, "states": n} for a, n in self.blame_objects]}}
               if self.blame_rules else {}),
        }


@dataclass
class Violation:
    """The first (shallowest) violation of one property found by the search."""

    prop: str
    diagnosis: str
    state: int                    # index of the violating state
    label: Optional[Label] = None  # for an action property: the step
    target: Optional[int] = None   # for an action property: the state it led to


@dataclass
class Graph:
    """The explored state graph: states, parents, depths, and (optionally) fair edges."""

    states: List[State]
    parent: array
    depth: array
    expanded: int                 # states[:expanded] had their successors generated
    fair_edges: Optional[List[list]] = None   # per state: [inst_id, target, inst_id, target, ...]
    truncated: Set[int] = field(default_factory=set)   # expanded, but some successors dropped (max-states)
    instances: Optional[list] = None          # inst_id -> fairness instance
    index: Dict[State, int] = field(default_factory=dict)

    def path_to(self, i: int) -> List[int]:
        path = [i]
        while self.parent[i] >= 0:
            i = self.parent[i]
            path.append(i)
        path.reverse()
        return path


@dataclass
class SearchResult:
    graph: Graph
    stats: Stats
    violations: Dict[str, Violation]
    deadlocks: List[int]
    # action property -> how many steps it was checked on (vacuity: a property whose guarded steps never
    # occurred holds of nothing, and the report says so)
    checked_steps: Dict[str, int] = field(default_factory=dict)


def search(
    system: System,
    *,
    max_depth: Optional[int] = None,
    max_states: Optional[int] = None,
    timeout: Optional[float] = None,
    symmetry: bool = True,
    keep_fair_edges: Optional[bool] = None,
    check_deadlock: bool = False,
    progress: Optional[Callable[[dict], None]] = None,
    progress_every: float = 2.0,
    first_violation: bool = False,
    reduction: str = "none",
    check_footprints: bool = False,
    checkpoint=None,
    max_memory: Optional[int] = None,
) -> SearchResult:
    """Breadth-first search of every state reachable from the initial states.

    `first_violation`: stop as soon as any safety property (invariant or
    action property) is violated, as TLC does by default.  The violation is
    still a shortest one: states are checked as they are generated, level by
    level.  The search then counts as cut short (`stop_reason`
    "first-violation"), so the other properties stay undecided.
    """
    if keep_fair_edges is None:
        keep_fair_edges = bool(system.convergences)
    # With fair edges kept, a symmetric search explores the quotient graph; convergence is then decided on it
    # with candidate cycles confirmed on concrete states (check.py), unless the system asks for concrete
    # states whenever fairness is judged (`symmetric_convergence` False).
    rep = system.representative if (symmetry and (not keep_fair_edges or system.symmetric_convergence)) else None
    canon = system.canonical
    rules = list(system.rules)
    invariants = list(system.invariants)
    watched: Dict[tuple, list] = {}
    unwatched: list = []
    for ap in system.actions:
        if ap.watches is None:
            unwatched.append(ap)
        else:
            for key in ap.watches:
                watched.setdefault(key, []).append(ap)

    has_actions = bool(unwatched or watched)
    amp = None
    indep = getattr(system, "independence", None)
    if reduction == "por" and indep is not None and rep is None:
        from .por import Ample
        acts = [(ap.name, (lambda lab: True) if ap.watches is None else
                 (lambda lab, w=ap.watches: (lab[0], lab[1]) in w)) for ap in system.actions]
        indep = indep.for_rules([r.name for r in rules])
        amp = Ample(indep, [inv.name for inv in invariants], acts)
    ample = amp
    check_fp = _footprint_checker(indep) if (amp is not None and check_footprints) else None
    skipped: list = []
    watchers: Dict[tuple, list] = {}
    stats = Stats(symmetry=rep is not None)
    violations: Dict[str, Violation] = {}
    checked_steps: Dict[str, int] = {}
    deadlocks: List[int] = []
    seen: Dict[State, int] = {}
    states: List[State] = []
    parent = array("q")
    depth = array("i")
    fair_edges: Optional[List[list]] = [] if keep_fair_edges else None
    inst_ids: Dict[tuple, int] = {}
    instances: list = []

    live_invariants = list(invariants)   # those not violated yet: a violated one is no longer checked
    live_checks = [inv.check for inv in live_invariants]   # ... their predicates, for the hot loop
    n_violated = [0]

    def forget_violated() -> None:
        live_invariants[:] = [inv for inv in invariants if inv.name not in violations]
        live_checks[:] = [inv.check for inv in live_invariants]

    def check_state(i: int, s: State) -> None:
        for inv in live_invariants:
            diag = inv.check(s)
            if diag is not None:
                violations[inv.name] = Violation(inv.name, diag, i)
        if len(violations) > n_violated[0]:
            n_violated[0] = len(violations)
            forget_violated()

    def check_step(i: int, s: State, lab: Label, nxt: State, j: int) -> None:
        """The action properties that watch this step, on it (`j`: its target's index, -1 if not kept)."""
        aps = watchers.get((lab[0], lab[1]))
        if aps is None:
            aps = watchers[(lab[0], lab[1])] = unwatched + watched.get((lab[0], lab[1]), [])
        for ap in aps:
            checked_steps[ap.name] = checked_steps.get(ap.name, 0) + 1
            if ap.name in violations:
                continue
            diag = ap.check(s, lab, nxt)
            if diag is not None:
                violations[ap.name] = Violation(ap.name, diag, i, lab, j)

    for init in system.init_states:
        s = canon(init) if canon else init
        if rep:
            s = rep(s)
        if s in seen:
            continue
        seen[s] = len(states)
        states.append(s)
        parent.append(-1)
        depth.append(0)
        check_state(len(states) - 1, s)

    forget_violated()
    rule_fns = [(r.fn, r.fair, k) for k, r in enumerate(rules)]
    found_by = [0] * len(rules)          # distinct states each rule discovered first
    fired = [0] * len(rules)             # steps of each rule generated (coverage, as TLC's -coverage)
    found_args: Dict[tuple, int] = {}    # ... and each label argument
    keep = fair_edges is not None
    plain = canon is None and rep is None and not has_actions and not keep   # (the plain hot loop)
    start = time.perf_counter()
    head = len(states) if (first_violation and violations) else 0
    transitions = 0
    earlier = 0.0                        # seconds of the runs a checkpoint continues
    truncated_saved: set = set()
    ckpt_key = None
    if checkpoint is not None:
        from .checkpoint import search_key
        ckpt_key = search_key(system, max_depth=max_depth, max_states=max_states, reduction=reduction,
                              symmetry=rep is not None, fair_edges=keep, first_violation=first_violation,
                              deadlock=check_deadlock)
        saved = checkpoint.load(ckpt_key)
        if saved is not None:
            states[:] = saved["states"]
            seen.clear()
            seen.update((st, k) for k, st in enumerate(states))
            parent, depth = saved["parent"], saved["depth"]
            fair_edges = saved["fair_edges"]
            instances[:] = saved["instances"]
            inst_ids.update((inst, k) for k, inst in enumerate(instances))
            violations.update(saved["violations"])
            checked_steps.update(saved["checked_steps"])
            deadlocks[:] = saved["deadlocks"]
            head, transitions, earlier = saved["head"], saved["transitions"], saved["seconds"]
            found_by[:] = saved["found_by"]
            fired[:] = saved.get("fired") or fired
            found_args.update(saved["found_args"])
            forget_violated()
            n_violated[0] = len(violations)
            stats.reduction_note = saved["reduction_note"]
            truncated_saved = saved["truncated"]
            if ample is not None:
                ample.reduced, ample.tried, ample.proviso_expansions, on = saved["ample"]
                amp = ample if on else None
    last_checkpoint = start
    n_states = len(states)
    limit = max_states if max_states is not None else float("inf")
    full = n_states >= limit and max_states is not None
    last_report = [start]
    stop_reason = "first-violation" if (first_violation and violations) else None

    transitions_seen = [0]
    memory_seen = [start - 1.0]   # looked at first with the first state
    bounded = timeout is not None or max_memory is not None
    watch = bounded or progress is not None   # the clock is looked at inside a state's successors too

    def report(now: float, expanded: int, level: int) -> None:
        last_report[0] = now
        elapsed = now - start
        progress({"states": len(states), "expanded": expanded, "queue": len(states) - expanded,
                  "depth": level, "transitions": transitions_seen[0], "seconds": elapsed,
                  "states_per_second": len(states) / elapsed if elapsed else 0.0,
                  "resident_bytes": resident_bytes()})

    def tick(now: float, expanded: int, level: int, count: int) -> Optional[str]:
        """A look at the clock, between two states or in the middle of one: the progress line if due; the bound
        reached, if any."""
        transitions_seen[0] = count
        if progress is not None and now - last_report[0] >= progress_every:
            report(now, expanded, level)
        return over_bound(now) if bounded else None

    def over_bound(now: float) -> Optional[str]:
        """The bound the search has reached at `now`, if any (resident memory read twice a second at most)."""
        if timeout is not None and now - start > timeout:
            return "timeout"
        if max_memory is not None and now - memory_seen[0] >= 0.5:
            memory_seen[0] = now
            if resident_bytes() > max_memory:
                return "max-memory"
        return None

    def save_checkpoint() -> None:
        """The search as it stands between two expansions (states[:head] expanded, the rest queued)."""
        checkpoint.save(ckpt_key, {
            "states": states, "parent": parent, "depth": depth, "fair_edges": fair_edges, "instances": instances,
            "violations": violations, "checked_steps": checked_steps, "deadlocks": deadlocks, "head": head,
            "transitions": transitions, "seconds": earlier + time.perf_counter() - start, "found_by": found_by, "fired": fired,
            "found_args": found_args, "reduction_note": stats.reduction_note,
            "truncated": truncated,
            "ample": None if ample is None else (ample.reduced, ample.tried, ample.proviso_expansions,
                                                  amp is not None)})
    truncated = set(truncated_saved)   # states some of whose successors were dropped at max-states
    expanding = -1     # the state whose successors are being generated, if any
    edges = None
    seen_get, seen_setdefault, found_args_get = seen.get, seen.setdefault, found_args.get
    states_append, parent_append, depth_append = states.append, parent.append, depth.append
    # The graph only grows: the states kept are frozen out of the cyclic garbage collector's reach every
    # FREEZE_EVERY states (gc.freeze is O(1)), so that its full collections do not scan millions of live
    # states again and again (28% of an unreduced search's time otherwise); unfrozen at the end.
    freezes = gc.get_freeze_count() == 0 and gc.isenabled()
    try:
        while head < n_states:
            i = head
            s = states[head]
            if freezes and not (head & FREEZE_EVERY):
                gc.freeze()
            d = depth[i]
            if max_depth is not None and d >= max_depth:
                stop_reason = stop_reason or "max-depth"
                break
            if watch or checkpoint is not None:
                # Between two states: the bounds, a checkpoint, the progress line (one clock read).
                now = time.perf_counter()
                cut = tick(now, head, d, transitions) if watch else None
                if cut is not None:
                    stop_reason = cut
                    break
                if checkpoint is not None and now - last_checkpoint >= checkpoint.every:
                    save_checkpoint()
                    last_checkpoint = time.perf_counter()
            head += 1
            expanding = i
            edges = [] if keep else None
            any_step = False
            nd = d + 1
            if (amp is not None and not check_footprints and head > POR_PROBE
                    and amp.reduced * POR_WORTH < amp.tried):
                # Few states so far had a persistent subset of their steps smaller than all of them: the
                # steps here are seldom independent, and choosing costs more than it saves.  Full expansion
                # from here on is sound (it is always allowed) and the search goes on at full speed.
                stats.reduction_note = (
                    f"partial-order reduction found no independent steps in the first {head - 1:,} states, and "
                    f"was turned off" if not amp.reduced else
                    f"partial-order reduction found independent steps in only {amp.reduced} of the "
                    f"{amp.tried} states it was tried on among the first {head - 1:,}, and was turned off")
                amp = None
            if amp is None and plain:
                groups = None   # the plain hot loop below calls the rules itself
            elif amp is None or (not amp.reduced and not check_footprints and (i & POR_SAMPLE)):
                # (Until it has reduced a state, the reduction is tried on one state in POR_SAMPLE + 1.)
                groups = [(fair, rule_k, fn(s)) for fn, fair, rule_k in rule_fns]
                do_canon = canon
            else:
                groups = _reduced(s, amp, rule_fns, canon, seen, depth, d, check_fp, skipped,
                                  (lambda: tick(time.perf_counter(), head, d, transitions)) if watch else None)
                do_canon = None      # already canonical
            if groups is None:
                # The hot loop of a system searched as it is (no canonical form, symmetry, action property or
                # fair edge to keep: the reference model): as few tests per transition as the bounds allow.
                for fn, fair, rule_k in rule_fns:
                    before = transitions
                    for lab, nxt in fn(s):
                        if watch and not (transitions & 63):
                            cut = tick(time.perf_counter(), head, d, transitions)
                            if cut is not None:
                                raise _Cut(cut)
                        transitions += 1
                        if full:
                            if seen_get(nxt, -1) < 0:
                                truncated.add(i)
                                stop_reason = stop_reason or "max-states"
                            continue
                        if seen_setdefault(nxt, n_states) == n_states:
                            states_append(nxt)
                            parent_append(i)
                            depth_append(nd)
                            found_by[rule_k] += 1
                            for a in lab[2]:
                                found_args[a] = found_args_get(a, 0) + 1
                            for check in live_checks:
                                if check(nxt) is not None:
                                    check_state(n_states, nxt)
                                    break
                            n_states += 1
                            if n_states >= limit:
                                full = True
                    if transitions != before:
                        fired[rule_k] += transitions - before
                        any_step = True
                groups = ()
            # The hot loop: one iteration per transition, with no tuple built per step.
            for fair, rule_k, steps in groups:
                before = transitions
                for lab, nxt in steps:
                    if watch and not (transitions & 63):
                        cut = tick(time.perf_counter(), head, d, transitions)
                        if cut is not None:
                            raise _Cut(cut)   # this step not taken (nor counted)
                    any_step = True
                    transitions += 1
                    if do_canon is not None:
                        nxt = do_canon(nxt)
                    seen_as = nxt              # what action properties see: the concrete step's result
                    if rep is not None:
                        nxt = rep(nxt)
                    if full:
                        j = seen_get(nxt, -1)
                        if j < 0:
                            truncated.add(i)
                            stop_reason = stop_reason or "max-states"
                    else:
                        j = seen_setdefault(nxt, n_states)
                        if j == n_states:
                            states_append(nxt)
                            parent_append(i)
                            depth_append(nd)
                            n_states += 1
                            found_by[rule_k] += 1
                            for a in lab[2]:
                                found_args[a] = found_args_get(a, 0) + 1
                            for check in live_checks:   # (inlined check_state: once per new state)
                                if check(nxt) is not None:
                                    check_state(j, nxt)
                                    break
                            if n_states >= limit:
                                full = True   # the next new state would pass max-states: it is dropped
                    if has_actions:
                        check_step(i, s, lab, seen_as, j)
                    if keep and fair and j >= 0:
                        inst = (lab[0], lab[1], lab[2])
                        k = inst_ids.get(inst)
                        if k is None:
                            k = inst_ids[inst] = len(instances)
                            instances.append(inst)
                        edges.append(k)
                        edges.append(j)
                if transitions != before:
                    fired[rule_k] += transitions - before
            if skipped:
                for lab, nxt, rule_k in skipped:   # steps the reduction does not follow: counted and checked
                    fired[rule_k] += 1
                    transitions += 1
                    if has_actions:
                        check_step(i, s, lab, nxt, -1)
                skipped.clear()
            if fair_edges is not None:
                fair_edges.append(edges)
            expanding = -1
            if not any_step:
                deadlocks.append(i)
                if check_deadlock and "deadlock" not in violations:
                    violations["deadlock"] = Violation("deadlock", "no step is enabled", i)
            if first_violation and violations:
                stop_reason = "first-violation"
                break
            if full and stop_reason == "max-states":
                break   # max-states reached: a new state was dropped, so the search stops here

    except (KeyboardInterrupt, _Cut) as stopped:
        # Ctrl-C (or SIGTERM, which the command line turns into one), or a bound reached in the middle of a
        # state's successors: keep what was found, consistently.
        stop_reason = stopped.reason if isinstance(stopped, _Cut) else "interrupted"
        m = min(len(states), len(parent), len(depth))
        del states[m:]
        del parent[m:]
        del depth[m:]
        if len(seen) > m:
            for key in [k for k, v in seen.items() if v >= m]:
                del seen[key]
        n_states = m
        if expanding >= 0:
            truncated.add(expanding)
            if fair_edges is not None and len(fair_edges) == expanding:
                kept = []
                for k in range(0, len(edges or ()), 2):
                    if edges[k + 1] < m:
                        kept += edges[k:k + 2]
                fair_edges.append(kept)
    finally:
        if freezes:
            gc.unfreeze()
    stats.seconds = earlier + time.perf_counter() - start
    stats.distinct_states = len(states)
    stats.transitions = transitions
    stats.depth = max(depth) if len(depth) else 0
    stats.terminal_states = len(deadlocks)
    stats.stop_reason = stop_reason
    stats.complete = stop_reason is None and head >= n_states
    stats.rule_coverage = [(r.name, n, f) for r, n, f in zip(rules, fired, found_by)]
    if not stats.complete:
        stats.blame_rules = sorted(((r.name, n) for r, n in zip(rules, found_by) if n),
                                   key=lambda x: (-x[1], x[0]))[:BLAME_TOP]
        stats.blame_objects = sorted(((f"{k}={v}", n) for (k, v), n in found_args.items()),
                                     key=lambda x: (-x[1], x[0]))[:BLAME_TOP]
    if ample is not None and ample.reduced:
        stats.reduction = "por"
        stats.reduced_states = ample.reduced
    graph = Graph(states=states, parent=parent, depth=depth, expanded=head,
                  fair_edges=fair_edges, instances=instances, index=seen, truncated=truncated)
    return SearchResult(graph=graph, stats=stats, violations=violations, deadlocks=deadlocks,
                        checked_steps=checked_steps)


def _reduced(s, amp, rule_fns, canon, seen, depth, d, check_fp, skipped, tick=None):
    """The steps from `s` that the partial-order reduction follows, canonical, as (fair, rule index, steps)
    groups; the others go to `skipped` (label, canonical next state, rule index), to be counted and checked by action
    properties.  `tick` is called every 64 steps generated (the bounds and the progress line: a bound reached
    raises `_Cut`, before any step of `s` is taken)."""
    raw = []
    for fn, fair, rule_k in rule_fns:
        for lab, nxt in fn(s):
            raw.append((lab, nxt, fair, rule_k))
            if tick is not None and not (len(raw) & 63):
                cut = tick()
                if cut is not None:
                    raise _Cut(cut)
    outs = [canon(n) for _, n, _, _ in raw] if canon is not None else [n for _, n, _, _ in raw]
    if check_fp is not None:
        check_fp(s, raw)

    def is_old(i: int) -> bool:
        j = seen.get(outs[i], -1)
        return j >= 0 and depth[j] <= d

    pick = amp.choose(s, [(lab, fair, nxt) for lab, nxt, fair, _ in raw], is_old)
    if pick is None:
        pick = range(len(raw))
    else:
        chosen = set(pick)
        skipped.extend((raw[i][0], outs[i], raw[i][3]) for i in range(len(raw)) if i not in chosen)
    # (fair, rule index, [(label, canonical next state)]) per step, as the search's loop takes them
    return [(raw[i][2], raw[i][3], ((raw[i][0], outs[i]),)) for i in pick]


def _footprint_checker(indep):
    """Check, on every explored step, that what it wrote is within what its actor declared it may write
    (and that what decides an actor is within what it may read)."""
    from .por import UNIVERSAL
    from .system import render_label

    def check(s, raw) -> None:
        for lab, nxt, _, _ in raw:
            actor = indep.actor(lab)
            may_read, may_write = indep.future(s, actor, frozenset())
            if UNIVERSAL in may_write:
                continue
            extra = {t for t in indep.writes(s, lab, nxt) if not indep.item(t)} - set(may_write)
            if extra:
                raise AssertionError(f"step {render_label(lab)} of {actor!r} wrote {sorted(map(repr, extra))}, "
                                     f"outside its declared footprint")
            if UNIVERSAL not in may_read:
                extra = set(indep.reads(s, actor)) - set(may_read)
                if extra:
                    raise AssertionError(f"{actor!r} reads {sorted(map(repr, extra))} outside what it "
                                         f"declared it may read")
        return None
    return check


def find_step(system: System, src: State, target: State, symmetric: bool, present: bool = False) -> Optional[tuple]:
    """The first step from `src` whose (canonical, representative) result is `target`.

    Returns ``(label, next_state)``: the next state canonical, or in the
    system's presentation form when `present` (see `System.presentation`).
    Used to re-derive a trace's labels from parent pointers, and to turn a
    path of symmetry representatives into a concrete trace.
    """
    canon = system.canonical
    rep = system.representative if symmetric else None
    shown = system.presentation if present else None
    for rule in system.rules:
        for lab, nxt in rule.fn(src):
            c = canon(nxt) if canon else nxt
            r = rep(c) if rep else c
            if r == target:
                return lab, (shown(nxt) if shown else c)
    return None


def concrete_path(system: System, graph: Graph, path: Sequence[int], symmetric: bool, present: bool = False):
    """States and labels along a path of the graph, as concrete states.

    Canonical states, or with `present` the system's presentation form, in
    which names stay the same from step to step.
    """
    canon = system.canonical
    rep = system.representative if symmetric else None
    shown = system.presentation if present else None
    first = graph.states[path[0]]
    cur = None
    for init in system.init_states:
        c = canon(init) if canon else init
        if (rep(c) if rep else c) == first:
            cur = shown(init) if shown else c
            break
    assert cur is not None, "trace does not start at an initial state"
    states = [cur]
    labels: List[Optional[Label]] = [None]
    for k in path[1:]:
        step = find_step(system, cur, graph.states[k], symmetric, present)
        assert step is not None, "parent pointer with no step: the rules are not deterministic"
        lab, cur = step
        states.append(cur)
        labels.append(lab)
    return states, labels


__all__ = ["search", "SearchResult", "Stats", "Violation", "Graph", "find_step", "concrete_path",
           "instance_of"]
