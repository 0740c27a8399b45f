"""Partial-order reduction: persistent sets of actors, for breadth-first search.

A system may declare an `Independence` (`System.independence`): who acts in
each step (its *actor*: a controller, a kubelet, the faults), what each step
writes, what decides each actor's steps in a state, and an
over-approximation of what every actor may read and write in the future.
From a state, `Ample.choose` then picks a subset of the enabled steps to explore,
the steps of a set S of actors closed under interference (Godefroid's
persistent sets, computed as in Valmari's stubborn sets, at the granularity
of actors):

* C0: the subset is empty only where nothing is enabled;
* C1 (persistence): no actor outside S can, in any behaviour from here in
  which no actor of S acts, take a step that writes what S's steps read or
  write, or read what they write.  `future(state, actor, frozen)` answers
  for an actor under the assumption that the `frozen` actors do not act;
  the closure adds each actor that may interfere, until none does (but an
  actor with no step enabled whose reads no actor outside S may write: it
  stays without one on every path that avoids S).  S's
  own steps are decided by what `reads(state, actor)` names, which no actor
  outside S writes, so S's enabled steps stay those of the subset until
  one of them is taken;
* C2 (visibility), in the form that safety needs: where a step of the
  subset writes what a property reads (`Independence.visibility`), or is a
  step an action property checks, what the property reads joins what S
  protects, so that the property keeps its value on every path from here
  that avoids the subset (a violation reached on such a path would be one
  here already); the subset's own steps are all explored;
* C3 (cycle proviso, for BFS): a proper subset is taken only when none of
  its successors is a state already seen at this depth or above (Bosnacki
  and Holzmann, "Improving Spin's partial-order reduction for breadth-first
  search", SPIN 2005): every cycle of the reduced graph then holds a fully
  expanded state, so no step is ignored for ever, and the result does not
  depend on timing (only on the BFS order);
* a proper subset holds at least one weakly fair step.

What this preserves.  Every invariant and action-property violation: on a
shortest path to a bad state, either a step of the subset occurs, and
commutes to the front (the rest of the path is shorter, from a state the
reduced search reaches), or none does, and then the property read nothing
that changed, so the first state was bad already (an action property is an
invariant here: "no enabled step it checks fails", asked of every explored
state, whose every enabled step is computed); the cycle proviso (C3) covers
the classic form, where the subset does not touch what the property reads.  Every
*stuck* state (no fair step enabled, faults maybe still enabled): on a path
to one, a step of the subset either occurs, and commutes to the front, or
never does, and then stays enabled to the end (C1), which a fair step of
the subset would contradict.  And whether the fair-step graph has a cycle at
all: a path of the full graph from a state that goes on for ever is mapped,
by the same argument, onto a path of the reduced graph that goes on for
ever, which in a finite graph closes a cycle.  Convergence under weak
fairness is *not* preserved on cycles (a reduced cycle can postpone a fair
step that stays enabled; see the issue's discussion and Peled's book), so
`check` decides convergence on a reduced graph only where it has no cycle
of fair steps: then the full graph has none either, every fair behaviour
ends in a stuck state, and stuck states are all there.  Where the reduced
graph has a cycle, `check` searches again without reduction.

Cost: choosing computes every actor's footprint, several times the cost of
expanding a state.  Until a state has been reduced, `search` tries one state
in 8, and after 2,000 states with none reduced it stops trying (full
expansion is always allowed), which the report says.

The declarations are the model's; a wrong one makes the reduction unsound.
`search(..., check_footprints=True)` (used by the test suite) checks on
every explored step that what it wrote is within what its actor's
`future(state, actor, ())` declared.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet, Hashable, List, Optional, Sequence, Tuple

UNIVERSAL = "*"   # a token that conflicts with every other token: "may read or write anything"

Tokens = FrozenSet[Hashable]


def conflict(a: Tokens, b: Tokens) -> bool:
    """Whether two token sets overlap (the universal token overlaps any non-empty set)."""
    if not a or not b:
        return False
    if UNIVERSAL in a or UNIVERSAL in b:
        return True
    return not a.isdisjoint(b)


class Independence:
    """What a model declares for partial-order reduction (see the module docstring).  Every method must
    be a pure function of its arguments; `future` must over-approximate."""

    def actor(self, label) -> Hashable:
        raise NotImplementedError

    def writes(self, state, label, next_state) -> Tokens:
        """What the step from `state` to `next_state` (not canonicalised) wrote."""
        raise NotImplementedError

    def reads(self, state, actor) -> Tokens:
        """Everything that decides which steps `actor` may take in `state` and what they do."""
        raise NotImplementedError

    def actors(self, state) -> Sequence[Hashable]:
        """Every actor that may take a step from `state` on (a superset is fine), in a fixed order."""
        raise NotImplementedError

    def future(self, state, actor, frozen: FrozenSet[Hashable]) -> Tuple[Tokens, Tokens]:
        """(may read, may write) of `actor` over every behaviour from `state` in which no `frozen` actor
        takes a step."""
        raise NotImplementedError

    def for_rules(self, rule_names: Sequence[str]) -> "Independence":
        """The declarations for a system of only these rules (observer elimination drops some): by
        default the same."""
        return self

    def commutes(self, token) -> bool:
        """Whether two writes of `token` commute: a set that two steps change in different members (each
        also writes a token of its own member, so that writes to one member still conflict).  A read of
        it conflicts with a write all the same."""
        return False

    def item(self, token) -> bool:
        """Whether `token` names one member of a commuting family (written beside the family's token, and
        not declared in futures: a writer of a member reads its family, which catches two writers of one
        member)."""
        return False

    def visibility(self, invariant_names: Sequence[str]) -> Tokens:
        """The tokens the named invariants read (UNIVERSAL where one is not declared)."""
        return frozenset({UNIVERSAL}) if invariant_names else frozenset()


class Ample:
    """The persistent-set choice for one search: `choose` returns the indices of the steps to explore."""

    def __init__(self, indep: Independence, invariant_names: Sequence[str],
                 actions: Sequence[Tuple[str, Optional[Callable]]] = ()):
        self.indep = indep
        # What each property reads: an invariant, its state; an action property, what decides the steps it
        # checks and their check (a violation of it is a state where a checked step would fail).
        self.props: List[Tuple[Tokens, Optional[Callable]]] = (
            [(indep.visibility([name]), None) for name in invariant_names]
            + [(indep.visibility([name]), watched) for name, watched in actions])
        self.reduced = 0                # states explored through a proper subset
        self.tried = 0                  # states the chooser was asked about
        self.proviso_expansions = 0     # states fully expanded by the cycle proviso alone
        self.trace: Optional[list] = None   # set to a list to record why subsets grew (debugging)

    def choose(self, state, steps: Sequence[Tuple[Any, bool, Any]], is_old: Callable[[int], bool]
               ) -> Optional[List[int]]:
        """`steps`: (label, fair, raw next state) per enabled step.  `is_old(i)`: step i leads to a state
        already seen at the current depth or above.  Returns the indices to explore, or None for all."""
        indep = self.indep
        self.tried += 1
        groups: Dict[Hashable, List[int]] = {}
        for i, (lab, _, _) in enumerate(steps):
            groups.setdefault(indep.actor(lab), []).append(i)
        if len(groups) < 2:
            return None
        writes: Dict[int, Tokens] = {}

        def wr(i: int) -> Tokens:
            w = writes.get(i)
            if w is None:
                lab, _, nxt = steps[i]
                w = writes[i] = indep.writes(state, lab, nxt)
            return w

        all_actors = list(indep.actors(state))
        commutes = indep.commutes
        futures: Dict[tuple, Tuple[Tokens, Tokens]] = {}
        reads: Dict[Hashable, Tokens] = {}
        blocked_by_proviso = False

        def dormant(d, members, frozen) -> bool:
            """An actor with no step enabled here stays so on every path that avoids the set, if no actor
            outside the set (and but itself) may write what decides its steps."""
            rd = reads.get(d)
            if rd is None:
                rd = reads[d] = indep.reads(state, d)
            if UNIVERSAL in rd:
                return False
            for e in all_actors:
                if e == d or e in members:
                    continue
                key = (e, frozen)
                f = futures.get(key)
                if f is None:
                    f = futures[key] = indep.future(state, e, frozen)
                if conflict(f[1], rd):
                    return False
            return True

        order = sorted(groups, key=lambda a: (len(groups[a]), repr(a)))
        for first in order:
            if not any(steps[i][1] for i in groups[first]):
                continue
            members = {first}
            ok = True
            while True:
                chosen = [i for a in members for i in groups.get(a, ())]
                if len(chosen) == len(steps):
                    ok = False
                    if self.trace is not None:
                        self.trace.append((first, sorted(map(repr, members)), "all steps"))
                    break
                r: set = set()
                for a in members:
                    ra = reads.get(a)
                    if ra is None:
                        ra = reads[a] = indep.reads(state, a)
                    r |= ra
                w: set = set()
                for i in chosen:
                    w |= wr(i)
                w = frozenset(w)
                # A property the subset's steps may change (or whose checked steps it holds) must keep its
                # value on every path that avoids the subset: what it reads joins what the set protects.
                for p_reads, watched in self.props:
                    if conflict(w, p_reads) or (watched is not None and any(watched(steps[i][0]) for i in chosen)):
                        r |= p_reads
                if UNIVERSAL in r:
                    ok = False
                    if self.trace is not None:
                        self.trace.append((first, sorted(map(repr, members)), "reads everything"))
                    break
                r = frozenset(r)
                frozen = frozenset(members)
                grown = False
                for d in all_actors:
                    if d in members:
                        continue
                    key = (d, frozen)
                    f = futures.get(key)
                    if f is None:
                        f = futures[key] = indep.future(state, d, frozen)
                    fw = f[1]
                    own = frozenset(t for t in fw if not commutes(t)) if fw and UNIVERSAL not in fw else fw
                    if conflict(fw, r) or conflict(own, w) or conflict(f[0], w):
                        if d not in groups and dormant(d, members, frozen):
                            continue
                        members.add(d)
                        grown = True
                        if self.trace is not None:
                            self.trace.append((first, repr(d), sorted(map(repr, (fw & r) | (own & w) | (f[0] & w)))[:3]))
                if not grown:
                    break
            if not ok:
                continue
            chosen.sort()
            if any(is_old(i) for i in chosen):
                blocked_by_proviso = True
                continue
            self.reduced += 1
            return chosen
        if blocked_by_proviso:
            self.proviso_expansions += 1
        return None


__all__ = ["UNIVERSAL", "Independence", "Ample", "conflict"]
