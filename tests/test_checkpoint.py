"""Checkpoints (explorer/checkpoint.py, --checkpoint/--resume): a search interrupted and resumed from its last
checkpoint reaches the same states, transitions and verdicts as one that ran through."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SCENARIOS
from explorer import Rule, check, search
from explorer.checkpoint import Checkpoint
from explorer.examples.kubedeploy import kubedeploy


def _interrupting(system, after: int):
    """`system` whose first rule raises KeyboardInterrupt (Ctrl-C) on its `after`-th call."""
    calls = [0]
    first = system.rules[0]

    def fn(s):
        calls[0] += 1
        if calls[0] == after:
            raise KeyboardInterrupt
        return first.fn(s)
    return system.__class__(**dict(vars(system), rules=[Rule(first.name, fn, first.fair)] + list(system.rules[1:])))


def test_an_interrupted_search_resumes_to_the_same_counts(tmp_path):
    whole = search(kubedeploy(3, 3, 2), symmetry=False)
    assert whole.stats.distinct_states == 3289          # TLC's count
    cut = search(_interrupting(kubedeploy(3, 3, 2), 2000), symmetry=False,
                 checkpoint=Checkpoint(str(tmp_path), "kd", every=0.0))
    assert cut.stats.stop_reason == "interrupted" and cut.stats.distinct_states < 3289
    ck = Checkpoint(str(tmp_path), "kd", every=0.0, resume=True)
    again = search(kubedeploy(3, 3, 2), symmetry=False, checkpoint=ck)
    assert 0 < ck.resumed_from < 3289
    assert (again.stats.distinct_states, again.stats.transitions, again.stats.complete) == \
        (whole.stats.distinct_states, whole.stats.transitions, True)
    assert list(again.graph.parent) == list(whole.graph.parent)


def test_a_resumed_check_gives_the_same_verdicts_and_fair_graph(tmp_path):
    """With convergence properties the fair edges are part of the checkpoint: the verdicts (a stuck state
    and a safety property here) are those of an uninterrupted check."""
    from kubecheck.compose import compose
    from model.scenario import load_scenario
    sc = load_scenario(os.path.join(SCENARIOS, "web-two-nodes-crash.yaml"))
    system = compose(sc).system
    whole = check(system)
    cut = check(_interrupting(system, 60), checkpoint=Checkpoint(str(tmp_path), "w", every=0.0))
    assert cut.stats.stop_reason == "interrupted"
    again = check(system, checkpoint=Checkpoint(str(tmp_path), "w", every=0.0, resume=True))
    assert (again.stats.distinct_states, again.stats.transitions) == \
        (whole.stats.distinct_states, whole.stats.transitions)
    assert [(v.prop, v.verdict, v.diagnosis) for v in again.verdicts] == \
        [(v.prop, v.verdict, v.diagnosis) for v in whole.verdicts]
    assert "deployment-converges" in {v.prop for v in again.verdicts if v.verdict == "violated"}


def test_a_checkpoint_of_another_search_is_not_used(tmp_path):
    search(kubedeploy(3, 3, 2), symmetry=False, checkpoint=Checkpoint(str(tmp_path), "kd", every=0.0))
    ck = Checkpoint(str(tmp_path), "kd", every=0.0, resume=True)
    res = search(kubedeploy(3, 3, 2), symmetry=False, max_depth=5, checkpoint=ck)   # other bounds
    assert ck.resumed_from is None and res.stats.distinct_states < 3289
    # A damaged file is said so and ignored.
    for f in os.listdir(tmp_path):
        (tmp_path / f).write_bytes(b"not a pickle")
    ck = Checkpoint(str(tmp_path), "kd", every=0.0, resume=True)
    assert search(kubedeploy(3, 3, 2), symmetry=False, checkpoint=ck).stats.distinct_states == 3289
    assert ck.resumed_from is None and "could not be read" in ck.note


def _kc(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "kubecheck", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})), **kw)


def test_sigterm_then_resume_on_the_command_line(tmp_path):
    scenario = os.path.join(SCENARIOS, "job-restart-lagging.yaml")
    common = ["verify", "--quiet", "--traces", str(tmp_path / "t"), "--max-depth", "17", scenario]
    p = _kc(*common, "--json", str(tmp_path / "whole.json"))
    p.communicate(timeout=300)
    p = _kc(*common, "--checkpoint", str(tmp_path / "ck"), env={"KUBECHECK_CHECKPOINT_SECONDS": "0.5"})
    time.sleep(4)   # the whole run takes about 12 s here
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert f"--resume {tmp_path / 'ck'}" in err and "Traceback" not in err
    p = _kc(*common, "--resume", str(tmp_path / "ck"), "--json", str(tmp_path / "again.json"))
    _, err = p.communicate(timeout=300)
    assert "resumed from a checkpoint of" in err
    whole, again = (json.loads((tmp_path / f).read_text()) for f in ("whole.json", "again.json"))
    assert (again["stats"]["distinct_states"], again["stats"]["transitions"]) == \
        (whole["stats"]["distinct_states"], whole["stats"]["transitions"])
    assert [(r["property"], r["verdict"]) for r in again["results"]] == \
        [(r["property"], r["verdict"]) for r in whole["results"]]


@pytest.mark.parametrize("flags,msg", [
    (["--checkpoint", "FILE"], "not a folder"),
    (["--resume", "MISSING"], "no such folder"),
    (["--checkpoint", "A", "--resume", "B"], "different folders"),
])
def test_checkpoint_folders_are_checked_before_the_run(tmp_path, flags, msg):
    (tmp_path / "FILE").write_text("mine")
    (tmp_path / "B").mkdir()
    flags = [str(tmp_path / f) if f.isupper() else f for f in flags]
    p = _kc("verify", "--quiet", "--traces", str(tmp_path / "t"), *flags,
            os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and msg in err, err
    assert (tmp_path / "FILE").read_text() == "mine"
