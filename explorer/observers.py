"""Observer elimination: search without the components whose state only properties read.

An *observer* is a component that watches the rest of the system and
rewrites a part of the state of its own from what it sees, where nothing but
convergence goals ever reads that part: in Kubernetes, kube-proxy's rules on
each node, the DNS addon's records, and (where nothing else reads them) the
EndpointSlice controller's slices, which kube-proxy, itself an observer,
reads after them.  Where an observer's variables are objects with
identities (slices have uids), P's states are stripped and then made
canonical again (`Stripped.project`).  Interleaving its syncs with
everything else multiplies the state space (each sync at each point of every
other activity), yet no other rule can tell whether it has synced.  So the
search runs without it, on the *stripped* system P (its variables held at a
neutral value), and each goal is asked of the state as the observer would
have made it (`fill`).

The contract an `Observer` declares (the model's declarations are tested
against it on every explored state in the test suite):

1. No rule but its own reads its variables, and no safety property does:
   every other rule takes the same steps whatever their values, and its steps
   change nothing else (other rules may overwrite them, as a machine's crash
   clears its kernel's rules).
2. Its rules are weakly fair syncs: a step from s writes its part of
   `fill(s)`, and it is enabled exactly where it can run and its part differs.
3. Where it cannot run, no convergence goal depends on its value (`exact(s)`
   says so of each state; a state where it does not hold makes the check fall
   back to the full search, so a wrong declaration costs time, not a verdict).

Why the verdicts are those of the full system F, whose states are (s, o):
s a state of P, o the observer's values.

* Safety: a property that does not read o holds in F iff in P: the steps of
  the other rules are the same from (s, o) for every o (1), so the projection
  of F's reachable states is P's, and each P path is an F path along which
  the observer never syncs.
* Stuck states: (s, o) has no fair step iff s has none in P and o is synced,
  o = fill(s) where the observer can run (2); from any (s, o) syncing reaches
  (s, fill(s)), and where it cannot run the goal does not read o (3).  So F
  has a stuck state outside a goal iff P has one outside goal∘fill.
* Fair cycles: a fair cycle of F never consists of syncs alone (a sync
  disables itself and nothing else changes), so it projects onto a cycle of P
  inside one strongly connected component C of P's fair graph; the instances
  of other rules enabled in every state of C are enabled in every state of
  the cycle (1), so C passes the weak-fairness test.  Conversely, for every
  fair component C of P the lifted states (s, fill(s')) for s, s' in C are
  reachable from one another (walk to s', sync, walk to s without syncing),
  and form a fair component of F.  Where each instance of the observer can run
  either in every state of C or in none (where it can run is part of the
  stripped state, and the contract's `runs` says it), and its synced value is
  the same in every state of C, a fair cycle of F over C is synced
  throughout where it can run (a stale value makes its sync enabled in every
  state of the cycle, never taken: unfair), and where it cannot the goal does
  not read it (3); so it is outside a goal iff some s of C is outside
  goal∘fill.  Where the synced value differs between states of C, a fair
  cycle can carry a stale value, but only one of the synced values of C (any
  other keeps the sync enabled all along the cycle): that component is
  explored again in F itself (its states whose projection is in C, from one
  state (s, fill(s)), fair steps only; every (s, fill(s')) is reachable from
  there), and decided there with the ordinary weak-fairness test.  Where an
  instance can run in some states of C and not in others, weak fairness does
  not make it sync, and a value from before C (which P does not know) may
  stay for ever: the check falls back to the full search.

Counterexample traces are traces of F: the P path replayed with F's steps
(the observer not syncing), then, where the goal is asked of the synced
state, the observer's syncs; a lasso found in F's re-exploration is F's own.

This is the "compress steps that no rule can observe" reduction of the
literature on state-space reduction for observers and history variables; it
is exact, not probabilistic, and it is not partial-order reduction (the
other components' interleavings are all kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

from .system import Convergence, Invariant, Label, Rule, State, System


@dataclass(frozen=True)
class Observer:
    """A component whose state only convergence goals read (see the module docstring for the contract).

    `rules`: the names of its sync rules.  `strip(s)`: `s` with its variables at their neutral value.
    `fill(s)`: `s` with its variables as a sync of every instance that can run now would write them
    (where one cannot run, as in `s`).  `values(s)`: its variables (hashable), to compare synced values.
    `exact(s)`: False where it cannot run and yet a goal depends on its value.  `runs(s)`: where each of
    its instances can run (hashable; a sync of an instance that can run is enabled exactly where its value
    is not the synced one).
    """

    name: str
    rules: Tuple[str, ...]
    strip: Callable[[State], State]
    fill: Callable[[State], State]
    values: Callable[[State], object]
    exact: Callable[[State], bool] = field(default=lambda s: True)
    runs: Callable[[State], object] = field(default=lambda s: True)


@dataclass
class Stripped:
    """The system P without its observers, and how to go between P's states and the full system's."""

    full: System
    system: System
    observers: Sequence[Observer]
    observer_rules: frozenset
    _last: Optional[tuple] = None

    def strip(self, s: State) -> State:
        for o in self.observers:
            s = o.strip(s)
        return s

    def project(self, s: State) -> State:
        """A canonical state of the full system as P keeps it: stripped, and canonical again (an observer
        whose variables are objects, as EndpointSlices are, leaves their identities unused)."""
        canon = self.full.canonical
        s = self.strip(s)
        return canon(s) if canon else s

    def fill(self, s: State) -> State:
        """`s` as every observer's syncs would leave it (the last answer is kept: every goal asks it of
        the same state in turn)."""
        last = self._last
        if last is not None and last[0] is s:
            return last[1]
        out = s
        for o in self.observers:
            out = o.fill(out)
        self._last = (s, out)
        return out

    def values(self, s: State) -> tuple:
        return tuple(o.values(s) for o in self.observers)

    def runs(self, s: State) -> tuple:
        return tuple(o.runs(s) for o in self.observers)


INEXACT = "observer-elimination-inexact"


def stripped(system: System) -> Stripped:
    """P: the system's other rules, its states stripped, every goal asked of the synced state."""
    observers = list(system.observers)
    names = {n for o in observers for n in o.rules}
    unknown = names - {r.name for r in system.rules}
    if unknown:
        raise ValueError(f"observer rules {sorted(unknown)} are not rules of system {system.name!r}")
    holder = Stripped(system, None, observers, frozenset(names))  # type: ignore[arg-type]
    canon = system.canonical

    def canonical(s: State) -> State:
        return holder.project(canon(s) if canon else s)

    def exact(s: State) -> Optional[str]:
        for o in observers:
            if not o.exact(s):
                return f"observer {o.name} cannot run here, and a goal reads its value"
        return None

    convergences = [Convergence(c.name, (lambda g: lambda s: g(holder.fill(s)))(c.goal),
                                (lambda d: lambda s: d(holder.fill(s)))(c.diagnose), c.doc)
                    for c in system.convergences]
    p = System(init_states=[canonical(s) for s in system.init_states],
               rules=[r for r in system.rules if r.name not in names],
               invariants=list(system.invariants) + [Invariant(INEXACT, exact)],
               actions=list(system.actions), convergences=convergences, canonical=canonical,
               representative=None, presentation=None, name=system.name,
               independence=system.independence)
    holder.system = p
    return holder


def lift_path(st: Stripped, targets: Sequence[State], present: bool) -> Tuple[List[State], List[Optional[Label]]]:
    """A path of the full system whose states project onto `targets` (states of P, the first initial).

    Each step is the first step of the full system's rules whose canonical result strips to the next
    target; observers' rules are not used, so the observer never syncs along it.
    """
    full = st.full
    canon = full.canonical
    shown = full.presentation if present else None
    cur = None
    for init in full.init_states:
        c = canon(init) if canon else init
        if st.project(c) == targets[0]:
            cur = shown(init) if shown else c
            break
    assert cur is not None, "lifted trace does not start at an initial state"
    states: List[State] = [cur]
    labels: List[Optional[Label]] = [None]
    for target in targets[1:]:
        step = None
        for rule in full.rules:
            if rule.name in st.observer_rules:
                continue
            for lab, nxt in rule.fn(cur):
                c = canon(nxt) if canon else nxt
                if st.project(c) == target:
                    step = (lab, shown(nxt) if shown else c)
                    break
            if step:
                break
        assert step is not None, "no step of the full system projects onto the stripped one"
        labels.append(step[0])
        cur = step[1]
        states.append(cur)
    return states, labels


def sync_observers(st: Stripped, state: State, present: bool) -> Tuple[List[State], List[Label]]:
    """The observers' syncs from `state` until none is enabled: the steps that make it `fill(state)`."""
    full = st.full
    canon = full.canonical
    shown = full.presentation if present else None
    states, labels = [], []
    rules = [r for r in full.rules if r.name in st.observer_rules]
    for _ in range(10_000):
        step = None
        for rule in rules:
            for lab, nxt in rule.fn(state):
                step = (lab, shown(nxt) if shown else (canon(nxt) if canon else nxt))
                break
            if step:
                break
        if step is None:
            return states, labels
        labels.append(step[0])
        state = step[1]
        states.append(state)
    raise AssertionError("observer syncs do not quiesce: a declared observer is not a sync")


def restricted(full: System, allowed, st: Stripped, start: State) -> System:
    """The full system from `start`, by fair steps only, kept to states whose projection is in `allowed`."""
    canon = full.canonical

    def keep(rule: Rule) -> Rule:
        def fn(s, f=rule.fn):
            for lab, nxt in f(s):
                c = canon(nxt) if canon else nxt
                if st.project(c) in allowed:
                    yield lab, nxt
        return Rule(rule.name, fn, fair=True, doc=rule.doc)

    return System(init_states=[start], rules=[keep(r) for r in full.rules if r.fair],
                  canonical=full.canonical, name=full.name + "/lifted")


class Undecided(Exception):
    """A fair component of P where an observer can run in some states and not in others: weak fairness
    does not make it sync there, so a value from before the component may stay for ever; the full
    system is searched instead."""


def varying_components(graph, values_of: Callable[[State], tuple],
                       runs_of: Callable[[State], tuple] = lambda s: (), struct=None) -> List[List[int]]:
    """The fair strongly connected components of P's explored graph in which the observers' synced values
    are not the same in every state: only there can a fair cycle of the full system carry a stale value.
    Raises `Undecided` where an observer can run differs between the states of one."""
    from .fairness import fair_component, structure
    out = []
    for comp in (struct or structure(graph)).cycles:
        if len(comp) == 1:
            continue   # one state with a self-loop: a single synced value, and where it runs is the same
        if fair_component(graph, comp) is None:
            continue   # no fair cycle in it
        runs = runs_of(graph.states[comp[0]])
        if any(runs_of(graph.states[v]) != runs for v in comp[1:]):
            raise Undecided("an observer can run in some states of a fair component and not in others")
        first = values_of(graph.states[comp[0]])
        if any(values_of(graph.states[v]) != first for v in comp[1:]):
            out.append(sorted(comp))
    return out


__all__ = ["Observer", "Stripped", "stripped", "lift_path", "sync_observers", "restricted",
           "varying_components", "Undecided", "INEXACT"]
