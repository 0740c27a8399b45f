import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = os.path.join(ROOT, "scenarios")


@pytest.fixture
def scenario_path():
    def get(name: str) -> str:
        return os.path.join(SCENARIOS, f"{name}.yaml")
    return get
