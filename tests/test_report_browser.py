"""The HTML report, opened in a real headless browser (Debian's chromium, installed by .ci/run)."""

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT, SCENARIOS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="chromium is not installed here (.ci/run installs it in CI)")
def test_report_shows_verdicts_and_diagrams_in_a_browser(tmp_path):
    assert CHROMIUM, "CI must have chromium: .ci/run installs it"
    report = tmp_path / "report.html"
    p = subprocess.run([sys.executable, "-m", "kubecheck", "verify", "--quiet", "--traces", str(tmp_path / "t"),
                        "--report", str(report), os.path.join(SCENARIOS, "leader-paused.yaml"),
                        os.path.join(SCENARIOS, "web-three-nodes.yaml")], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr   # leader-paused's violation is the one it expects
    profile = tempfile.mkdtemp()
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={profile}", "--dump-dom", report.as_uri()],
                         capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    page = dom.stdout
    assert "kubecheck report" in page
    assert "single-leader" in page and 'class="violated"' in page and 'class="holds"' in page
    assert "counterexample: single-leader" in page and "leaderelection.lease_expires" in page
    assert page.count("<svg") >= 2  # the trace diagram, and the architecture where dot is installed
    if shutil.which("dot"):
        drawn = page.replace("&#45;", "-")
        assert "etcd member etcd-1" in drawn and "stacked etcd, not HA" in drawn and "not composed" in drawn
