"""The property catalog: every property by its stable name (DESIGN section 5).

A property is registered with its name, its kind ("safety", "convergence",
"ha"), a docstring that says what it means for a cluster, a test of whether
it applies to a scenario, and a builder that turns it into an explorer
property for that scenario.  Names are never reused for another meaning.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from model.scenario import Scenario


@dataclass(frozen=True)
class PropertySpec:
    name: str
    kind: str                                   # "safety" | "convergence" | "ha"
    doc: str
    applies: Callable[[Scenario], Optional[str]]  # None if it applies, else why not
    build: Callable[[Scenario], object]         # -> explorer Invariant / ActionProperty / Convergence

    @property
    def summary(self) -> str:
        return self.doc.strip().split("\n\n")[0].replace("\n", " ")


CATALOG: Dict[str, PropertySpec] = {}


def register(name: str, kind: str, applies: Callable[[Scenario], Optional[str]]):
    """Decorator: register `build(scenario)` as property `name`; its docstring is the property's."""
    def deco(build):
        if name in CATALOG:
            raise ValueError(f"property {name!r} is registered twice")
        CATALOG[name] = PropertySpec(name, kind, inspect.getdoc(build) or "", applies, build)
        return build
    return deco


def always(sc: Scenario) -> Optional[str]:
    return None


def all_properties() -> List[PropertySpec]:
    _load()
    return list(CATALOG.values())


def get(name: str) -> Optional[PropertySpec]:
    _load()
    return CATALOG.get(name)


def _load() -> None:
    from . import convergence, ha, networking, safety  # noqa: F401  (registers)
