"""The long fuzzing run (issue 17, item 5): as many fuzzed scenarios and traces as asked, through the command
line in this process, with the oracle of tests/fuzzing.py.

    python bench/fuzz.py                       # 2,000 + 2,000 scenarios and 1,000 traces (about 3 minutes)
    python bench/fuzz.py --scenarios 6000 --plausible 6000 --traces 2000 --seed 5 --save /tmp/failing
    python bench/fuzz.py --tracemalloc         # also each call's peak of Python allocations (slower; times
                                               # are then not checked)

Each fuzzed scenario goes through `verify` (and, where it loads, `render`), each trace through `trace show`,
`trace replay` and `render`.  Prints how many inputs were tried, how many calls exited 0, 1, 2 and 3, the
slowest call and the largest rise of memory, the calls that raised the peak resident memory by 50 MiB or
more, then every input that broke the oracle (the exit status is 1 when there is one; --save keeps them).
Deterministic for a given --seed.  tests/test_fuzz.py runs the same strategies on about 1,400 inputs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from hypothesis import HealthCheck, Phase, given, seed as hseed, settings  # noqa: E402

import fuzzing  # noqa: E402


def run(strategy, check, n: int, seed: int, tally: fuzzing.Tally, progress_every: int) -> None:
    t0 = time.perf_counter()

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(f):
        tally.inputs += 1
        check(f, tally)
        if progress_every and tally.inputs % progress_every == 0:
            print(f"  {tally.inputs} inputs, {time.perf_counter() - t0:.0f} s, {len(tally.failures)} failing",
                  file=sys.stderr, flush=True)

    one()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=2000, help="fuzzed scenarios (verify)")
    ap.add_argument("--plausible", type=int, default=2000,
                    help="scenarios a plausible change or two from a seed (most load and are searched)")
    ap.add_argument("--traces", type=int, default=1000, help="fuzzed traces (trace show, trace replay, render)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tracemalloc", action="store_true", help="also measure each call's Python allocations")
    ap.add_argument("--progress", type=int, default=100, metavar="N", help="a line every N inputs (0: none)")
    ap.add_argument("--save", metavar="DIR", help="write each input that breaks the oracle to DIR")
    ap.add_argument("--no-render", dest="render", action="store_false",
                    help="do not also `render` each fuzzed scenario that loads (a Graphviz run each)")
    args = ap.parse_args()
    mem = args.tracemalloc
    tally = fuzzing.Tally()
    folder = tempfile.mkdtemp(prefix="kubecheck-fuzz-")
    t0 = time.perf_counter()

    def save(f, suffix):
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            with open(os.path.join(args.save, f"fail-{len(tally.failures):04d}{suffix}"), "wb") as out:
                out.write(f.data)

    def check_scenario(f, t):
        o = fuzzing.check_scenario_bytes(f.data, folder, tracemalloc_peak=mem)
        if t.add(o, repr(f)):
            save(f, ".yaml")
        elif o.code in (0, 1, 3) and args.render:
            # A scenario that loads is drawn too (its names and zones go into Graphviz's source).
            r = fuzzing.run_cli(["render", os.path.join(folder, "fuzzed.yaml"), "--out",
                                 os.path.join(folder, "fuzzed.svg")], mem)
            if t.add(r, f"render: {f!r}"):
                save(f, "-render.yaml")

    def check_trace(f, t):
        for action in ("show", "replay", "render"):
            o = fuzzing.check_trace_bytes(f.data, folder, action, tracemalloc_peak=mem)
            if t.add(o, f"trace {action}: {f!r}"):
                save(f, f"-{action}.itf.json")

    if args.scenarios:
        print(f"fuzzing {args.scenarios} scenarios (seeds: {len(fuzzing.scenario_seeds())})", file=sys.stderr)
        run(fuzzing.fuzzed_scenarios(), check_scenario, args.scenarios, args.seed, tally, args.progress)
    if args.plausible:
        print(f"fuzzing {args.plausible} plausible scenarios", file=sys.stderr)
        run(fuzzing.plausible_scenarios(), check_scenario, args.plausible, args.seed, tally, args.progress)
    if args.traces:
        print(f"fuzzing {args.traces} traces (seeds: {len(fuzzing.trace_seeds())})", file=sys.stderr)
        run(fuzzing.fuzzed_traces(), check_trace, args.traces, args.seed, tally, args.progress)
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
    print(tally.summary())
    print(f"{time.perf_counter() - t0:.0f} s in all; {len(tally.failures)} calls broke the oracle")
    for raised, label in tally.hungry:
        print(f"\nraised the peak resident memory by {raised / 2 ** 20:.0f} MiB: {label[:2000]}")
    for f in tally.failures:
        print("\n" + f)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
