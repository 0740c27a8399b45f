"""kubecheck's engine: a generic explicit-state model checker.

It knows nothing of Kubernetes: give it a `System` (initial states, rules
with their fairness, properties, a canonical form and optionally a symmetry
representative) and `check` returns a verdict per property, with shortest
counterexamples for safety and fair lassos or stuck states for convergence.
"""

from .check import CheckResult, Trace, Verdict, check
from .fairness import check_convergence, tarjan_sccs
from .observers import Observer
from .search import Stats, search
from .system import (ActionProperty, Convergence, Invariant, Label, Rule, System, instance_of, label,
                     render_label)

__all__ = [
    "ActionProperty", "CheckResult", "Convergence", "Invariant", "Label", "Observer", "Rule", "Stats", "System",
    "Trace", "Verdict", "check", "check_convergence", "instance_of", "label", "render_label", "search",
    "tarjan_sccs",
]
