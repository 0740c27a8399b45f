"""JUnit XML for CI dashboards: one test suite per scenario, one test case per property (DESIGN section 4, --junit).

Written to be read as CI systems read it, and valid against the Jenkins xunit plugin's JUnit schema (which that
plugin checks every file against) and, but for the attributes it lacks, the Ant JUnit schema (tests/schemas):

- `<testsuites>`: `time` is the sum of the suites' times; `tests`, `failures`, `errors` the sums of theirs.
- `<testsuite>`, one per scenario: `name` and `package` its metadata.name, `file` its path as given on the
  command line, `id` its place in the run; `time` the search shared by the properties it decides plus the
  cases' own times, so that a consumer summing the cases (GitLab) or the suites never counts more than
  the run; `timestamp` (UTC) about when its check began and `hostname`.  `<properties>`: the kubecheck
  version and the options of the run (strategy, seed, bounds, timeout, reduction, symmetry...);
  `<system-out>`: what the search explored; `<system-err>`: the warnings and notes of the scenario.
- `<testcase>`, one per property: `classname` the scenario, `name` the property, `time` the time spent on
  that property alone: a Z3 claim's decision; 0 for a property the shared search decided and for one that
  does not apply.  A violation (or, with spec.expect, a verdict other than the expected one) is a
  `<failure>`; unknown an `<error>`; not-applicable `<skipped>`.  The failure's message and the first line
  of its text name the trace; the case's `<system-out>` carries it as GitLab's `[[ATTACHMENT|path]]`, with
  an expected verdict's reason or a bounded verdict's bound.

Neither schema has a `file` attribute on `<testcase>` (and the Jenkins xunit plugin rejects a file that has
one), so the scenario's path is on its `<testsuite>` only.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from typing import List, Optional

from model.inputs import printable

from .report import ScenarioReport


def _ms(seconds: float) -> int:
    """Whole milliseconds, rounded down: the parts of a time never add up to more than it took."""
    return max(int(seconds * 1000), 0)


def _time(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _outcome(rep: ScenarioReport, r):
    """(element, message, text, out) of one test case: element is failure, error, skipped or None (a pass);
    `out` its system-out (or None).  With spec.expect a verdict is judged against what the scenario expects:
    an expected violation passes (with its reason), an unexpected verdict fails."""
    first = f"trace: {r.trace}" if r.trace else None
    attach = f"[[ATTACHMENT|{r.trace}]]" if r.trace else None

    def lines(*parts) -> Optional[str]:
        kept = [p for p in parts if p]
        return "\n".join(kept) if kept else None

    def failed(head: str):
        # The trace on the message's first (only) line, and on the text's first line, where summaries look.
        message = head + (f", trace {r.trace}" if r.trace else "") + (f": {r.diagnosis}" if r.diagnosis else "")
        return "failure", message, lines(first, r.diagnosis), attach

    if rep.expect:
        want, why, ok = rep.judge(r)
        if ok and want not in (None, "holds", "not-applicable"):
            said = f"{r.verdict} as expected" + (f": {why}" if why else "")
            return None, None, None, lines(said, first, r.diagnosis, attach)
        if not ok and r.verdict != "unknown":
            return failed(f"expected {want or 'holds'}, got {r.verdict}")
    if r.verdict == "violated":
        return failed("violated")
    if r.verdict == "unknown":
        return "error", r.diagnosis or "unknown", lines(first, r.diagnosis) or "", attach
    if r.verdict == "not-applicable":
        return "skipped", r.diagnosis or "not applicable", None, None
    if r.bounded:
        return None, None, None, r.diagnosis or "holds within the search bounds"
    return None, None, None, None


def run_properties(args) -> dict:
    """The options of a `kubecheck verify` run that the JUnit properties name (None: not given)."""
    def opt(name, default=None):
        return getattr(args, name, default)
    return {"strategy": opt("strategy", "bfs"), "seed": opt("seed"), "max-depth": opt("max_depth"),
            "max-states": opt("max_states"), "max-examples": opt("max_examples"), "max-steps": opt("max_steps"),
            "timeout": opt("timeout"), "max-memory": opt("max_memory"), "reduction": opt("reduction", "por"),
            "symmetry": "off" if opt("no_symmetry", False) else "on",
            "first-violation": bool(opt("first_violation", False))}


def _properties(rep: ScenarioReport, run: Optional[dict]) -> List[tuple]:
    """(name, value) of the suite's properties: the version, the run's options, the bounds of the search."""
    from . import __version__
    out = [("kubecheck.version", __version__)]
    run = dict(run or {})
    if run:
        # The options of the strategy the run used (the random runs have no symmetry, reduction or memory bound).
        keys = (["strategy", "seed", "max-examples", "max-steps", "timeout"] if run.get("strategy") == "random" else
                ["strategy", "seed", "max-depth", "max-states", "timeout", "max-memory", "reduction", "symmetry",
                 "first-violation"])
        for key in keys:
            value = run.get(key)
            if value is None and key in ("max-depth", "max-states"):
                # Not on the command line: the scenario's own bound (spec.check), where the report says it.
                value = rep.bounds[key] if key in rep.bounds else "spec.check"
            if isinstance(value, bool):
                value = "on" if value else "off"
            out.append((key, "none" if value is None else str(value)))
    else:
        out += [(key, "none" if value is None else str(value)) for key, value in rep.bounds.items()]
    if rep.kubernetes_version:
        out.append(("kubernetes.version", rep.kubernetes_version))
    return out


def _searched(rep: ScenarioReport) -> str:
    st = rep.stats
    text = (f"{st.distinct_states:,} states, {st.transitions:,} transitions, depth {st.depth}, "
            f"{st.seconds:.3f} s of search shared by the properties it decides")
    return text + ("" if st.complete else f"; cut short: {st.stop_reason}")


def junit_xml(reports: List[ScenarioReport], run: Optional[dict] = None) -> str:
    """The JUnit XML of `reports`; `run`: the options of the run (`run_properties`), for the properties."""
    host = socket.gethostname() or "localhost"
    suites = ET.Element("testsuites", name="kubecheck")
    totals = {"tests": 0, "failures": 0, "errors": 0, "ms": 0}
    for index, rep in enumerate(reports):
        outcomes = [(r, _outcome(rep, r)) for r in rep.results]
        count = {k: sum(1 for _, o in outcomes if o[0] == k) for k in ("failure", "error", "skipped")}
        own = [_ms(r.own_seconds) for r in rep.results]
        ms = _ms(rep.stats.seconds) + sum(own)
        began = time.gmtime(max(rep.finished - ms / 1000, 0))
        suite = ET.SubElement(suites, "testsuite", name=rep.scenario, tests=str(len(rep.results)),
                              failures=str(count["failure"]), errors=str(count["error"]),
                              skipped=str(count["skipped"]), time=_time(ms),
                              timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", began), hostname=host,
                              id=str(index), package=rep.scenario, file=printable(rep.path))
        props = ET.SubElement(suite, "properties")
        for name, value in _properties(rep, run):
            ET.SubElement(props, "property", name=name, value=value)
        for (r, (element, message, text, out)), case_ms in zip(outcomes, own):
            case = ET.SubElement(suite, "testcase", classname=rep.scenario, name=r.prop, time=_time(case_ms))
            if element is not None:
                attrs = {} if message is None else {"message": message}
                if element == "failure":
                    attrs["type"] = "expectation" if message.startswith("expected ") else r.kind
                elif element == "error":
                    attrs["type"] = "unknown"
                e = ET.SubElement(case, element, **attrs)
                if text is not None:
                    e.text = text
            if out is not None:
                ET.SubElement(case, "system-out").text = out
        ET.SubElement(suite, "system-out").text = _searched(rep)
        # What was not modelled reaches the CI log beside the verdicts it may change.
        ET.SubElement(suite, "system-err").text = "\n".join(
            [f"warning: {w}" for w in rep.warnings] + [f"note: {n}" for n in rep.notes])
        totals["tests"] += len(rep.results)
        totals["failures"] += count["failure"]
        totals["errors"] += count["error"]
        totals["ms"] += ms
    suites.set("tests", str(totals["tests"]))
    suites.set("failures", str(totals["failures"]))
    suites.set("errors", str(totals["errors"]))
    suites.set("time", _time(totals["ms"]))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
