"""The architecture diagram (kubecheck/architecture.py) laid out by Graphviz: its shape, what sits inside what,
who talks to whom, what is left out, the titles.

The drawings are laid out with `dot -Tjson` and the assertions are on the laid-out geometry (bounding boxes,
positions) and on the edges dot kept, so that they fail where the drawing is wrong, not only where the source
text changed.
"""

import dataclasses
import html
import json
import os
import shutil
import subprocess

import attrs
import pytest

from conftest import SCENARIOS
from kubecheck.architecture import (GROUP_ABOVE, RenderError, architecture_dot, node_cells, plan,
                                    render_architecture, topology_title)
from model.scenario import load_scenario, parse_scenario
from model.topology import apiserver_hosts, etcd_members

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

ZONES = "abc"


def grid(n, zones=3, ha=False, name="grid", label_extra=""):
    """`n` worker nodes of one shape over `zones` zones (round robin), one Deployment."""
    cp = "{apiservers: 3}" if ha else "{}"
    text = f"apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}-{n}}}\nspec: {{controlPlane: {cp}}}\n"
    for i in range(n):
        text += (f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: w-{i + 1:02d}, labels: "
                 f"{{topology.kubernetes.io/zone: {ZONES[i % zones]}{label_extra}}}}}\n"
                 "status: {allocatable: {cpu: '4', memory: 16Gi, pods: '110'}}\n")
    text += ("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec:\n"
             "  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
             "    spec: {containers: [{name: web, image: nginx}]}\n")
    return parse_scenario(text, f"grid-{n}.yaml")


class Layout:
    """A drawing laid out by dot: clusters and nodes by name, with their geometry, and the edges."""

    def __init__(self, src):
        out = subprocess.run(["dot", "-Tjson"], input=src, capture_output=True, text=True, check=True).stdout
        d = json.loads(out)
        x0, y0, x1, y1 = map(float, d["bb"].split(","))
        self.width, self.height = x1 - x0, y1 - y0
        self.label = d.get("label", "")
        objs = d["objects"]
        self.clusters = {o["name"]: o for o in objs if o["name"].startswith("cluster")}
        self.nodes = {o["name"]: o for o in objs if "pos" in o}
        self.edges = [(objs[e["tail"]]["name"], objs[e["head"]]["name"], e) for e in d.get("edges", [])
                      if e.get("style") != "invis"]     # (those that place the boxes are not drawn)

    def box(self, name):
        if name in self.clusters:
            return tuple(map(float, self.clusters[name]["bb"].split(",")))
        o = self.nodes[name]
        x, y = map(float, o["pos"].split(","))
        w, h = float(o["width"]) * 72 / 2, float(o["height"]) * 72 / 2
        return x - w, y - h, x + w, y + h

    def inside(self, inner, outer):
        a, b = self.box(inner), self.box(outer)
        return a[0] >= b[0] - 0.5 and a[1] >= b[1] - 0.5 and a[2] <= b[2] + 0.5 and a[3] <= b[3] + 0.5

    def cluster_labelled(self, text):
        found = [n for n, o in self.clusters.items() if o.get("label", "") == text]
        assert len(found) == 1, (text, sorted(o.get("label", "") for o in self.clusters.values()))
        return found[0]

    def zone_cluster(self, zone):
        """The column of `zone` ("" for nodes without a zone), whose label may say who its edge stands for."""
        text = f"zone {zone}" if zone else "no zone label"
        found = [n for n, o in self.clusters.items() if n.startswith("cluster_zone_")
                 and (o.get("label", "") == text or o.get("label", "").startswith(text + " ("))]
        assert len(found) == 1, zone
        return found[0]

    def node_cluster(self, node_name):
        """The box of node `node_name` (its label starts "node NAME")."""
        found = [n for n, o in self.clusters.items() if n.startswith("cluster_node_")
                 and (o.get("label", "") == f"node {node_name}" or o.get("label", "").startswith(f"node {node_name} "))]
        assert len(found) == 1, node_name
        return found[0]

    def boxes(self):
        """The labels of the components drawn as boxes (not points, not faded plain text, not the note)."""
        return {n: o.get("label", "") for n, o in self.nodes.items()
                if o.get("shape", "box") not in ("point", "plaintext", "note") and o.get("style") != "invis"}


def laid_out(sc):
    return Layout(architecture_dot(sc))


# ------------------------------------------------------------------------------------------------------------
# Shape.

@needs_dot
@pytest.mark.parametrize("ha", [False, True], ids=["one-apiserver", "ha"])
@pytest.mark.parametrize("n", [3, 6, 12, 20])
def test_landscape_near_16_9_up_to_20_nodes(n, ha):
    # Before: one flat row, from 4.9:1 (3 nodes) to 14:1 (20 nodes).
    lay = laid_out(grid(n, ha=ha))
    assert 1.2 <= lay.width / lay.height <= 2.4, (n, ha, lay.width, lay.height)


@needs_dot
def test_zones_are_columns_of_nodes_in_rows():
    sc = grid(12)
    lay = laid_out(sc)
    zones = {z: lay.zone_cluster(z) for z in ZONES}
    # The zones side by side, in order, none over another.
    boxes = [lay.box(zones[z]) for z in ZONES]
    assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)
    assert all(a[2] <= b[0] for a, b in zip(boxes, boxes[1:]))
    # Every node inside its zone, several rows of nodes in a zone, nodes in reading order.
    for node in sc.nodes:
        zone = dict(node.meta.labels)["topology.kubernetes.io/zone"]
        assert lay.inside(lay.node_cluster(node.meta.name), zones[zone])
    tops = {round(lay.box(lay.node_cluster(n.meta.name))[3]) for n in sc.nodes if n.meta.name in ("w-01", "w-04", "w-07", "w-10")}
    assert len(tops) >= 2, "the four nodes of zone a are in one row"
    first_row = sorted((lay.box(lay.node_cluster(n))[0], n) for n in ("w-01", "w-04")
                       if round(lay.box(lay.node_cluster(n))[3]) == max(tops))
    assert [n for _, n in first_row] == sorted(n for _, n in first_row)


@needs_dot
def test_nodes_without_a_zone_have_a_column_of_their_own():
    sc = load_scenario(os.path.join(SCENARIOS, "static-pods-single-control-plane.yaml"))
    lay = laid_out(sc)
    column = lay.zone_cluster("")
    for node in sc.nodes:
        assert lay.inside(lay.node_cluster(node.meta.name), column)


@needs_dot
def test_many_nodes_of_one_shape_are_grouped_with_a_count():
    sc = grid(40)
    assert len(sc.nodes) > GROUP_ABOVE
    cells = node_cells(sc)
    assert len(cells) == 3 and sum(c.count for c in cells) == 40
    lay = laid_out(sc)
    labels = sorted(o.get("label", "") for n, o in lay.clusters.items() if n.startswith("cluster_node_"))
    assert labels == ["13 nodes like w-02", "13 nodes like w-03", "14 nodes like w-01"]
    assert sorted(v for v in lay.boxes().values() if v.startswith("kubelet")) == ["kubelet ×13", "kubelet ×13",
                                                                                   "kubelet ×14"]
    assert 1.2 <= lay.width / lay.height <= 2.4
    # Up to GROUP_ABOVE nodes, every node has its box; past it, a different shape is a box of its own.
    assert len(node_cells(grid(20))) == 20
    odd = grid(40, label_extra=", disk: ssd")
    assert len(node_cells(odd)) == 3
    mixed = parse_scenario(grid(40).text + "---\napiVersion: v1\nkind: Node\nmetadata: {name: big, labels: "
                           "{topology.kubernetes.io/zone: a}}\nstatus: {allocatable: {cpu: '64', memory: 256Gi, "
                           "pods: '110'}}\n", "mixed.yaml")
    assert sorted(c.count for c in node_cells(mixed)) == [1, 13, 13, 14]


# ------------------------------------------------------------------------------------------------------------
# What runs where.

@needs_dot
@pytest.mark.parametrize("name", ["static-pods-three-control-planes", "zone-outage-stacked"])
def test_stacked_members_and_static_pod_apiservers_are_inside_their_nodes(name):
    sc = load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    lay = laid_out(sc)
    for k, host in enumerate(apiserver_hosts(sc)):
        assert host is not None
        assert lay.inside(f"apiserver{k}", lay.node_cluster(host)), (k, host)
    members = etcd_members(sc)
    assert len(members) == 3
    for i, m in enumerate(members):
        assert lay.inside(f"etcd{i}", lay.node_cluster(m.node)), (m.name, m.node)
    # Each node inside its zone (zone-outage-stacked has zones a, a, b and c).
    for node in sc.nodes:
        zone = dict(node.meta.labels).get("topology.kubernetes.io/zone", "")
        assert lay.inside(lay.node_cluster(node.meta.name), lay.zone_cluster(zone))
    # The controller-manager and the scheduler are on a control-plane node too, not floating outside.
    assert lay.inside("kcm0", lay.node_cluster("cp-1")) and lay.inside("sched0", lay.node_cluster("cp-1"))


@needs_dot
def test_external_etcd_is_a_group_of_its_own():
    sc = load_scenario(os.path.join(SCENARIOS, "etcd-zones-abc.yaml"))
    lay = laid_out(sc)
    group = lay.cluster_labelled("external etcd: 3 members, quorum 2")
    for i in range(3):
        assert lay.inside(f"etcd{i}", group)
    for name in lay.clusters:
        if name.startswith("cluster_node_") or name.startswith("cluster_zone_"):
            assert not lay.inside("etcd0", name)


def _reaches(lay, start, target):
    """Whether an edge joins `start` (a node, or a point inside a node's or zone's box) to `target`."""
    return any({a, b} == {start, target} for a, b, _ in lay.edges)


@needs_dot
@pytest.mark.parametrize("name", ["zone-outage-stacked", "static-pods-three-control-planes", "grid-20"])
def test_ha_clients_talk_to_the_load_balancer(name):
    sc = grid(20, ha=True) if name == "grid-20" else load_scenario(os.path.join(SCENARIOS, f"{name}.yaml"))
    lay = laid_out(sc)
    assert "lb" in lay.nodes and lay.nodes["lb"]["label"].startswith("load balancer")
    # The load balancer in front of every apiserver.
    for k in range(sc.control_plane.apiservers):
        assert _reaches(lay, "lb", f"apiserver{k}")
    # Every kubelet reaches it: by an edge of its own, or by the edge of the node box or the zone it is in.
    ends = {a if b == "lb" else b for a, b, _ in lay.edges if "lb" in (a, b)}
    for node in sc.nodes:
        box = lay.node_cluster(node.meta.name)
        kubelet = next(n for n in lay.nodes if n.endswith("_kubelet") and lay.inside(n, box))
        zone = next(z for z in lay.clusters if z.startswith("cluster_zone_") and lay.inside(box, z))
        assert any(e == kubelet or lay.inside(e, box) or lay.inside(e, zone) for e in ends), node.meta.name
    if name == "grid-20":   # one edge from each zone (of rows of nodes), its title saying for whom
        assert sorted(o["label"] for n, o in lay.clusters.items() if n.startswith("cluster_zone_")) == [
            "zone a (7 kubelets)", "zone b (7 kubelets)", "zone c (6 kubelets)"]
    # No client of the nodes is wired to an apiserver past the load balancer.
    for a, b, _ in lay.edges:
        if b.startswith("apiserver") or a.startswith("apiserver"):
            other = a if b.startswith("apiserver") else b
            assert not other.endswith(("_kubelet", "_clients")) and not other.startswith(("kcm", "sched")), (a, b)


@needs_dot
def test_one_apiserver_no_load_balancer():
    sc = grid(3)
    lay = laid_out(sc)
    assert "lb" not in lay.nodes
    for c in plan(sc).cells:
        assert _reaches(lay, f"n{c.index}_kubelet", "apiserver0")


# ------------------------------------------------------------------------------------------------------------
# What is composed, and what is left out.

@needs_dot
def test_what_the_model_left_out_is_listed_not_drawn():
    # No pod: the model composes no scheduler and no kubelet; no Service: no DNS; no addon enabled.
    sc = load_scenario(os.path.join(SCENARIOS, "etcd-five-members.yaml"))
    lay = laid_out(sc)
    labels = " ".join(lay.boxes().values())
    assert "kube-scheduler" not in labels and "kubelet" not in labels.replace("kubelet not composed", "")
    assert "DNS" not in labels and "Dashboard" not in labels
    note = lay.nodes["leftout"]["label"]
    assert "kube-scheduler, kubelets (no pods to run)" in note
    assert "DNS addon" in note and "Dashboard" in note and "not composed" in note
    assert lay.nodes["leftout"].get("fontcolor") == "#8a8a8a"      # faded
    # What is composed is drawn: DNS where a Service gives it work, kube-proxy on every node.
    dns = load_scenario(os.path.join(SCENARIOS, "dns-service.yaml"))
    boxes = laid_out(dns).boxes().values()
    assert any(v.startswith("DNS addon") for v in boxes)
    assert sum(v == "kube-proxy" for v in boxes) == len(dns.nodes)
    assert not any(v.startswith("Dashboard") for v in boxes)


@needs_dot
def test_enabled_addons_are_drawn():
    lay = laid_out(load_scenario(os.path.join(SCENARIOS, "cluster-addons.yaml")))
    boxes = lay.boxes().values()
    for title in ("Dashboard", "resource monitoring", "cluster-level logging"):
        assert any(v.startswith(title) for v in boxes), title
    assert "addons the scenario does not enable" not in lay.nodes["leftout"]["label"]


def test_titles_name_the_topology():
    stacked = topology_title(load_scenario(os.path.join(SCENARIOS, "zone-outage-stacked.yaml")))
    assert stacked.startswith("stacked etcd, HA: 3 kube-apiservers behind a load balancer")
    assert "3 etcd members on the control-plane nodes (quorum 2)" in stacked and "4 nodes in 3 zones" in stacked
    assert "traditional" not in stacked
    static = topology_title(load_scenario(os.path.join(SCENARIOS, "static-pods-three-control-planes.yaml")))
    assert static.startswith("stacked etcd, HA") and "static pods" in static and "traditional" not in static
    external = topology_title(load_scenario(os.path.join(SCENARIOS, "etcd-zones-abc.yaml")))
    assert external.startswith("external etcd, not HA: one kube-apiserver") and "3 etcd members of their own" in external
    single = topology_title(grid(3))
    assert single.startswith("stacked etcd, not HA: one kube-apiserver") and "on the control-plane machine" in single
    for name in ("zone-outage-stacked", "static-pods-single-control-plane", "etcd-zones-abc"):
        assert "traditional" not in architecture_dot(load_scenario(os.path.join(SCENARIOS, f"{name}.yaml")))


@needs_dot
def test_the_title_is_drawn():
    lay = laid_out(load_scenario(os.path.join(SCENARIOS, "etcd-zones-abc.yaml")))
    assert "etcd-zones-abc" in lay.label and "external etcd, not HA" in lay.label


# ------------------------------------------------------------------------------------------------------------
# Names from the user's files, and no Graphviz.

@needs_dot
def test_names_are_escaped():
    # The loader refuses such names (as the apiserver does); the drawing escapes them all the same.
    sc = grid(3)
    odd = 'w"1\\ \x1b]0;x\a'
    first = sc.nodes[0]
    meta = attrs.evolve(first.meta, name=odd, labels=(("topology.kubernetes.io/zone", 'a"b'),))
    sc = dataclasses.replace(sc, nodes=(attrs.evolve(first, meta=meta),) + sc.nodes[1:],
                             name='<grid & "3">')
    src = architecture_dot(sc)
    assert "\\x1b" in src and "\x1b" not in src and "\a" not in src     # the escapes written, not the bytes
    lay = Layout(src)                       # dot accepts the source
    assert any(o.get("label", "").startswith('node w"1') for o in lay.clusters.values())
    assert lay.zone_cluster('a"b')
    assert "&lt;grid &amp; &quot;3&quot;&gt;" in lay.label


def test_without_dot_rendering_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RenderError, match="Graphviz's `dot` is not installed"):
        render_architecture(grid(3), str(tmp_path / "a.svg"))
    assert not (tmp_path / "a.svg").exists()


@needs_dot
def test_render_writes_the_svg(tmp_path):
    out = tmp_path / "a.svg"
    render_architecture(load_scenario(os.path.join(SCENARIOS, "zone-outage-stacked.yaml")), str(out))
    svg = html.unescape(out.read_text())
    assert "<svg" in svg and "load balancer" in svg and "zone-outage-stacked" in svg
