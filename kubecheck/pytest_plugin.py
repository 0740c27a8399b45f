"""kubecheck in a user's own pytest suite: a fixture and a marker (the `pytest11` entry point `kubecheck`).

Installed with kubecheck, so nothing is to be configured::

    def test_my_cluster(kubecheck_verify):
        kubecheck_verify("cluster.yaml", expect={"pod-single-node": "holds",
                                                 "deployment-converges": "violated"})

    @pytest.mark.kubecheck("cluster.yaml", properties=["pod-single-node"])
    def test_no_pod_runs_twice():
        pass

A scenario path is relative to the test file's folder.  `expect` maps a
property to the verdict it must have ("holds", "violated", "unknown",
"not-applicable"; or `{"verdict": ..., "why": ...}` as in a scenario's
`spec.expect`); it replaces the scenario's own `spec.expect`, and as there a
property it does not name must hold or not apply.  Without `expect`, the
scenario's `spec.expect` decides, and without that every property must hold
or not apply: exactly the exit status of `kubecheck verify`.  A test fails
with each unexpected verdict, its diagnosis and the path of its
counterexample trace (`kubecheck trace show PATH` prints it, `kubecheck
trace replay PATH` re-runs it); a scenario that does not load fails the test
with the loader's message, as `verify` exits 2 with it.

Traces are written under pytest's temporary folder unless `--kubecheck-traces
DIR` (or the ini option `kubecheck_traces`) names one, e.g. to keep them as
CI artifacts.  Other options of `verify` are keyword arguments:
`properties`, `strategy` ("bfs" | "random"), `seed`, `max_examples`,
`max_steps`, `max_depth`, `max_states`, `timeout` (seconds), `strict`,
`lenient`.  The fixture returns the scenario's report
(kubecheck/report.py `ScenarioReport`): `report.verdicts` maps each property
to its verdict.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, Optional, Union

import pytest

VERDICTS = ("holds", "violated", "unknown", "not-applicable")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("kubecheck")
    group.addoption("--kubecheck-traces", metavar="DIR", default=None,
                    help="where kubecheck_verify writes counterexample traces (default: pytest's temporary folder)")
    parser.addini("kubecheck_traces", "where kubecheck_verify writes counterexample traces", default="")


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "kubecheck(scenario, expect=None, **options): check the scenario with kubecheck before the "
                   "test body runs; the test fails on a verdict that is not the one expected")


class KubecheckFailure(AssertionError):
    """A scenario whose verdicts are not the ones expected, or that could not be checked."""


def _expectations(expect: Optional[Dict[str, Union[str, dict]]]) -> Optional[dict]:
    if expect is None:
        return None
    from properties.catalog import get
    out = {}
    for prop, want in expect.items():
        why = ""
        if isinstance(want, dict):
            want, why = want.get("verdict"), str(want.get("why", ""))
        if get(prop) is None:
            raise KubecheckFailure(f"expect names an unknown property {prop!r} (see `kubecheck properties`)")
        if want not in VERDICTS:
            raise KubecheckFailure(f"expect[{prop!r}] is {want!r}: one of {', '.join(VERDICTS)}")
        out[prop] = (want, why)
    return out


def _arguments(path: str, traces: str, properties: Iterable[str], options: dict) -> list:
    argv = ["verify", path, "--quiet", "--traces", traces]
    for p in properties:
        argv += ["--property", p]
    flags = {"strict": "--strict", "lenient": "--lenient", "no_symmetry": "--no-symmetry"}
    for key, value in sorted(options.items()):
        if key in flags:
            if value:
                argv.append(flags[key])
        elif key in ("strategy", "seed", "max_examples", "max_steps", "max_depth", "max_states", "timeout",
                     "reduction"):
            argv += ["--" + key.replace("_", "-"), str(value)]
        else:
            raise KubecheckFailure(f"kubecheck_verify has no option {key!r}")
    return argv


def verify(path: str, *, traces: str, expect=None, properties: Iterable[str] = (), **options):
    """Check the scenario at `path`; return its ScenarioReport, or raise KubecheckFailure naming each
    unexpected verdict (with its diagnosis and trace) or why the scenario could not be checked."""
    from .cli import build_parser, load_for_verify, verify_one
    from .compose import UsageError
    from .files import OutputError, check_outputs
    from .traces import TraceFileError
    from model.scenario import ScenarioError

    wanted = _expectations(expect)
    parser = build_parser()
    try:
        args = parser.parse_args(_arguments(path, traces, properties, options))
    except SystemExit:
        raise KubecheckFailure(f"kubecheck_verify: bad options {options!r}") from None
    try:
        sc = load_for_verify(path, args)
        check_outputs((), list(sc.sources) + [path], traces)   # the traces never overwrite what the user wrote
        report = verify_one(path, args, sc)
    except (ScenarioError, TraceFileError, UsageError, OutputError) as e:
        raise KubecheckFailure(f"kubecheck: {e}") from None
    if wanted is not None:
        report.expect = wanted
    if report.exit_code != 0:
        raise KubecheckFailure(failure_text(report))
    return report


def failure_text(report) -> str:
    """Each verdict that is not the expected one, with what kubecheck says of it."""
    lines = [f"kubecheck: scenario {report.scenario} ({report.path}): verdicts not as expected"]
    for r in report.results:
        want, _, ok = report.judge(r) if report.expect else (None, "", r.verdict in ("holds", "not-applicable"))
        if ok:
            continue
        lines.append(f"  {r.prop}: expected {want or 'holds'}, got {r.verdict}"
                     + (" (bounded search)" if r.bounded else ""))
        if r.diagnosis:
            lines.append(f"    {r.diagnosis}")
        if r.trace:
            lines.append(f"    trace: {r.trace}")
            lines.append(f"    show it: kubecheck trace show {r.trace}")
    return "\n".join(lines)


def _traces_folder(config, tmp_path_factory) -> str:
    folder = config.getoption("--kubecheck-traces") or config.getini("kubecheck_traces")
    if folder:
        return str(folder)
    return str(tmp_path_factory.getbasetemp() / "kubecheck-traces")


def _resolve(request, path: str) -> str:
    if os.path.isabs(path) or path == "-":
        return path
    return os.path.join(os.path.dirname(str(request.node.fspath)), path)


@pytest.fixture
def kubecheck_verify(request, tmp_path_factory):
    """`kubecheck_verify(scenario, expect=None, **options)`: check a scenario (relative to the test file);
    fail the test where a verdict is not the one expected; return the report."""
    traces = _traces_folder(request.config, tmp_path_factory)

    def run(path: str, expect=None, **options):
        try:
            return verify(_resolve(request, path), traces=traces, expect=expect, **options)
        except KubecheckFailure as e:
            failure = str(e)
        pytest.fail(failure, pytrace=False)   # outside the handler: one message, no chained exception

    return run


def pytest_runtest_call(item) -> None:
    """A test marked `kubecheck(...)` checks its scenario before its body runs."""
    marker = item.get_closest_marker("kubecheck")
    if marker is None:
        return
    if not marker.args:
        pytest.fail("@pytest.mark.kubecheck needs the scenario's path", pytrace=False)
    path = marker.args[0]
    if not (os.path.isabs(path) or path == "-"):
        path = os.path.join(os.path.dirname(str(item.fspath)), path)
    factory = item.config._tmp_path_factory   # pytest's own, as the tmp_path_factory fixture returns
    options = dict(marker.kwargs)
    expect = options.pop("expect", None)
    try:
        verify(path, traces=_traces_folder(item.config, factory), expect=expect, **options)
        return
    except KubecheckFailure as e:
        failure = str(e)
    pytest.fail(failure, pytrace=False)


def cluster_state_machine(path: str, traces: Optional[str] = None, max_steps: int = 60,
                          properties: Iterable[str] = ()):
    """The Hypothesis `RuleBasedStateMachine` of the scenario at `path` (explorer/randomized.py
    `state_machine`), for a suite that drives the model with Hypothesis' own settings::

        TestCluster = cluster_state_machine("cluster.yaml", traces="traces").TestCase

    A failure names the property, says why and lists the steps; with `traces`, the behaviour is written as
    `<traces>/<scenario>/<property>.itf.json` too, for `kubecheck trace show` and `kubecheck trace replay`."""
    from explorer.randomized import state_machine
    from model.scenario import load_scenario
    from .compose import compose
    from .traces import to_itf, write_trace

    sc = load_scenario(path)
    system = compose(sc, list(properties)).system

    def written(prop: str, kind: str, trace, diagnosis: str) -> str:
        if traces is None:
            return ""
        doc = to_itf(trace, scenario_name=sc.name, scenario_path=sc.path, scenario_text=sc.text, prop=prop,
                     verdict="violated", diagnosis=diagnosis)
        where, why = write_trace(traces, sc.name, prop, doc)
        return f"trace: {where} (kubecheck trace show / kubecheck trace replay)" if where else why

    return state_machine(system, max_steps, on_failure=written)
