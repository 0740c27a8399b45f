"""JUnit XML for CI dashboards: one test case per scenario and property (DESIGN section 4, --junit)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import List

from .report import ScenarioReport


def junit_xml(reports: List[ScenarioReport]) -> str:
    suites = ET.Element("testsuites", name="kubecheck")
    for rep in reports:
        failures = sum(1 for r in rep.results if r.verdict == "violated")
        errors = sum(1 for r in rep.results if r.verdict == "unknown")
        skipped = sum(1 for r in rep.results if r.verdict == "not-applicable")
        suite = ET.SubElement(suites, "testsuite", name=rep.scenario, tests=str(len(rep.results)),
                              failures=str(failures), errors=str(errors), skipped=str(skipped),
                              time=f"{rep.stats.seconds:.3f}")
        for r in rep.results:
            case = ET.SubElement(suite, "testcase", classname=rep.scenario, name=r.prop, time=f"{r.seconds:.3f}")
            if r.verdict == "violated":
                f = ET.SubElement(case, "failure", message=r.diagnosis or "violated", type=r.kind)
                f.text = (r.diagnosis or "") + (f"\ntrace: {r.trace}" if r.trace else "")
            elif r.verdict == "unknown":
                e = ET.SubElement(case, "error", message=r.diagnosis or "unknown", type="unknown")
                e.text = r.diagnosis or ""
            elif r.verdict == "not-applicable":
                ET.SubElement(case, "skipped", message=r.diagnosis or "not applicable")
            elif r.bounded:
                ET.SubElement(case, "system-out").text = r.diagnosis or "holds within the search bounds"
        if rep.warnings or rep.notes:
            # What was not modelled reaches the CI log beside the verdicts it may change.
            ET.SubElement(suite, "system-err").text = "\n".join(
                [f"warning: {w}" for w in rep.warnings] + [f"note: {n}" for n in rep.notes])
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
