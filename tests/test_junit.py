"""`kubecheck verify --junit` as CI systems read it (issue 18): the shared search's time on the suite and each
case's own time (so that summing cases never counts more than the run), the scenario's `file`, the trace on
the first line of a failure and as GitLab's attachment, the run's `<properties>`; valid against the Jenkins
xunit plugin's JUnit schema and the Ant JUnit schema (tests/schemas, validated with xmlschema)."""

import copy
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import xmlschema

from conftest import ROOT, SCENARIOS

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
JENKINS = xmlschema.XMLSchema(os.path.join(SCHEMAS, "jenkins-xunit-junit-10.xsd"))
ANT = xmlschema.XMLSchema(os.path.join(SCHEMAS, "ant-junit.xsd"))

# What the Ant JUnit schema lacks, and so is stripped (exactly that: test_the_ant_schema_lacks_exactly_...)
# before a document is validated against it; the Jenkins schema has all of it but the last:
# - the attributes of <testsuites>: name, tests, failures, errors, time (Ant's root has none; the Jenkins
#   schema, dorny/test-reporter and others read them: `time` is the run's total);
# - the attribute `file` of <testsuite> (the scenario's path);
# - the element <system-out> inside a <testcase> (GitLab's [[ATTACHMENT|trace]], an expected verdict's
#   reason): an Ant test case holds one of failure, error or skipped, nothing else.  (An element, not an
#   attribute; the Jenkins schema allows it.)
ANT_LACKS_ROOT_ATTRIBUTES = ("name", "tests", "failures", "errors", "time")
ANT_LACKS_SUITE_ATTRIBUTES = ("file",)
ANT_LACKS_CASE_ELEMENTS = ("system-out",)


def for_ant(root, keep=None):
    """A copy of `root` without what the Ant schema lacks (but `keep`, one of those items, for the test)."""
    root = copy.deepcopy(root)
    for a in ANT_LACKS_ROOT_ATTRIBUTES:
        if keep != ("root", a):
            root.attrib.pop(a, None)
    for suite in root.findall("testsuite"):
        for a in ANT_LACKS_SUITE_ATTRIBUTES:
            if keep != ("suite", a):
                suite.attrib.pop(a, None)
        for case in suite.findall("testcase"):
            for tag in ANT_LACKS_CASE_ELEMENTS:
                if keep != ("case", tag):
                    for e in case.findall(tag):
                        case.remove(e)
    return root


def errors(schema, root):
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(root)]


def assert_valid(root):
    assert errors(JENKINS, root) == []
    assert errors(ANT, for_ant(root)) == []


def kc(*args):
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "kubecheck", *args], capture_output=True, text=True, cwd=ROOT)
    return p, time.perf_counter() - t0


def without_expect(name, folder):
    out = folder / f"{name}.yaml"
    out.write_text("\n".join(line for line in open(os.path.join(SCENARIOS, f"{name}.yaml")).read().splitlines()
                             if "expect:" not in line and "{verdict:" not in line) + "\n")
    return str(out)


def claims_of(path):
    """The properties of a scenario decided by Z3 claims rather than by its search."""
    from kubecheck.compose import compose
    from model.scenario import load_scenario
    return {c.name for c in compose(load_scenario(path)).claims}


def assert_times(root, data, wall, paths):
    """Each case carries its own time only (a Z3 claim's; 0 for what the shared search decided), each suite
    the search's time plus its cases', the root the sum of the suites: within the run, however summed."""
    suites = root.findall("testsuite")
    assert len(suites) == len(data) == len(paths)
    for suite, d, path in zip(suites, data, paths):
        claims = claims_of(path)
        seconds = {r["property"]: r["seconds"] for r in d["results"]}
        cases = {c.get("name"): float(c.get("time")) for c in suite.findall("testcase")}
        assert claims and claims <= set(cases)
        for name, t in cases.items():
            if name in claims and d["results"][list(seconds).index(name)]["verdict"] != "not-applicable":
                assert abs(t - seconds[name]) <= 0.0015, (name, t, seconds[name])
            else:
                assert t == 0.0, (name, t, "a property the search decided carries no time of its own")
        total = float(suite.get("time"))
        assert sum(cases.values()) <= total + 1e-9
        assert abs(total - sum(cases.values()) - d["stats"]["seconds"]) <= 0.0015
    assert abs(float(root.get("time")) - sum(float(s.get("time")) for s in suites)) < 1e-9
    # In whole milliseconds, as written: a float sum of "0.003"s may pass "0.009" by a rounding error.
    assert sum(round(float(c.get("time")) * 1000) for c in root.iter("testcase")) <= round(
        float(root.get("time")) * 1000) and float(root.get("time")) <= wall


def properties(suite):
    return {p.get("name"): p.get("value") for p in suite.find("properties")}


def test_a_violation_names_its_trace_first_and_attaches_it(tmp_path):
    from kubecheck import __version__
    plain = without_expect("tainted-only-room", tmp_path)
    web = os.path.join(SCENARIOS, "web-three-nodes.yaml")
    out, js = tmp_path / "j.xml", tmp_path / "r.json"
    p, wall = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(out), "--json", str(js),
                 plain, web)
    assert p.returncode == 1, p.stderr
    root = ET.parse(out).getroot()
    assert_valid(root)
    assert_times(root, json.loads(js.read_text()), wall, [plain, web])
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    suite = suites["tainted-only-room"]
    assert suite.get("file") == plain and suites["web-three-nodes"].get("file") == web
    assert (root.get("tests"), root.get("failures")) == (str(sum(int(s.get("tests")) for s in suites.values())), "3")
    props = properties(suite)
    assert props["kubecheck.version"] == __version__
    assert (props["strategy"], props["seed"], props["reduction"], props["symmetry"]) == ("bfs", "0", "por", "on")
    assert {"max-depth", "max-states", "timeout"} <= set(props)
    traced = 0
    for case in suite.findall("testcase"):
        failure = case.find("failure")
        if failure is None:
            continue
        trace = tmp_path / "t" / "tainted-only-room" / f"{case.get('name')}.itf.json"
        if trace.exists():   # the searched ones; n-plus-one-capacity is a Z3 claim, without a trace
            traced += 1
            assert failure.get("message").startswith(f"violated, trace {trace}: ")
            assert failure.text.splitlines()[0] == f"trace: {trace}"
            assert f"[[ATTACHMENT|{trace}]]" in case.find("system-out").text
            assert failure.get("type") == "convergence"
        else:
            assert failure.get("message").startswith("violated: ") and case.find("system-out") is None
    assert traced == 2


def test_expected_unknown_and_not_applicable_verdicts(tmp_path):
    """With spec.expect and --max-states 5: the expected violations cut short are errors (unknown), the
    Z3 claim's expected violation passes with its reason, what does not apply is skipped."""
    path = os.path.join(SCENARIOS, "tainted-only-room.yaml")
    out, js = tmp_path / "j.xml", tmp_path / "r.json"
    p, wall = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(out), "--json", str(js),
                 "--max-states", "5", path)
    assert p.returncode == 3, p.stderr
    root = ET.parse(out).getroot()
    assert_valid(root)
    assert_times(root, [json.loads(js.read_text())], wall, [path])
    suite = root.find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["deployment-converges"].find("error").get("type") == "unknown"
    assert "maxStates" in cases["deployment-converges"].find("error").get("message")
    claim = cases["n-plus-one-capacity"]
    assert claim.find("failure") is None and claim.find("system-out").text.startswith("violated as expected: ")
    assert cases["job-completes"].find("skipped").get("message") == "no Job"
    assert int(suite.get("skipped")) == sum(1 for c in cases.values() if c.find("skipped") is not None) > 0
    assert (suite.get("errors"), suite.get("failures")) == ("2", "0")
    assert properties(suite)["max-states"] == "5"


def test_an_expected_violation_that_reproduces_passes_with_its_trace(tmp_path):
    path = os.path.join(SCENARIOS, "tainted-only-room.yaml")
    out = tmp_path / "j.xml"
    p, _ = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(out), path)
    assert p.returncode == 0, p.stderr
    root = ET.parse(out).getroot()
    assert_valid(root)
    case = root.find("testsuite/testcase[@name='deployment-converges']")
    trace = tmp_path / "t" / "tainted-only-room" / "deployment-converges.itf.json"
    assert case.find("failure") is None
    text = case.find("system-out").text
    assert text.startswith("violated as expected: ") and f"trace: {trace}" in text
    assert f"[[ATTACHMENT|{trace}]]" in text


def test_an_unexpected_verdict_names_the_trace_on_its_first_line(tmp_path):
    src = open(os.path.join(SCENARIOS, "tainted-only-room.yaml")).read()
    f = tmp_path / "s.yaml"
    f.write_text(src.replace("deployment-converges: {verdict: violated", "deployment-converges: {verdict: holds"))
    out = tmp_path / "j.xml"
    p, _ = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(out), str(f))
    assert p.returncode == 1
    root = ET.parse(out).getroot()
    assert_valid(root)
    failure = root.find("testsuite/testcase[@name='deployment-converges']/failure")
    trace = tmp_path / "t" / "tainted-only-room" / "deployment-converges.itf.json"
    assert failure.get("type") == "expectation"
    assert failure.get("message").startswith(f"expected holds, got violated, trace {trace}: stuck outside")
    assert failure.text.splitlines()[0] == f"trace: {trace}"


def test_random_runs_name_their_seed_and_budget(tmp_path):
    out = tmp_path / "j.xml"
    p, _ = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(out), "--strategy", "random",
              "--seed", "7", "--max-examples", "5", "--timeout", "30", os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode in (0, 3), p.stderr
    root = ET.parse(out).getroot()
    assert_valid(root)
    props = properties(root.find("testsuite"))
    assert (props["strategy"], props["seed"], props["max-examples"], props["max-steps"], props["timeout"]) == \
        ("random", "7", "5", "60", "30.0")
    assert "reduction" not in props and "max-depth" not in props


def synthetic(search=880.0, claim_seconds=(0.0006, 0.0006, 0.9996)):
    """A report like the user's: a search of 880 s deciding ten properties (each carrying the search's
    time, as the engine reports it), and Z3 claims that took little."""
    from explorer import Stats
    from kubecheck.report import Result, ScenarioReport
    results = [Result(f"p{i}", "safety" if i % 2 else "convergence", "holds", False, None, None, 1000, 12, search)
               for i in range(10)]
    results += [Result(f"claim{i}", "ha", "holds", False, "ok", None, 0, 0, s) for i, s in enumerate(claim_seconds)]
    for r in results[-len(claim_seconds):]:
        r.alone = True
    results.append(Result("job-completes", "convergence", "not-applicable", False, "no Job", None, 0, 0, 0.0))
    return ScenarioReport("big", "scenarios/big.yaml", results, Stats(distinct_states=1000, depth=12, seconds=search))


def test_summing_cases_never_counts_the_search_again():
    """GitLab sums the cases: 880 s of search across ten properties must not read as 8,800 s; nor may the
    rounding of the claims' times add up to more than the suite."""
    from kubecheck.junit import junit_xml
    reports = [synthetic(), synthetic(search=0.0, claim_seconds=(0.0019, 0.0019, 0.0019))]
    reports[1].scenario = "small"
    root = ET.fromstring(junit_xml(reports))
    assert_valid(root)
    big, small = root.findall("testsuite")
    cases = [float(c.get("time")) for c in big.findall("testcase")]
    assert cases == [0.0] * 10 + [0.0, 0.0, 0.999] + [0.0]   # the searched ones, the claims, not applicable
    assert big.get("time") == "880.999" and small.get("time") == "0.003"
    assert float(big.get("time")) <= 880.0 + sum((0.0006, 0.0006, 0.9996))
    assert root.get("time") == "881.002"
    assert sum(float(c.get("time")) for c in root.iter("testcase")) <= float(root.get("time"))
    # Without the run's options (another caller): still valid, the version named.
    assert properties(big) == {"kubecheck.version": __import__("kubecheck").__version__}


def test_the_ant_schema_lacks_exactly_what_is_stripped(tmp_path):
    """Each item stripped for the Ant schema is one it rejects (so the list above is no wider than needed),
    and nothing else is rejected; the Jenkins schema accepts everything but a `file` on a test case."""
    plain = without_expect("tainted-only-room", tmp_path)
    out = tmp_path / "j.xml"
    p, _ = kc("verify", "--quiet", "--traces", str(tmp_path / "t"), "--junit", str(out), plain)
    assert p.returncode == 1
    root = ET.parse(out).getroot()
    assert errors(ANT, for_ant(root)) == []
    items = ([("root", a) for a in ANT_LACKS_ROOT_ATTRIBUTES] + [("suite", a) for a in ANT_LACKS_SUITE_ATTRIBUTES]
             + [("case", t) for t in ANT_LACKS_CASE_ELEMENTS])
    for item in items:
        assert errors(ANT, for_ant(root, keep=item)) != [], item
    assert errors(JENKINS, root) == []
    case = root.find("testsuite/testcase")
    case.set("file", plain)
    assert errors(JENKINS, root) != [], "the Jenkins xunit plugin refuses a file attribute on a test case"
