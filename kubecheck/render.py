"""Diagrams for design reviews: a scenario's architecture, and a counterexample trace as a sequence diagram.

The architecture is drawn by kubecheck/architecture.py and laid out by
Graphviz (`dot` must be installed; without it the command says so and exits
2); its functions are imported here.  The trace diagram is plain SVG written
by kubecheck/sequence.py: one lane per component instance, one box per step
with the action and what it changed, arrows for writes, watches and
relists, the state that matters on the lanes, the violating step and a
lasso's loop marked.
"""

from __future__ import annotations

# The architecture diagram is kubecheck/architecture.py's; its names (and the escaping helpers) stay importable here.
from .architecture import RenderError, _dq, _text, architecture_dot, render_architecture  # noqa: F401
# The trace diagram is kubecheck/sequence.py's; trace_svg stays importable here.
from .sequence import trace_svg  # noqa: F401


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
