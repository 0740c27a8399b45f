"""Nothing the user wrote is overwritten or deleted, nothing is written outside its folder, and an internal
error is one line with exit status 4 (issue: "it must never hurt its user")."""

import json
import os
import shutil

import pytest

from conftest import SCENARIOS
from test_cli import GOOD_HEAD, kc

SMALL = os.path.join(SCENARIOS, "tainted-only-room.yaml")   # violated: writes a trace


def copy_scenario(tmp_path, name="s.yaml"):
    dst = tmp_path / name
    shutil.copy(SMALL, dst)
    return dst


@pytest.mark.parametrize("flag", ["--report", "--json", "--junit"])
def test_an_output_flag_naming_the_scenario_is_refused(tmp_path, flag):
    s = copy_scenario(tmp_path)
    before = s.read_bytes()
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), str(s), flag, str(s))
    assert p.returncode == 2 and "is the scenario being checked" in p.stderr, p.stderr
    assert s.read_bytes() == before
    assert not (tmp_path / "t").exists(), "nothing runs before the outputs are checked"


def test_render_onto_its_own_input_is_refused(tmp_path):
    s = copy_scenario(tmp_path)
    before = s.read_bytes()
    p = kc("render", str(s), "--out", str(s))
    assert p.returncode == 2 and s.read_bytes() == before


def test_two_outputs_on_one_path_are_refused(tmp_path):
    out = tmp_path / "out"
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), SMALL, "--json", str(out), "--junit", str(out))
    assert p.returncode == 2 and "writes the same file" in p.stderr
    assert not out.exists()


def test_an_output_in_a_missing_folder_fails_before_the_run(tmp_path):
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), SMALL, "--json", str(tmp_path / "no" / "r.json"))
    assert p.returncode == 2 and "does not exist" in p.stderr
    assert not (tmp_path / "t").exists()


def test_traces_naming_a_file_is_refused(tmp_path):
    f = tmp_path / "f"
    f.write_text("mine")
    p = kc("verify", "--quiet", "--traces", str(f), SMALL)
    assert p.returncode == 2 and "is a file, not a folder" in p.stderr and f.read_text() == "mine"


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", "UPPER", "x" * 300, "a..b", "-a"])
def test_a_cluster_name_that_is_not_a_dns_subdomain_is_refused(tmp_path, name):
    s = tmp_path / "s.yaml"
    s.write_text(GOOD_HEAD.replace("metadata: {name: t}", "metadata: {name: " + json.dumps(name) + "}"))
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), str(s))
    assert p.returncode == 2 and "DNS-1123 subdomain" in p.stderr, p.stderr
    assert len(p.stderr.splitlines()) == 1 and name not in p.stderr or len(name) < 60
    assert not (tmp_path / "escape").exists() and not os.path.exists("/tmp/abs")


def test_two_scenarios_with_one_name_are_refused(tmp_path):
    a, b = copy_scenario(tmp_path, "a.yaml"), copy_scenario(tmp_path, "b.yaml")
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), str(a), str(b))
    assert p.returncode == 2 and "both scenario 'tainted-only-room'" in p.stderr
    assert not (tmp_path / "t").exists()


def test_a_users_file_where_a_trace_goes_is_left_alone(tmp_path):
    traces = tmp_path / "t"
    mine = traces / "tainted-only-room" / "deployment-converges.itf.json"
    mine.parent.mkdir(parents=True)
    mine.write_text('{"my": "notes"}')
    p = kc("verify", "--quiet", "--traces", str(traces), SMALL)
    assert p.returncode == 0    # its violations are the expected ones
    assert mine.read_text() == '{"my": "notes"}'
    assert "not a trace kubecheck wrote" in p.stderr
    # Its own traces it does write, and replaces on the next run.
    own = traces / "tainted-only-room" / "stable-reconciliation.itf.json"
    assert json.loads(own.read_text())["#meta"]["description"].startswith("kubecheck counterexample")


def test_stale_cleanup_deletes_only_kubecheck_traces(tmp_path):
    traces = tmp_path / "t"
    folder = traces / "web-three-nodes"
    folder.mkdir(parents=True)
    mine = folder / "deployment-converges.itf.json"      # holds there: kubecheck would clean up its own
    mine.write_text('{"my": "notes"}')
    svg = folder / "deployment-converges.svg"
    svg.write_text("<svg/>")
    p = kc("verify", "--quiet", "--traces", str(traces), os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 0
    assert mine.exists() and svg.exists() and "left as it is" in p.stderr
    # A trace kubecheck wrote, for a property that now holds, is removed with its diagram.
    ours = {"#meta": {"description": "kubecheck counterexample: deployment-converges violated in scenario x"},
            "vars": [], "states": [{}]}
    mine.write_text(json.dumps(ours))
    p = kc("verify", "--quiet", "--traces", str(traces), os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 0 and not mine.exists() and not svg.exists()


def test_outputs_are_written_whole(tmp_path):
    out = tmp_path / "r.json"
    out.write_text("previous")
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), SMALL, "--json", str(out))
    assert p.returncode == 0 and json.loads(out.read_text())["scenario"] == "tainted-only-room"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".kubecheck-")], "no temporary file is left"


def test_an_internal_error_is_one_line_with_exit_4(monkeypatch, capsys):
    from kubecheck import cli

    def broken(args):
        raise RuntimeError("something the model did not expect\nsecond line")
    monkeypatch.setattr(cli, "cmd_properties", broken)
    assert cli.main(["properties"]) == 4
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "internal error: RuntimeError" in err and "--debug" in err
    assert "Traceback" not in err
    with pytest.raises(RuntimeError):
        cli.main(["properties", "--debug"])


def test_version():
    p = kc("--version")
    assert p.returncode == 0 and p.stdout.startswith("kubecheck ")


def test_sigterm_stops_with_the_statistics_so_far_and_exit_130(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from conftest import ROOT
    out = tmp_path / "r.json"
    p = subprocess.Popen([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--traces", str(tmp_path / "t"),
                          "--json", str(out), os.path.join(SCENARIOS, "job-restart-lagging.yaml")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    time.sleep(6)
    p.send_signal(signal.SIGTERM)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "kubecheck: interrupted: job-restart-lagging explored" in stderr
    data = json.loads(out.read_text())        # what was found is written, as a bounded run
    assert data["stats"]["stop_reason"] == "interrupted" and data["stats"]["distinct_states"] > 0
    assert {r["verdict"] for r in data["results"]} <= {"holds", "unknown", "violated", "not-applicable"}


# --- hostile input: one line, exit 2, bounded time and memory ------------------------------------------

def _verify_text(tmp_path, data: bytes, name="s.yaml"):
    s = tmp_path / name
    s.write_bytes(data)
    return kc("verify", "--quiet", "--traces", str(tmp_path / "t"), str(s))


@pytest.mark.parametrize("data, phrase", [
    (GOOD_HEAD.encode("latin-1") + "# caf\xe9\n".encode("latin-1"), "not UTF-8 (byte 0xe9"),
    (GOOD_HEAD.encode("utf-16"), "is UTF-16; save it as UTF-8"),
    ((GOOD_HEAD + "---\nkind: Node\nkind: Pod\n").encode(), "duplicate key 'kind'"),
    ((GOOD_HEAD.replace('cpu: "2"', "cpu: 1e9999999")).encode(), "too large"),
    ((GOOD_HEAD.replace('cpu: "2"', "cpu: .inf")).encode(), "not a finite quantity"),
    ((GOOD_HEAD.replace('cpu: "2"', "cpu: .nan")).encode(), "not a finite quantity"),
    ((GOOD_HEAD.replace('cpu: "2"', 'cpu: "-1"')).encode(), "is negative"),
    ((GOOD_HEAD + "---\n" + "[" * 5000 + "]" * 5000 + "\n").encode(), ""),
])
def test_malformed_bytes_and_yaml_exit_2_with_one_line(tmp_path, data, phrase):
    p = _verify_text(tmp_path, data)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1 and len(p.stderr) < 1000
    assert phrase in p.stderr


def test_a_byte_order_mark_is_accepted(tmp_path):
    p = _verify_text(tmp_path, b"\xef\xbb\xbf" + GOOD_HEAD.encode())
    assert p.returncode == 0, p.stderr


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    bomb = GOOD_HEAD.replace("metadata: {name: n1}", "metadata: {name: n1, annotations: {bomb: 'x'}}") + \
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n" + "\n".join("  " + l for l in lines) + "\n"
    import time
    t = time.perf_counter()
    p = _verify_text(tmp_path, bomb.encode())
    assert p.returncode == 2 and "alias" in p.stderr and len(p.stderr) < 1000, p.stderr
    assert time.perf_counter() - t < 30


@pytest.mark.parametrize("path, phrase", [("/dev/zero", "not a regular file"), ("/", "is a folder")])
def test_devices_and_folders_are_not_read(path, phrase):
    p = kc("verify", "--quiet", path)
    assert p.returncode == 2 and phrase in p.stderr


def test_a_scenario_from_standard_input(tmp_path):
    import subprocess
    import sys
    from conftest import ROOT
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--traces", str(tmp_path), "-"],
                       input=GOOD_HEAD, capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("content, phrase", [
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"), (b"\xff\xfe{}", "UTF-16"), (b"\x80{}", "not UTF-8")])
def test_hostile_traces_exit_2(tmp_path, content, phrase):
    t = tmp_path / "t.itf.json"
    t.write_bytes(content)
    for action in ("show", "replay"):
        p = kc("trace", action, str(t))
        assert p.returncode == 2 and phrase in p.stderr and "Traceback" not in p.stderr, p.stderr
    p = kc("trace", "show", "/dev/zero")
    assert p.returncode == 2 and "not a regular file" in p.stderr


@pytest.mark.parametrize("cluster_spec, phrase", [
    ("controlPlane: {leaderElection: {leaseDuration: 0}}", "leaseDuration: must be greater than zero"),
    ("controlPlane: {leaderElection: {leaseDuration: 10, renewDeadline: 12}}", "must be greater than renewDeadline"),
    ("controlPlane: {leaderElection: {renewDeadline: 2, retryPeriod: 2}}", "must be greater than 1.2 x retryPeriod"),
    ("controlPlane: {leaderElection: {maxClockRateRatio: 0.5}}", "must be 1 or more"),
    ("controlPlane: {leaderElection: {maxPause: -1}}", "must be 0 or more"),
    ("controlPlane: {leaderElection: {maxPause: .nan}}", "expected a finite number"),
    ("changes: [{scale: {kind: Deployment, name: web, replicas: -2}}]", "must be 0 or more, got -2"),
    ("changes: [{scale: {kind: Deployment, name: web, replicas: 99999999999}}]", "32-bit"),
])
def test_nonsense_in_the_cluster_document_is_refused(tmp_path, cluster_spec, phrase):
    p = _verify_text(tmp_path, GOOD_HEAD.replace("spec: {}", "spec: {" + cluster_spec + "}").encode())
    assert p.returncode == 2 and phrase in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_timeout_bounds_the_search_and_the_z3_claims(tmp_path):
    import sys
    import time
    sys.path.insert(0, os.path.join(os.path.dirname(SCENARIOS), "bench"))
    from realistic import cluster
    s = tmp_path / "big.yaml"
    s.write_text(cluster(3, 3))
    t = time.perf_counter()
    p = kc("verify", "--quiet", "--timeout", "3", "--json", "-", "--traces", str(tmp_path / "t"), str(s))
    took = time.perf_counter() - t
    assert p.returncode == 3, p.stderr
    data = json.loads(p.stdout)
    assert data["stats"]["stop_reason"] == "timeout"
    r = {x["property"]: x for x in data["results"]}
    assert r["n-plus-one-capacity"]["verdict"] == "unknown" and "--timeout" in r["n-plus-one-capacity"]["diagnosis"]
    assert took < 3 + 15, took   # start-up, composing and the report on top of the 3 s


def test_random_strategy_keeps_to_the_timeout(tmp_path):
    import time
    t = time.perf_counter()
    p = kc("verify", "--quiet", "--strategy", "random", "--max-examples", "100000", "--timeout", "2", "--json", "-",
           "--traces", str(tmp_path), os.path.join(SCENARIOS, "rolling-update.yaml"))
    assert time.perf_counter() - t < 2 + 20
    assert json.loads(p.stdout)["stats"]["stop_reason"] == "timeout"


def test_outputs_are_written_after_each_scenario(tmp_path):
    """A run killed by a CI timeout keeps the report of the scenarios it finished."""
    import signal
    import subprocess
    import sys
    import time
    from conftest import ROOT
    out, junit = tmp_path / "r.json", tmp_path / "j.xml"
    p = subprocess.Popen([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--traces", str(tmp_path / "t"),
                          "--json", str(out), "--junit", str(junit), os.path.join(SCENARIOS, "tainted-only-room.yaml"),
                          os.path.join(SCENARIOS, "rolling-update-node-crash.yaml")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for _ in range(100):
        if out.exists():
            break
        time.sleep(0.2)
    p.send_signal(signal.SIGKILL)   # no chance to write anything more
    p.communicate(timeout=60)
    data = json.loads(out.read_text())
    assert [d["scenario"] for d in data] == ["tainted-only-room"] and junit.exists()


@pytest.mark.parametrize("flag, value, phrase", [
    ("--timeout", "nan", "expected a positive number of seconds"),
    ("--timeout", "inf", "expected a positive number of seconds"),
    ("--max-memory", "lots", "expected a size from 1Mi to 4Ei"),
    ("--max-memory", "100", "expected a size from 1Mi to 4Ei"),
])
def test_bounds_that_bound_nothing_are_refused(tmp_path, flag, value, phrase):
    p = kc("verify", flag, value, os.path.join(SCENARIOS, "rolling-update.yaml"))
    assert p.returncode == 2 and phrase in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_max_memory_stops_the_search_and_the_report_says_so(tmp_path):
    p = kc("verify", "--quiet", "--max-memory", "1Mi", "--reduction", "none", "--json", "-",
           "--traces", str(tmp_path), os.path.join(SCENARIOS, "rolling-update-node-crash.yaml"))
    data = json.loads(p.stdout)
    assert data["stats"]["stop_reason"] == "max-memory" and not data["stats"]["complete"]
    r = {x["property"]: x for x in data["results"]}
    assert r["pod-single-node"]["verdict"] == "holds" and r["pod-single-node"]["bounded"]
    assert "max-memory reached" in r["pod-single-node"]["diagnosis"]


def test_slow_phases_before_and_after_the_search_are_named():
    """Loading, composing and the Z3 claims print nothing while quick, and say what took the time when not."""
    import io
    from kubecheck.cli import _Phases
    out = io.StringIO()
    phases = _Phases(False, "big", out)
    phases.start("loading")
    phases.end()
    assert out.getvalue() == ""            # under a second: nothing
    phases.SLOW = 0.0
    phases.start("deciding n-plus-one-capacity with Z3")
    phases.start("composing")              # the next phase ends the one before
    phases.end()
    assert out.getvalue().splitlines() == [
        "big: deciding n-plus-one-capacity with Z3 took 0.0 s", "big: composing took 0.0 s"]
    quiet = io.StringIO()
    q = _Phases(True, "big", quiet)
    q.SLOW = 0.0
    q.start("loading")
    q.end()
    assert quiet.getvalue() == ""


def test_a_trace_with_control_characters_draws_an_svg_that_opens():
    """What a trace holds is input: a control character (which XML cannot hold) is drawn as an escape."""
    import xml.etree.ElementTree as ET
    from conftest import ROOT
    from kubecheck.render import trace_svg
    with open(os.path.join(ROOT, "tests", "fuzz_seeds",
                           "rs-stale-cache-no-expectations--replicas-bounded.itf.json")) as f:
        doc = json.load(f)
    doc["states"][1]["#meta"]["action"] += "\x1b[2J\x07"
    doc["#meta"]["diagnosis"] = "pods\x00 <3>"
    svg = trace_svg(doc)
    ET.fromstring(svg)   # well-formed
    assert "\\x1b[2J\\x07" in svg and "\x1b" not in svg


def test_a_change_may_delete_a_cluster_scoped_object_and_a_why_may_span_lines():
    """A Namespace has no namespace, whatever the change says (it used to be looked up as default/team and
    refused); a folded `why` is shown on one line, its line breaks as spaces, not as escapes."""
    from model.scenario import parse_scenario
    text = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: nsdel}
spec:
  changes:
    - delete: {kind: Namespace, name: team}
    - delete: {kind: Namespace, namespace: "", name: team}
  expect:
    node-capacity:
      verdict: holds
      why: >
        folded
        text
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
"""
    sc = parse_scenario(text)
    assert [(c.kind, c.namespace, c.name) for c in sc.changes] == [("Namespace", "", "team")] * 2
    assert [c.describe() for c in sc.changes] == ["delete Namespace team"] * 2
    assert sc.expect == (("node-capacity", "holds", "folded text"),)
