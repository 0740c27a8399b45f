"""The README's scenario table: its last column ("expected verdicts") is generated from each scenario's
`spec.expect`, so that it cannot drift from what the suite checks (tests/test_readme_table.py).

    .venv/bin/python tests/readme_table.py --write     # rewrite that column in README.md
"""

from __future__ import annotations

import os
import re
import sys
from typing import List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = "| scenario | what it shows | verdicts |"
COLUMN = "expected verdicts (`spec.expect`)"
ROW = re.compile(r"^\| `[a-z0-9.-]+`")


def expected_cell(names: List[str]) -> str:
    """What the scenarios named in a row expect: the properties violated and unknown, or that all hold."""
    sys.path.insert(0, ROOT)
    from model.scenario import load_scenario
    parts = []
    for name in names:
        sc = load_scenario(os.path.join(ROOT, "scenarios", f"{name}.yaml"))
        violated = sorted(p for p, v, _ in sc.expect if v == "violated")
        unknown = sorted(p for p, v, _ in sc.expect if v == "unknown")
        said = []
        if violated:
            said.append("violated: " + ", ".join(f"`{p}`" for p in violated))
        if unknown:
            said.append("unknown: " + ", ".join(f"`{p}`" for p in unknown))
        text = "; ".join(said) or "all hold"
        parts.append(f"{name}: {text}" if len(names) > 1 else text)
    return "<br>".join(parts)


def rows(lines: List[str]):
    """(index, scenario names, cells) of each row of the scenario table."""
    start = lines.index(HEADER) if HEADER in lines else next(
        i for i, line in enumerate(lines) if line.startswith(HEADER[:-1]))
    i = start + 2
    while i < len(lines) and ROW.match(lines[i]):
        cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
        yield i, re.findall(r"`([a-z0-9.-]+)`", cells[0]), cells
        i += 1


def rewritten(text: str) -> str:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(HEADER[:-1]))
    lines[start] = HEADER + f" {COLUMN} |"
    lines[start + 1] = "|---|---|---|---|"
    for i, names, cells in list(rows(lines)):
        lines[i] = "| " + " | ".join(cells[:3] + [expected_cell(names)]) + " |"
    return "\n".join(lines)


if __name__ == "__main__":
    path = os.path.join(ROOT, "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = rewritten(text)
    if "--write" in sys.argv:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
    else:
        sys.stdout.write(new)
