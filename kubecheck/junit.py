"""JUnit XML for CI dashboards: one test case per scenario and property (DESIGN section 4, --junit)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import List

from .report import ScenarioReport


def _outcome(rep: ScenarioReport, r):
    """(element, message, text) of one test case: failure, error, skipped, system-out or None (a pass).
    With spec.expect a verdict is judged against what the scenario expects: an expected violation passes
    (with its reason), an unexpected verdict fails."""
    trace = f"\ntrace: {r.trace}" if r.trace else ""
    if rep.expect:
        want, why, ok = rep.judge(r)
        if ok and want not in (None, "holds", "not-applicable"):
            return "system-out", None, f"{r.verdict} as expected" + (f": {why}" if why else "") + trace
        if not ok and r.verdict != "unknown":
            return "failure", f"expected {want or 'holds'}, got {r.verdict}", (r.diagnosis or "") + trace
    if r.verdict == "violated":
        return "failure", r.diagnosis or "violated", (r.diagnosis or "") + trace
    if r.verdict == "unknown":
        return "error", r.diagnosis or "unknown", r.diagnosis or ""
    if r.verdict == "not-applicable":
        return "skipped", r.diagnosis or "not applicable", None
    if r.bounded:
        return "system-out", None, r.diagnosis or "holds within the search bounds"
    return None, None, None


def junit_xml(reports: List[ScenarioReport]) -> str:
    suites = ET.Element("testsuites", name="kubecheck")
    for rep in reports:
        outcomes = [(r, _outcome(rep, r)) for r in rep.results]
        count = {k: sum(1 for _, o in outcomes if o[0] == k) for k in ("failure", "error", "skipped")}
        suite = ET.SubElement(suites, "testsuite", name=rep.scenario, tests=str(len(rep.results)),
                              failures=str(count["failure"]), errors=str(count["error"]),
                              skipped=str(count["skipped"]), time=f"{rep.stats.seconds:.3f}")
        for r, (element, message, text) in outcomes:
            case = ET.SubElement(suite, "testcase", classname=rep.scenario, name=r.prop, time=f"{r.seconds:.3f}")
            if element is None:
                continue
            attrs = {} if message is None else {"message": message}
            if element == "failure":
                attrs["type"] = "expectation" if message.startswith("expected ") else r.kind
            elif element == "error":
                attrs["type"] = "unknown"
            e = ET.SubElement(case, element, **attrs)
            if text is not None:
                e.text = text
        if rep.warnings or rep.notes:
            # What was not modelled reaches the CI log beside the verdicts it may change.
            ET.SubElement(suite, "system-err").text = "\n".join(
                [f"warning: {w}" for w in rep.warnings] + [f"note: {n}" for n in rep.notes])
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
