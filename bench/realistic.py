"""The composed cluster of issue 13: what a platform engineer's first real scenario looks like.

    python bench/realistic.py                 # 2/2, 3/3, 4/4 nodes/replicas, to BFS depth 6
    python bench/realistic.py --depth 7       # deeper (each level is 3-4x the one before)
    python bench/realistic.py --sizes 2       # one size

N workers (2 cpu each, one zone each), a Deployment of N replicas (250m) behind a
Service, a DaemonSet (50m), a Job of one completion, the default control plane,
`faults: {budget: 1, kinds: [node-crash]}`, every property; and the same with
`maxStaleness: 1` and 2 apiservers.  None of them is explored to exhaustion
yet, so the search is bounded by depth and the figures compare runs of one
commit with another: distinct states, transitions, CPU seconds of the search,
states per CPU second, and resident bytes per state (the growth of the child
process's peak RSS over the states it keeps).  Each configuration runs in a
child process of its own, so that one's memory does not count for the next.
Each runs as composed (`none`), with each reduction alone (`quotient`: uids
renumbered per owner, so that creations by different controllers in either
order are one state; `symmetry`: interchangeable nodes, which the DNS addon's
pods, placed at installation, break here), with the quotient and observer
elimination of the EndpointSlice controller, kube-proxy and DNS (`observers`), with all of them on the
whole cluster (`defaults`: and partial-order reduction by persistent sets,
which finds too little to reduce here and turns itself off), and as
`kubecheck verify` does (`apart`: the independent workloads checked one group
at a time, model/decompose.py), search and verdicts both, in CPU seconds.
    python bench/realistic.py --depth 0 --modes apart --no-stale   # to exhaustion
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def cluster(nodes: int, replicas: int, stale: bool = False) -> str:
    """The scenario text: `nodes` workers, a Deployment of `replicas` behind a Service, a DaemonSet, a Job."""
    cp = "  controlPlane: {apiservers: 2}\n" if stale else ""
    check = "  check: {properties: [all]" + (", maxStaleness: 1" if stale else "") + "}\n"
    out = ("apiVersion: kubecheck/v1alpha1\nkind: Cluster\n"
           f"metadata: {{name: realistic-{nodes}-{replicas}{'-stale' if stale else ''}}}\n"
           "spec:\n" + cp + "  faults: {budget: 1, kinds: [node-crash]}\n" + check)
    for i in range(nodes):
        out += ("---\napiVersion: v1\nkind: Node\n"
                f"metadata: {{name: w-{i + 1}, labels: {{topology.kubernetes.io/zone: z{i + 1}}}}}\n"
                "status: {allocatable: {cpu: '2', memory: 4Gi, pods: '110'}}\n")
    out += f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: "nginx:1.27", resources: {{requests: {{cpu: 250m}}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: default}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: default}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      containers: [{{name: agent, image: "fluent-bit:3", resources: {{requests: {{cpu: 50m}}}}}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: once, namespace: default}}
spec:
  completions: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: once, image: busybox, resources: {{requests: {{cpu: 100m}}}}}}]
"""
    return out


MODES = {
    # name: (reduction, symmetry, keep observers, keep the partial-order declarations)
    "none": ("none", False, False, False),            # the system as composed
    "quotient": ("por", False, False, False),         # uids renumbered per owner (model/canonical.py) alone
    "symmetry": ("none", True, False, False),         # interchangeable nodes (model/symmetry.py) alone
    "observers": ("por", False, True, False),         # the quotient, EndpointSlices/kube-proxy/DNS searched around
    "defaults": ("por", True, True, True),             # the whole cluster with every reduction
    "apart": ("por", True, True, True),                # what `kubecheck verify` does: the workloads apart
}


def _measure(text: str, depth, mode: str, out) -> None:
    import dataclasses
    from explorer import check
    from kubecheck.compose import compose
    from model.scenario import parse_scenario
    reduction, symmetry, observers, por = MODES[mode]
    sc = parse_scenario(text)
    comp = compose(sc)
    system = comp.system
    if mode == "apart":
        from kubecheck.decomposed import check_apart
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.process_time()
        out_ = check_apart(sc, comp, compose, timeout=None, progress_for=lambda n: (None, lambda: None),
                           max_depth=depth, max_states=None)
        res = out_.result if out_.result is not None else check(system, max_depth=depth)
        cpu = time.process_time() - t0
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        st = res.stats
        out.send((st.distinct_states, st.transitions, st.depth, st.complete, cpu,
                  (rss1 - rss0) * 1024 / max(st.distinct_states, 1), st.blame_rules[:3], st.symmetry))
        return
    if reduction == "por":
        system = dataclasses.replace(system, observers=system.observers if observers else [],
                                     independence=system.independence if por else None)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    res = check(system, max_depth=depth, reduction=reduction, symmetry=symmetry)   # the search and every verdict
    cpu = time.process_time() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    st = res.stats
    out.send((st.distinct_states, st.transitions, st.depth, st.complete, cpu,
              (rss1 - rss0) * 1024 / max(st.distinct_states, 1), st.blame_rules[:3], st.symmetry))


def measure(text: str, depth, mode: str = "defaults"):
    parent, child = mp.Pipe()
    p = mp.Process(target=_measure, args=(text, depth, mode, child))
    p.start()
    result = parent.recv()
    p.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=6, help="BFS depth bound (0: none, to exhaustion)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--no-stale", action="store_true", help="leave out the maxStaleness 1, 2-apiserver variant")
    args = ap.parse_args()
    depth = args.depth or None
    print(f"{'run':<48} {'distinct':>10} {'transitions':>11} {'depth':>5} {'CPU s':>7} {'states/CPU s':>12} "
          f"{'B/state':>8}  largest contributors")
    for n in args.sizes:
        for stale in (False,) if args.no_stale else (False, True):
            base = None
            for mode in args.modes:
                states, trans, d, complete, cpu, bps, blame, sym = measure(cluster(n, n, stale), depth, mode)
                name = f"{n} nodes/{n} replicas{', stale, 2 apiservers' if stale else ''} [{mode}]"
                done = "exhausted" if complete else f"to depth {d}"
                factor = f" ({base / states:.1f}x fewer states)" if base else ""
                base = base or states
                top = ", ".join(f"{r} {100 * k / states:.0f}%" for r, k in blame)
                used = "" if not MODES[mode][1] else (", symmetry used" if sym else ", symmetry not used")
                print(f"{name:<48} {states:>10,} {trans:>11,} {d:>5} {cpu:>7.2f} {states / cpu:>12,.0f} "
                      f"{bps:>8,.0f}  {done}{factor}{used}; {top}", flush=True)


if __name__ == "__main__":
    main()
