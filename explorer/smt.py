"""Z3 plumbing: claims decided by a solver, and turning a model into a counterexample.

Generic: the Kubernetes encodings (quorum under zone loss, lease timing,
placement) live with the HA properties.  A `Claim` is a property decided
without searching the state space: `decide()` returns a `ClaimResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Dict, Iterable, Optional, Sequence, Tuple

import z3


@dataclass
class ClaimResult:
    holds: bool
    diagnosis: str
    witness: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    name: str
    decide: Callable[[], ClaimResult]
    doc: str = ""


def value_of(model: z3.ModelRef, term) -> Any:
    """A Python value for `term` in `model`: bool, int, or Fraction for reals."""
    v = model.eval(term, model_completion=True)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_int_value(v):
        return v.as_long()
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    if z3.is_algebraic_value(v):
        return float(v.approx(12).as_decimal(12).rstrip("?"))
    return str(v)


class SolverTimeout(Exception):
    """Z3 gave up (its timeout, or a limit) before deciding: the claim's verdict is unknown."""


_DEADLINE: list = [None]   # a perf_counter time by which every solver must have answered (the run's --timeout)


def set_deadline(deadline: Optional[float]) -> None:
    """Bound every solver call from now on by `deadline` (time.perf_counter() seconds; None: no bound)."""
    _DEADLINE[0] = deadline


def solver_timeout_ms(default_ms: int = 30_000) -> int:
    """The timeout to give a solver now: the default, or what is left before the deadline (at least 1 ms)."""
    import time
    if _DEADLINE[0] is None:
        return default_ms
    left = int((_DEADLINE[0] - time.perf_counter()) * 1000)
    if left <= 0:
        raise SolverTimeout("the run's timeout was reached before this claim was decided")
    return min(default_ms, left)


def check_sat(solver) -> bool:
    """solver.check() as True / False, raising SolverTimeout where Z3 could not decide."""
    r = solver.check()
    if r == z3.sat:
        return True
    if r == z3.unsat:
        return False
    raise SolverTimeout(f"Z3 could not decide ({solver.reason_unknown()})")


def find(constraints: Iterable, terms: Dict[str, Any], timeout_ms: int = 30_000,
         objectives: Sequence[Tuple[str, Any]] = ()) -> Optional[Dict[str, Any]]:
    """A satisfying assignment of `terms` (by name), or None when the constraints are unsatisfiable.

    A solver may return any model, and which one can depend on what it solved
    before; counterexamples must not.  `objectives`, ("min" | "max", term)
    in priority order, pin the model down (lexicographic optimisation), so
    that the same question always gets the same answer.
    """
    solver = z3.Optimize() if objectives else z3.Solver()
    solver.set("timeout", solver_timeout_ms(timeout_ms))
    solver.add(*constraints)
    for sense, term in objectives:
        (solver.minimize if sense == "min" else solver.maximize)(term)
    if not check_sat(solver):
        return None
    m = solver.model()
    return {name: value_of(m, t) for name, t in terms.items()}
