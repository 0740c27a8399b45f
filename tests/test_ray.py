"""`verify --backend ray`: scenarios checked as Ray tasks give the results of one process, and the traces are
written by the command, not by the workers."""

import json
import os

import pytest

from conftest import SCENARIOS
from test_cli import kc
from test_workers import SOME, _files, _untimed

pytest.importorskip("ray", reason="Ray is an optional dependency: pip install 'kubecheck[ray]' (.ci/run does)")


def test_ray_tasks_give_the_results_of_one_process(tmp_path):
    runs = []
    for n, backend in ((1, []), (2, ["--backend", "ray", "--workers", "2"])):
        traces = tmp_path / f"traces-{n}"
        p = kc("verify", "--quiet", *backend, "--traces", str(traces), "--json", str(tmp_path / f"{n}.json"),
               *[os.path.join(SCENARIOS, f"{s}.yaml") for s in SOME])
        assert p.returncode == 0, p.stderr
        runs.append((p, json.loads((tmp_path / f"{n}.json").read_text()), _files(traces)))
    (one, one_json, one_traces), (ray, ray_json, ray_traces) = runs
    assert [r["scenario"] for r in ray_json] == SOME
    assert _untimed(one_json) == _untimed(ray_json)
    assert one_traces and one_traces == ray_traces
    # the trace paths the report prints are those written here
    assert ray.stdout.count("trace: ") == one.stdout.count("trace: ") > 0
    assert "Traceback" not in ray.stderr


def test_a_stale_trace_is_removed_by_the_command(tmp_path):
    """A property that no longer fails keeps no old counterexample: the command removes it for a Ray task."""
    traces = tmp_path / "traces"
    old = traces / "web-three-nodes" / "deployment-converges.itf.json"
    p = kc("verify", "--quiet", "--traces", str(traces), os.path.join(SCENARIOS, "tainted-only-room.yaml"))
    written = traces / "tainted-only-room" / "deployment-converges.itf.json"
    assert p.returncode == 0 and written.exists()
    old.parent.mkdir(parents=True)
    old.write_text(written.read_text())   # a trace kubecheck wrote, now stale for web-three-nodes
    p = kc("verify", "--quiet", "--backend", "ray", "--workers", "1", "--traces", str(traces),
           os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 0, p.stderr
    assert not old.exists()


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:1", "--address: cannot reach 127.0.0.1:1"),
    ("no-port", "--address: expected HOST:PORT, ray://HOST:PORT or auto"),
])
def test_an_unreachable_cluster_is_one_clear_error(tmp_path, address, message):
    p = kc("verify", "--backend", "ray", "--address", address, "--traces", str(tmp_path),
           os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr


def test_an_address_needs_the_ray_backend(tmp_path):
    p = kc("verify", "--address", "auto", os.path.join(SCENARIOS, "web-three-nodes.yaml"))
    assert p.returncode == 2 and "--address names a Ray cluster: it needs --backend ray" in p.stderr
