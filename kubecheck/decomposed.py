"""Checking the scenario's independent groups of workloads apart, and joining their verdicts.

Why this is sound, and when it is not done: model/decompose.py.  Here: one
search per group (each with the shared cluster and that group's workloads),
node-capacity metered in each (the largest use of each node), the capacity
condition checked on the sums, and the verdicts joined property by
property (maxStates and the timeout are shared among the groups, maxDepth bounds each: a group's
behaviour of some depth is one of the whole's, the other groups idle, of that depth): violated where some group violates it (that group's trace, which
names the group it was checked with), unknown where some group could not
decide it, else holds (bounded where some group's search was cut short).
Where capacity could bind, the whole cluster is searched instead.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, List, Optional, Tuple

from explorer import CheckResult, Stats, Verdict, check
from model.decompose import Group, UsageMeter, capacity_binds, largest_use_note, restrict, workload_groups
from model.scenario import Scenario


@dataclasses.dataclass
class Apart:
    """What checking apart gave: the joined result, and the report's line about it."""

    result: Optional[CheckResult]   # None: checked together after all (note says why)
    note: str


def _largest_uses(res: CheckResult, meter: UsageMeter) -> None:
    """Meter every state the search kept (those restored from a checkpoint too)."""
    if res.search is not None:
        for s in res.search.graph.states:
            meter.record(s)


def _join_stats(parts: List[Stats]) -> Stats:
    st = Stats()
    st.distinct_states = sum(p.distinct_states for p in parts)
    st.transitions = sum(p.transitions for p in parts)
    st.depth = max((p.depth for p in parts), default=0)
    st.seconds = sum(p.seconds for p in parts)
    st.complete = all(p.complete for p in parts)
    st.stop_reason = next((p.stop_reason for p in parts if p.stop_reason), None)
    st.terminal_states = sum(p.terminal_states for p in parts)
    st.symmetry = any(p.symmetry for p in parts)
    blame: dict = {}
    objs: dict = {}
    for p in parts:
        for r, n in p.blame_rules:
            blame[r] = blame.get(r, 0) + n
        for a, n in p.blame_objects:
            objs[a] = objs.get(a, 0) + n
    keep = max((len(p.blame_rules) for p in parts), default=0)   # as many as one search lists
    st.blame_rules = sorted(blame.items(), key=lambda x: (-x[1], x[0]))[:keep]
    st.blame_objects = sorted(objs.items(), key=lambda x: (-x[1], x[0]))[:max((len(p.blame_objects) for p in parts), default=0)]
    st.observers_eliminated = sorted({o for p in parts for o in p.observers_eliminated})
    st.reduction = "por" if any(p.reduction == "por" for p in parts) else "none"
    st.reduced_states = sum(p.reduced_states for p in parts)
    notes = [p.reduction_note for p in parts if p.reduction_note]
    st.reduction_note = notes[0] if notes else None
    st.quotient = any(p.quotient for p in parts)
    steps: dict = {}
    for p in parts:   # a shared rule (a fault, a node's components) is searched in every group: its steps summed
        for name, n, f in p.rule_coverage:
            n0, f0 = steps.get(name, (0, 0))
            steps[name] = (n0 + n, None if f is None or f0 is None else f0 + f)
    st.rule_coverage = [(name, n, f) for name, (n, f) in steps.items()]
    return st


def _join_verdicts(name: str, kind: str, found: List[Tuple[Group, Verdict]]) -> Verdict:
    states = sum(v.states for _, v in found)
    depth = max((v.depth for _, v in found), default=0)
    seconds = sum(v.seconds for _, v in found)
    for group, v in found:
        if v.verdict == "violated":
            diag = ((v.diagnosis or "") + f" (found with the workloads {group.describe()} checked alone: the "
                    "other groups are independent of them)").strip()
            if v.trace is not None:
                v.trace.checked_alone = group.all_keys
            return dataclasses.replace(v, diagnosis=diag, states=states, depth=depth, seconds=seconds)
    for _, v in found:
        if v.verdict == "unknown":
            return dataclasses.replace(v, states=states, depth=depth, seconds=seconds)
    bounded = any(v.bounded for _, v in found)
    diags = [v.diagnosis for _, v in found if v.diagnosis]
    real = [d for d in diags if "vacuous" not in d]
    diag = real[0] if real else (diags[0] if diags and len(diags) == len(found) else None)
    return Verdict(name, kind, "holds", bounded, diag, None, states, depth, seconds)


def searched(system) -> List[str]:
    """The properties a system's search decides, in its order."""
    return [p.name for p in list(system.invariants) + list(system.actions) + list(system.convergences)]


def check_apart(sc: Scenario, whole, compose: Callable, *, timeout: Optional[float],
                progress_for: Callable[[str], tuple], checkpoint_for: Callable[[str], object] = lambda name: None,
                **opts) -> Apart:
    """Check each group of `sc`'s workloads alone and join the verdicts of the properties the search of the
    whole (`whole`, its composition) would decide.  `Apart.result` is None where the scenario is not split (the
    note says why, or is "" where there is nothing to split) or capacity could bind (the whole must be searched
    instead)."""
    groups, why = workload_groups(sc)
    if not groups:
        return Apart(None, f"checked together ({why})" if why else "")
    selected = searched(whole.system)
    parts = [restrict(sc, g) for g in groups]
    comps = [compose(p, list(whole.kinds)) for p in parts]
    decided = [set(searched(c.system)) for c in comps]
    for name in selected:
        if not any(name in d for d in decided):
            return Apart(None, f"checked together ({name} reads what no group holds alone)")
    deadline = time.perf_counter() + timeout if timeout else None
    max_states = opts.get("max_states")
    results, meters = [], []
    for i, (part, comp) in enumerate(zip(parts, comps)):
        meter = UsageMeter()
        # Without partial-order reduction, whose persistent sets keep only the states that what the properties
        # read tells apart: the meter reads every state's pods (the other reductions keep them all).
        system = dataclasses.replace(comp.system, independence=None)
        progress, done = progress_for(f"{sc.name} [{i + 1}/{len(groups)}]")
        # The bounds are the whole check's: what is left of them is shared among the groups left.
        share = len(groups) - i
        left = None if deadline is None else max((deadline - time.perf_counter()) / share, 0.001)
        if max_states is not None:
            opts["max_states"] = max(1, (max_states - sum(r.stats.distinct_states for r in results)) // share)
        res = check(system, timeout=left, progress=progress, checkpoint=checkpoint_for(f"{sc.name}.{i + 1}"), **opts)
        done()
        results.append(res)
        _largest_uses(res, meter)
        uses = meter.largest
        if res.stats.symmetry:
            from model.symmetry import node_classes
            from model.topology import control_plane_nodes
            uses = meter.symmetric(node_classes(part, control_plane_nodes(part)))
        meters.append(uses)
        binds = capacity_binds(sc, meters)   # already: the groups left cannot lower the sums
        if binds:
            return Apart(None, f"checked together: {binds}")
        if res.stats.stop_reason == "interrupted":
            break
    stats = _join_stats([r.stats for r in results])
    binds = capacity_binds(sc, meters)   # in what was explored, where a bound cut a search short
    if binds:
        return Apart(None, f"checked together: {binds}")
    verdicts = []
    for name in selected:
        found = [(groups[i], v) for i, r in enumerate(results) for v in r.verdicts if v.prop == name]
        unsearched = [i for i in range(len(results), len(groups)) if name in decided[i]]
        if unsearched:
            kind = whole.kinds.get(name, "safety")
            found.append((groups[unsearched[0]], Verdict(name, kind, "unknown", True, "not searched: interrupted")))
        verdicts.append(_join_verdicts(name, found[0][1].kind, found))
    sizes = "; ".join(f"{g.describe()}: {r.stats.distinct_states:,} states" for g, r in zip(groups, results))
    capacity = largest_use_note(sc, meters)
    within = "" if stats.complete else " in the states explored"
    note = (f"checked apart in {len(groups)} independent groups ({sizes}); node capacity never decides a fit{within}"
            + (f" ({capacity})" if capacity else "") + "; --reduction none checks them together")
    if len(results) < len(groups):
        note = f"checked apart in {len(groups)} groups; interrupted after {len(results)}"
    return Apart(CheckResult(verdicts, stats, None), note)
