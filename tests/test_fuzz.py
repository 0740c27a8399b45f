"""Fuzzing the inputs (issue 17, item 5): malformed scenarios and traces never make an internal error.

Hypothesis mutates valid seeds (the built-in scenarios, the manifest sets of tests/manifests, the traces of
tests/fuzz_seeds/) by type, value, structure and bytes (tests/fuzzing.py), and runs each through the command
line in this process: `verify` with small bounds, `trace show`, `trace replay` and `render` of a trace.  The
oracle: exit 0, 1, 2 or 3, never 4 nor an exception; for 2 one short line naming the problem; no raw control
character on either stream; each call within 20 s and without raising the peak resident memory by 300 MiB.

The default run is deterministic (derandomize): 600 fuzzed scenarios, 600 plausible ones and 200 traces (with
the regression examples, about 1,400 inputs and 1,800 calls; about 30 s), and prints how many it tried.
Longer ones:

    KUBECHECK_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest -q tests/test_fuzz.py   # 3,000 + 3,000 + 1,000
    .venv/bin/python bench/fuzz.py --scenarios 6000 --plausible 6000 --traces 2000   # counts by exit status

The seed traces were written by `kubecheck verify scenarios/<name>.yaml --traces DIR` (etcd-zones-aab,
nodename-noexecute-loop, rs-stale-cache-no-expectations, operator-no-status-subresource,
endpointslice-no-tracker) before the ADR-015 encoding of values (kubecheck still reads and replays such
traces), and the two named adr015-* with it (the decoding of #map, #set, #tup and #bigint is fuzzed too); a
trace that no longer replays after a model change is still a valid seed (its replay exits 1).  The tests after the two fuzzers pin each bug the fuzzers found, with its message.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from hypothesis import HealthCheck, example, given, settings

import fuzzing
from fuzzing import Fuzzed
from test_cli import GOOD_HEAD

SCENARIO_EXAMPLES = int(os.environ.get("KUBECHECK_FUZZ_EXAMPLES", "0") or 0) or 600
PLAUSIBLE_EXAMPLES = SCENARIO_EXAMPLES
TRACE_EXAMPLES = max(SCENARIO_EXAMPLES // 3, 1)

FUZZ_SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=False,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.large_base_example, HealthCheck.filter_too_much])

TRIED = {"scenarios": 0, "traces": 0, "calls": 0, "slowest": 0.0, "raised": 0}


@pytest.fixture(scope="module")
def folder(tmp_path_factory, request):
    yield str(tmp_path_factory.mktemp("fuzz"))
    line = (f"test_fuzz: {TRIED['scenarios'] + TRIED['traces']} fuzzed inputs tried ({TRIED['scenarios']} "
            f"scenarios, {TRIED['traces']} traces; {TRIED['calls']} command-line calls; slowest call "
            f"{TRIED['slowest']:.2f} s; most one call raised the peak resident memory: "
            f"{TRIED['raised'] / 2 ** 20:.0f} MiB)")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + line)
    else:
        print(line)


def oracle(o: fuzzing.Outcome, f: Fuzzed) -> None:
    TRIED["calls"] += 1
    TRIED["slowest"] = max(TRIED["slowest"], o.seconds)
    TRIED["raised"] = max(TRIED["raised"], o.rss_raised)
    bad = fuzzing.problems(o)
    assert not bad, fuzzing.describe(o, f)


# --- the inputs the fuzzers found breaking the oracle, kept as examples ------------------------------------

GOOD = GOOD_HEAD   # one Node and an empty spec (test_cli's)

CRD = """---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: backups.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: backups, singular: backup, kind: Backup}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
"""

REGRESSIONS = {
    # PyYAML's constructors raise ValueError, IndexError, KeyError, AttributeError for these (exit 4 before).
    "tag-int": GOOD.replace('pods: "110"', "pods: !!int x"),
    "tag-int-empty": GOOD + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: !!int\n",
    "tag-bool": GOOD.replace("spec: {}", "spec: {addons: {dns: !!bool maybe}}"),
    "tag-timestamp": GOOD.replace("spec: {}", "spec: {x: !!timestamp 2001-02-30}"),
    "tag-timestamp-junk": GOOD.replace("spec: {}", "spec: {x: !!timestamp junk}"),
    "tag-float": GOOD.replace('cpu: "2"', "cpu: !!float ._"),
    "huge-integer": GOOD.replace('pods: "110"', "pods: " + "9" * 5000),   # past Python's 4,300 digits
    # A control character in the text: PyYAML's message was two lines with an excerpt.
    "control-character": GOOD.replace("name: n1", "name: n\x19"),
    # A custom object applied by a change without apiVersion: KeyError (exit 4 before).
    "apply-custom-object-without-apiVersion": GOOD.replace(
        "spec: {}", "spec: {changes: [{apply: {kind: Backup, metadata: {name: nightly}}}]}") + CRD,
    # Control characters in what is echoed (a field, a kind): raw on the terminal before.
    "escape-in-field-name": GOOD.replace("metadata: {name: n1}", 'metadata: {name: n1, "\\e[2J\\x13": 1}'),
    "escape-in-kind": GOOD + '---\napiVersion: v1\nkind: "\\e]0;pwned\\a"\nmetadata: {name: x}\n',
    "newline-in-fault-kind": GOOD.replace("spec: {}", 'spec: {faults: {kinds: ["a\\nb"]}}'),
    # Instances past what a step can expand before --timeout acts (16 s, 1.8 GB at 10,000 before).
    "etcd-members": GOOD.replace("spec: {}", "spec: {controlPlane: {etcd: {topology: external, members: 1000000}}}"),
    "schedulers": GOOD.replace("spec: {}", "spec: {controlPlane: {schedulers: 100000}}"),
    # A fault kind listed twice: two rules of one name, which the explorer refuses (exit 4 before).
    "fault-kind-twice": GOOD.replace("spec: {}", "spec: {faults: {budget: 1, kinds: [node-crash, node-crash]}}"),
    # A namespace that is a mapping: the document's heading added it to a string (TypeError, exit 4 before).
    "namespace-a-mapping": GOOD + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: {a: 1}}\n"
                                  "spec: {containers: [{name: c, image: nginx}]}\n",
    # Names the apiserver refuses: a quote in a Node's name broke `render`'s Graphviz source (exit 4 before).
    "node-name-with-quote": GOOD.replace("metadata: {name: n1}", "metadata: {name: 'n\"1'}"),
    "label-value-with-quote": GOOD.replace("metadata: {name: n1}",
                                           "metadata: {name: n1, labels: {topology.kubernetes.io/zone: 'a\"b'}}"),
    # Not a crash: YAML 1.1 reads 1e3 as a string, and the message now says so.
    "exponent-without-dot": GOOD.replace("spec: {}", "spec: {controlPlane: {leaderElection: {leaseDuration: 1e3}}}"),
    "etcd-zone-with-quote": GOOD.replace("spec: {}", "spec: {controlPlane: {etcd: {topology: external, members: 1, "
                                                     "zones: ['a\"b']}}}"),
}

# An empty namespace: the objects' keys lost their "ns/" and replicas-bounded's check failed to split one
# (ValueError, exit 4 before).  It is the default namespace, as for kubectl.
EMPTY_NAMESPACE = GOOD.replace("spec: {}", "spec: {check: {properties: [replicas-bounded]}}") + """---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: ''}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
"""
# A control character in spec.expect's why, which the report prints (raw on the terminal before).
WHY_WITH_ESCAPE = GOOD.replace("spec: {}", 'spec: {expect: {node-capacity: {verdict: not-applicable, why: "\\e[2J\\x9a"}}}')


@settings(max_examples=SCENARIO_EXAMPLES, **FUZZ_SETTINGS)
@given(fuzzing.fuzzed_scenarios())
@example(Fuzzed("regression: tag-int", REGRESSIONS["tag-int"].encode()))
@example(Fuzzed("regression: huge-integer", REGRESSIONS["huge-integer"].encode()))
@example(Fuzzed("regression: control-character", REGRESSIONS["control-character"].encode()))
@example(Fuzzed("regression: apply-custom-object", REGRESSIONS["apply-custom-object-without-apiVersion"].encode()))
@example(Fuzzed("regression: escape-in-kind", REGRESSIONS["escape-in-kind"].encode()))
@example(Fuzzed("regression: etcd-members", REGRESSIONS["etcd-members"].encode()))
def test_fuzzed_scenarios(folder, f):
    TRIED["scenarios"] += 1
    oracle(fuzzing.check_scenario_bytes(f.data, folder), f)


@settings(max_examples=PLAUSIBLE_EXAMPLES, **FUZZ_SETTINGS)
@given(fuzzing.plausible_scenarios())
@example(Fuzzed("regression: fault kind listed twice", REGRESSIONS["fault-kind-twice"].encode()))
@example(Fuzzed("regression: namespace a mapping", REGRESSIONS["namespace-a-mapping"].encode()))
@example(Fuzzed("regression: empty namespace", EMPTY_NAMESPACE.encode()))
@example(Fuzzed("regression: why with an escape", WHY_WITH_ESCAPE.encode()))
def test_plausible_scenarios(folder, f):
    """Scenarios a plausible change or two from a seed: most load, and go through the model and a search."""
    TRIED["scenarios"] += 1
    oracle(fuzzing.check_scenario_bytes(f.data, folder), f)


BAD_TRACES = {
    "action-not-a-string": lambda d: d["states"][1]["#meta"].__setitem__("action", 7),
    "objects-a-list": lambda d: d["states"][1]["etcd"].__setitem__("objects", [[1]]),
    "loop-true": lambda d: d.__setitem__("loop", True),
    "lone-surrogate": lambda d: d["#meta"].__setitem__("property", "\udc96"),
    "escape-in-action": lambda d: d["states"][1]["#meta"].__setitem__("action", "\x1b]0;pwned\x07"),
}


def _seed_trace() -> dict:
    return json.loads(next(s for s in fuzzing.trace_seeds()
                           if s.name.endswith("/nodename-noexecute-loop--deployment-converges.itf.json")).text)


def _bad_trace(name: str) -> bytes:
    d = _seed_trace()
    BAD_TRACES[name](d)
    return json.dumps(d).encode("utf-8", "surrogatepass")


@settings(max_examples=TRACE_EXAMPLES, **FUZZ_SETTINGS)
@given(fuzzing.fuzzed_traces())
@example(Fuzzed("regression: action-not-a-string", _bad_trace("action-not-a-string")))
@example(Fuzzed("regression: objects-a-list", _bad_trace("objects-a-list")))
@example(Fuzzed("regression: lone-surrogate", _bad_trace("lone-surrogate")))
@example(Fuzzed("regression: escape-in-action", _bad_trace("escape-in-action")))
@example(Fuzzed("regression: huge-integer", b'{"#meta": {}, "vars": [], "states": [{"#meta": {"action": "init"}, '
                                            b'"x": ' + b"9" * 5000 + b"}]}"))
def test_fuzzed_traces(folder, f):
    TRIED["traces"] += 1
    for action in ("show", "replay", "render"):
        oracle(fuzzing.check_trace_bytes(f.data, folder, action), f)


# --- each bug, with what the message must say ----------------------------------------------------------

@pytest.mark.parametrize("name, phrase", ids=lambda x: x if x in REGRESSIONS else "", argvalues=[
    ("tag-int", "fuzzed.yaml:9:53: not valid YAML: 'x' is not a valid !!int"),
    ("tag-int-empty", "fuzzed.yaml:14:9: not valid YAML: '' is not a valid !!int"),
    ("tag-bool", "'maybe' is not a valid !!bool"),
    ("tag-timestamp", "'2001-02-30' is not a valid !!timestamp"),
    ("tag-timestamp-junk", "'junk' is not a valid !!timestamp"),
    ("tag-float", "'._' is not a valid !!float"),
    ("huge-integer", "an integer of 5,000 digits: too large to read"),
    ("control-character", "fuzzed.yaml:8:19: not valid YAML: character U+0019 is not allowed in YAML"),
    ("apply-custom-object-without-apiVersion", "(Cluster t, spec.changes[0].apply): apiVersion: required field is missing"),
    ("escape-in-field-name", r"metadata.\x1b[2J\x13: unknown field"),
    ("escape-in-kind", r"left out: \x1b]0;pwned\x07 (not modelled"),
    ("newline-in-fault-kind", r"unknown fault kind 'a\nb'"),
    ("etcd-members", "spec.controlPlane.etcd.members: must be between 1 and 100, got 1000000"),
    ("schedulers", "spec.controlPlane.schedulers: must be between 1 and 100, got 100000"),
    ("fault-kind-twice", "spec.faults.kinds[1]: node-crash is listed twice"),
    ("namespace-a-mapping", "(Pod {'a': 1}/p): metadata.namespace: expected a string, got {'a': 1}"),
    ("node-name-with-quote", "metadata.name: must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', "
                             "starting and ending with a letter or digit), at most 253 characters, got 'n\"1'"),
    ("label-value-with-quote", "metadata.labels.topology.kubernetes.io/zone: not a valid label: the value 'a\"b' "
                               "must be empty or at most 63 letters"),
    ("etcd-zone-with-quote", "spec.controlPlane.etcd.zones[0]: not a zone name: the value 'a\"b' must be empty"),
    ("exponent-without-dot", "expected a number, got '1e3' (YAML 1.1 reads an exponent without a decimal point"),
])
def test_found_by_fuzzing_scenarios(folder, name, phrase):
    o = fuzzing.check_scenario_bytes(REGRESSIONS[name].encode(), folder)
    assert not fuzzing.problems(o), fuzzing.describe(o)
    text = o.stderr + o.stdout
    assert phrase in text, text
    assert o.code == 2 and o.seconds < 5


def test_unreadable_manifests_with_nodes_are_one_line(folder):
    """A file that cannot be decoded was taken as having a Cluster document, so `--nodes` warned that it is not
    used, before the error: two lines, and a wrong one."""
    o = fuzzing.check_scenario_bytes(b"apiVersion: v1\nkind: Node\nmetadata: {name: n\xff}\n", folder)
    assert "--nodes" in o.argv and o.code == 2 and not fuzzing.problems(o), fuzzing.describe(o)
    assert "not UTF-8 (byte 0xff at offset 44)" in o.stderr and "Cluster document" not in o.stderr


def test_a_named_pipe_in_a_manifest_folder_is_not_read(tmp_path):
    """Found by hand beside the fuzzers: a folder's x.yaml that is a named pipe blocked the read for ever (a
    FIFO given on the command line is still read: `verify <(...)`)."""
    (tmp_path / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1, selector: {matchLabels: "
        "{app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: nginx}]}}}\n")
    os.mkfifo(tmp_path / "pipe.yaml")
    import threading
    done = []
    t = threading.Thread(target=lambda: done.append(fuzzing.run_cli(
        ["verify", str(tmp_path), "--nodes", "2", *fuzzing.VERIFY_BOUNDS, "--traces", str(tmp_path / "traces")])),
        daemon=True)   # a read that blocks must fail the test, not hang it
    t.start()
    t.join(30)
    assert done, "verify blocked reading the named pipe"
    o = done[0]
    assert o.code in (0, 1, 3) and not fuzzing.problems(o), fuzzing.describe(o)


def test_an_empty_namespace_is_the_default_one(folder):
    o = fuzzing.check_scenario_bytes(EMPTY_NAMESPACE.encode(), folder)
    assert o.code == 0 and re.search(r"replicas-bounded +safety +holds", o.stdout), fuzzing.describe(o)


def test_the_reports_quote_of_why_is_escaped(folder):
    o = fuzzing.check_scenario_bytes(WHY_WITH_ESCAPE.encode(), folder)
    assert o.code == 0 and r"not-applicable (as expected: \x1b[2J\x9a)" in o.stdout and not fuzzing.problems(o), \
        fuzzing.describe(o)


@pytest.mark.parametrize("name, phrase", ids=lambda x: x if x in BAD_TRACES else "", argvalues=[
    ("action-not-a-string", "states[1]: `#meta.action` must be a string (a step's label), got 7"),
    ("loop-true", "`loop` must be the index of a state, got true"),
    ("lone-surrogate", r"#meta.property: a string with a lone UTF-16 surrogate"),
])
def test_found_by_fuzzing_traces(folder, name, phrase):
    for action in ("show", "replay", "render"):
        o = fuzzing.check_trace_bytes(_bad_trace(name), folder, action)
        assert o.code == 2 and phrase in o.stderr and not fuzzing.problems(o), fuzzing.describe(o)


def test_trace_objects_that_are_not_a_mapping_are_shown(folder):
    o = fuzzing.check_trace_bytes(_bad_trace("objects-a-list"), folder, "show")
    assert o.code == 0 and not fuzzing.problems(o), fuzzing.describe(o)


def test_trace_show_escapes_control_characters(folder):
    o = fuzzing.check_trace_bytes(_bad_trace("escape-in-action"), folder, "show")
    assert o.code == 0 and r"step 1: \x1b]0;pwned\x07" in o.stdout and not fuzzing.problems(o)
    o = fuzzing.check_trace_bytes(_bad_trace("escape-in-action"), folder, "replay")
    assert o.code == 1 and r"the model no longer takes \x1b]0;pwned\x07" in o.stdout and not fuzzing.problems(o)


def test_a_small_trace_is_read_without_reserving_the_size_limit(folder):
    """read_text read a file with f.read(limit + 1): 256 MiB reserved for every trace, 16 MiB per scenario."""
    o = fuzzing.check_trace_bytes(fuzzing.trace_seeds()[0].text.encode(), folder, "show", tracemalloc_peak=True)
    assert o.code == 0 and o.peak_bytes < 20 * 2 ** 20, o.peak_bytes


def test_the_oracle_catches_an_internal_error(folder, monkeypatch):
    """The oracle can fail: a loader that raises what it should not (a KeyError, as before the fix of a custom
    object applied without apiVersion) is an exit 4, which `problems` reports."""
    import model.scenario as scenario

    def broken(*args, **kwargs):
        raise KeyError("apiVersion")
    monkeypatch.setattr(scenario, "parse_custom_object", broken)
    o = fuzzing.check_scenario_bytes(REGRESSIONS["apply-custom-object-without-apiVersion"].encode(), folder)
    assert o.code == 4 and "exit status 4 (expected 0, 1, 2 or 3)" in fuzzing.problems(o)


def test_the_oracle_catches_slow_and_hungry_calls(monkeypatch):
    """A call over the time bound, and one that allocates past the memory bound, are reported (the bounds are
    lowered here so that the test stays cheap)."""
    import time
    from kubecheck import cli

    def hungry(args):
        block = bytearray(24 * 2 ** 20)
        time.sleep(0.2)
        return len(block) * 0
    monkeypatch.setattr(cli, "cmd_properties", hungry)
    monkeypatch.setattr(fuzzing, "MAX_SECONDS", 0.1)
    monkeypatch.setattr(fuzzing, "MAX_BYTES", 16 * 2 ** 20)
    bad = fuzzing.problems(fuzzing.run_cli(["properties"]))
    assert any(b.startswith("took ") for b in bad), bad
    bad = fuzzing.problems(fuzzing.run_cli(["properties"], tracemalloc_peak=True))
    assert any(b.startswith("allocated 24 MiB") for b in bad), bad
