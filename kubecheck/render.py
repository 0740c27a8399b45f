"""Diagrams for design reviews: a scenario's architecture, and a counterexample trace as a sequence diagram.

The architecture is drawn by kubecheck/architecture.py and laid out by
Graphviz (`dot` must be installed; without it the command says so and exits
2); its functions are imported here.  The trace diagram is plain SVG written
here: one lane per component instance, one box per step with the action and
the objects it changed, the violating step and a lasso's loop marked.
"""

from __future__ import annotations

from typing import Any, Dict, List

# The architecture diagram is kubecheck/architecture.py's; its names (and the escaping helpers) stay importable here.
from .architecture import RenderError, _dq, _text, architecture_dot, render_architecture  # noqa: F401
from .traces import diff_states, view


def _lane_of(action: str) -> str:
    comp, rest = action.split(".", 1) if "." in action else (action, "")
    args = rest[rest.find("(") + 1:-1] if "(" in rest else ""
    parts = dict(p.split("=", 1) for p in args.split(", ") if "=" in p)
    if comp == "kubelet" and "node" in parts:
        return f"kubelet {parts['node']}"
    for key in ("by", "process"):  # one lane per replica of a leader-elected component
        if key in parts and comp != "environment":
            return parts[key]
    return comp


def trace_svg(doc: Dict[str, Any]) -> str:
    """A trace (ITF document) as a sequence diagram in SVG."""
    v = view(doc)     # plain values; a lasso closed by a copy of the state it returns to
    states = v.states
    meta = doc.get("#meta", {})
    actions = [a if a is not None else "(unlabelled)" for a in v.actions[1:]]
    lanes: List[str] = []
    for a in actions:
        lane = _lane_of(a)
        if lane not in lanes:
            lanes.append(lane)
    lane_w, box_h, top = 230, 64, 90
    width = max(1, len(lanes)) * lane_w + 40
    height = top + len(actions) * (box_h + 14) + 60
    loop = v.loop
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Helvetica" font-size="11">',
           f'<text x="20" y="24" font-size="15" font-weight="bold">{_text(str(meta.get("property")))} '
           f'{_text(str(meta.get("verdict")))} in {_text(str(meta.get("scenario")))}</text>',
           f'<text x="20" y="44" fill="#444">{_text(str(meta.get("diagnosis", ""))[:180])}</text>']
    for i, lane in enumerate(lanes):
        x = 20 + i * lane_w + lane_w // 2
        out.append(f'<text x="{x}" y="{top - 12}" text-anchor="middle" font-weight="bold">{_text(lane)}</text>')
        out.append(f'<line x1="{x}" y1="{top - 6}" x2="{x}" y2="{height - 30}" stroke="#bbb" stroke-dasharray="4 3"/>')
    for k, action in enumerate(actions, start=1):
        i = lanes.index(_lane_of(action))
        x = 20 + i * lane_w + 8
        y = top + (k - 1) * (box_h + 14)
        last = k == len(actions)
        in_loop = loop is not None and k > loop
        fill = "#fde2e1" if last and loop is None else "#e3f2fd" if in_loop else "#f5f7fa"
        stroke = "#c62828" if last and loop is None else "#1565c0" if in_loop else "#90a4ae"
        out.append(f'<rect x="{x}" y="{y}" width="{lane_w - 16}" height="{box_h}" rx="6" fill="{fill}" stroke="{stroke}"/>')
        short = action.split("(", 1)
        out.append(f'<text x="{x + 6}" y="{y + 15}" font-weight="bold">{k}. {_text(short[0])}</text>')
        if len(short) > 1:
            out.append(f'<text x="{x + 6}" y="{y + 29}" fill="#333">({_text(short[1][:40])}</text>')
        changed = [p for p, _, _ in diff_states(states[k - 1], states[k]) if not p.startswith("etcd.revision")]
        names = sorted({p.split(".")[2] if p.startswith("etcd.objects.") else p.split(".")[0] + "." + p.split(".")[1]
                        if "." in p else p for p in changed})
        out.append(f'<text x="{x + 6}" y="{y + 45}" fill="#555" font-size="10">changed: '
                   f'{_text(", ".join(names)[:44] or "nothing visible")}</text>')
        if last and loop is None:
            out.append(f'<text x="{x + 6}" y="{y + 58}" fill="#c62828" font-size="10">violation</text>')
        if loop is not None and k == loop + 1:
            out.append(f'<text x="{x + 6}" y="{y + 58}" fill="#1565c0" font-size="10">loop starts (repeats for ever)</text>')
    out.append("</svg>")
    return "\n".join(out)


def state_graph_dot(comp, result, highlight: str = "", limit: int = 3000) -> str:
    """The explored state graph as Graphviz source, the counterexample path of `highlight` in red.

    Edges are the explored steps between distinct states; faults are dashed.
    Only for small runs: more than `limit` states is refused.
    """
    from explorer import render_label

    system = comp.system
    # The graph's states are in the form its search kept them: the quotient of the reductions, where used.
    canonical = system.quotient if result.stats.quotient and system.quotient else system.canonical
    g = result.search.graph
    n = len(g.states)
    if n > limit:
        raise RenderError(f"the state graph has {n:,} states; drawing is for small runs (at most {limit:,})")
    on_path = set()
    verdict = next((v for v in result.verdicts if v.prop == highlight and v.trace is not None), None)
    if verdict is None:
        verdict = next((v for v in result.verdicts if v.trace is not None), None)
    if verdict is not None:
        on_path = {g.index.get(canonical(s)) for s in verdict.trace.states}
    lines = ["digraph states {", '  rankdir=LR; node [shape=circle, fontsize=9, width=0.3, fontname="Helvetica"];',
             '  edge [fontsize=7, fontname="Helvetica", color="#9e9e9e"];']
    if verdict is not None:
        lines.append(f'  label="{_text(comp.model.scenario.name)}: {n} states; red: {verdict.prop} '
                     f'({verdict.verdict})"; labelloc=t;')
    for i in range(n):
        style = 'style=filled, fillcolor="#ef9a9a"' if i in on_path else ""
        shape = "doublecircle" if i == 0 else "circle"
        lines.append(f'  s{i} [label="{i}", shape={shape}, {style}];')
    fair = {r.name: r.fair for r in system.rules}
    for i in range(min(g.expanded, n)):
        s = g.states[i]
        seen = set()
        for rule in system.rules:
            for lab, nxt in rule.fn(s):
                j = g.index.get(canonical(nxt))
                if j is None or (j, lab[1]) in seen:
                    continue
                seen.add((j, lab[1]))
                red = i in on_path and j in on_path and g.depth[j] == g.depth[i] + 1
                attrs = ['color="#c62828", penwidth=2' if red else "",
                         "style=dashed" if not fair[rule.name] else "",
                         f'label="{_text(render_label(lab).split("(")[0])}"' if red else ""]
                lines.append(f"  s{i} -> s{j} [{', '.join(a for a in attrs if a)}];")
    lines.append("}")
    return "\n".join(lines)
