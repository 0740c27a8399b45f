"""The code's hygiene, held by tools: ruff (unused and undefined names, the bug patterns of pyproject.toml's
[tool.ruff.lint]) and import-linter (the layering of pyproject.toml's [tool.importlinter]: the command line over
the properties over the model over the generic engine; the cluster state and the kinds over no component;
nothing model/compose.py calls imports it back)."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def _tool(name: str) -> str:
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):
        path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: `pip install -e .` installs it (pyproject.toml)")
    return path


def test_ruff_finds_nothing():
    run = subprocess.run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_layers_hold():
    run = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
