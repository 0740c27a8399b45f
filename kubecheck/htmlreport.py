"""One self-contained HTML report of a verification run (--report): no network, SVG inline.

For each scenario: the architecture diagram (where Graphviz is installed),
the verdict table with each diagnosis, and for each counterexample its
sequence diagram and a table of its steps with what changed at each.
"""

from __future__ import annotations

import html
import json
import shutil
from typing import List

from model.scenario import load_scenario

from .render import architecture_dot, trace_svg
from .report import ScenarioReport
from .traces import diff_states, read_trace, view

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; font-size: 0.9em; }
th { background: #f0f3f7; text-align: left; }
.holds { color: #2e7d32; font-weight: bold; } .violated { color: #c62828; font-weight: bold; }
.unknown { color: #ef6c00; font-weight: bold; } .not-applicable { color: #888; }
.diagram { overflow-x: auto; border: 1px solid #eee; padding: 0.5em; margin: 0.5em 0; }
code { font-size: 0.85em; }
"""


def _architecture(path: str) -> str:
    if shutil.which("dot") is None:
        return "<p><em>Architecture diagram omitted: Graphviz's dot is not installed.</em></p>"
    import graphviz
    svg = graphviz.Source(architecture_dot(load_scenario(path, lenient=True))).pipe(format="svg").decode()
    return f'<div class="diagram">{svg[svg.find("<svg"):]}</div>'


def _steps_table(doc) -> str:
    rows = []
    v = view(doc)     # plain values; a lasso closed by a copy of the state it returns to
    states = v.states
    loop = v.loop
    for i, st in enumerate(states):
        changes = "" if i == 0 else "<br>".join(
            f"<code>{html.escape(p)}</code>: {html.escape(json.dumps(a))} &rarr; {html.escape(json.dumps(b))}"
            for p, a, b in diff_states(states[i - 1], st) if not p.startswith("etcd.revision"))
        mark = " (loop starts)" if loop == i else ""
        rows.append(f"<tr><td>{i}</td><td><code>{html.escape(v.actions[i] or '')}</code>{mark}</td>"
                    f"<td>{changes}</td></tr>")
    return "<table><tr><th>step</th><th>action</th><th>what changed</th></tr>" + "".join(rows) + "</table>"


def html_report(reports: List[ScenarioReport]) -> str:
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>kubecheck report</title>",
             f"<style>{STYLE}</style></head><body><h1>kubecheck report</h1>"]
    summary = []
    for rep in reports:
        counts = {}
        for r in rep.results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        summary.append(f"<tr><td><a href='#{html.escape(rep.scenario)}'>{html.escape(rep.scenario)}</a></td>"
                       + "".join(f"<td class='{v}'>{counts.get(v, 0)} {v}</td>"
                                 for v in ("violated", "unknown", "holds", "not-applicable")) + "</tr>")
    parts.append("<table><tr><th>scenario</th><th colspan='4'>verdicts</th></tr>" + "".join(summary) + "</table>")
    for rep in reports:
        st = rep.stats
        parts.append(f"<h2 id='{html.escape(rep.scenario)}'>{html.escape(rep.scenario)}</h2>")
        parts.append(f"<p>{st.distinct_states:,} states, {st.transitions:,} transitions, depth {st.depth}"
                     f"{'' if st.complete else ', cut short: ' + html.escape(str(st.stop_reason))}</p>")
        if rep.warnings:
            parts.append("<h3>warnings: what the model does not model here</h3><ul>"
                         + "".join(f"<li><code>{html.escape(w)}</code></li>" for w in rep.warnings) + "</ul>")
        if rep.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in rep.notes) + "</ul>")
        parts.append(_architecture(rep.path))
        rows = []
        for r in rep.results:
            verdict = r.verdict + (" (bounded)" if r.bounded else "")
            if rep.expect:
                want, _, ok = rep.judge(r)
                if not ok:
                    verdict += f" (UNEXPECTED: expected {want or 'holds'})"
                elif want not in (None, "holds"):
                    verdict += " (as expected)"
            rows.append(f"<tr><td>{html.escape(r.prop)}</td><td>{r.kind}</td>"
                        f"<td class='{r.verdict}'>{html.escape(verdict)}</td>"
                        f"<td>{html.escape(r.diagnosis or '')}</td></tr>")
        parts.append("<table><tr><th>property</th><th>kind</th><th>verdict</th><th>diagnosis</th></tr>"
                     + "".join(rows) + "</table>")
        for r in rep.results:
            if not r.trace:
                continue
            doc = read_trace(r.trace)
            parts.append(f"<h3>counterexample: {html.escape(r.prop)}</h3>")
            parts.append(f'<div class="diagram">{trace_svg(doc)}</div>')
            parts.append(_steps_table(doc))
    parts.append("</body></html>")
    return "\n".join(parts)
