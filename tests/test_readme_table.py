"""The README's scenario table says what the suite checks: its last column is generated from the scenarios'
`spec.expect` (tests/readme_table.py), every built-in scenario has a row, and the headline column names as
violated only properties the scenario expects violated (or unknown)."""

import glob
import os
import re

import readme_table
from conftest import ROOT, SCENARIOS
from model.scenario import load_scenario


def _readme() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_the_expected_verdicts_column_is_the_scenarios_own():
    text = _readme()
    assert readme_table.rewritten(text) == text, (
        "README's scenario table differs from the scenarios' spec.expect: run "
        "`.venv/bin/python tests/readme_table.py --write`")


def test_every_built_in_scenario_has_a_row():
    named = {n for _, names, _ in readme_table.rows(_readme().split("\n")) for n in names}
    have = {os.path.basename(p)[:-len(".yaml")] for p in glob.glob(os.path.join(SCENARIOS, "*.yaml"))}
    assert have - named == set() and named - have == set()


def test_the_headline_names_as_violated_only_what_the_scenario_expects():
    wrong = []
    for _, names, cells in readme_table.rows(_readme().split("\n")):
        if len(names) != 1:
            continue   # a row of several scenarios contrasts them: its headline is not one scenario's
        headline = cells[2]
        said = set()
        for group in re.findall(r"((?:`[a-z0-9-]+`(?: \(Z3\)| \(explored\))?(?:, | and )?)+)(?: both| all)? violated",
                                headline):
            said |= set(re.findall(r"`([a-z0-9-]+)`", group))
        sc = load_scenario(os.path.join(SCENARIOS, f"{names[0]}.yaml"))
        expected = {p for p, v, _ in sc.expect if v in ("violated", "unknown")}
        if not said <= expected:
            wrong.append(f"{names[0]}: the headline says {sorted(said - expected)} violated")
    assert not wrong, wrong
