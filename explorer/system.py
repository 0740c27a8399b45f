"""What the engine explores: a `System` of initial states, rules and properties.

The engine knows nothing of Kubernetes.  A system is four things, in the
manner of stateright's `Model`:

* initial states;
* rules: each a pure function of a state that yields the transitions it
  enables, as ``(label, next_state)`` pairs, and each declaring whether it is
  weakly fair (component steps) or not fair at all (faults);
* properties: invariants over states, action properties over steps, and
  convergence goals ("eventually always GOAL" under weak fairness);
* a canonical form (applied to every state the engine keeps) and, optionally,
  a symmetry representative.

A label is a plain tuple ``(component, action, args, choice)``, where
``args`` and ``choice`` are tuples of ``(name, value)`` pairs.  Its *fairness
instance* is the label without its outcome choice: ``scheduler.bind(pod=P)``
is one instance whatever node it picks (DESIGN section 2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Iterator, List, Optional, Sequence, Tuple

State = Hashable
Args = Tuple[Tuple[str, Any], ...]
Label = Tuple[str, str, Args, Args]
Transition = Tuple[Label, State]


def label(component: str, action: str, args: Args = (), choice: Args = ()) -> Label:
    """Build a label; `args` identify the fairness instance, `choice` the outcome."""
    return (component, action, args, choice)


def render_label(lab: Label) -> str:
    """`component.action(k=v, ...)`: how a step is printed and matched on replay."""
    component, action, args, choice = lab
    parts = [f"{k}={v}" for k, v in args] + [f"{k}={v}" for k, v in choice]
    return f"{component}.{action}({', '.join(parts)})"


def instance_of(lab: Label) -> Tuple[str, str, Args]:
    """The fairness instance of a label: the label without its outcome choice."""
    return lab[0], lab[1], lab[2]


@dataclass(frozen=True)
class Rule:
    """A named family of transitions.

    `fn(state)` yields ``(label, next_state)``.  `fair` says whether the rule
    is weakly fair: a fair rule instance that stays enabled is eventually
    taken.  Faults are rules with ``fair=False``: they may stop at any time.

    `groups(state)`, optional, returns the same steps as `fn` split into
    groups computed on demand (one function per fairness instance, each
    yielding that instance's steps): the random strategy then draws a group
    and a step in it without computing the steps of every other group, which
    matters where one rule offers hundreds of steps (a scheduler binding any
    of 40 pods to any of 20 nodes).
    """

    name: str
    fn: Callable[[State], Iterable[Transition]]
    fair: bool = True
    doc: str = ""
    groups: Optional[Callable[[State], List[Callable[[], Iterable[Transition]]]]] = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"rule {self.name!r}: fn must be a function of the state, got {self.fn!r}")


@dataclass(frozen=True)
class Invariant:
    """A predicate that must hold in every reachable state.

    `check(state)` returns None when it holds, else a diagnosis naming what is wrong.
    """

    name: str
    check: Callable[[State], Optional[str]]
    doc: str = ""


@dataclass(frozen=True)
class ActionProperty:
    """A predicate over every step: `check(state, label, next_state)` -> None or diagnosis."""

    name: str
    check: Callable[[State, Label, State], Optional[str]]
    doc: str = ""
    # Only steps whose label's (component, action) is in `watches` are checked;
    # None checks every step.  Saves the hot path from calling it everywhere.
    watches: Optional[frozenset] = None


@dataclass(frozen=True)
class Convergence:
    """"Eventually always GOAL" under weak fairness, once faults have stopped.

    `goal(state)` -> bool; `diagnose(state)` says why a state is outside the goal.
    """

    name: str
    goal: Callable[[State], bool]
    diagnose: Callable[[State], str]
    doc: str = ""


Property = Any  # Invariant | ActionProperty | Convergence


@dataclass
class System:
    """A transition system: what `explore` searches."""

    init_states: Sequence[State]
    rules: Sequence[Rule]
    invariants: Sequence[Invariant] = ()
    actions: Sequence[ActionProperty] = ()
    convergences: Sequence[Convergence] = ()
    canonical: Optional[Callable[[State], State]] = None
    representative: Optional[Callable[[State], State]] = None
    # How a trace shows its states: the canonical form without what only makes
    # the state space finite (renumbering identities), so that names stay the
    # same from step to step.  canonical(presentation(s)) must equal
    # canonical(s).  None: traces show canonical states.
    presentation: Optional[Callable[[State], State]] = None
    name: str = "system"
    meta: dict = field(default_factory=dict)
    # Components whose state only convergence goals read, searched around (explorer/observers.py).
    observers: Sequence[Any] = ()
    # Symmetry with convergence: True where `representative` may be used while fairness is judged (the
    # quotient graph's cycles are then confirmed on concrete states, check.py); `fixed_instance(inst)`
    # says whether a fairness instance is left as it is by every symmetry (it names nothing permuted).
    symmetric_convergence: bool = False
    fixed_instance: Optional[Callable[[Any], bool]] = None
    # Partial-order reduction (explorer/por.py): who acts in each step and what each actor reads and
    # writes; None: every step is explored.
    independence: Optional[Any] = None
    # A coarser canonical form for the reductions to search with (`check(reduction="por")`): the quotient
    # by a bisimulation (for the Kubernetes model, uids renumbered per group: model/canonical.py).  None:
    # `canonical` is used by every search.
    quotient: Optional[Callable[[State], State]] = None

    def __post_init__(self) -> None:
        names = [r.name for r in self.rules]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"system {self.name!r}: rule names must be unique; repeated: {sorted(dup)}")
        if not self.init_states:
            raise ValueError(f"system {self.name!r} has no initial state")

    def successors(self, state: State) -> Iterator[Tuple[Rule, Label, State]]:
        """Every enabled transition from `state`, canonicalised, in rule order."""
        canon = self.canonical
        for rule in self.rules:
            for lab, nxt in rule.fn(state):
                yield rule, lab, (canon(nxt) if canon else nxt)
