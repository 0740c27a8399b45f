"""docs/known-bugs.md agrees with the pinned verdicts: each row's "violated in" scenarios violate the
properties it names, and its "holds in" scenarios hold them."""

import os
import re

from conftest import ROOT, SCENARIOS


def rows():
    text = open(os.path.join(ROOT, "docs", "known-bugs.md"), encoding="utf-8").read()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2].startswith("`"):
            yield cells


def test_every_row_names_pinned_scenarios_with_those_verdicts():
    from test_scenarios import PINNED, STABLE
    from test_ha import PINNED_HA
    found = 0
    for bug, _, violated, holds, _ in rows():
        found += 1
        props = re.findall(r"\(([^)]*)\)", violated)
        names = set(re.findall(r"`([a-z0-9.-]+)`", violated.split("(")[0]))
        wanted = set(re.findall(r"`([a-z0-9-]+)`", props[0])) if props else set()
        assert names and wanted, bug
        for name in names:
            assert os.path.exists(os.path.join(SCENARIOS, f"{name}.yaml")), (bug, name)
            pinned = dict(PINNED.get(name, (0, 0, {}))[2])
            pinned.update({k: v[0] for k, v in PINNED_HA.get(name, {}).items()})
            if name in STABLE:
                pinned["stable-reconciliation"] = STABLE[name]
            got = {p for p in wanted if pinned.get(p) == "violated"}
            assert got, (bug, name, wanted, pinned)
        for name in re.findall(r"`([a-z0-9.-]+)`", holds.split("(")[0]):
            assert os.path.exists(os.path.join(SCENARIOS, f"{name}.yaml")), (bug, name)
            pinned = dict(PINNED.get(name, (0, 0, {}))[2])
            pinned.update({k: v[0] for k, v in PINNED_HA.get(name, {}).items()})
            assert all(pinned.get(p) in (None, "holds") for p in wanted), (bug, name, wanted, pinned)
    assert found >= 13
