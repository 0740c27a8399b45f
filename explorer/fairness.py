"""Convergence: "eventually always GOAL" under weak fairness, on the explored graph.

DESIGN section 2.1: convergence is judged once the faults have stopped, so
only fair steps count here (faults are the rules declared not fair).  It is
violated if and only if some fair behaviour visits a state outside the goal
infinitely often, which in a finite graph is one of:

* a *stuck* state: outside the goal, fully expanded, and no fair rule is
  enabled in it (the behaviour stutters there forever);
* a *fair lasso*: a reachable cycle through a state outside the goal in which
  every rule instance enabled in all of its states is taken at least once.

For weak fairness a strongly connected component C holds a fair cycle iff
every instance enabled in *all* states of C is taken on some edge inside C:
the cycle that covers all of C's edges is then fair, and if some instance is
enabled everywhere in C but never taken inside it, no cycle within C can take
it either.  So one pass of Tarjan's algorithm (iterative) decides it.

User changes need no special case: a pending change is a fair rule enabled
until it is taken, and taking it leaves the component for good.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .search import Graph


def tarjan_sccs(n: int, succ: Callable[[int], Sequence[int]]) -> List[List[int]]:
    """Strongly connected components of the graph on 0..n-1, iteratively (no recursion)."""
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: List[int] = []
    sccs: List[List[int]] = []
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        work: List[Tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, pos = work[-1]
            targets = succ(v)
            if pos < len(targets):
                work[-1] = (v, pos + 1)
                w = targets[pos]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp.append(w)
                    if w == v:
                        break
                sccs.append(comp)
    return sccs


@dataclass
class ConvergenceViolation:
    """A fair behaviour that stays outside the goal: stuck, or a lasso."""

    kind: str                 # "stuck" or "lasso"
    state: int                # the state outside the goal (start of the loop for a lasso)
    cycle: Optional[List[Tuple[int, int]]] = None  # lasso: steps (instance id, state), back to `state`


def _targets(graph: Graph, v: int) -> List[int]:
    e = graph.fair_edges[v] if v < len(graph.fair_edges) else []
    return e[1::2]


def outside_goals(graph: Graph, goals: Sequence[Callable[[object], bool]]) -> List[List[bool]]:
    """For each goal, which states are outside it: one pass over the states, every goal asked of a state in
    turn (goals that share a memoised computation per state then compute it once)."""
    out: List[List[bool]] = [[] for _ in goals]
    for s in graph.states:
        for k, goal in enumerate(goals):
            out[k].append(not goal(s))
    return out


@dataclass
class Structure:
    """The parts of the fair-edge graph where a convergence goal can be violated, computed once for every
    goal: the stuck states (fully expanded, no fair step) and the strongly connected components that hold
    a cycle and were fully expanded.  A state in neither is passed through by every fair behaviour, so
    no goal is asked of it."""

    stuck: List[int]
    cycles: List[List[int]]


def structure(graph: Graph) -> Structure:
    n = len(graph.states)
    expanded = graph.expanded
    cut = graph.truncated
    edges = graph.fair_edges
    stuck = [i for i in range(min(expanded, n)) if not edges[i] and i not in cut]
    cycles = []
    for comp in tarjan_sccs(n, lambda v: _targets(graph, v)):
        if any(v >= expanded or v in cut for v in comp):
            continue
        if len(comp) == 1 and comp[0] not in edges[comp[0]][1::2]:
            continue  # a single state without a self-loop is no cycle
        cycles.append(comp)
    return Structure(stuck, cycles)


def goal_oracle(graph: Graph, goals: Sequence[Callable[[object], bool]]) -> Callable[[int], tuple]:
    """`outside(i)`: for each goal whether state i is outside it, computed on first demand and kept (every
    goal asked of a state in turn, so that goals sharing a memoised computation compute it once)."""
    memo: Dict[int, tuple] = {}

    def outside(i: int) -> tuple:
        r = memo.get(i)
        if r is None:
            s = graph.states[i]
            r = memo[i] = tuple(not g(s) for g in goals)
        return r
    return outside


def check_convergence(graph: Graph, goal: Optional[Callable[[object], bool]],
                      outside=None, struct: Optional[Structure] = None
                      ) -> Tuple[Optional[ConvergenceViolation], bool]:
    """Decide one convergence goal on the fair-edge graph.

    `outside`: which states are outside the goal, as a list or a function of the state index (default:
    ask `goal`); `struct`: the graph's `structure`, if already computed.  Only stuck states and states on
    cycles are asked.  Returns (violation or None, decided).  `decided` is False when the graph was cut
    short and no violation was found: the verdict is then unknown.
    """
    assert graph.fair_edges is not None, "convergence needs the fair edges: search(keep_fair_edges=True)"
    n = len(graph.states)
    expanded = graph.expanded
    if outside is None:
        bad_at = lambda i: not goal(graph.states[i])  # noqa: E731
    elif callable(outside):
        bad_at = outside
    else:
        bad_at = outside.__getitem__
    if struct is None:
        struct = structure(graph)
    best: Optional[ConvergenceViolation] = None

    def better(i: int) -> bool:
        return best is None or graph.depth[i] < graph.depth[best.state] or (
            graph.depth[i] == graph.depth[best.state] and i < best.state)

    # Stuck states: fully expanded, outside the goal, no fair step.
    for i in struct.stuck:
        if better(i) and bad_at(i):
            best = ConvergenceViolation("stuck", i)

    # Fair lassos, per SCC of the explored (expanded) part.
    for comp in struct.cycles:
        bad = [v for v in comp if bad_at(v)]
        if not bad:
            continue
        members = set(comp)
        always = fair_component(graph, comp, members)
        if always is not None:
            start = min(bad, key=lambda v: (graph.depth[v], v))
            if better(start):
                cycle = _fair_cycle(graph, start, members, always)
                best = ConvergenceViolation("lasso", start, cycle)
    decided = best is not None or (expanded >= n and not graph.truncated)
    return best, decided


def fair_component(graph: Graph, comp: Sequence[int], members: Optional[set] = None) -> Optional[set]:
    """Weak fairness on a strongly connected component: the instances enabled in all of its states, when
    each of them is taken on some edge inside it (a fair cycle exists there); None when one is not."""
    edges = graph.fair_edges
    members = set(comp) if members is None else members
    always = None
    taken = set()
    for v in comp:
        e = edges[v]
        enabled = set(e[0::2])
        always = enabled if always is None else (always & enabled)
        for k in range(0, len(e), 2):
            if e[k + 1] in members:
                taken.add(e[k])
    if always is None or not always <= taken:
        return None
    return always


def _fair_cycle(graph: Graph, start: int, members: set, needed: set) -> List[Tuple[int, int]]:
    """A cycle in `members` from `start` back to it that takes every instance in `needed`.

    Returned as the steps ``(instance id, state)`` after `start`; the last
    step returns to `start`.
    """
    edges = graph.fair_edges

    def shortest(src: int, accept) -> List[Tuple[int, int]]:
        # Shortest path inside the component ending with an edge accepted by accept(inst, target).
        prev: Dict[int, Tuple[int, int]] = {src: (-1, -1)}
        q = deque([src])
        while q:
            v = q.popleft()
            e = edges[v]
            for k in range(0, len(e), 2):
                inst, w = e[k], e[k + 1]
                if w not in members:
                    continue
                if accept(inst, w):
                    seq = [(inst, w)]
                    x = v
                    while x != src:
                        p, pinst = prev[x]
                        seq.append((pinst, x))
                        x = p
                    seq.reverse()
                    return seq
                if w not in prev:
                    prev[w] = (v, inst)
                    q.append(w)
        raise AssertionError("component is not strongly connected")

    steps: List[Tuple[int, int]] = []
    cur = start
    todo = set(needed)
    while todo:
        seq = shortest(cur, lambda inst, w: inst in todo)
        for inst, _ in seq:
            todo.discard(inst)
        steps.extend(seq)
        cur = steps[-1][1]
    if cur != start or not steps:
        steps.extend(shortest(cur, lambda inst, w: w == start))
    return steps
