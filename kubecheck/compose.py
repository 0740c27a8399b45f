"""Scenario -> System: the model's rules plus the properties the user asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

from explorer import ActionProperty, Convergence, Invariant, System
from explorer.smt import Claim
from model.footprint import independence
from model.compose import Model, build_model
from model.scenario import Scenario
from properties import all_properties, get


class UsageError(Exception):
    """Bad command line or property name: exit status 2."""


@dataclass
class Composed:
    system: System
    model: Model
    kinds: dict                       # property name -> "safety" | "convergence" | "ha"
    not_applicable: List[Tuple[str, str, str]] = field(default_factory=list)  # (name, kind, why)
    claims: List[Claim] = field(default_factory=list)  # HA properties, decided by Z3


def select_properties(sc: Scenario, requested: Sequence[str] = ()) -> List[str]:
    """The property names to check: the command line's, else the scenario's, 'all' meaning the catalog."""
    names = list(requested) or list(sc.properties)
    out: List[str] = []
    for n in names:
        if n == "all":
            out += [p.name for p in all_properties() if p.name not in out]
        elif get(n) is None:
            known = ", ".join(p.name for p in all_properties())
            raise UsageError(f"unknown property {n!r}; known properties: {known}")
        elif n not in out:
            out.append(n)
    return out


def compose(sc: Scenario, requested: Sequence[str] = ()) -> Composed:
    selected = select_properties(sc, requested)
    model = build_model(sc, record_views="no-time-travel" in selected, checked=set(selected))
    invariants, actions, convergences, claims = [], [], [], []
    na: List[Tuple[str, str, str]] = []
    kinds = {}
    for name in selected:
        spec = get(name)
        kinds[name] = spec.kind
        why = spec.applies(sc)
        if why is not None:
            na.append((name, spec.kind, why))
            continue
        prop = spec.build(sc)
        if isinstance(prop, Invariant):
            invariants.append(prop)
        elif isinstance(prop, ActionProperty):
            actions.append(prop)
        elif isinstance(prop, Convergence):
            convergences.append(prop)
        elif isinstance(prop, Claim):
            claims.append(prop)
        else:
            raise TypeError(f"property {name} built {prop!r}")
    system = System(init_states=[model.init], rules=model.rules, invariants=invariants, actions=actions,
                    convergences=convergences, canonical=model.canonical, presentation=model.presentation,
                    name=sc.name, observers=model.observers, quotient=model.quotient,
                    independence=independence(sc, model, [i.name for i in invariants]))
    # Interchangeable worker nodes (model/symmetry.py): the search explores one state of each orbit.
    from model.symmetry import node_classes, node_symmetry, symmetry_note
    from model.topology import control_plane_nodes
    cp = control_plane_nodes(sc)
    rep = node_symmetry(sc, cp)
    system.meta["symmetry"] = symmetry_note(sc, cp)
    if rep is not None:
        permuted = {n for c in node_classes(sc, cp) for n in c}
        system.representative = rep
        system.symmetric_convergence = True
        system.fixed_instance = lambda inst: not any(isinstance(v, str) and v in permuted for _, v in inst[2])
    return Composed(system, model, kinds, na, claims)
