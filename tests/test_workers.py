"""`verify --workers N`: several scenarios checked at once give the same results as one process."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SCENARIOS
from test_cli import kc

# Violations with traces (lassos and safety), expected verdicts, a scenario that only holds, a Z3 claim.
SOME = ["tainted-only-room", "rs-workqueue-shared-key", "web-three-nodes", "etcd-zones-aab", "lease-paused-leader"]


def _untimed(value):
    """A JSON report without what differs from run to run (times) or by folder (the traces' paths)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in ("seconds", "states_per_second", "finished")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"^.*?/traces-\d/", "TRACES/", value)
    return value


def _files(folder):
    return {os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
            for d, _, fs in os.walk(folder) for f in fs}


def test_workers_give_the_results_of_one_process(tmp_path):
    runs = []
    for n in (1, 2):
        traces = tmp_path / f"traces-{n}"
        p = kc("verify", "--quiet", "--workers", str(n), "--traces", str(traces), "--json", str(tmp_path / f"{n}.json"),
               *[os.path.join(SCENARIOS, f"{s}.yaml") for s in SOME])
        assert p.returncode == 0, p.stderr
        runs.append((p, json.loads((tmp_path / f"{n}.json").read_text()), _files(traces)))
    (one, one_json, one_traces), (two, two_json, two_traces) = runs
    assert [r["scenario"] for r in two_json] == SOME   # in the order of the command line
    assert _untimed(one_json) == _untimed(two_json)
    assert one_traces and one_traces == two_traces     # the same counterexamples, byte for byte
    untimed = lambda text: re.sub(r"[\d.,]+ (s|states/s)\b|traces-\d", "", text)
    assert untimed(one.stdout) == untimed(two.stdout)
    assert one.stdout.count("summary:") == 1 and two.stdout.splitlines()[-1].startswith("summary: 5 scenarios")


@pytest.mark.parametrize("value", ["0", "65", "two", "-1"])
def test_a_bad_number_of_workers_is_refused(value):
    p = kc("verify", "--workers", value, os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 2 and "--workers" in p.stderr and "Traceback" not in p.stderr


def test_an_interrupted_run_with_workers_stops_them_and_keeps_what_finished(tmp_path):
    """SIGTERM (a CI timeout) while two workers search: exit 130, the finished scenario reported, the others
    named as not checked, and no worker left running."""
    marker = str(tmp_path / "traces-marker")
    cmd = [sys.executable, "-m", "kubecheck", "verify", "--quiet", "--workers", "2", "--traces", marker,
           *[os.path.join(SCENARIOS, f"{s}.yaml") for s in ("web-three-nodes", "large-cluster", "rolling-update-node-crash")]]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(_children(proc.pid)) < 2:
        time.sleep(0.1)
    time.sleep(4.0)   # web-three-nodes (under a second) is done; large-cluster (half a minute) is not
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "scenario web-three-nodes" in out and "scenario large-cluster" not in out
    assert "interrupted; not checked:" in err and "large-cluster.yaml" in err
    time.sleep(0.5)
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and marker in _cmdline(pid)]
    assert not left, "worker processes outlived the command"


def _children(pid: int) -> list:
    out = []
    for q in os.listdir("/proc"):
        if q.isdigit():
            try:
                with open(f"/proc/{q}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(q)
            except (OSError, IndexError, ValueError):
                pass
    return out


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def test_a_max_memory_below_the_process_size_is_warned(tmp_path):
    """--max-memory smaller than what the interpreter holds before any search: each search stops at its first
    state, and the run says why before it starts (and not when the bound is within reach)."""
    scenario = os.path.join(SCENARIOS, "web-three-nodes.yaml")
    p = kc("verify", "--quiet", "--max-memory", "2Mi", "--traces", str(tmp_path), scenario)
    assert p.returncode == 3 and "cut short: max-memory" in p.stdout
    assert "--max-memory 2.0 MiB is below what this process already holds" in p.stderr
    p = kc("verify", "--quiet", "--max-memory", "4Gi", "--traces", str(tmp_path), scenario)
    assert p.returncode == 0 and "--max-memory" not in p.stderr
