"""The sequence diagram of a counterexample (kubecheck/sequence.py, `trace_svg`; issue 18, item 4).

A reviewer puts it on a slide: nothing is cut that carries meaning (text wraps inside its box, every box's
<title> holds its full text), one lane per component instance (each apiserver instance apart), the state that
matters on the lanes, arrows for writes, watches and relists, the violating step of a safety violation, a
stuck convergence violation's "nothing can act" band instead of a red step, and a lasso's loop start and
back-arrow marked as `trace show` marks them.  The drawing scales (viewBox) and is valid XML.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT
from kubecheck.render import trace_svg
from kubecheck.sequence import STUCK, text_width, wrap
from kubecheck.traces import read_trace, show, view
from test_itf import APALACHE, QUINT, legacy

NS = {"s": "http://www.w3.org/2000/svg"}
S = "{http://www.w3.org/2000/svg}"
TRACES = os.path.join(ROOT, "traces")
COMMITTED = sorted(glob.glob(os.path.join(TRACES, "*", "*.itf.json")))


def _loop(path: str):
    with open(path) as f:
        return json.load(f).get("loop")


LASSOS = [p for p in COMMITTED if _loop(p) is not None]
RED = "#c62828"


def draw(doc):
    svg = trace_svg(doc)
    return svg, ET.fromstring(svg)


def committed(name: str):
    doc = read_trace(os.path.join(TRACES, name))
    return (doc,) + draw(doc)


def title(el) -> str:
    t = el.find("s:title", NS)
    return t.text or "" if t is not None else ""


def texts(el) -> list:
    return [t.text or "" for t in el.iter(S + "text")]


def groups(root, cls: str) -> list:
    return [g for g in root.iter(S + "g") if cls in (g.get("class") or "").split()]


def squeeze(s: str) -> str:
    return re.sub(r"\s+", "", s)


def lane_x(root) -> dict:
    return {g.get("data-lane"): float(g.find("s:rect", NS).get("x")) for g in groups(root, "lane")}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: os.path.relpath(p, TRACES))
def test_every_committed_trace_draws_a_scalable_titled_diagram_with_nothing_cut(path):
    doc = read_trace(path)
    v = view(doc)
    svg, root = draw(doc)
    meta = doc["#meta"]
    # It scales: a viewBox as large as the drawing, and a <title> first, naming the scenario and property.
    w, h = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}" and w > 0 and h > 0
    assert root[0].tag == S + "title" and root[0].text == f"{meta['scenario']}: {meta['property']} {meta['verdict']}"
    # One box per step, each with its whole label in its tooltip (and on the box, wrapped).
    steps = groups(root, "step")
    assert [int(g.get("data-step")) for g in steps] == list(range(1, len(v.states)))
    for g in steps:
        k = int(g.get("data-step"))
        assert title(g).split("\n")[0] == v.actions[k]
        assert squeeze(v.actions[k].removesuffix("()")) in squeeze("".join(texts(g)))   # "()": no arguments
        # Text stays inside its box: no line is wider than the box (by the same estimate the layout uses).
        rect = g.find("s:rect", NS)
        x0, bw = float(rect.get("x")), float(rect.get("width"))
        for t in g.iter(S + "text"):
            size = float(t.get("font-size"))
            right = float(t.get("x")) + text_width(t.text or "", size, t.get("font-weight") == "bold")
            assert right <= x0 + bw - 3, (k, t.text)
    # The diagnosis is there in full: in the heading, or in a stuck violation's band.
    told = [title(g) for g in groups(root, "heading") + groups(root, "stuck")]
    assert any(meta["diagnosis"] in t for t in told)
    every = squeeze("".join(texts(root)))
    assert squeeze(meta["diagnosis"][len(STUCK):] if meta["diagnosis"].startswith(STUCK) else meta["diagnosis"]) \
        in every


def test_the_longest_label_and_diagnosis_are_shown_untruncated():
    """Arguments were cut at 40 characters, changes at 44 and the diagnosis at 180 (kube-scheduler's message
    was lost): the longest of the committed traces' labels and diagnoses are in the diagram in full."""
    label = max(((a, p) for p in COMMITTED for a in view(read_trace(p)).actions[1:] if a), key=lambda x: len(x[0]))
    diagnosis = max(((read_trace(p)["#meta"]["diagnosis"], p) for p in COMMITTED), key=lambda x: len(x[0]))
    assert len(label[0]) > 60 and len(diagnosis[0]) > 400
    for text, path in (label, diagnosis):
        _, root = draw(read_trace(path))
        titles = [t.text or "" for t in root.iter(S + "title")]
        assert any(text in t for t in titles), text
        assert squeeze(text.removeprefix(STUCK)) in squeeze("".join(texts(root)))
    assert "kube-scheduler on Pod" in diagnosis[0]


def test_each_apiserver_instance_has_its_lane_and_the_relist_comes_from_the_lagging_one():
    """kubelet-relist-cache: the kubelet of n1 restarts and relists from apiserver-2, whose cache is 3 writes
    behind, then runs the pod it no longer should."""
    doc, svg, root = committed("kubelet-relist-cache/pod-single-node.itf.json")
    x = lane_x(root)
    assert {"apiserver-1", "apiserver-2", "etcd", "kubelet/n1", "kubelet/n2", "user"} <= set(x)
    # Clients left, then the apiservers, then etcd.
    assert max(x["user"], x["kubelet/n1"], x["kubelet/n2"]) < x["apiserver-1"] < x["apiserver-2"] < x["etcd"]
    relists = groups(root, "relist")
    assert [(g.get("data-from"), g.get("data-to")) for g in relists] == [("apiserver-2", "kubelet/n1")]
    v = view(doc)
    k = next(i for i, a in enumerate(v.actions) if a and a.startswith("kubelet.restart(node=n1"))
    lag = v.states[k]["apiservers"]["apiserver-2"]["cache_behind_writes"]
    assert lag == 3 and f"relist (cache {lag} behind)" in texts(relists[0])
    # The pod started from that stale view says so; each cache's lag is shown where it changes.
    run = next(g for g in groups(root, "step") if title(g).startswith("kubelet.run_pod(node=n1"))
    assert "acted on a view 3 writes behind etcd (apiserver-2's cache)" in title(run)
    lags = [(g.get("data-lane"), int(g.get("data-step")), texts(g)[0]) for g in groups(root, "state")]
    assert ("apiserver-2", 4, "cache 3 behind") in lags and ("apiserver-1", 1, "cache 1 behind") in lags
    # Writes go from the acting lane through its apiserver to etcd; watch events from etcd to a cache.
    writes = {(g.get("data-from"), g.get("data-to")) for g in groups(root, "write")}
    assert {("user", "apiserver-1"), ("apiserver-1", "etcd"), ("kubelet/n2", "apiserver-2"),
            ("apiserver-2", "etcd")} <= writes
    assert {(g.get("data-from"), g.get("data-to")) for g in groups(root, "watch")} == {("etcd", "apiserver-1"),
                                                                                        ("etcd", "apiserver-2")}
    # The safety violation is the last step, in red.
    last = groups(root, "step")[-1]
    assert "violation" in last.get("class") and last.find("s:rect", NS).get("stroke") == RED
    assert [g for g in groups(root, "step") if g.find("s:rect", NS).get("stroke") == RED] == [last]


def test_leader_election_replicas_have_lanes_and_their_leadership_is_shown():
    doc, svg, root = committed("leader-paused/single-leader.itf.json")
    x = lane_x(root)
    assert x["kube-controller-manager-1"] < x["kube-controller-manager-2"] < x["apiserver-1"] < x["etcd"]
    # The Lease passes to replica 2 while replica 1, paused, still takes itself for the leader.
    states = [(g.get("data-lane"), int(g.get("data-step")), title(g)) for g in groups(root, "state")]
    assert ("kube-controller-manager-1", 4, "kube-controller-manager-1 after step 4: stale leader (Lease: "
            "kube-controller-manager-2), paused") in states
    acquire = next(g for g in groups(root, "step") if title(g).startswith(
        "leaderelection.acquire(lease=kube-controller-manager, by=kube-controller-manager-2"))
    assert "now: leader" in texts(acquire) and acquire.get("data-lane") == "kube-controller-manager-2"
    pause = next(g for g in groups(root, "step") if title(g).startswith("environment.pause"))
    assert "fault" in pause.get("class") and pause.get("data-lane") == "kube-controller-manager-1"
    assert not groups(root, "stuck")


def test_a_stuck_violation_has_the_nothing_can_act_band_and_no_red_step():
    doc, svg, root = committed("full-disruption/deployment-converges.itf.json")
    diagnosis = doc["#meta"]["diagnosis"]
    assert diagnosis.startswith(STUCK)
    assert not groups(root, "violation")
    assert not [g for g in groups(root, "step") if g.find("s:rect", NS).get("stroke") == RED]
    band, = groups(root, "stuck")
    assert title(band) == diagnosis
    lines = texts(band)
    assert lines[0].startswith("nothing can act: Deployment default/web wants 2 pods, 0 Running and Ready")
    # Why, in full: kube-scheduler's message too, on lines of its own.
    assert squeeze(diagnosis[len(STUCK):]) == squeeze("".join(lines)[len("nothing can act:"):])
    assert any(line.startswith("kube-scheduler on Pod default/web-598cd7847d-6: 0/2 nodes are available")
               for line in lines)
    # The band comes after the last step.
    rect = band.find("s:rect", NS)
    last = groups(root, "step")[-1].find("s:rect", NS)
    assert float(rect.get("y")) > float(last.get("y")) + float(last.get("height"))
    # The machines that went down are drawn as such.
    downs = [(g.get("data-lane"), texts(g)[0]) for g in groups(root, "state")]
    assert ("kubelet/n1", "machine down") in downs and ("kubelet/n2", "machine down") in downs


@pytest.mark.parametrize("path", LASSOS, ids=lambda p: os.path.relpath(p, TRACES))
def test_a_lasso_marks_its_loop_start_and_a_back_arrow_labelled_with_the_closing_step(path):
    doc = read_trace(path)
    loop, closing = doc["loop"], doc["#meta"]["loop_action"]
    _, root = draw(doc)
    steps = groups(root, "step")
    # The closing step is the last box; the loop's steps are those after states[loop].
    assert title(steps[-1]).split("\n")[0] == closing and "closing" in steps[-1].get("class")
    assert [int(g.get("data-step")) for g in steps if "loop" in g.get("class").split()] == \
        list(range(loop + 1, len(doc["states"]) + 1))
    start, = groups(root, "loop-start")
    assert start.get("data-step") == str(loop) and f"loop starts here: step {loop}" in " ".join(texts(start))
    # The loop starts between the box of step `loop` and the next one.
    line_y = float(start.find("s:line", NS).get("y1"))
    box = {int(g.get("data-step")): g.find("s:rect", NS) for g in steps}
    if loop > 0:
        assert float(box[loop].get("y")) + float(box[loop].get("height")) < line_y
    assert line_y < float(box[loop + 1].get("y"))
    back, = groups(root, "loop-back")
    assert back.get("data-to-step") == str(loop) and title(back).split("\n")[0] == closing
    assert squeeze(closing) in squeeze("".join(texts(back)))
    # The back-arrow goes from the closing box up to the loop start.
    d = back.find("s:path", NS).get("d")
    ys = [float(n) for n in re.findall(r"V([\d.]+)", d)]
    assert float(box[len(doc["states"])].get("y")) < ys[0] and ys[-1] == line_y
    # No red step, no stuck band: a lasso is neither.
    assert not groups(root, "violation") and not groups(root, "stuck")
    # `trace show` marks the same two places.
    lines = show(doc).splitlines()
    assert [i for i, line in enumerate(lines) if "<- loop starts here" in line] == \
        [lines.index(next(line for line in lines if line.startswith(f"step {loop}:")))]
    assert lines[[i for i, line in enumerate(lines) if line.startswith("step ")][-1]] == \
        f"step {len(doc['states'])}: {closing}  <- closes the loop: back to step {loop}"


def test_an_old_format_lasso_draws_the_same_loop():
    doc = read_trace(LASSOS[0])
    old = legacy(doc)
    assert trace_svg(old) == trace_svg(doc)
    assert groups(ET.fromstring(trace_svg(old)), "loop-back")


def test_an_apalache_trace_draws_its_state_changes():
    svg, root = draw(copy.deepcopy(APALACHE))
    assert root.get("viewBox") and "MC_MissionariesAndCannibalsTyped.tla" in root[0].text
    steps = groups(root, "step")
    assert [g.get("data-step") for g in steps] == ["0", "1", "2"]
    assert "bank_of_boat: E → W" in texts(steps[1]) and "bank_of_boat: \"E\" -> \"W\"" in title(steps[1])
    assert not groups(root, "arrow") and not groups(root, "violation") and not groups(root, "loop-back")


def test_a_quint_lasso_without_a_closing_label_draws_its_back_arrow():
    _, root = draw(copy.deepcopy(QUINT))
    back, = groups(root, "loop-back")
    assert back.get("data-to-step") == "1" and "back to step 1" in title(back)
    assert groups(root, "step")[-1].get("data-step") == "3"


def test_what_a_trace_holds_is_escaped_and_long_text_wraps():
    doc = read_trace(os.path.join(TRACES, "leader-paused", "single-leader.itf.json"))
    doc = copy.deepcopy(doc)
    long_name = "deployment=default/" + "a-very-long-name-" * 12 + "<script>&"
    doc["states"][-1]["#meta"]["action"] = f"deployment.create_replicaset({long_name}, by=kube-controller-manager-1)"
    doc["#meta"]["diagnosis"] = "why </text><x> " * 60
    doc["#meta"]["scenario"] = 'a"b<c>'
    svg, root = draw(doc)
    assert "<script>" not in svg and "</text><x>" not in svg
    assert root[0].text.startswith('a"b<c>: ')
    last = groups(root, "step")[-1]
    assert title(last).split("\n")[0].endswith("<script>&, by=kube-controller-manager-1)")
    assert squeeze(long_name) in squeeze("".join(texts(last)))
    assert len(texts(last)) > 6          # wrapped over several lines, not cut


def test_wrap_breaks_at_spaces_then_punctuation_and_never_loses_text():
    text = "Node n1: ready True → Unknown, taints [] → [node.kubernetes.io/unreachable:NoSchedule]"
    lines = wrap(text, 170, 10)
    assert all(text_width(line, 10) <= 170 for line in lines)
    assert squeeze("".join(lines)) == squeeze(text)
    assert lines[1].endswith("node.kubernetes.io/")       # after punctuation, not inside a word
    assert wrap("x" * 100, 50, 10) == ["x" * 10] * 10 and wrap("", 50, 10) == [""]
    capped = wrap("word " * 100, 100, 10, max_lines=3)
    assert len(capped) == 3 and capped[-1].endswith("…")
