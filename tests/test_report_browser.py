"""The HTML report, opened in a real headless browser (Debian's chromium, installed by .ci/run), and read as
HTML without running its script."""

import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from html.parser import HTMLParser

import pytest

from conftest import ROOT, SCENARIOS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                                    reason="chromium is not installed here (.ci/run installs it in CI)")

# A scenario with two unexpected verdicts (stable-reconciliation is violated where the scenario expects it to
# hold, taints-respected holds where it expects a violation), two identical counterexamples
# (deployment-converges and stable-reconciliation), a reason that tries to close the report's script, and a
# file name with what HTML must escape.
UNEXPECTED_NAME = "tainted-unexpected"
ODD_FILE = "we\"ird<b>&'.yaml"
HOSTILE_WHY = "</script><script>alert(1)</script>"


def _unexpected_scenario() -> str:
    with open(os.path.join(SCENARIOS, "tainted-only-room.yaml")) as f:
        text = f.read()
    lines = []
    for line in text.splitlines():
        if line.startswith("metadata: {name: tainted-only-room}"):
            line = f"metadata: {{name: {UNEXPECTED_NAME}}}"
        elif line.strip().startswith("stable-reconciliation:"):
            line = "    taints-respected: {verdict: violated, why: \"wanted to see it fail\"}"
        elif line.strip().startswith("n-plus-one-capacity:"):
            line = "    n-plus-one-capacity: {verdict: violated, why: " + json.dumps(HOSTILE_WHY) + "}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of four scenarios, its report in a folder of its own (its links go up to the traces):
    the unexpected one above, a violation with its trace (leader-paused), a lasso (nodename-noexecute-loop)
    and one where everything holds (web-three-nodes)."""
    tmp = tmp_path_factory.mktemp("report")
    odd = tmp / "in" / ODD_FILE
    odd.parent.mkdir()
    odd.write_text(_unexpected_scenario())
    (tmp / "out").mkdir()
    report = tmp / "out" / "report.html"
    scenarios = [os.path.join(SCENARIOS, "leader-paused.yaml"), os.path.join(SCENARIOS, "web-three-nodes.yaml"),
                 str(odd), os.path.join(SCENARIOS, "nodename-noexecute-loop.yaml")]
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--traces", str(tmp / "t"),
                        "--report", str(report), *scenarios], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 1, p.stderr   # the unexpected verdicts; the others' violations are the expected ones
    return {"report": report, "text": report.read_text(), "traces": tmp / "t", "odd": str(odd)}


# --- the page as HTML, no script run ---------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag=None, **attrs):
        """The elements under this one (document order) with this tag and attributes (class_: one of the
        classes)."""
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and all(
                        (v in c.attrs.get("class", "").split()) if k == "class_" else c.attrs.get(k) == v
                        for k, v in attrs.items()):
                    out.append(c)
                out.extend(c.all(tag, **attrs))
        return out

    def classes(self):
        return self.attrs.get("class", "").split()


class Tree(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#document", {}, None)
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(text: str) -> Node:
    return Tree(text).root


def scenario_section(page: Node, name: str) -> Node:
    found = page.all("details", id=name)
    assert len(found) == 1, f"no section of scenario {name}"
    return found[0]


def verdict_rows(section: Node):
    """(property, row classes) of a scenario's verdict table, in the page's order."""
    tables = section.all("table", class_="verdicts")
    assert len(tables) == 1
    return [(tr.all("td")[0].text(), tr.classes()) for tr in tables[0].all("tr") if tr.all("td")]


def check_order(page: Node) -> None:
    """The verdicts that need a look come first, the not-applicable ones are one line that opens on them."""
    sec = scenario_section(page, UNEXPECTED_NAME)
    rows = verdict_rows(sec)
    kinds = [("unexpected" if "unexpected" in c else c[0]) for _, c in rows]
    assert kinds == sorted(kinds, key=["unexpected", "r-violated", "r-unknown", "r-holds"].index), rows
    assert [p for p, c in rows if "unexpected" in c] == ["taints-respected", "stable-reconciliation"]
    assert kinds.count("r-violated") == 2 and "r-holds" in kinds and "r-not-applicable" not in kinds
    assert all("UNEXPECTED" in tr.text() for tr in sec.all("tr", class_="unexpected"))
    # The catalog puts node-capacity (holds) before deployment-converges (violated): the table does not.
    names = [p for p, _ in rows]
    assert names.index("deployment-converges") < names.index("node-capacity")
    na = sec.all("details", class_="na")
    assert len(na) == 1 and "open" not in na[0].attrs
    summary = na[0].all("summary")[0].text()
    assert re.match(r"\d+ not applicable: ", summary) and "job-completes" in na[0].text()
    assert int(summary.split()[0]) == len(na[0].all("tr")) - 1 >= 10
    assert "no Job" in na[0].text()   # why it does not apply, once opened
    # The scenarios: the unexpected one first and open, one where everything is as expected collapsed.
    sections = page.all("details", class_="scenario")
    assert sections[0].attrs["id"] == UNEXPECTED_NAME and "open" in sections[0].attrs
    assert "open" not in scenario_section(page, "web-three-nodes").attrs
    assert "open" not in scenario_section(page, "leader-paused").attrs
    assert [a.text() for a in page.all("p", class_="attention")[0].all("a")] == [UNEXPECTED_NAME]
    assert len(sections) == 4


def check_same_trace_once(page: Node) -> None:
    sec = scenario_section(page, UNEXPECTED_NAME)
    drawn = sec.all("section", class_="trace")
    full = [s for s in drawn if "same" not in s.classes()]
    same = [s for s in drawn if "same" in s.classes()]
    assert [s.attrs["data-trace"] for s in full] == [f"{UNEXPECTED_NAME}/deployment-converges"]
    assert len(same) == 1 and "stable-reconciliation" in same[0].all("h3")[0].text()
    assert "The same counterexample as deployment-converges above" in same[0].text()
    assert not same[0].all("svg") and not same[0].all("table")
    assert len(full[0].all("svg")) == 1 and len(full[0].all("table", class_="steps")) == 1
    link = same[0].all("a")[0].attrs["href"]
    assert link == f"#trace={UNEXPECTED_NAME}/deployment-converges"


def check_links(page: Node, report) -> set:
    """Every link leads somewhere: a file beside the report (relative, so the report and its traces can move
    together) or an element of the page.  The files linked."""
    ids = {n.attrs["id"] for n in page.all() if "id" in n.attrs}
    files = set()
    for a in page.all("a"):
        href = a.attrs["href"]
        if href.startswith("#"):
            target = urllib.parse.unquote(href[1:])
            assert target in ids or target.split("&")[0] in ids, href
            continue
        assert not href.startswith(("/", "file:", "http")), href
        path = os.path.normpath(os.path.join(os.path.dirname(report), urllib.parse.unquote(href)))
        assert os.path.isfile(path), href
        assert a.text() and path == os.path.normpath(a.text()), (href, a.text())   # the path, in text too
        files.add(path)
    return files


def test_the_report_is_ordered_and_drawn_once_without_a_browser(run):
    page = parse(run["text"])
    check_order(page)
    check_same_trace_once(page)
    traces = sorted(str(p) for p in run["traces"].rglob("*.itf.json"))
    assert sorted(check_links(page, run["report"])) == traces and len(traces) >= 5
    assert os.path.relpath(traces[0], run["report"].parent).startswith("../")


def test_the_run_is_described_at_the_top(run):
    from kubecheck import __version__
    page = parse(run["text"])
    top = page.all("section", id="run")[0]
    said = {tr.all("th")[0].text(): tr.all("td")[0].text() for tr in top.all("tr")}
    assert said["kubecheck"] == __version__
    assert said["command"].startswith("kubecheck verify --quiet --traces ") and "leader-paused.yaml" in said["command"]
    assert shlex.quote(run["odd"]) in said["command"]     # the odd file name, as it was given (quoted)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", said["written"])
    assert "strategy bfs" in said["options"] and "reduction por" in said["options"] and "symmetry on" in said["options"]
    assert "max-depth each scenario's spec.check" in said["options"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if commit.returncode == 0:
        assert said["commit"].startswith(commit.stdout.strip())
    summary = top.all("p", class_="summary")[0].text()
    assert summary.startswith("4 scenarios; 2 as expected, 1 unexpected, 0 unknown; without expect: ")


def test_what_the_files_say_is_escaped(run):
    text = run["text"]
    assert text.count("<script") == 1 and HOSTILE_WHY not in text and "alert(1)" in text
    assert ODD_FILE not in text and html.escape(ODD_FILE) in text
    page = parse(text)
    assert HOSTILE_WHY in scenario_section(page, UNEXPECTED_NAME).text()   # shown as text


def test_without_javascript_every_step_is_listed(run):
    """Read as HTML, without the script: each trace's table has a row for every state of its file (a lasso's
    closing step too), the table open and the viewer hidden."""
    from kubecheck.traces import read_trace, view
    page = parse(run["text"])
    checked = 0
    for sec in page.all("section", class_="trace"):
        if "same" in sec.classes():
            continue
        scenario, prop = sec.attrs["data-trace"].split("/")
        path = run["traces"] / scenario / f"{prop}.itf.json"
        states = len(view(read_trace(str(path))).states)
        rows = [int(tr.attrs["data-step"]) for tr in sec.all("tr") if "data-step" in tr.attrs]
        assert rows == list(range(states)), (path, rows)
        assert "open" in sec.all("details", class_="all-steps")[0].attrs
        assert "hidden" in sec.all("div", class_="viewer")[0].attrs
        checked += 1
    assert checked >= 3
    loop = [s for s in page.all("section", class_="trace")
            if s.attrs.get("data-trace") == "nodename-noexecute-loop/deployment-converges"][0]
    assert "loop starts" in loop.text() and "closes the loop" in loop.text() and "repeat" in loop.text()


def test_a_trace_gone_since_is_named_not_fatal(tmp_path):
    """The report is written again after each scenario: a trace file removed or spoiled meanwhile is named
    beside its verdict, and the rest of the report is written."""
    from explorer import Stats
    from kubecheck.htmlreport import html_report
    from kubecheck.report import Result, ScenarioReport
    bad = tmp_path / "bad.itf.json"
    bad.write_text("{not json")
    results = [Result("single-leader", "safety", "violated", False, "two leaders", str(tmp_path / "gone.itf.json"),
                      1, 1, 0.0),
               Result("pod-single-node", "safety", "violated", False, "two nodes", str(bad), 1, 1, 0.0)]
    rep = ScenarioReport("s", os.path.join(SCENARIOS, "web-three-nodes.yaml"), results, Stats())
    page = html_report([rep])
    assert page.count("(not shown: ") == 2 and "gone.itf.json" in page and "bad.itf.json" in page
    assert "<section class='trace" not in page and "kubecheck report" in page


def test_a_scenario_from_standard_input_has_its_report(tmp_path):
    """The architecture is drawn from the scenario's file: standard input is read once, by the check."""
    report = tmp_path / "r.html"
    with open(os.path.join(SCENARIOS, "web-three-nodes.yaml")) as f:
        p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "-", "--quiet", "--traces", str(tmp_path / "t"),
                            "--report", str(report)], stdin=f, capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert "the scenario was read from standard input" in report.read_text()


# --- in the browser ---------------------------------------------------------------------------------------

def chromium(*args, timeout=120) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp()
    try:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                               "--no-first-run", "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def dom(report, fragment="", *flags) -> str:
    page = chromium(*flags, "--dump-dom", report.as_uri() + fragment).stdout
    assert "kubecheck report" in page
    return page


@needs_chromium
def test_report_shows_verdicts_and_diagrams_in_a_browser(run):
    assert CHROMIUM, "CI must have chromium: .ci/run installs it"
    page = dom(run["report"])
    assert "single-leader" in page and 'class="violated"' in page and 'class="holds"' in page
    assert "counterexample: single-leader" in page and "leaderelection.lease_expires" in page
    assert page.count("<svg") >= 2  # the trace diagram, and the architecture where dot is installed
    if shutil.which("dot"):
        drawn = page.replace("&#45;", "-")
        assert "etcd member etcd-1" in drawn and "stacked etcd, not HA" in drawn and "not composed" in drawn
    tree = parse(page)
    check_order(tree)
    check_same_trace_once(tree)
    assert len(check_links(tree, run["report"])) >= 5
    # With the script, each drawn trace has a viewer at its first step, and its table is folded.
    viewers = tree.all("div", class_="viewer")
    assert len(viewers) >= 3 and all(v.attrs.get("data-current") == "0" and "hidden" not in v.attrs for v in viewers)
    assert all("open" not in d.attrs for d in tree.all("details", class_="all-steps"))


def _viewer(page: str, trace: str):
    sec = [s for s in parse(page).all("section", class_="trace") if s.attrs.get("data-trace") == trace][0]
    return sec, sec.all("div", class_="viewer")[0]


def _action(sec, step: int) -> str:
    row = [tr for tr in sec.all("tr") if tr.attrs.get("data-step") == str(step)][0]
    return row.all("td", class_="act")[0].all("code")[0].text()


@needs_chromium
def test_the_viewer_steps_through_a_trace(run, tmp_path):
    trace = "leader-paused/single-leader"
    sec, viewer = _viewer(dom(run["report"]), trace)
    assert viewer.attrs["data-current"] == "0" and "step 0 of" in viewer.text()
    # The address names a step: the viewer shows it, with its action and what changed, its row marked.
    sec, viewer = _viewer(dom(run["report"], f"#trace={trace}&step=3"), trace)
    assert viewer.attrs["data-current"] == "3", viewer.text()
    head = viewer.all("div", class_="vhead")[0].text()
    assert head.startswith("step 3: ") and _action(sec, 3) in head and _action(sec, 3) != _action(sec, 2)
    assert "what changed" in viewer.text() and viewer.all("span", class_="after")
    current = [tr.attrs["data-step"] for tr in sec.all("tr") if "current" in tr.classes()]
    assert current == ["3"]
    # The buttons and the arrow keys step: next, next, right, left from 1 is 3; before the first step, 0.
    _, viewer = _viewer(dom(run["report"], f"#trace={trace}&step=1&press=next,next,right,left"), trace)
    assert viewer.attrs["data-current"] == "3"
    _, viewer = _viewer(dom(run["report"], f"#trace={trace}&step=1&press=prev,prev,left"), trace)
    assert viewer.attrs["data-current"] == "0"
    _, viewer = _viewer(dom(run["report"], f"#trace={trace}&step=0&press=last"), trace)
    rows = len([tr for tr in sec.all("tr") if "data-step" in tr.attrs])
    assert viewer.attrs["data-current"] == str(rows - 1)
    # A scenario that is collapsed opens where the address points into it.
    page = parse(dom(run["report"], f"#trace={trace}&step=2"))
    assert "open" in scenario_section(page, "leader-paused").attrs
    shot = tmp_path / "viewer.png"
    p = chromium("--virtual-time-budget=3000", f"--screenshot={shot}", "--window-size=1400,1600",
                 run["report"].as_uri() + f"#trace={trace}&step=3")
    assert shot.exists(), p.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


@needs_chromium
def test_without_javascript_the_browser_lists_every_step(run):
    """The page as a browser without JavaScript shows it: with its one script taken out (chromium's
    --dump-dom reads the page through JavaScript, so --blink-settings=scriptEnabled=false dumps nothing)."""
    text, removed = re.subn(r"<script>.*?</script>", "", run["text"], flags=re.S)
    assert removed == 1
    copy = run["report"].parent / "no-script.html"      # beside the report: its links work alike
    copy.write_text(text)
    page = parse(dom(copy))
    viewers = page.all("div", class_="viewer")
    assert viewers and all("hidden" in v.attrs and "data-current" not in v.attrs for v in viewers)
    for sec in page.all("section", class_="trace"):
        if "same" not in sec.classes():
            assert "open" in sec.all("details", class_="all-steps")[0].attrs
            steps = [tr.attrs["data-step"] for tr in sec.all("tr") if "data-step" in tr.attrs]
            assert steps == [str(i) for i in range(len(steps))] and len(steps) >= 3
