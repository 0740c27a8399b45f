"""The command line: exit statuses and one clear message for bad input."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SCENARIOS

GOOD_HEAD = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: t}
spec: {}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "110"}}
"""


def kc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kubecheck", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT)


def test_exit_0_when_everything_holds(tmp_path):
    p = kc("verify", "--quiet", "--traces", str(tmp_path), os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 0, p.stderr
    assert "deployment-converges" in p.stdout and "holds" in p.stdout


def without_expect(name: str, folder) -> str:
    """A copy of built-in scenario `name` without its spec.expect block (its violations then exit 1)."""
    out = folder / f"{name}.yaml"
    out.write_text("\n".join(line for line in open(os.path.join(SCENARIOS, f"{name}.yaml")).read().splitlines()
                             if "expect:" not in line and "{verdict:" not in line) + "\n")
    return str(out)


def test_exit_1_writes_a_trace(tmp_path):
    p = kc("verify", "--quiet", "--traces", str(tmp_path), without_expect("tainted-only-room", tmp_path))
    assert p.returncode == 1
    trace = tmp_path / "tainted-only-room" / "deployment-converges.itf.json"
    assert trace.exists()
    doc = json.loads(trace.read_text())
    assert doc["#meta"]["property"] == "deployment-converges" and doc["states"][0]["#meta"]["action"] == "init"
    shown = kc("trace", "show", str(trace))
    assert shown.returncode == 0 and "default-scheduler.bind(" in shown.stdout
    rp = kc("trace", "replay", str(trace))
    assert rp.returncode == 0 and "replays" in rp.stdout


def test_exit_3_when_bounded_convergence_is_unknown(tmp_path):
    p = kc("verify", "--quiet", "--max-depth", "3", "--traces", str(tmp_path),
           os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 3
    assert "unknown (bounded)" in p.stdout and "holds (bounded)" in p.stdout


def test_json_contract(tmp_path):
    p = kc("verify", "--quiet", "--json", "-", "--traces", str(tmp_path),
           os.path.join(SCENARIOS, "web-two-nodes-crash.yaml"))
    data = json.loads(p.stdout)
    assert data["scenario"] == "web-two-nodes-crash"
    r = {x["property"]: x for x in data["results"]}
    assert set(r["deployment-converges"]) == {"property", "kind", "verdict", "bounded", "diagnosis", "trace",
                                              "states", "depth", "seconds"}
    assert r["deployment-converges"]["kind"] == "convergence" and r["deployment-converges"]["verdict"] == "violated"
    assert r["node-capacity"]["kind"] == "safety"


def test_not_applicable_is_listed(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(GOOD_HEAD)
    p = kc("verify", "--quiet", "--json", "-", "--traces", str(tmp_path), str(f))
    assert p.returncode == 0, p.stderr
    r = {x["property"]: x["verdict"] for x in json.loads(p.stdout)["results"]}
    assert r["deployment-converges"] == "not-applicable"


@pytest.mark.parametrize("body,expect", [
    ("kind: Cluster\napiVersion: kubecheck/v1alpha1\nmetadata: {name: x}\nspec: {check: {maxDepth: deep}}\n",
     "document 1 (Cluster x): spec.check.maxDepth: expected an integer, got 'deep'"),
    (GOOD_HEAD + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: three}\n",
     "document 3 (Deployment web): spec.replicas: expected an integer, got 'three'"),
    (GOOD_HEAD + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
     "spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{image: x}]}}}\n",
     "document 3 (Deployment web): spec.template.spec.containers[0].name: required field is missing"),
    (GOOD_HEAD + "---\napiVersion: v1\nkind: Node\nmetadata: {name: n2}\nstatus: {allocatable: {cpu: lots, memory: 1Gi}}\n",
     "document 3 (Node n2): status.allocatable.cpu: 'lots' is not a quantity"),
    (GOOD_HEAD + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
     "spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {"
     "topologySpreadConstraints: [{maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}], "
     "containers: [{name: c, image: x}]}}}\n",
     "document 3 (Deployment web): spec.template.spec.topologySpreadConstraints[0].maxSkew: must be at least 1, got 0"),
    (GOOD_HEAD.replace("spec: {}", "spec: {changes: [{rolloutStatus: {kind: ReplicaSet, name: web}}]}"),
     "document 1 (Cluster t): spec.changes[0].rolloutStatus.kind: waiting for the rollout of a ReplicaSet is not "
     "modelled; modelled: Deployment"),
    (GOOD_HEAD.replace("spec: {}", "spec: {operators: [{kind: Backup}]}"),
     "document 1 (Cluster t): spec.operators[0].kind: no CustomResourceDefinition of the scenario defines kind 'Backup'"),
    (GOOD_HEAD + "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
     "metadata: {name: backups.example.com}\nspec: {group: example.com, names: {plural: backups, kind: Backup}, "
     "subresources: {status: {}}, versions: [{name: v1}]}\n",
     "spec.subresources: unknown field: apiextensions.k8s.io/v1 has subresources per version: "
     "spec.versions[].subresources"),
    ("a: [1, 2\n", "not valid YAML"),
    (GOOD_HEAD.replace("kind: Cluster", "kind: Clutser"), "no Cluster document"),
])
def test_malformed_scenario_exit_2(tmp_path, body, expect):
    f = tmp_path / "bad.yaml"
    f.write_text(body)
    before = f.read_text()
    p = kc("verify", "--quiet", str(f))
    assert p.returncode == 2
    assert expect in p.stderr, p.stderr
    assert str(f) in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert f.read_text() == before


def test_unknown_field_is_an_error_naming_the_line_and_the_closest_field(tmp_path):
    """As kubectl's strict field validation: a typo is refused, not loaded silently as the default."""
    f = tmp_path / "s.yaml"
    f.write_text(GOOD_HEAD + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
                 "  replcas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n"
                 "    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: x}]}\n")
    before = f.read_text()
    p = kc("verify", "--quiet", "--traces", str(tmp_path), str(f))
    line = before.splitlines().index("  replcas: 3") + 1
    assert p.returncode == 2, p.stderr
    assert f"{f}:{line}: document 3 (Deployment web): spec.replcas: unknown field; did you mean replicas?" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and f.read_text() == before
    p = kc("verify", "--quiet", "--lenient", "--json", "-", "--traces", str(tmp_path), str(f))
    assert p.returncode in (0, 1, 3), p.stderr
    warnings = json.loads(p.stdout)["warnings"]
    assert any("spec.replcas: unknown field, ignored; did you mean replicas?" in w for w in warnings), warnings
    # The Cluster document has a schema of its own, checked the same way.
    f.write_text(GOOD_HEAD.replace("spec: {}", "spec: {behaviour: {expectation: false}}"))
    p = kc("verify", "--quiet", "--traces", str(tmp_path), str(f))
    assert p.returncode == 2 and "spec.behaviour.expectation: unknown field; did you mean expectations?" in p.stderr


def test_strict_makes_what_is_not_modelled_an_error(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(GOOD_HEAD + "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec:\n"
                 "  serviceName: web\n  ordinals: {start: 5}\n  selector: {matchLabels: {app: web}}\n  template:\n"
                 "    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: x}]}\n")
    p = kc("verify", "--quiet", "--json", "-", "--traces", str(tmp_path), str(f))
    assert p.returncode in (0, 1, 3), p.stderr
    w = json.loads(p.stdout)["warnings"]
    assert any("spec.ordinals: not modelled (ordinals start at 0): statefulset-converges" in x for x in w), w
    p = kc("verify", "--quiet", "--strict", "--traces", str(tmp_path), str(f))
    assert p.returncode == 2 and "spec.ordinals: not modelled" in p.stderr and "--strict" in p.stderr


def test_unknown_property_exit_2():
    p = kc("verify", "--property", "no-such-thing", os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 2 and "unknown property 'no-such-thing'" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("content,expect", [
    ("{not json", "not a JSON file"),
    ('{"#meta": {}, "vars": []}', "`states` is missing"),
    ('{"#meta": {}, "vars": [], "states": [{"x": 1}]}', "states[0]: `#meta.action` is missing"),
    ('{"#meta": {}, "vars": [], "states": [{"#meta": {"action": "init"}}]}', "scenario_text"),
])
def test_corrupt_trace_exit_2(tmp_path, content, expect):
    f = tmp_path / "t.itf.json"
    f.write_text(content)
    p = kc("trace", "replay", str(f))
    assert p.returncode == 2 and expect in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_missing_files_exit_2(tmp_path):
    assert kc("verify", str(tmp_path / "nope.yaml")).returncode == 2
    assert kc("trace", "show", str(tmp_path / "nope.json")).returncode == 2
    assert kc("verify").returncode == 2
    assert kc("verify", "--max-depth", "-1", "x.yaml").returncode == 2


def test_replay_notices_a_changed_model(tmp_path):
    kc("verify", "--quiet", "--traces", str(tmp_path), os.path.join(SCENARIOS, "tainted-only-room.yaml"))
    trace = tmp_path / "tainted-only-room" / "deployment-converges.itf.json"
    doc = json.loads(trace.read_text())
    doc["states"][2]["#meta"]["action"] = "replicaset.create_pod(rs=default/elsewhere)"
    trace.write_text(json.dumps(doc))
    rp = kc("trace", "replay", str(trace))
    assert rp.returncode == 1 and "step 2: the model no longer takes replicaset.create_pod(rs=default/elsewhere)" in rp.stdout


def test_properties_lists_the_catalog():
    p = kc("properties")
    assert p.returncode == 0
    for name in ("node-capacity", "taints-respected", "pod-single-node", "replicas-bounded", "deployment-converges"):
        assert name in p.stdout


def test_a_trace_that_no_longer_fails_is_removed(tmp_path):
    stale = tmp_path / "web-three-nodes" / "deployment-converges.itf.json"
    stale.parent.mkdir()
    stale.write_text(json.dumps({"#meta": {"description": "kubecheck counterexample: deployment-converges violated"},
                                 "vars": [], "states": [{}]}))   # one kubecheck wrote: a file of the user's stays
    other = tmp_path / "web-three-nodes" / "notes.txt"
    other.write_text("mine")
    assert kc("verify", "--quiet", "--traces", str(tmp_path), os.path.join(SCENARIOS, "web-three-nodes.yaml")).returncode == 0
    assert not stale.exists() and other.read_text() == "mine"


def test_render_a_trace_and_an_architecture(tmp_path):
    import shutil
    trace = tmp_path / "t"
    kc("verify", "--quiet", "--traces", str(trace), os.path.join(SCENARIOS, "leader-paused.yaml"))
    out = tmp_path / "trace.svg"
    p = kc("render", str(trace / "leader-paused" / "single-leader.itf.json"), "--out", str(out))
    assert p.returncode == 0, p.stderr
    svg = out.read_text()
    assert svg.startswith("<svg") and "leaderelection.lease_expires" in svg and "violation" in svg
    assert "kube-controller-manager-2" in svg
    arch = tmp_path / "arch.svg"
    p = kc("render", os.path.join(SCENARIOS, "zone-outage-stacked.yaml"), "--out", str(arch))
    if shutil.which("dot") is None:
        assert p.returncode == 2 and "apt-get install graphviz" in p.stderr
    else:
        assert p.returncode == 0, p.stderr
        import html
        text = html.unescape(arch.read_text())
        assert "zone a" in text and "kube-apiserver 3" in text and "node w-1" in text
        assert "etcd member etcd-1" in text and "load balancer" in text and "stacked etcd, HA" in text


def test_render_without_graphviz_says_so(tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no dot on this PATH
    p = subprocess.run([sys.executable, "-m", "kubecheck", "render", os.path.join(SCENARIOS, "web-three-nodes.yaml"),
                        "--out", str(tmp_path / "a.svg")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert p.returncode == 2 and "Graphviz's `dot` is not installed" in p.stderr and "Traceback" not in p.stderr


def test_junit_report(tmp_path):
    import xml.etree.ElementTree as ET
    out = tmp_path / "j.xml"
    # Without its expect block, the scenario's violations are failures.
    plain = without_expect("tainted-only-room", tmp_path)
    p = kc("verify", "--quiet", "--traces", str(tmp_path), "--junit", str(out),
           str(plain), os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 1
    root = ET.parse(out).getroot()
    suites = {s.get("name"): s for s in root}
    assert set(suites) == {"tainted-only-room", "web-three-nodes"}
    failed = [c.get("name") for c in suites["tainted-only-room"] if c.find("failure") is not None]
    assert sorted(failed) == ["deployment-converges", "n-plus-one-capacity", "stable-reconciliation"]
    assert "trace:" in suites["tainted-only-room"].find("testcase[@name='deployment-converges']/failure").text
    assert suites["web-three-nodes"].get("failures") == "0"


def test_review_puts_two_designs_side_by_side(tmp_path):
    p = kc("review", "--traces", str(tmp_path), "--json", "-", os.path.join(SCENARIOS, "kubelet-relist-cache.yaml"),
           os.path.join(SCENARIOS, "kubelet-relist-consistent.yaml"))
    assert p.returncode == 1, p.stderr
    data = json.loads(p.stdout)
    assert data["differ"] == ["pod-single-node", "no-time-travel"]
    row = next(r for r in data["properties"] if r["property"] == "pod-single-node")
    assert (row["a"], row["b"]) == ("violated", "holds") and row["cause"].startswith("A: pod default/db-0")
    same = kc("review", "--traces", str(tmp_path), os.path.join(SCENARIOS, "web-three-nodes.yaml"),
              os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert same.returncode == 0 and "the same verdicts" in same.stdout


def test_render_the_state_graph_of_a_small_run(tmp_path):
    import shutil
    out = tmp_path / "g.svg"
    p = kc("render", os.path.join(SCENARIOS, "tainted-only-room.yaml"), "--state-graph", "--out", str(out))
    if shutil.which("dot") is None:
        assert p.returncode == 2 and "dot" in p.stderr
        return
    assert p.returncode == 0, p.stderr
    import html
    svg = html.unescape(out.read_text())
    assert "17 states; red: deployment-converges (violated)" in svg and svg.count("#c62828") >= 5
    big = kc("render", os.path.join(SCENARIOS, "rolling-update-node-crash.yaml"), "--state-graph", "--out", str(out))
    assert big.returncode == 2 and "drawing is for small runs" in big.stderr


def test_progress_line_redraws_on_a_terminal_and_not_in_a_log():
    import io
    from kubecheck.cli import _progress_printer
    info = {"states": 12345, "depth": 7, "queue": 99, "states_per_second": 5000.0, "seconds": 3.0}

    class Tty(io.StringIO):
        def isatty(self):
            return True
    log, tty = io.StringIO(), Tty()
    for stream in (log, tty):
        progress, done = _progress_printer(stream, "web")
        progress(info)
        progress(info)
        done()
    assert log.getvalue() == "web: 12,345 states, depth 7, queue 99, 5,000 states/s, 3 s\n" * 2
    assert "\x1b" not in log.getvalue() and "\r" not in log.getvalue()
    assert tty.getvalue().count("\r\x1b[K") == 3 and "\n" not in tty.getvalue()


def test_first_violation_stops_early_with_the_same_counterexample(tmp_path):
    scenario = without_expect("rolling-update", tmp_path)
    full = kc("verify", "--quiet", "--json", "-", "--traces", str(tmp_path / "full"), scenario)
    early = kc("verify", "--quiet", "--json", "-", "--first-violation", "--traces", str(tmp_path / "early"), scenario)
    assert full.returncode == early.returncode == 1
    # With its expect block the full search gives what is expected (0); the early stop leaves the expected
    # holds of the convergence properties unknown (3).
    builtin = os.path.join(SCENARIOS, "rolling-update.yaml")
    assert kc("verify", "--quiet", "--traces", str(tmp_path / "b"), builtin).returncode == 0
    assert kc("verify", "--quiet", "--first-violation", "--traces", str(tmp_path / "b"), builtin).returncode == 3
    f, e = json.loads(full.stdout), json.loads(early.stdout)
    assert e["stats"]["stop_reason"] == "first-violation"
    assert e["stats"]["distinct_states"] < f["stats"]["distinct_states"] / 5
    fr, er = ({r["property"]: r for r in d["results"]} for d in (f, e))
    assert er["rollout-within-surge"]["verdict"] == "violated"
    ft = json.loads(open(fr["rollout-within-surge"]["trace"]).read())
    et = json.loads(open(er["rollout-within-surge"]["trace"]).read())
    assert [s["#meta"]["action"] for s in et["states"]] == [s["#meta"]["action"] for s in ft["states"]]
    assert er["deployment-converges"]["verdict"] == "unknown" and er["deployment-converges"]["bounded"]
    assert er["node-capacity"]["verdict"] == "holds" and er["node-capacity"]["bounded"]


def test_expected_verdicts_decide_the_exit_status(tmp_path):
    """spec.expect (DESIGN section 3): a known violation that still reproduces exits 0; a verdict that
    differs exits 1 naming it; an unknown property in expect exits 2; JUnit passes the expected violation."""
    src = open(os.path.join(SCENARIOS, "tainted-only-room.yaml")).read()
    f = tmp_path / "s.yaml"
    f.write_text(src)
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(tmp_path / "j.xml"), str(f))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "violated (as expected:" in p.stdout and "expect: every verdict as expected" in p.stdout
    junit = (tmp_path / "j.xml").read_text()
    assert "violated as expected" in junit and "<failure" not in junit
    f.write_text(src.replace("deployment-converges: {verdict: violated", "deployment-converges: {verdict: holds"))
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(tmp_path / "j.xml"), str(f))
    assert p.returncode == 1
    assert "UNEXPECTED: deployment-converges: expected holds, got violated" in p.stdout
    assert 'message="expected holds, got violated, trace ' in (tmp_path / "j.xml").read_text()
    f.write_text(src.replace("deployment-converges: {verdict: violated", "deployment-converge: {verdict: violated"))
    p = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), str(f))
    assert p.returncode == 2 and "spec.expect.deployment-converge: unknown property" in p.stderr
