"""The traces follow ADR-015, the Informal Trace Format of Apalache and Quint (DESIGN section 6; issue 18, item 3).

Third-party readers accept them (itf-py here: records become named tuples, so a record's field names must be
identifiers, and an empty record is refused by the Rust `itf` crate), every variable is in `vars` and in every
state, collections keyed by values are `#map`s, and a lasso ends in the state before the one it returns to, the
closing step in `#meta.loop_action`.  kubecheck still reads the traces it wrote before (plain JSON values, the
lasso's last state a repeat), and `trace show` reads another tool's ITF trace.
"""

from __future__ import annotations

import copy
import glob
import json
import keyword
import os

import attrs
import pytest
from itf_py import trace_from_json

import fuzzing
from conftest import ROOT, SCENARIOS
from explorer import check, render_label
from kubecheck.compose import compose
from kubecheck.htmlreport import _steps_table
from kubecheck.render import trace_svg
from kubecheck.traces import (ENCODING, TraceFileError, plain, plain_state, read_trace, replay, show, to_itf,
                              view)
from model.itf import SAFE_INT, VARS, encode_state
from model.scenario import load_scenario

COMMITTED = sorted(glob.glob(os.path.join(ROOT, "traces", "*", "*.itf.json")))
FORMS = ("#bigint", "#tup", "#set", "#map", "#unserializable")

# Where each variable holds a map (keyed by values), and the maps and sets inside records.
MAPS = {"hosts", "etcd_members", "apiservers", "replicas", "syncs_in_flight", "dns"}
MAPS_IN = {"etcd": ("objects",), "cloud": ("routes", "loadBalancers")}
OBJECT_MAPS = ("labels", "selector", "spec")      # a custom object's spec, keyed by field path


def _problems(v, where: str, out: list) -> None:
    """What in the ITF value `v` breaks ADR-015 or what its readers need (appended to `out`)."""
    if isinstance(v, bool) or isinstance(v, str):
        return
    if isinstance(v, int):
        if not -SAFE_INT <= v <= SAFE_INT:
            out.append(f"{where}: integer {v} beyond JSON's exact range (#bigint)")
        return
    if isinstance(v, list):
        for i, x in enumerate(v):
            _problems(x, f"{where}[{i}]", out)
        return
    if not isinstance(v, dict):
        out.append(f"{where}: {v!r} is no ITF value")
        return
    if not v:
        out.append(f"{where}: an empty record (an empty map is {{\"#map\": []}})")
        return
    forms = [k for k in v if k.startswith("#")]
    if forms:
        if len(v) != 1 or forms[0] not in FORMS:
            out.append(f"{where}: {sorted(v)} is neither a record nor one ADR-015 form")
            return
        form, x = forms[0], v[forms[0]]
        if form == "#map":
            if not all(isinstance(p, list) and len(p) == 2 for p in x):
                out.append(f"{where}: a #map entry that is no [key, value] pair")
                return
            keys = [json.dumps(k, sort_keys=True) for k, _ in x]
            if len(set(keys)) != len(keys):
                out.append(f"{where}: a #map with a key twice")
            for k, y in x:
                _problems(k, f"{where}<key>", out)
                _problems(y, f"{where}.{k}", out)
        elif form in ("#set", "#tup"):
            if form == "#set" and len({json.dumps(y, sort_keys=True) for y in x}) != len(x):
                out.append(f"{where}: a #set with an element twice")
            for i, y in enumerate(x):
                _problems(y, f"{where}[{i}]", out)
        return
    for k, x in v.items():
        # itf-py makes a record a named tuple: its fields must be identifiers; a key like "Namespace default"
        # or "etcd-1" is a value, and the collection a #map.
        if not k.isidentifier() or keyword.iskeyword(k) or k.startswith("_"):
            out.append(f"{where}: record field {k!r} is no identifier: a collection keyed by values is a #map")
        if set(v) == {"tag", "value"}:
            out.append(f"{where}: a record of tag and value reads as a variant")
        _problems(x, f"{where}.{k}", out)


def _pairs(m) -> list:
    """The entries of a map, ITF or (as written before ADR-015) a JSON object."""
    if isinstance(m, dict):
        return m["#map"] if "#map" in m else list(m.items())
    return []


def adr015_problems(doc) -> list:
    """Every way `doc` breaks the rules kubecheck's traces follow (empty: none)."""
    out = []
    meta = doc["#meta"]
    if meta.get("encoding") != ENCODING:
        out.append(f"#meta.encoding is {meta.get('encoding')!r}")
    # The Rust itf crate reads the #meta fields it does not know as strings.
    out += [f"#meta.{k} is not a string" for k, v in meta.items() if not isinstance(v, str)]
    if doc["vars"] != list(VARS):
        out.append(f"vars {doc['vars']} (every variable, always)")
    for i, st in enumerate(doc["states"]):
        if set(st) != set(doc["vars"]) | {"#meta"}:
            out.append(f"states[{i}] has {sorted(set(st) - {'#meta'})}, not the vars")
        if st["#meta"].get("index") != i or not isinstance(st["#meta"].get("action"), str):
            out.append(f"states[{i}].#meta {st['#meta']}")
        for k in doc["vars"]:
            _problems(st.get(k), f"states[{i}].{k}", out)
            value = st.get(k)
            if k in MAPS and not (isinstance(value, dict) and "#map" in value):
                out.append(f"states[{i}].{k} is not a #map")
            for field in MAPS_IN.get(k, ()):
                if not (isinstance(value, dict) and "#map" in value.get(field, {})):
                    out.append(f"states[{i}].{k}.{field} is not a #map")
        for key, obj in _pairs(st["etcd"]["objects"]):
            for field in OBJECT_MAPS:
                if field in obj and "#map" not in obj[field]:
                    out.append(f"states[{i}]: {key}.{field} is not a #map")
        for name, host in _pairs(st["hosts"]):
            for field in ("podIPs", "serviceRules"):
                if field in host and "#map" not in host[field]:
                    out.append(f"states[{i}]: hosts.{name}.{field} is not a #map")
        for name, rec in _pairs(st["apiservers"]):
            if isinstance(rec, dict) and "clients" in rec and "#set" not in rec["clients"]:
                out.append(f"states[{i}]: apiservers.{name}.clients is not a #set")
        for name, backends in _pairs(st.get("cloud", {}).get("loadBalancers")):
            if "#set" not in backends:
                out.append(f"states[{i}]: cloud.loadBalancers.{name} is not a #set")
    loop = doc.get("loop")
    if loop is not None:
        if not (isinstance(loop, int) and 0 <= loop < len(doc["states"])):
            out.append(f"loop {loop} is no index of a state")
        else:
            # (where the loop is one state, states[loop] is the last one, its closing step a self-loop)
            last, first = (dict(doc["states"][j], **{"#meta": None}) for j in (-1, loop))
            if loop < len(doc["states"]) - 1 and last == first:
                out.append(f"the last state repeats states[{loop}] (ADR-015: the loop returns to it)")
        if not isinstance(meta.get("loop_action"), str):
            out.append("a lasso without #meta.loop_action")
    elif "loop_action" in meta:
        out.append("#meta.loop_action without a loop")
    return out


def test_the_rules_catch_what_kubecheck_wrote_before():
    """The checker of the rules is not vacuous: a trace in the encoding before ADR-015 breaks each of them."""
    old = json.load(open(os.path.join(ROOT, "tests", "fuzz_seeds",
                                      "nodename-noexecute-loop--deployment-converges.itf.json")))
    found = "\n".join(adr015_problems(old))
    for what in ("#meta.encoding", "vars [", "record field 'Namespace default' is no identifier",
                 "states[0].etcd_members is not a #map", "an empty record", "the last state repeats states[1]",
                 "a lasso without #meta.loop_action"):
        assert what in found, what
    with pytest.raises(Exception):
        trace_from_json(old)     # itf-py refuses it (a record field that is no identifier)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: os.path.relpath(p, os.path.join(ROOT, "traces")))
def test_committed_traces_follow_adr_015(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    assert adr015_problems(doc) == []
    t = trace_from_json(doc)         # a third-party reader accepts it
    assert t.vars == list(VARS) and len(t.states) == len(doc["states"]) and t.loop == doc.get("loop")
    assert set(t.states[0].values) == set(VARS)
    objects = t.states[-1].values["etcd"].objects
    assert isinstance(objects, dict) and all(k.split(" ", 1)[0][0].isupper() for k in objects)


def test_the_committed_traces_cover_every_variable_and_a_lasso():
    """What test_committed_traces_follow_adr_015 checks is there to check: lassos, and every map non-empty in
    some state of some trace."""
    docs = [json.load(open(p, encoding="utf-8")) for p in COMMITTED]
    assert len(docs) >= 40 and sum(d.get("loop") is not None for d in docs) >= 5
    for var in ("hosts", "etcd_members", "apiservers", "replicas", "syncs_in_flight", "dns"):
        assert any(st[var]["#map"] for d in docs for st in d["states"]), var
    assert any(st["syncs_in_flight"]["#map"] == [] for d in docs for st in d["states"])   # empty, yet there


def run(name):
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    comp = compose(sc)
    return sc, comp, check(comp.system)


def itf_of(sc, v):
    return json.loads(json.dumps(to_itf(v.trace, scenario_name=sc.name, scenario_path=sc.path, scenario_text=sc.text,
                                        prop=v.prop, verdict=v.verdict, diagnosis=v.diagnosis)))


@pytest.fixture(scope="module")
def lasso():
    sc, comp, res = run("nodename-noexecute-loop")
    v = next(v for v in res.verdicts if v.prop == "deployment-converges")
    assert v.trace.loop is not None
    return sc, comp, v, itf_of(sc, v)


def test_a_lassos_loop_action_closes_the_cycle(lasso):
    sc, comp, v, doc = lasso
    trace, loop = v.trace, doc["loop"]
    assert adr015_problems(doc) == []
    # The file ends in the state before the search's repeat of states[loop]; the step that closes the loop is
    # named in #meta.loop_action.
    assert len(doc["states"]) == len(trace.states) - 1 and loop == trace.loop
    assert doc["#meta"]["loop_action"] == render_label(trace.labels[-1])
    last = {k: x for k, x in doc["states"][-1].items() if k != "#meta"}
    assert last == encode_state(trace.states[-2])
    # Taking loop_action from the last state leads back to states[loop]: the model closes the cycle.
    system = comp.system
    canon = system.quotient if trace.quotient and system.quotient else system.canonical
    back = [nxt for rule in system.rules for lab, nxt in rule.fn(trace.states[-2])
            if render_label(lab) == doc["#meta"]["loop_action"]]
    assert back and {k: x for k, x in doc["states"][loop].items() if k != "#meta"} == encode_state(canon(back[0]))
    r = replay(doc)
    assert r.ok and f"the loop closed back to state {loop}" in r.message, r.message


def test_a_lasso_that_does_not_close_does_not_replay(lasso):
    sc, comp, v, doc = lasso
    other = copy.deepcopy(doc)
    other["loop"] = doc["loop"] - 1      # the closing step leads to states[loop], not to the one before it
    r = replay(other)
    assert not r.ok and f"step {len(doc['states'])} (closing the loop): " in r.message and \
        "now leads to a different state" in r.message, r.message
    other = copy.deepcopy(doc)
    other["#meta"]["loop_action"] = "kubelet.reject_pod(node=n1, pod=default/nothing, reason=Taint)"
    r = replay(other)
    assert not r.ok and "(closing the loop): the model no longer takes kubelet.reject_pod" in r.message
    other = copy.deepcopy(doc)
    del other["#meta"]["loop_action"]
    with pytest.raises(TraceFileError, match="`#meta.loop_action` is missing"):
        replay(other)


def legacy(doc):
    """`doc` as kubecheck wrote its traces before ADR-015: plain JSON values, the variables a scenario does not
    have left out, a lasso's last state a repeat of states[loop], no #meta.encoding."""
    old = copy.deepcopy(doc)
    meta = old["#meta"]
    del meta["encoding"]
    states = [plain_state(st) for st in old["states"]]
    for st in states:
        for k in ("syncs_in_flight", "dns"):
            if st[k] == {}:
                del st[k]
        if st["cloud"] == {"routes": {}, "loadBalancers": {}}:
            del st["cloud"]
    if old.get("loop") is not None:
        back = copy.deepcopy(states[old["loop"]])
        back["#meta"] = {"index": len(states), "action": meta.pop("loop_action")}
        states.append(back)
    if isinstance(meta.get("checked_alone"), str):
        meta["checked_alone"] = [[k, *(rest.split("/") if "/" in rest else ["", rest])]
                                 for k, _, rest in (x.partition(" ") for x in meta["checked_alone"].split(", "))]
    old["states"] = states
    old["vars"] = [k for k in VARS if k in states[0]]
    return old


@pytest.mark.parametrize("name, prop", [("nodename-noexecute-loop", "deployment-converges"),
                                        ("job-legacy-tracking", "job-completions-not-exceeded"),
                                        ("job-legacy-tracking", "job-completes")])
def test_an_old_format_trace_still_replays_and_reads_the_same(name, prop, tmp_path):
    sc, comp, res = run(name)
    v = next(v for v in res.verdicts if v.prop == prop)
    doc = itf_of(sc, v)
    old = legacy(doc)
    assert "#map" not in json.dumps(old) and (old.get("loop") is None) == (doc.get("loop") is None)
    path = tmp_path / "old.itf.json"
    path.write_text(json.dumps(old))
    r = replay(read_trace(str(path)), str(path))
    assert r.ok and "written before the ADR-015 encoding" in r.message, r.message
    assert r.message.split(" steps")[0] == replay(doc).message.split(" steps")[0]    # as many steps
    # The readers show both alike: the steps with what changed, the diagram, the report's table.
    assert show(old) == show(doc)
    assert trace_svg(old) == trace_svg(doc)
    assert _steps_table(old) == _steps_table(doc)
    # A state of an old trace that the model does not produce is still found.
    old["states"][1]["etcd"]["objects"] = {}
    r = replay(old)
    assert not r.ok and r.message.startswith("step 1: ")


def test_the_committed_fuzz_seeds_are_read_as_kubecheck_traces():
    """tests/fuzz_seeds/ keeps traces of the encoding before ADR-015 (and two adr015-* with it): shown as before,
    and replayed (or, after a model change, told apart: exit 1) rather than refused."""
    seeds = sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz_seeds", "*.itf.json")))
    assert len([p for p in seeds if not os.path.basename(p).startswith("adr015-")]) >= 3
    for p in seeds:
        doc = read_trace(p)
        new = os.path.basename(p).startswith("adr015-")
        assert ("encoding" in doc["#meta"]) == new and view(doc).kind == ("kubecheck" if new else "legacy")
        text = show(doc)
        assert text.startswith(f"{doc['#meta']['property']} {doc['#meta']['verdict']} in scenario ")
        assert "step 1: " in text and "not written by kubecheck" not in text
        assert fuzzing.run_cli(["trace", "replay", p]).code in (0, 1)


def test_bigints_are_written_as_adr_015_says():
    sc, comp, res = run("nodename-noexecute-loop")
    s = attrs.evolve(comp.system.init_states[0], faults_left=2 ** 60, next_change=-(2 ** 53))
    enc = encode_state(s)
    assert enc["faults_left"] == {"#bigint": str(2 ** 60)} and enc["changes_made"] == {"#bigint": str(-(2 ** 53))}
    assert plain(enc["faults_left"]) == 2 ** 60
    assert trace_from_json({"vars": list(VARS), "states": [dict(enc, **{"#meta": {}})]}).states[0].values[
        "faults_left"] == 2 ** 60
    small = encode_state(attrs.evolve(s, faults_left=SAFE_INT, next_change=-SAFE_INT))
    assert small["faults_left"] == SAFE_INT and small["changes_made"] == -SAFE_INT


def test_the_clouds_values_are_maps_and_sets():
    """No committed trace reaches a cloud load balancer: its encoding is checked on a state made for it."""
    sc = load_scenario(os.path.join(SCENARIOS, "cloud-load-balancer.yaml"))
    s = compose(sc).system.init_states[0]
    nodes = tuple(h.name for h in s.hosts)
    s = attrs.evolve(s, cloud_lbs=(("default/web", nodes),))
    enc = encode_state(s)
    assert enc["cloud"]["routes"]["#map"] and enc["cloud"]["loadBalancers"] == {
        "#map": [["default/web", {"#set": list(nodes)}]]}
    problems = []
    _problems(enc, "state", problems)
    assert problems == []
    values = trace_from_json({"vars": list(VARS), "states": [dict(enc, **{"#meta": {}})]}).states[0].values
    assert values["cloud"].loadBalancers == {"default/web": frozenset(nodes)}
    assert plain(enc["cloud"])["loadBalancers"] == {"default/web": list(nodes)}


def test_checked_alone_is_read_as_text_and_as_the_old_list():
    from kubecheck.traces import _alone_keys
    assert _alone_keys("Deployment default/web, Node n1", "t") == [("Deployment", "default", "web"), ("Node", "", "n1")]
    assert _alone_keys([["Deployment", "default", "web"]], "t") == [("Deployment", "default", "web")]
    for bad in ("", "Deployment", "Deployment default/web,Node n1", 5, [["a"]], {"a": 1}):
        with pytest.raises(TraceFileError, match="checked_alone"):
            _alone_keys(bad, "t")


def test_plain_reads_every_form():
    v = {"#map": [[{"#tup": ["a", {"#bigint": "1"}]}, {"#set": [1, 2]}],
                  [{"#bigint": "7"}, {"#unserializable": "Int"}],
                  ["k", {"f": [{"#tup": []}, True, "s"]}],
                  [{"#set": ["x", "y"]}, 0],
                  [{"r": 1, "q": "z"}, 1],
                  [{"#map": [["a", 1]]}, 2]]}
    assert plain(v) == {"(a, 1)": [1, 2], "7": "Int", "k": {"f": [[], True, "s"]}, "{x, y}": 0, "{r: 1, q: z}": 1,
                        "{a: 1}": 2}
    assert plain({"#map": [[1, "a"], ["1", "b"]]}) == {"1": "a", '"1"': "b"}    # keys written alike stay apart
    assert plain({"#bigint": "-123456789012345678901234567890"}) == -123456789012345678901234567890
    assert plain({"#map": []}) == {} and plain({"#set": []}) == [] and plain({}) == {}
    assert plain({"up": True, "running": ["default/web"]}) == {"up": True, "running": ["default/web"]}


@pytest.mark.parametrize("bad, message", [
    ({"#map": 5}, "the value: `#map` must be a list, got 5"),
    ({"a": {"#map": [[1]]}}, "a[0]: a `#map` entry must be a [key, value] pair, got [1]"),
    ({"a": [{"#bigint": "1e3"}]}, "a[0]: `#bigint` must be a string of at most 4,000 digits"),
    ({"a": {"#bigint": "9" * 4001}}, "a: `#bigint` must be a string of at most 4,000 digits"),
    ({"#map": [["k", {"#set": {"x": 1}}]]}, "k: `#set` must be a list"),
    ({"#map": [[{"#tup": 3}, 1]]}, "a map key `#tup` is malformed"),
    ({"#unserializable": 4}, "`#unserializable` must be a string"),
])
def test_plain_names_a_malformed_value(bad, message):
    with pytest.raises(TraceFileError) as e:
        plain(bad)
    assert message in str(e.value)


def test_a_malformed_value_in_a_trace_is_one_clear_message(lasso, tmp_path):
    sc, comp, v, doc = lasso
    bad = copy.deepcopy(doc)
    bad["states"][1]["hosts"] = {"#map": [["n1", {"up": True, "podIPs": {"#map": "x"}}]]}
    path = tmp_path / "bad.itf.json"
    path.write_text(json.dumps(bad))
    for action in ("show", "replay", "render"):
        argv = ["trace", action, str(path)] if action != "render" else ["render", str(path), "--out",
                                                                         str(tmp_path / "x.svg")]
        o = fuzzing.run_cli(argv)
        assert o.code == 2 and not fuzzing.problems(o), fuzzing.describe(o)
        assert "states[1].hosts.n1.podIPs: `#map` must be a list, got 'x'" in o.stderr, o.stderr


# --- another tool's ITF trace ---------------------------------------------------------------------------

# The ADR's own example, cut to three states: Apalache's counterexample of MissionariesAndCannibals.
APALACHE = {
    "#meta": {"source": "MC_MissionariesAndCannibalsTyped.tla",
              "varTypes": {"bank_of_boat": "Str", "who_is_on_bank": "Str -> Set(PERSON)"}},
    "vars": ["bank_of_boat", "who_is_on_bank"],
    "states": [
        {"#meta": {"index": 0}, "bank_of_boat": "E",
         "who_is_on_bank": {"#map": [["E", {"#set": ["c1_OF_PERSON", "c2_OF_PERSON", "m1_OF_PERSON", "m2_OF_PERSON"]}],
                                     ["W", {"#set": []}]]}},
        {"#meta": {"index": 1}, "bank_of_boat": "W",
         "who_is_on_bank": {"#map": [["E", {"#set": ["c1_OF_PERSON", "m1_OF_PERSON"]}],
                                     ["W", {"#set": ["c2_OF_PERSON", "m2_OF_PERSON"]}]]}},
        {"#meta": {"index": 2}, "bank_of_boat": "E",
         "who_is_on_bank": {"#map": [["E", {"#set": ["c1_OF_PERSON", "m1_OF_PERSON", "m2_OF_PERSON"]}],
                                     ["W", {"#set": ["c2_OF_PERSON"]}]]}},
    ],
}

# As Quint writes one (the Rust itf crate's fixture SumTypes0 has such values): every integer a #bigint, sum
# types as {tag, value}, a map keyed by tuples, a lasso.
QUINT = {
    "#meta": {"format": "ITF", "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
              "source": "counters.qnt", "status": "violation",
              "description": "Created by Quint on Thu Dec 07 2023 11:21:01 GMT+0100", "timestamp": 1701944461444},
    "vars": ["count", "sent", "leader"],
    "states": [
        {"#meta": {"index": 0}, "count": {"#bigint": "0"}, "sent": {"#map": []},
         "leader": {"tag": "Idle", "value": {}}},
        {"#meta": {"index": 1}, "count": {"#bigint": "1"},
         "sent": {"#map": [[{"#tup": ["p1", {"#bigint": "1"}]}, {"#set": ["hello"]}]]},
         "leader": {"tag": "Elected", "value": "p1"}},
        {"#meta": {"index": 2}, "count": {"#bigint": "2"},
         "sent": {"#map": [[{"#tup": ["p1", {"#bigint": "1"}]}, {"#set": ["hello", "again"]}]]},
         "leader": {"tag": "Elected", "value": "p2"}},
    ],
    "loop": 1,
}


@pytest.mark.parametrize("doc", [APALACHE, QUINT], ids=["apalache", "quint"])
def test_another_tools_itf_is_read_by_itf_py_as_a_baseline(doc):
    trace_from_json(copy.deepcopy(doc))      # the hand-written documents are ITF as a reader takes it


def test_trace_show_reads_apalaches_itf(tmp_path):
    path = tmp_path / "apalache.itf.json"
    path.write_text(json.dumps(APALACHE))
    o = fuzzing.run_cli(["trace", "show", str(path)])
    assert o.code == 0 and not fuzzing.problems(o), fuzzing.describe(o)
    lines = o.stdout.splitlines()
    assert lines[0] == "an ITF trace not written by kubecheck: MC_MissionariesAndCannibalsTyped.tla"
    assert "  3 states of 2 variables" in lines
    assert lines[lines.index("step 0") + 1:lines.index("step 1")] == [
        '    bank_of_boat: "E"',
        '    who_is_on_bank.E: ["c1_OF_PERSON", "c2_OF_PERSON", "m1_OF_PERSON", "m2_OF_PERSON"]',
        "    who_is_on_bank.W: []"]
    assert lines[lines.index("step 1") + 1:lines.index("step 2")] == [
        '    bank_of_boat: "E" -> "W"',
        '    who_is_on_bank.E: ["c1_OF_PERSON", "c2_OF_PERSON", "m1_OF_PERSON", "m2_OF_PERSON"] -> '
        '["c1_OF_PERSON", "m1_OF_PERSON"]',
        '    who_is_on_bank.W: [] -> ["c2_OF_PERSON", "m2_OF_PERSON"]']
    assert "loop" not in o.stdout
    o = fuzzing.run_cli(["trace", "replay", str(path)])
    assert o.code == 2 and not fuzzing.problems(o), fuzzing.describe(o)
    assert "states[0]: `#meta.action` is missing: not a trace kubecheck wrote" in o.stderr
    o = fuzzing.run_cli(["render", str(path), "--out", str(tmp_path / "a.svg")])
    assert o.code == 0 and not fuzzing.problems(o), fuzzing.describe(o)


def test_trace_show_reads_quints_itf_with_its_lasso(tmp_path):
    path = tmp_path / "quint.itf.json"
    path.write_text(json.dumps(QUINT))
    o = fuzzing.run_cli(["trace", "show", str(path)])
    assert o.code == 0 and not fuzzing.problems(o), fuzzing.describe(o)
    lines = o.stdout.splitlines()
    assert lines[:3] == ["an ITF trace not written by kubecheck: Created by Quint on Thu Dec 07 2023 11:21:01 "
                         "GMT+0100",
                         "  source: counters.qnt", "  3 states of 3 variables; a lasso: the loop returns to state 1"]
    assert lines[lines.index("step 0") + 1:lines.index("step 1  <- loop starts here")] == [
        "    count: 0", "    sent: {}", '    leader.tag: "Idle"', "    leader.value: {}"]
    step1 = lines[lines.index("step 1  <- loop starts here") + 1:lines.index("step 2")]
    assert step1 == ["    count: 0 -> 1", '    leader.tag: "Idle" -> "Elected"', '    sent.(p1, 1): (absent) -> ["hello"]',
                     '    leader.value: (absent) -> "p1"']
    # The loop returns from the last state to states[1]: shown as a step of its own, with what it changes.
    closing = lines[lines.index("step 3: (back to step 1)") + 1:]
    assert closing == ["    count: 2 -> 1", '    sent.(p1, 1): ["hello", "again"] -> ["hello"]',
                       '    leader.value: "p2" -> "p1"',
                       "(the last state repeats step 1: the cycle can go on for ever)"]
    o = fuzzing.run_cli(["trace", "replay", str(path)])
    assert o.code == 2 and not fuzzing.problems(o) and "not a trace kubecheck wrote" in o.stderr


def test_a_foreign_trace_without_meta_or_with_bad_meta(tmp_path):
    """#meta is optional in ADR-015; where present it is an object, as each state's."""
    path = tmp_path / "t.itf.json"
    doc = copy.deepcopy(APALACHE)
    del doc["#meta"]
    path.write_text(json.dumps(doc))
    o = fuzzing.run_cli(["trace", "show", str(path)])
    assert o.code == 0 and o.stdout.startswith("an ITF trace not written by kubecheck: no description")
    for bad, message in ((dict(doc, **{"#meta": []}), "`#meta` is not an object"),
                         (dict(doc, states=[{"#meta": 1, "x": 1}]), "states[0]: `#meta` must be an object, got 1"),
                         (dict(doc, states=[[1]]), "states[0]: a state must be a JSON object, got [1]")):
        path.write_text(json.dumps(bad))
        o = fuzzing.run_cli(["trace", "show", str(path)])
        assert o.code == 2 and message in o.stderr and not fuzzing.problems(o), fuzzing.describe(o)
