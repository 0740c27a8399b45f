"""Reports of a verification run: the terminal table and the JSON object (DESIGN section 4)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from explorer import Stats
from model.inputs import printable


@dataclass
class Result:
    prop: str
    kind: str
    verdict: str
    bounded: bool
    diagnosis: Optional[str]
    trace: Optional[str]
    states: int
    depth: int
    seconds: float
    alone: bool = False   # decided by a check of its own (a Z3 claim), not by the scenario's shared search

    def as_dict(self) -> dict:
        return {"property": self.prop, "kind": self.kind, "verdict": self.verdict, "bounded": self.bounded,
                "diagnosis": self.diagnosis, "trace": self.trace, "states": self.states, "depth": self.depth,
                "seconds": round(self.seconds, 3)}

    @property
    def own_seconds(self) -> float:
        """The time spent on this property alone (the JUnit test case's time): a Z3 claim's decision; 0 for a
        property decided by the shared search (its `seconds` are the whole search's, and the convergence
        analysis after the search is not timed per property) and for one that does not apply (never `alone`)."""
        return self.seconds if self.alone else 0.0


@dataclass
class ScenarioReport:
    scenario: str
    path: str
    results: List[Result]
    stats: Stats
    left_out: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    symmetry: str = ""   # which nodes the search took as interchangeable, or why none (model/symmetry.py)
    notes: List[str] = field(default_factory=list)   # what the loader did that is no warning (model/scenario.py)
    kubernetes_version: str = ""                     # whose schemas validated the manifests
    expect: dict = field(default_factory=dict)       # spec.expect: property -> (verdict, why)
    identities: str = ""  # why uids are kept in creation order across owners (model/compose.py), if they are
    workloads: str = ""   # how the groups of workloads were checked: apart, or together and why (model/decompose.py)
    # The search bounds the check used, {"max-depth": N or None, "max-states": N} (the command line's, else the
    # scenario's spec.check); empty where the caller did not say (the JUnit properties then name spec.check).
    bounds: dict = field(default_factory=dict)
    finished: float = field(default_factory=time.time, compare=False, repr=False)   # when the report was made

    @property
    def verdicts(self) -> dict:
        """Each property checked -> its verdict."""
        return {r.prop: r.verdict for r in self.results}

    def judge(self, r) -> Tuple[Optional[str], str, bool]:
        """With spec.expect: (the verdict expected of result `r`, or None where it is not listed, its reason,
        whether `r` is as expected: a property not listed must hold or be not-applicable)."""
        want, why = self.expect.get(r.prop, (None, ""))
        ok = r.verdict in ("holds", "not-applicable") if want is None else r.verdict == want
        return want, why, ok

    def unexpected(self) -> List[str]:
        """Each verdict that is not the one expected, as "prop: expected X, got Y" (none without expect)."""
        if not self.expect:
            return []
        return [f"{r.prop}: expected {want or 'holds'}, got {r.verdict}"
                for r in self.results for want, _, ok in [self.judge(r)] if not ok]

    def as_dict(self) -> dict:
        stats = dict(self.stats.as_dict(), left_out=self.left_out)
        if self.symmetry:
            stats["symmetry_note"] = self.symmetry
        if self.identities and not self.stats.quotient:
            stats["identities_note"] = self.identities
        if self.workloads:
            stats["workloads_note"] = self.workloads
        out = {"scenario": self.scenario, "kubernetesVersion": self.kubernetes_version, "warnings": self.warnings,
               "notes": self.notes, "results": [r.as_dict() for r in self.results], "stats": stats}
        if self.expect:
            out["expect"] = {"met": not self.unexpected(), "unexpected": self.unexpected()}
        return out

    @property
    def exit_code(self) -> int:
        if self.expect:
            bad = self.unexpected()
            if any(not b.endswith("got unknown") for b in bad):
                return 1
            return 3 if bad else 0
        verdicts = {r.verdict for r in self.results}
        if "violated" in verdicts:
            return 1
        if "unknown" in verdicts:
            return 3
        return 0


def format_table(rep: ScenarioReport) -> str:
    st = rep.stats
    bound = "" if st.complete else f", cut short: {st.stop_reason}"
    lines = [f"scenario {rep.scenario} ({printable(rep.path)})",
             f"  {st.distinct_states:,} states, {st.transitions:,} transitions, depth {st.depth}, "
             f"{st.seconds:.2f} s ({st.states_per_second:,.0f} states/s){bound}"]
    for w in rep.warnings:
        lines.append(f"  warning: {w}")
    for n in rep.notes:
        lines.append(f"  note: {n}")
    if rep.left_out:
        lines.append(f"  left out (cone of influence): {'; '.join(rep.left_out)}")
    if rep.symmetry:
        used = "" if st.symmetry or not st.distinct_states else " (not used by this search)"
        lines.append(f"  symmetry: {rep.symmetry}{used if rep.symmetry.startswith('interchangeable') else ''}")
    if st.quotient:
        lines.append("  identities: objects made by different controllers are taken in any order of creation "
                     "(uids renumbered per owner; --reduction none keeps creation order)")
    elif rep.identities:
        lines.append(f"  identities: kept in creation order ({rep.identities})")
    if rep.workloads:
        lines.append(f"  workloads: {rep.workloads}")
    if st.observers_eliminated:
        lines.append(f"  searched around (only properties read them; --reduction none to compose them): "
                     f"{', '.join(st.observers_eliminated)}")
    if st.reduction == "por":
        lines.append(f"  partial-order reduction: {st.reduced_states:,} of {st.distinct_states:,} states explored "
                     f"through a persistent subset of their steps")
    if getattr(st, "reduction_note", None):
        lines.append(f"  {st.reduction_note}")
    if st.never_fired:
        lines.append(f"  never fired ({len(st.never_fired)} of the {len(st.rule_coverage)} rules searched; no state "
                     f"explored enables them): {', '.join(st.never_fired)}")
    if st.blame_rules:
        total = max(st.distinct_states, 1)
        lines.append("  where the states come from (the first step to reach each): "
                     + ", ".join(f"{r} {100 * n / total:.0f}%" for r, n in st.blame_rules))
        lines.append("  by object or node in those steps: "
                     + ", ".join(f"{a} {100 * n / total:.0f}%" for a, n in st.blame_objects))
    width = max([len(r.prop) for r in rep.results] + [8])
    for r in rep.results:
        verdict = r.verdict + (" (bounded)" if r.bounded else "")
        if rep.expect:
            want, why, ok = rep.judge(r)
            if ok and want not in (None, "holds"):
                verdict += f" (as expected{': ' + why if why else ''})"
        lines.append(f"  {r.prop:<{width}}  {r.kind:<11}  {verdict}")
        if r.diagnosis and (r.verdict != "holds" or r.bounded or "vacuously" in r.diagnosis):
            lines.append(f"  {'':<{width}}    {r.diagnosis}")
        if r.trace:
            lines.append(f"  {'':<{width}}    trace: {r.trace}")
    if rep.expect:
        bad = rep.unexpected()
        lines.append("  expect: every verdict as expected" if not bad else
                     "  UNEXPECTED: " + "; ".join(bad))
    return "\n".join(lines)


def run_counts(reports) -> dict:
    """What a run's summary says (the terminal's last line, the HTML report's head): how many scenarios, and
    among those with spec.expect how many came out as expected, unexpected or unknown; among those without,
    how many have a violation, an unknown verdict, or hold throughout (None where the run has none of them)."""
    expected = [r for r in reports if r.expect]
    plain = [r for r in reports if not r.expect]
    out = {"scenarios": len(reports), "expected": None, "plain": None}
    if expected:
        ok = sum(1 for r in expected if r.exit_code == 0)
        unknown = sum(1 for r in expected if r.exit_code == 3)
        out["expected"] = (ok, len(expected) - ok - unknown, unknown)
    if plain:
        out["plain"] = tuple(sum(1 for r in plain if r.exit_code == code) for code in (1, 3, 0))
    return out

