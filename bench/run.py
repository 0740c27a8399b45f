"""Performance figures: distinct states, transitions, seconds and states/s.

    python bench/run.py            # everything (N5R5 without symmetry takes about a minute)
    python bench/run.py --quick    # skip the large reference configurations
    python bench/realistic.py      # the composed cluster of issue 13 (Deployment, Service, DaemonSet, Job)

Figures are printed, never asserted.  For comparison, TLC on this kind of
machine (shared/reference/README.md): N5R5 3,924,206 distinct states in
67-79 s with one worker; N5R5 with symmetry 41,260 in about 2.5 s; N6R6 with
symmetry 354,014 in 34 s.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from explorer import check, search  # noqa: E402
from explorer.examples.kubedeploy import kubedeploy  # noqa: E402

TLC = {("N5R5", False): (3_924_206, "67-79 s"), ("N5R5", True): (41_260, "2.3-2.5 s"),
       ("N6R6", True): (354_014, "34 s"), ("N4R4", False): (104_977, "start-up bound"),
       ("N4R4", True): (4_888, "start-up bound")}


def row(name: str, stats, note: str = "") -> None:
    print(f"{name:<44} {stats.distinct_states:>10,} {stats.transitions:>11,} {stats.seconds:>8.2f} "
          f"{stats.states_per_second:>10,.0f}  {note}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="skip N5R5 without symmetry and N6R6")
    args = ap.parse_args()
    print(f"{'run':<44} {'distinct':>10} {'transitions':>11} {'seconds':>8} {'states/s':>10}  TLC")
    configs = [(4, False), (4, True), (5, True)]
    if not args.quick:
        configs += [(5, False), (6, True)]
    for n, sym in configs:
        key = (f"N{n}R{n}", sym)
        res = search(kubedeploy(n, n, 2), symmetry=sym)
        tlc = TLC.get(key)
        note = f"TLC {tlc[0]:,} in {tlc[1]}" if tlc else ""
        if tlc and tlc[0] != res.stats.distinct_states:
            note += "  MISMATCH"
        row(f"KubeDeploy_{key[0]}{'_sym' if sym else ''}", res.stats, note)

    from model.scenario import parse_scenario
    from properties import get
    text = ("apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: big}\nspec:\n"
            "  controlPlane: {etcd: {topology: external, members: 7, zones: [a, a, b, b, c, d, e]}}\n"
            "  faults: {budget: 2, kinds: [zone-outage, etcd-member-crash]}\n")
    for i in range(100):
        text += (f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: n{i}, labels: "
                 f"{{topology.kubernetes.io/zone: {'abcde'[i % 5]}}}}}\n"
                 "status: {allocatable: {cpu: '2', memory: 4Gi}}\n")
    t = time.perf_counter()
    r = get("etcd-quorum-survives").build(parse_scenario(text)).decide()
    print(f"{'etcd-quorum-survives 7 members/100 nodes':<44} {'':>10} {'':>11} {time.perf_counter() - t:>8.3f} "
          f"{'':>10}  {'holds' if r.holds else 'violated'} (Z3)")

    from kubecheck.compose import compose
    from model.scenario import load_scenario
    from explorer.randomized import random_check
    large = load_scenario(os.path.join(ROOT, "scenarios", "large-cluster.yaml"))
    comp = compose(large)
    res = check(comp.system, max_states=50_000)
    row("large-cluster, BFS to 50,000 states", res.stats, f"depth reached {res.stats.depth}: far from the end")
    t = time.perf_counter()
    rres, cov = random_check(comp.system, seed=0, max_examples=50, max_steps=120)
    verdicts = ", ".join(f"{v.prop}={v.verdict}" for v in rres.verdicts if v.verdict != "holds")
    print(f"{'large-cluster, random':<44} {cov.distinct_states:>10,} {cov.steps:>11,} {time.perf_counter() - t:>8.2f} "
          f"{'':>10}  {cov.runs} runs; {verdicts}", flush=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.yaml"))):
        sc = load_scenario(path)
        comp = compose(sc)
        t = time.perf_counter()
        res = check(comp.system, max_depth=sc.max_depth, max_states=sc.max_states)
        found = [(v.prop, v.verdict) for v in res.verdicts]
        found += [(c.name, "holds" if c.decide().holds else "violated") for c in comp.claims]
        verdict_time = time.perf_counter() - t
        verdicts = ", ".join(f"{p}={v}" for p, v in found if v != "holds") or "all hold"
        row(f"scenario {sc.name}", res.stats, f"verdicts in {verdict_time:.2f} s: {verdicts}")


if __name__ == "__main__":
    main()
