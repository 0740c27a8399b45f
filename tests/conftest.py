import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = os.path.join(ROOT, "scenarios")


@pytest.fixture
def scenario_path():
    def get(name: str) -> str:
        return os.path.join(SCENARIOS, f"{name}.yaml")
    return get


def assert_trace_of(system, trace) -> None:
    """Every step of `trace` is a step of `system` with its label (compared in canonical form), and a
    lasso closes: what a trace found by a reduced search must be of the system as it is."""
    canon = (system.quotient if getattr(trace, "quotient", False) else system.canonical) or (lambda s: s)
    for i in range(1, len(trace.states)):
        want = canon(trace.states[i])
        assert any(lab == trace.labels[i] and canon(nxt) == want
                   for rule in system.rules for lab, nxt in rule.fn(trace.states[i - 1])), (i, trace.labels[i])
    if trace.loop is not None:
        assert canon(trace.states[trace.loop]) == canon(trace.states[-1])
