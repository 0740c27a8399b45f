"""The pytest plugin (kubecheck/pytest_plugin.py), used as a user would: a test suite of their own, run by pytest in
a process of its own, with the plugin loaded as the `pytest11` entry point loads it."""

import os
import shutil
import subprocess
import sys

try:
    import tomllib
except ImportError:   # Python 3.10
    tomllib = None

from conftest import ROOT, SCENARIOS


def _suite(tmp_path, test_text: str, *extra: str, scenario: str = "leader-paused"):
    """Run pytest on a user's suite of one test file beside a copy of leader-paused (84 states, single-leader
    violated by a paused leader) and a malformed scenario."""
    shutil.copy(os.path.join(SCENARIOS, scenario + ".yaml"), tmp_path / "cluster.yaml")
    (tmp_path / "broken.yaml").write_text("apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: b}\n"
                                          "spec: {faults: {budget: lots}}\n")
    (tmp_path / "test_mine.py").write_text(test_text)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # `-p no:kubecheck` then `-p kubecheck.pytest_plugin`: the plugin once, whether or not this checkout's entry
    # point is installed.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:kubecheck",
                          "-p", "kubecheck.pytest_plugin", "--basetemp", str(tmp_path / "base"), *extra,
                          str(tmp_path / "test_mine.py")],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    return run.returncode, run.stdout + run.stderr


def test_the_fixture_passes_on_the_scenarios_own_expectations_and_fails_with_the_trace(tmp_path):
    code, out = _suite(tmp_path, (
        "def test_as_the_scenario_expects(kubecheck_verify):\n"
        "    report = kubecheck_verify('cluster.yaml')\n"
        "    assert report.verdicts['single-leader'] == 'violated'\n"
        "    assert report.verdicts['pod-single-node'] == 'holds'\n"
        "\n"
        "def test_a_leader_i_hoped_was_single(kubecheck_verify):\n"
        "    kubecheck_verify('cluster.yaml', expect={'single-leader': 'holds'}, properties=['single-leader'])\n"),
        "--kubecheck-traces", str(tmp_path / "kept"))
    assert code == 1 and "1 failed, 1 passed" in out, out
    assert "single-leader: expected holds, got violated" in out
    assert "made a leader-only write" in out            # the diagnosis
    trace = tmp_path / "kept" / "leader-paused" / "single-leader.itf.json"
    assert f"trace: {trace}" in out and trace.exists()
    assert "Traceback" not in out
    shown = subprocess.run([sys.executable, "-m", "kubecheck", "trace", "show", str(trace)], capture_output=True,
                           text=True, cwd=ROOT)
    assert shown.returncode == 0 and "single-leader" in shown.stdout
    assert not (tmp_path / "traces").exists()          # nothing written where the user did not say


def test_the_marker_checks_before_the_body_and_names_what_is_wrong(tmp_path):
    code, out = _suite(tmp_path, (
        "import pytest\n"
        "@pytest.mark.kubecheck('cluster.yaml', expect={'single-leader': 'violated'}, properties=['single-leader'])\n"
        "def test_marked_and_met():\n"
        "    pass\n"
        "\n"
        "@pytest.mark.kubecheck('cluster.yaml', expect={}, properties=['single-leader'])\n"
        "def test_marked_expecting_every_property_to_hold():\n"
        "    pass\n"
        "\n"
        "@pytest.mark.kubecheck('broken.yaml')\n"
        "def test_marked_on_a_malformed_scenario():\n"
        "    pass\n"
        "\n"
        "@pytest.mark.kubecheck('cluster.yaml', expect={'single-leaders': 'holds'})\n"
        "def test_marked_with_a_misspelt_property():\n"
        "    pass\n"))
    assert code == 1 and "3 failed, 1 passed" in out, out
    assert "single-leader: expected holds, got violated" in out
    assert "spec.faults.budget" in out                  # the loader's own message
    assert "unknown property 'single-leaders'" in out
    assert "Traceback" not in out and "During handling" not in out
    # By default the traces go under pytest's temporary folder, never into the user's tree.
    assert (tmp_path / "base" / "kubecheck-traces" / "leader-paused" / "single-leader.itf.json").exists()
    assert not (tmp_path / "traces").exists()


def test_the_plugin_is_a_pytest11_entry_point():
    """What makes `pip install kubecheck` enough: pytest loads the plugin by its entry point."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        text = f.read().decode()
    if tomllib is not None:
        points = tomllib.loads(text)["project"]["entry-points"]["pytest11"]
        assert points == {"kubecheck": "kubecheck.pytest_plugin"}
    else:
        assert 'kubecheck = "kubecheck.pytest_plugin"' in text


def test_the_readmes_example_runs_as_written(tmp_path):
    """README's "From your own pytest suite" example, on rolling-update (its surge overshoot expected, no pod on
    two nodes): both tests pass."""
    import re
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("\n### From your own pytest suite\n", 1)[1].split("\n## ", 1)[0]
    example, = re.findall(r"```python\n(.*?)```", section, re.S)
    code, out = _suite(tmp_path, example, "--strict-markers", scenario="rolling-update")
    assert code == 0 and "2 passed" in out, out
    # And where the cluster is not the one hoped for, the example fails, naming the verdict.
    code, out = _suite(tmp_path, example, scenario="rollout-status-observed-generation")
    assert code == 1 and "rollout-within-surge: expected violated, got holds" in out, out
