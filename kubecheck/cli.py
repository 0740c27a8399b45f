"""The command line (DESIGN section 4).

    kubecheck verify SCENARIO... [--property NAME]... [--strategy bfs|random] [--max-depth N]
                     [--max-states N] [--timeout S] [--json PATH|-] [--junit PATH] [--report FILE.html]
                     [--traces DIR] [--workers N|auto] ...   (`kubecheck verify --help` lists them all)
    kubecheck trace show|replay TRACE.itf.json
    kubecheck render SCENARIO|TRACE --out FILE.svg
    kubecheck review SCENARIO_A SCENARIO_B
    kubecheck properties

Exit status: 0 every checked property holds; 1 a property is violated; 2 the
input or the command line is wrong; 3 no violation but some verdict unknown;
4 an internal error (one line; the traceback with --debug); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from typing import List, Optional

from explorer import check
from explorer.memory import shown
from explorer.smt import SolverTimeout, set_deadline
from model.scenario import ScenarioError, default_cluster, has_cluster_document, load_scenario

from .compose import UsageError, compose
from .files import OutputError, check_outputs, write_atomic
from .render import RenderError, render_architecture, state_graph_dot, trace_svg
from .report import Result, ScenarioReport, format_table, run_counts
from .workers import check_in_workers
from .traces import TraceFileError, read_trace, remove_stale_trace, replay, show, to_itf, write_trace

EXIT_OK, EXIT_VIOLATED, EXIT_INPUT, EXIT_UNKNOWN, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line and exit 2, as for any bad input
        self.exit(EXIT_INPUT, f"kubecheck: {message} (see `{self.prog} --help`)\n")


def _nonneg(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {n}")
    return n


def _seconds(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not (x > 0 and math.isfinite(x)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value}")
    return x


def _memory_size(value: str) -> int:
    """--max-memory: bytes, written as a Kubernetes quantity (2Gi, 500Mi, 4G) or with a B after it (2GiB)."""
    from model.quantity import QuantityError, parse_quantity
    text = value.strip()
    text = text[:-1] if text.endswith("B") and len(text) > 1 and not text[-2].isdigit() else text
    try:
        n = parse_quantity(text)
    except (QuantityError, ValueError, ArithmeticError):
        n = None
    if n is None or not n.is_finite() or n < (1 << 20) or n >= (1 << 62):
        raise argparse.ArgumentTypeError(f"expected a size from 1Mi to 4Ei, such as 2Gi or 500Mi, got {value!r}")
    return int(n)


def _count(text: str, low: int, high: int, what: str, alternative: str = "") -> int:
    """A whole number of `what` from `low` to `high` (an option's value), or one clear message."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of {what}{alternative}, got {text!r}") from None
    if not low <= n <= high:
        raise argparse.ArgumentTypeError(f"expected {low} to {high} {what}, got {n}")
    return n


def _workers(text: str) -> int:
    """--workers: a number of processes from 1 to 64, or auto (one per core this process may use)."""
    if text == "auto":
        return max(1, min(64, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
                          (os.cpu_count() or 1)))
    return _count(text, 1, 64, "processes", " or auto")


def _positive_nodes(text: str) -> int:
    return _count(text, 1, 26, "workers")


def _loading_flags(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--lenient", action="store_true",
                   help="a field unknown to the Kubernetes schema is a warning, not an error")
    g.add_argument("--strict", action="store_true",
                   help="a field or kind the model does not model (a warning by default) is an error")


def _load(path: str, args):
    lenient, strict = getattr(args, "lenient", False), getattr(args, "strict", False)
    nodes = getattr(args, "nodes", None)
    if path != "-" and not has_cluster_document(path):
        if nodes:
            return default_cluster(path, nodes, lenient=lenient, strict=strict)
        if os.path.isdir(path):
            raise ScenarioError(f"{path}: is a folder of manifests, not a scenario: give a scenario file whose "
                                "spec.manifests lists it, or --nodes N to check them on a default cluster of N "
                                "workers")
    elif nodes and path != "-":
        print(f"kubecheck: warning: {path} has a Cluster document: --nodes is not used for it", file=sys.stderr)
    return load_scenario(path, lenient=lenient, strict=strict)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = _Parser(prog="kubecheck", description="A model checker of the Kubernetes architecture. "
                "--debug (anywhere on the line) shows the traceback of an internal error.")
    p.add_argument("--version", action="version", version=f"kubecheck {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    v = sub.add_parser("verify", help="check scenarios' properties")
    v.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    v.add_argument("--property", action="append", default=[], metavar="NAME",
                   help="check only this property (repeatable); default: the scenario's list")
    v.add_argument("--strategy", choices=["bfs", "random"], default="bfs",
                   help="bfs: exhaustive search; random: seeded random behaviours, shrunk (explorer/randomized.py), "
                        "for scenarios too large to exhaust")
    v.add_argument("--seed", type=_nonneg, default=0, metavar="N", help="random: the seed (same seed, same result)")
    v.add_argument("--max-examples", type=_nonneg, default=500, metavar="N", help="random: behaviours per search")
    v.add_argument("--max-steps", type=_nonneg, default=60, metavar="N",
                   help="random: steps per behaviour (then as many fair steps, faults stopped)")
    v.add_argument("--max-depth", type=_nonneg, metavar="N")
    v.add_argument("--max-states", type=_nonneg, metavar="N")
    v.add_argument("--timeout", type=_seconds, metavar="S",
                   help="bound the whole check of each scenario: the search, the convergence analysis after it, "
                        "the Z3 claims, the random runs")
    v.add_argument("--max-memory", type=_memory_size, metavar="SIZE",
                   help="bfs: stop the search when this process's resident memory passes SIZE (2Gi, 500Mi); "
                        "what was explored is judged as for any bound")
    v.add_argument("--json", metavar="PATH|-", help="write the results as JSON (- for standard output)")
    v.add_argument("--report", metavar="FILE.html", help="write one self-contained HTML report")
    v.add_argument("--junit", metavar="PATH", help="write JUnit XML: one test case per scenario and property")
    v.add_argument("--traces", metavar="DIR", default="traces",
                   help="where counterexample traces are written (default: traces)")
    v.add_argument("--first-violation", action="store_true",
                   help="bfs: stop the search at the first safety violation (as TLC does); the properties it "
                        "leaves undecided are reported as bounded")
    v.add_argument("--reduction", choices=["por", "none"], default="por",
                   help="por (default): the exact reductions of the search: the components that only "
                        "properties read (kube-proxy, DNS) are searched around, and, on clusters of one "
                        "apiserver without lagging caches, partial-order reduction by persistent sets of "
                        "components (turned off when the first states show no independent steps). none: search "
                        "as composed, to compare")
    v.add_argument("--no-symmetry", action="store_true", help="turn symmetry reduction off")
    v.add_argument("--checkpoint", metavar="DIR",
                   help="bfs: write the search's state to DIR every minute (KUBECHECK_CHECKPOINT_SECONDS), so that "
                        "an interrupted run can continue with --resume DIR")
    v.add_argument("--resume", metavar="DIR",
                   help="bfs: continue each scenario's search from its last checkpoint in DIR (and keep writing "
                        "checkpoints there); a checkpoint of another scenario, options or model is not used")
    _loading_flags(v)
    v.add_argument("--nodes", type=_positive_nodes, metavar="N",
                   help="for manifests without a Cluster document (a file or a folder): check them on a default "
                        "cluster of N workers, 4 cpu and 16Gi each, one per zone")
    v.add_argument("--quiet", action="store_true", help="no progress line")
    v.add_argument("--workers", type=_workers, default=None, metavar="N|auto",
                   help="check up to N scenarios at once, each in a process of its own (auto: one per core); "
                        "the results are the same as with one, printed in the order of the command line")
    v.add_argument("--backend", choices=["processes", "ray"], default="processes",
                   help="processes (default): --workers processes on this machine; ray: each scenario a Ray task, "
                        "on a local Ray instance of --workers CPUs or the cluster at --address (pip install "
                        "'kubecheck[ray]'); traces are written here either way")
    v.add_argument("--address", metavar="ADDR",
                   help="with --backend ray: the Ray cluster to run on (auto: the one `ray start` made on this "
                        "machine; ray://HOST:10001: a remote one, with kubecheck installed on its nodes)")
    t = sub.add_parser("trace", help="show or replay a counterexample trace")
    tsub = t.add_subparsers(dest="trace_command", parser_class=_Parser, metavar="ACTION")
    ts = tsub.add_parser("show", help="print the steps of a trace with what changed at each")
    ts.add_argument("file", metavar="TRACE.itf.json")
    tr = tsub.add_parser("replay", help="re-run a trace against today's model")
    tr.add_argument("file", metavar="TRACE.itf.json")
    rv = sub.add_parser("review", help="compare two designs property by property")
    rv.add_argument("a", metavar="SCENARIO_A")
    rv.add_argument("b", metavar="SCENARIO_B")
    rv.add_argument("--property", action="append", default=[], metavar="NAME")
    rv.add_argument("--json", metavar="PATH|-", help="write the comparison as JSON (- for standard output)")
    rv.add_argument("--traces", metavar="DIR", default="traces")
    _loading_flags(rv)
    r = sub.add_parser("render", help="draw a scenario's architecture or a trace as SVG")
    r.add_argument("source", metavar="SCENARIO|TRACE", help="a scenario (.yaml) or a trace (.itf.json)")
    r.add_argument("--out", required=True, metavar="FILE.svg")
    r.add_argument("--state-graph", action="store_true",
                   help="for a scenario: draw the explored state graph (small runs), a counterexample path in red")
    r.add_argument("--property", default="", metavar="NAME", help="with --state-graph: whose counterexample to mark")
    sub.add_parser("properties", help="list the property catalog")
    return p


def _progress_printer(stream, name: str):
    tty = stream.isatty()

    def progress(info: dict) -> None:
        if "runs" in info:   # --strategy random
            line = (f"{name}: random run {info['runs']:,} of {info['of']:,}, {info['steps']:,} steps, "
                    f"{info['states']:,} distinct states, {info['violated']} properties violated so far, "
                    f"{info['seconds']:.0f} s")
        else:
            line = (f"{name}: {info['states']:,} states, depth {info['depth']}, queue {info['queue']:,}, "
                    f"{info['states_per_second']:,.0f} states/s, {info['seconds']:.0f} s")
        if info.get("resident_bytes"):
            line += f", {shown(info['resident_bytes'])} resident"
        if tty:
            stream.write("\r\x1b[K" + line)
        else:
            stream.write(line + "\n")
        stream.flush()

    def done() -> None:
        if tty:
            stream.write("\r\x1b[K")
            stream.flush()

    return progress, done


def checkpoint_folder(args) -> Optional[str]:
    """--checkpoint DIR / --resume DIR: the folder (made where missing), checked before any run."""
    ck, rs = getattr(args, "checkpoint", None), getattr(args, "resume", None)
    if ck and rs and os.path.abspath(ck) != os.path.abspath(rs):
        raise UsageError("--checkpoint and --resume name different folders; --resume DIR also writes to DIR")
    folder = rs or ck
    if not folder:
        return None
    if rs and not os.path.isdir(rs):
        raise UsageError(f"--resume {rs}: no such folder")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--checkpoint {folder}: not a folder")
    if not os.path.exists(folder):
        parent = os.path.dirname(os.path.abspath(folder))
        if not os.path.isdir(parent):
            raise UsageError(f"--checkpoint {folder}: its parent folder does not exist")
        os.mkdir(folder)
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--checkpoint {folder}: not writable")
    return folder


def _checkpoint_for(args, name: str):
    folder = checkpoint_folder(args)
    if folder is None or getattr(args, "strategy", "bfs") != "bfs":
        return None
    from explorer.checkpoint import Checkpoint
    every = float(os.environ.get("KUBECHECK_CHECKPOINT_SECONDS", "60") or 60)
    return Checkpoint(folder, name, every=max(every, 0.0), resume=bool(getattr(args, "resume", None)))


def _checkpoint_notes(ckpt, sc, res, args) -> None:
    """What the checkpoint did, on standard error: resumed from, not used, or how to resume."""
    if ckpt.note:
        print(f"kubecheck: warning: {ckpt.note}", file=sys.stderr)
    if ckpt.resumed_from is not None:
        print(f"kubecheck: {sc.name}: resumed from a checkpoint of {ckpt.resumed_from:,} states", file=sys.stderr)
    if res.stats.stop_reason == "interrupted":
        if ckpt.written:
            print(f"kubecheck: {sc.name}: a checkpoint of {ckpt.written['states']:,} states is in {ckpt.folder}; "
                  f"continue with: kubecheck verify ... --resume {ckpt.folder}", file=sys.stderr)
        else:
            print(f"kubecheck: {sc.name}: no checkpoint was written yet (one is written every "
                  f"{ckpt.every:g} s)", file=sys.stderr)


def _left(deadline: Optional[float]) -> Optional[float]:
    """Seconds left before `deadline` (None: no deadline), at least a little: a search given none at all
    still looks at its initial states."""
    return None if deadline is None else max(deadline - time.perf_counter(), 0.001)


class _Phases:
    """What a check is doing before and after its search (loading, composing, the Z3 claims), on standard
    error: on a terminal, a line replaced by the next; elsewhere, a line for each phase that took a second
    or more."""

    SLOW = 1.0

    def __init__(self, quiet: bool, name: str, stream=None):
        self.stream = stream or sys.stderr
        self.quiet, self.name = quiet, name
        self.tty = not quiet and self.stream.isatty()
        self.what, self.since = None, 0.0

    def start(self, what: str) -> None:
        self.end()
        self.what, self.since = what, time.perf_counter()
        if self.tty:
            self.stream.write(f"\r\x1b[K{self.name}: {what}...")
            self.stream.flush()

    def end(self) -> None:
        if self.what is None:
            return
        took = time.perf_counter() - self.since
        if self.tty:
            self.stream.write("\r\x1b[K")
        if not self.quiet and took >= self.SLOW:
            self.stream.write(f"{self.name}: {self.what} took {took:.1f} s\n")
        self.stream.flush()
        self.what = None


def trace_files_now(args, sc):
    """How a check's traces reach the disk: written (or, for a property that no longer fails, the old one
    removed) as soon as each verdict is known.  Returns (path written or None, a warning or None)."""
    def files(prop: str, doc, svg):
        if doc is None:
            return None, remove_stale_trace(args.traces, sc.name, prop)
        return write_trace(args.traces, sc.name, prop, doc, svg)
    return files


def verify_one(path: str, args, sc=None, loaded_in: float = 0.0, trace_files=None) -> ScenarioReport:
    """Check one scenario.  `trace_files(prop, doc, svg)` writes a property's counterexample (doc None: it
    has none; its old trace goes): by default at once (`trace_files_now`); a remote worker defers it to the
    command (kubecheck/raybackend.py)."""
    # --timeout bounds the whole check of this scenario: loading it (`loaded_in`: the seconds it took where it
    # was loaded before) and composing it, the searches (or the random runs), then each Z3 claim.
    deadline = time.perf_counter() - loaded_in + args.timeout if getattr(args, "timeout", None) else None
    phases = _Phases(args.quiet, os.path.basename(path) if sc is None else sc.name)
    if sc is None:
        phases.start("loading")
        sc = _load(path, args)
        phases.end()
    phases.name = sc.name
    trace_files = trace_files or trace_files_now(args, sc)
    for w in sc.warnings:
        print(f"kubecheck: warning: {w}", file=sys.stderr)
    phases.start("composing")
    comp = compose(sc, args.property)
    phases.end()
    max_depth = args.max_depth if args.max_depth is not None else sc.max_depth
    max_states = args.max_states if args.max_states is not None else sc.max_states
    progress, done = (None, lambda: None) if args.quiet else _progress_printer(sys.stderr, sc.name)
    set_deadline(deadline)
    workloads = ""
    if getattr(args, "strategy", "bfs") == "random":
        from explorer.randomized import random_check
        res, cov = random_check(comp.system, seed=args.seed, max_examples=args.max_examples,
                                max_steps=args.max_steps, deadline=deadline, progress=progress)
        done()
        print(f"{sc.name}: random exploration: {cov.runs} runs, {cov.steps} steps, {cov.distinct_states} distinct "
              f"states; rules never fired: {', '.join(cov.rules_never_fired) or 'none'}", file=sys.stderr)
    elif not (comp.system.invariants or comp.system.actions or comp.system.convergences):
        # Only Z3 claims (or nothing) to decide: no state needs exploring.
        from explorer import CheckResult, Stats
        res = CheckResult([], Stats(), None)
        done()
    else:
        opts = dict(max_depth=max_depth, max_states=max_states, symmetry=not args.no_symmetry,
                    max_memory=getattr(args, "max_memory", None),
                    first_violation=getattr(args, "first_violation", False),
                    reduction=getattr(args, "reduction", "por"))
        res = None
        if opts["reduction"] != "none":
            # Independent groups of workloads, each searched alone (model/decompose.py).
            from .decomposed import check_apart
            done()

            def progress_for(name):
                return (None, lambda: None) if args.quiet else _progress_printer(sys.stderr, name)

            apart = check_apart(sc, comp, compose, timeout=_left(deadline), progress_for=progress_for,
                                checkpoint_for=lambda name: _checkpoint_for(args, name), **opts)
            workloads, res = apart.note, apart.result
        if res is None:
            ckpt = _checkpoint_for(args, sc.name)
            res = check(comp.system, timeout=_left(deadline), progress=progress, checkpoint=ckpt, **opts)
            done()
            if ckpt is not None:
                _checkpoint_notes(ckpt, sc, res, args)
    results: List[Result] = []
    by_name = {v.prop: v for v in res.verdicts}
    decided = {}
    for claim in comp.claims:
        t0 = time.perf_counter()
        phases.start(f"deciding {claim.name} with Z3")
        try:
            cr = claim.decide()
        except SolverTimeout as e:
            cr = e
        phases.end()
        decided[claim.name] = (cr, time.perf_counter() - t0)
    set_deadline(None)
    na = {n: (k, why) for n, k, why in comp.not_applicable}
    for name in comp.kinds:
        if name in na:
            kind, why = na[name]
            results.append(Result(name, kind, "not-applicable", False, why, None, 0, 0, 0.0))
            continue
        if name in decided:
            cr, secs = decided[name]
            if isinstance(cr, SolverTimeout):
                results.append(Result(name, "ha", "unknown", True, f"not decided: {cr} (--timeout)", None,
                                      0, 0, secs, alone=True))
                continue
            results.append(Result(name, "ha", "holds" if cr.holds else "violated", False, cr.diagnosis, None,
                                  0, 0, secs, alone=True))
            continue
        v = by_name[name]
        trace_path = None
        if v.trace is None:
            trace_path, why = trace_files(name, None, None)
        else:
            doc = to_itf(v.trace, scenario_name=sc.name, scenario_path=path, scenario_text=sc.text,
                         prop=name, verdict=v.verdict, diagnosis=v.diagnosis or "")
            # The sequence diagram beside it, for reviewers.
            trace_path, why = trace_files(name, doc, trace_svg(doc))
        if why:
            print(f"kubecheck: warning: {why}", file=sys.stderr)
        results.append(Result(name, comp.kinds[name], v.verdict, v.bounded, v.diagnosis, trace_path,
                              v.states, v.depth, v.seconds))
    return ScenarioReport(sc.name, path, results, res.stats, comp.model.left_out, list(sc.warnings),
                          comp.system.meta.get("symmetry", ""), list(sc.notes), sc.kubernetes_version,
                          {p: (v, why) for p, v, why in sc.expect}, comp.model.quotient_note, workloads,
                          bounds={"max-depth": max_depth, "max-states": max_states})


def _write_json(dest: str, data) -> None:
    """--json: to standard output for "-", else to the file."""
    text = json.dumps(data, indent=2)
    if dest == "-":
        print(text)
    else:
        write_atomic(dest, text + "\n")


def _write_outputs(args, reports, final: bool) -> None:
    """--json (to a file; standard output only at the end), --report and --junit for the scenarios checked so
    far: after each scenario of a run of several, and at the end."""
    if args.json and (final or args.json != "-"):
        _write_json(args.json, reports[0].as_dict() if len(args.scenarios) == 1 else [r.as_dict() for r in reports])
    if args.report:
        from .htmlreport import html_report
        write_atomic(args.report, html_report(reports, run=args))
    if args.junit:
        from .junit import junit_xml, run_properties
        write_atomic(args.junit, junit_xml(reports, run_properties(args)))


def _summary(reports) -> str:
    """The last line of a run of several scenarios."""
    c = run_counts(reports)
    parts = [f"{c['scenarios']} scenarios"]
    if c["expected"]:
        parts.append("{} as expected, {} unexpected, {} unknown".format(*c["expected"]))
    if c["plain"]:
        parts.append("without expect: {} with a violation, {} with an unknown verdict, {} all holding"
                     .format(*c["plain"]))
    return "summary: " + "; ".join(parts)


def load_for_verify(path: str, args):
    """The scenario at `path`, its property names checked (spec.expect, spec.check.properties) before any
    warning is printed: one message for a misspelt name (kubecheck/pytest_plugin.py loads through it too)."""
    from properties.catalog import get as property_named
    sc = _load(path, args)
    for prop, _, _ in sc.expect:
        if property_named(prop) is None:
            raise ScenarioError(f"{path}: spec.expect.{prop}: unknown property; `kubecheck properties` lists them")
    for prop in () if args.property else sc.properties:
        if prop != "all" and property_named(prop) is None:
            raise ScenarioError(f"{path}: spec.check.properties: unknown property {prop!r}; "
                                "`kubecheck properties` lists them")
    return sc


def cmd_verify(args) -> int:
    if args.address and args.backend != "ray":
        raise UsageError("--address names a Ray cluster: it needs --backend ray")
    check_outputs((("--json", args.json), ("--junit", args.junit), ("--report", args.report)),
                  args.scenarios, args.traces)
    checkpoint_folder(args)   # --checkpoint/--resume checked (and the folder made) before any run
    if getattr(args, "max_memory", None):
        from explorer.memory import resident_bytes
        now = resident_bytes()
        if now and now >= args.max_memory:
            print(f"kubecheck: warning: --max-memory {shown(args.max_memory)} is below what this process already "
                  f"holds before any search ({shown(now)}): each search will stop at its first state", file=sys.stderr)
    # Every scenario is read before any is checked: a malformed one, or two with one name (they would
    # write each other's traces), stops the run before it starts.
    names = {}
    loaded, load_seconds = [], {}
    for path in args.scenarios:
        t0 = time.perf_counter()
        sc = load_for_verify(path, args)
        load_seconds[sc.name] = time.perf_counter() - t0   # counted in the scenario's --timeout
        loaded.append(sc)
        if sc.name in names:
            raise UsageError(f"{path} and {names[sc.name]} are both scenario {sc.name!r} (metadata.name): "
                             f"their traces would overwrite each other; give each its own name")
        names[sc.name] = path
    # The manifests the scenarios read (spec.manifests, a folder given with --nodes) are inputs too.
    check_outputs((("--json", args.json), ("--junit", args.junit), ("--report", args.report)),
                  [f for sc in loaded for f in sc.sources], args.traces)
    reports = []
    interrupted = False
    args.workers_given = args.workers is not None
    args.workers = args.workers or 1
    if args.backend == "ray":
        from .raybackend import check_with_ray
        checked = check_with_ray(args, loaded, load_seconds, trace_files_now)
    elif args.workers > 1 and len(loaded) > 1:
        checked = check_in_workers(verify_one, args, loaded, load_seconds)
    else:
        checked = (verify_one(path, args, sc, loaded_in=load_seconds.get(sc.name, 0.0))
                   for path, sc in zip(args.scenarios, loaded))
    try:
        for rep in checked:
            if rep is None:   # Ctrl-C (or SIGTERM) while scenarios were being checked in worker processes
                raise KeyboardInterrupt
            reports.append(rep)
            if args.json != "-":
                print(format_table(rep))
            if len(reports) < len(args.scenarios):
                _write_outputs(args, reports, final=False)   # a run killed later keeps what it finished
            if rep.stats.stop_reason == "interrupted":
                interrupted = True
                left = args.scenarios[len(reports):]
                print(f"kubecheck: interrupted: {rep.scenario} explored {rep.stats.distinct_states:,} states to "
                      f"depth {rep.stats.depth} (its verdicts above are bounded)"
                      + (f"; not checked: {', '.join(left)}" if left else ""), file=sys.stderr)
                break
    except KeyboardInterrupt:   # between two scenarios' searches, or in a worker's
        interrupted = True
        left = args.scenarios[len(reports):]
        print("kubecheck: interrupted" + (f"; not checked: {', '.join(left)}" if left else ""), file=sys.stderr)
    finally:
        if hasattr(checked, "close"):
            checked.close()   # the workers stopped
    _write_outputs(args, reports, final=True)
    if len(reports) > 1 and args.json != "-":
        print(_summary(reports))
    if interrupted:
        return EXIT_INTERRUPTED
    codes = {r.exit_code for r in reports}
    return EXIT_VIOLATED if EXIT_VIOLATED in codes else EXIT_UNKNOWN if EXIT_UNKNOWN in codes else EXIT_OK


def cmd_properties(args) -> int:
    from properties import all_properties
    for p in all_properties():
        print(f"{p.name}  ({p.kind})")
        for line in p.doc.splitlines():
            print(f"    {line}" if line else "")
        print()
    return EXIT_OK


def cmd_trace(args) -> int:
    if args.trace_command is None:
        raise UsageError("trace needs an action: show or replay")
    doc = read_trace(args.file)
    if args.trace_command == "show":
        print(show(doc))
        return EXIT_OK
    r = replay(doc, args.file)
    print(f"{args.file}: {'replays' if r.ok else 'does not replay'}: {r.message}")
    return EXIT_OK if r.ok else 1


def cmd_review(args) -> int:
    """Run both designs and put every property side by side, with the first cause where they differ."""
    opts = argparse.Namespace(property=args.property, max_depth=None, max_states=None, timeout=None,
                              no_symmetry=False, quiet=True, traces=args.traces, lenient=args.lenient,
                              strict=args.strict)
    ra, rb = verify_one(args.a, opts), verify_one(args.b, opts)
    a, b = {r.prop: r for r in ra.results}, {r.prop: r for r in rb.results}
    names = list(a) + [n for n in b if n not in a]
    rows = []
    for n in names:
        va, vb = a.get(n), b.get(n)
        row = {"property": n, "a": va.verdict if va else "absent", "b": vb.verdict if vb else "absent",
               "differs": (va.verdict if va else None) != (vb.verdict if vb else None), "cause": None}
        if row["differs"]:
            bad = va if va and va.verdict in ("violated", "unknown") else vb
            side = "A" if bad is va else "B"
            row["cause"] = f"{side}: {bad.diagnosis}" if bad and bad.diagnosis else None
        rows.append(row)
    data = {"a": ra.scenario, "b": rb.scenario, "properties": rows,
            "differ": [r["property"] for r in rows if r["differs"]]}
    if args.json:
        _write_json(args.json, data)
    if args.json != "-":
        width = max(len(r["property"]) for r in rows)
        wa = max(len(ra.scenario), 14)
        print(f"{'property':<{width}}  {ra.scenario:<{wa}}  {rb.scenario}")
        for r in rows:
            mark = "  <-" if r["differs"] else ""
            print(f"{r['property']:<{width}}  {r['a']:<{wa}}  {r['b']}{mark}")
        for r in rows:
            if r["differs"] and r["cause"]:
                print(f"\n{r['property']}: {r['cause']}")
        if not data["differ"]:
            print("\nthe two designs give the same verdicts")
    return 1 if data["differ"] else 0


def cmd_render(args) -> int:
    check_outputs((("--out", args.out),), [args.source])
    if args.source.endswith(".json"):
        svg = trace_svg(read_trace(args.source))
        write_atomic(args.out, svg)
    elif args.state_graph:
        sc = load_scenario(args.source)
        comp = compose(sc)
        if args.property and args.property not in comp.kinds:
            raise UsageError(f"unknown property {args.property!r} for this scenario")
        res = check(comp.system, max_depth=sc.max_depth, max_states=3001)
        dot_src = state_graph_dot(comp, res, args.property)
        if shutil.which("dot") is None:
            raise RenderError("Graphviz's `dot` is not installed, so the state graph cannot be laid out "
                              "(Debian: apt-get install graphviz)")
        import graphviz
        write_atomic(args.out, graphviz.Source(dot_src).pipe(format="svg").decode())
    else:
        render_architecture(load_scenario(args.source), args.out)
    print(f"wrote {args.out}")
    return EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv   # accepted anywhere on the line: the traceback of an internal error
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("kubecheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "properties":
            return cmd_properties(args)
        if args.command == "trace":
            return cmd_trace(args)
        if args.command == "render":
            return cmd_render(args)
        if args.command == "review":
            return cmd_review(args)
        parser.print_help()
        return EXIT_INPUT
    except (ScenarioError, TraceFileError, UsageError, RenderError, OutputError) as e:
        print(f"kubecheck: {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("kubecheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except (RecursionError, MemoryError) as e:
        if debug:
            raise
        print(f"kubecheck: the input is too deeply nested or too large to process ({type(e).__name__})",
              file=sys.stderr)
        return EXIT_INPUT
    except Exception as e:  # the last resort: one line, never a traceback unless --debug
        if debug:
            raise
        from . import __version__
        text = str(e).replace("\n", " ")
        if len(text) > 300:
            text = text[:297] + "..."
        print(f"kubecheck: internal error: {type(e).__name__}: {text} -- a bug in kubecheck {__version__}: "
              f"please report it with the scenario file (run again with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


def _terminate(signum, frame):
    raise KeyboardInterrupt   # SIGTERM (a CI timeout, `kill`): handled as Ctrl-C is


def entry() -> None:
    import signal
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `kubecheck verify ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)
