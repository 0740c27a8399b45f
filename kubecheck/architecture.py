"""A scenario's architecture as a cluster is drawn: Graphviz source, laid out by `dot`.

The drawing follows the seed document's figure 1 and the kubeadm topologies
it points to (stacked etcd, external etcd, HA behind a load balancer):

* the availability zones are columns (nodes without a zone label get a
  column of their own), each node a box inside its zone, several nodes of a
  zone in rows so that the drawing stays landscape, near 16:9, for clusters
  of up to 20 nodes (more zones than fit side by side go in further bands);
  past 20 nodes, worker nodes of one shape (same zone, labels, taints,
  allocatable) are one box "N nodes like w-01";
* what runs on a control-plane node is drawn inside it: its kube-apiserver
  instances and stacked etcd members as `model/topology.py` places them,
  and the controller-managers and schedulers as kubeadm places them; a
  control plane with no control-plane node is a machine of its own above
  the nodes (a managed one, the provider's); external etcd is a group of
  its own;
* with several apiservers, a load balancer in front of them, which the
  kubelets, controller-managers, schedulers, addons and operators talk to
  (the model spreads these clients over the instances behind it); with one,
  they talk to it directly;
* only what the model composes for the scenario is drawn (the components
  whose rules `build_model` returns); what it left out (`Model.left_out`)
  and the addons the scenario does not enable are listed in a faded note.

The grid (node columns per zone, zones per band, the note above or below)
is chosen from an estimate of the boxes' sizes, so that the Graphviz source
needs no Graphviz to be written.  Names from the user's files are escaped
(`_dq` in double-quoted Graphviz strings, `_text` in HTML-like labels and
SVG); graph ids are made of indices, never of names (but the operators',
which tests and tools look up by kind).
"""

from __future__ import annotations

import html
import math
import shutil
import textwrap
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from model.compose import build_model
from model.inputs import printable
from model.scenario import ZONE_LABEL, Scenario
from model.topology import OWN_MACHINE, apiserver_hosts, control_plane_nodes, etcd_members, quorum

GROUP_ABOVE = 20            # past this many nodes, worker nodes of one shape are drawn as one box
TARGET_ASPECT = 16 / 9
ASPECT_RANGE = (1.3, 2.2)   # grids estimated in this range keep the zones side by side (fewest bands)
HOSTNAME_LABEL = "kubernetes.io/hostname"   # unique per node: not part of a node's shape

# The controllers of kube-controller-manager and cloud-controller-manager, by the prefix of their rules' names.
KCM_CONTROLLERS = (("deployment", "Deployment"), ("replicaset", "ReplicaSet"), ("daemonset", "DaemonSet"),
                   ("statefulset", "StatefulSet"), ("job", "Job"), ("endpointslice", "EndpointSlice"),
                   ("replicationcontroller", "ReplicationController"),
                   ("serviceaccount", "ServiceAccount"),
                   ("nodelifecycle", "node lifecycle"), ("taint-eviction", "taint eviction"),
                   ("podgc", "PodGC"), ("garbagecollector", "garbage collector"))
CCM_CONTROLLERS = (("cloud-node-lifecycle", "node"), ("cloud-route", "route"), ("cloud-service", "service"))
# The other components' rules (a scheduler's are "<its name>.bind"); a prefix in none of these lists is taken for a
# controller of kube-controller-manager that this file does not know yet, and drawn there under its own name.
NOT_KCM = {"apiserver", "environment", "user", "leaderelection", "kubelet", "kube-proxy", "network-plugin", "dns",
           "operator"}
# The seed document's addons beside DNS: (spec.addons key, title, what model/addons.py installs).
OTHER_ADDONS = (("dashboard", "Dashboard", "Deployment kube-system/kubernetes-dashboard"),
                ("monitoring", "resource monitoring", "Deployment kube-system/metrics-server"),
                ("logging", "cluster-level logging", "DaemonSet kube-system/fluent-bit"))
HOW = {"traditional": "systemd services", "static-pods": "static pods", "self-hosted": "self-hosted pods",
       "managed": "managed"}

# The estimate of sizes (points), after the attributes written below.
_FONT, _CHAR = 10, 5.1          # component labels: font size, mean character width (dot's Helvetica metrics)
_NODESEP, _RANKSEP = 0.22 * 72, 0.32 * 72
_PAD = 8                        # a cluster's margin
_LABEL_H = 20                   # a cluster's label line
NOTE_WRAPS = (84, 56, 130)      # characters per line of the note: the grid chooses

FILL = {"cp": "#e3ecfb", "etcd": "#fff1d6", "node": "#eef3fb", "runtime": "#f4f4f4", "addon": "#e8f5e9",
        "lb": "#e1f5fe", "operator": "#fff8e1", "cloud": "#f3e5f5"}
GREY = 'color="#9e9e9e"'


def _dq(text: str) -> str:
    """`text` inside a Graphviz double-quoted string: its quotes and backslashes escaped, control characters
    written as escapes (names come from the user's files)."""
    return printable(str(text)).replace("\\", "\\\\").replace('"', '\\"')


def _text(text: str) -> str:
    """`text` as SVG/XML character data (or in a Graphviz HTML-like label): escaped, with control characters
    (which XML cannot hold) written as escapes."""
    return html.escape(printable(str(text)))


class RenderError(Exception):
    """Rendering is impossible here (no Graphviz): exit status 2 with the message."""


# ---------------------------------------------------------------------------------------------------------------
# What is drawn, decided before any Graphviz source is written.

@dataclass
class Cell:
    """One node box of the drawing: a node, or `count` worker nodes of one shape."""

    index: int
    names: List[str]
    zone: str
    control_plane: bool
    apiservers: List[int] = field(default_factory=list)
    etcd: List[int] = field(default_factory=list)
    kcms: List[int] = field(default_factory=list)
    scheds: List[int] = field(default_factory=list)
    ccm: bool = False

    @property
    def count(self) -> int:
        return len(self.names)


def _zone(node) -> str:
    return dict(node.meta.labels).get(ZONE_LABEL, "")


def _shape(node) -> Tuple:
    labels = tuple(sorted((k, v) for k, v in node.meta.labels if k != HOSTNAME_LABEL))
    return _zone(node), labels, node.taints, node.allocatable, node.unschedulable


def node_cells(sc: Scenario) -> List[Cell]:
    """The node boxes, zone by zone (zones sorted, nodes without a zone last), control-plane nodes first, then
    by name; past GROUP_ABOVE nodes, worker nodes of one shape share a box."""
    cps = set(control_plane_nodes(sc))
    nodes = sorted(sc.nodes, key=lambda n: (_zone(n) == "", _zone(n), n.meta.name not in cps, n.meta.name))
    cells: List[Cell] = []
    by_shape: Dict[Tuple, Cell] = {}
    group = len(sc.nodes) > GROUP_ABOVE
    for n in nodes:
        cp = n.meta.name in cps
        if group and not cp and _shape(n) in by_shape:
            by_shape[_shape(n)].names.append(n.meta.name)
            continue
        cells.append(Cell(len(cells), [n.meta.name], _zone(n), cp))
        if group and not cp:
            by_shape[_shape(n)] = cells[-1]
    return cells


@dataclass
class Plan:
    sc: Scenario
    cells: List[Cell]
    zones: List[Tuple[str, List[Cell]]]
    own_machine: bool            # the control plane runs outside the nodes (a machine of its own, or managed)
    kubelets: bool
    proxy: str                   # "kube-proxy", "network plugin" or ""
    controllers: List[str]       # kube-controller-manager's controllers composed ([]: it is not drawn)
    schedulers: bool             # kube-scheduler composed
    custom_schedulers: List[str]
    ccm_controllers: List[str]
    addons: List[Tuple[str, str]]
    operators: List[str]
    leftout: List[str]
    notes: List[str]


def plan(sc: Scenario) -> Plan:
    """What the drawing of `sc` shows: the components the model composes for it, and where each runs."""
    model = build_model(sc)
    composed = {r.name.split(".", 1)[0] for r in model.rules} | {o.name for o in model.observers}
    cp = sc.control_plane
    cells = node_cells(sc)
    cell_of = {name: c for c in cells for name in c.names}
    hosts = apiserver_hosts(sc)
    for k, h in enumerate(hosts):
        if h is not None:
            cell_of[h].apiservers.append(k)
    for i, m in enumerate(etcd_members(sc)):
        if m.node and m.node != OWN_MACHINE and m.node in cell_of:
            cell_of[m.node].etcd.append(i)
    own = not any(hosts)
    ccm_controllers = [title for prefix, title in CCM_CONTROLLERS if prefix in composed]
    schedulers = "default-scheduler" in composed
    bind = {r.name[:-len(".bind")] for r in model.rules if r.name.endswith(".bind")}
    custom = sorted(bind - {"default-scheduler"})
    known = dict(KCM_CONTROLLERS)
    controllers = [title for prefix, title in KCM_CONTROLLERS if prefix in composed]
    controllers += sorted(composed - set(known) - NOT_KCM - bind - {prefix for prefix, _ in CCM_CONTROLLERS})
    cps = [] if own else control_plane_nodes(sc)
    notes = []
    if cps:      # kubeadm runs one of each on every control-plane node
        for i in range(cp.controller_managers if controllers else 0):
            cell_of[cps[i % len(cps)]].kcms.append(i)
        for i in range(cp.schedulers if schedulers else 0):
            cell_of[cps[i % len(cps)]].scheds.append(i)
        cell_of[cps[0]].ccm = bool(ccm_controllers)
        if controllers or schedulers:
            notes.append("kube-controller-manager and kube-scheduler are drawn on the control-plane nodes, as "
                         "kubeadm runs them; the model stops them by controller-crash, not with their node")
    zones: Dict[str, List[Cell]] = {}
    for c in cells:
        zones.setdefault(c.zone, []).append(c)
    addons = []
    if "dns" in composed:
        addons.append(("DNS addon", f"Deployment kube-system/coredns, {_plural(sc.dns_replicas, 'replica')}"))
    addons += [(title, what) for key, title, what in OTHER_ADDONS if key in sc.other_addons]
    leftout = list(model.left_out)
    if not controllers:
        leftout.append("kube-controller-manager (none of its controllers has work here)")
    if cp.cloud_controller_manager and not ccm_controllers:
        leftout.append("cloud-controller-manager (none of its controllers has work here)")
    missing = [title for key, title, _ in OTHER_ADDONS if key not in sc.other_addons]
    if missing:
        leftout.append(f"addons the scenario does not enable: {', '.join(missing)}")
    if any(c.count > 1 for c in cells):
        notes.append(f"more than {GROUP_ABOVE} nodes: the worker nodes of one shape (zone, labels, taints, "
                     "allocatable) are drawn once, with their count")
    proxy = "kube-proxy" if "kube-proxy" in composed else "network plugin" if "network-plugin" in composed else ""
    return Plan(sc, cells, [(z, zones[z]) for z in sorted(zones, key=lambda z: (z == "", z))], own,
                "kubelet" in composed, proxy, controllers, schedulers, custom, ccm_controllers, addons,
                list(sc.operators) if "operator" in composed else [], leftout, notes)


# ---------------------------------------------------------------------------------------------------------------
# The title.

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def topology_title(sc: Scenario) -> str:
    """The control plane's topology in words: stacked or external etcd, HA or not; then how it runs, the nodes.
    (The seed document's "traditional" deployment is named by what it is: systemd services.)"""
    cp = sc.control_plane
    m = len(etcd_members(sc))
    api = f"{cp.apiservers} kube-apiservers behind a load balancer" if cp.apiservers > 1 else "one kube-apiserver"
    if cp.placement == "managed":
        parts = [f"managed control plane: {api}", "etcd and the control plane run by the provider"]
    else:
        kind = "external etcd" if cp.etcd_topology == "external" else "stacked etcd"
        ha = "HA" if cp.apiservers > 1 and m >= 3 else "not HA"
        where = ("of their own" if cp.etcd_topology == "external"
                 else "on the control-plane nodes" if any(apiserver_hosts(sc)) else "on the control-plane machine")
        parts = [f"{kind}, {ha}: {api}", f"{_plural(m, 'etcd member')} {where} (quorum {quorum(m)})",
                 f"control plane as {HOW[cp.placement]}"
                 + (f" ({cp.static_apiservers} static)" if cp.static_apiservers else "")]
    named = len({_zone(n) for n in sc.nodes} - {""})
    parts.append(_plural(len(sc.nodes), "node") + (f" in {_plural(named, 'zone')}" if named else ""))
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Boxes: (graph id, label as written in a double-quoted string, fill); a group's rows, top to bottom.

Box = Tuple[str, str, str]
Rows = List[List[Box]]


def _kcm_label(p: Plan, i: int) -> str:
    elected = " (leader-elected)" if p.sc.control_plane.controller_managers > 1 else ""
    return f"kube-controller-manager {i + 1}{elected}\\n" + "\\n".join(textwrap.wrap(", ".join(p.controllers), 32))


def _sched_label(p: Plan, i: int) -> str:
    return f"kube-scheduler {i + 1}" + ("\\nleader-elected" if p.sc.control_plane.schedulers > 1 else "")


def _ccm_label(p: Plan) -> str:
    return "cloud-controller-manager\\ncontrollers: " + ", ".join(p.ccm_controllers)


def _apiserver_label(p: Plan, k: int) -> str:
    cp = p.sc.control_plane
    if cp.placement == "self-hosted" and cp.static_apiservers:   # mixed: say which
        return f"kube-apiserver {k + 1}\\n" + ("static pod" if k < cp.static_apiservers else "self-hosted pod")
    return f"kube-apiserver {k + 1}"


def _etcd_label(p: Plan, i: int) -> str:
    members = etcd_members(p.sc)
    m = members[i]
    zone = f"\\nzone {_dq(m.zone)}" if m.zone and p.sc.control_plane.etcd_topology == "external" else ""
    return f"etcd member {_dq(m.name)}{zone}"


def cell_rows(p: Plan, cell: Cell) -> Rows:
    """A node box's rows: its apiservers and etcd members, its controller-managers and schedulers, then the
    kubelet (with kube-proxy or the network plugin) over the container runtime."""
    rows: Rows = []
    first = [(f"apiserver{k}", _apiserver_label(p, k), FILL["cp"]) for k in cell.apiservers]
    first += [(f"etcd{i}", _etcd_label(p, i), FILL["etcd"]) for i in cell.etcd]
    controllers = [(f"kcm{i}", _kcm_label(p, i), FILL["cp"]) for i in cell.kcms]
    controllers += [(f"sched{i}", _sched_label(p, i), FILL["cp"]) for i in cell.scheds]
    controllers += [("ccm", _ccm_label(p), FILL["cloud"])] if cell.ccm else []
    rows += [r for r in (first, controllers) if r]
    n = cell.index
    if rows and cell_clients(p, cell):      # their edge leaves the box above a point left of its first row
        rows[0].insert(0, (f"n{n}_clients", "", "point"))
    times = f" ×{cell.count}" if cell.count > 1 else ""
    if p.kubelets:
        kubelet = [(f"n{n}_kubelet", f"kubelet{times}", FILL["node"])]
        if p.proxy:
            kubelet.append((f"n{n}_proxy", p.proxy + ("\\nService rules" if p.proxy != "kube-proxy" else ""),
                            FILL["runtime"]))
        rows += [kubelet, [(f"n{n}_runtime", "container runtime", FILL["runtime"])]]
    else:       # not a box: the model has no kubelet here
        rows.append([(f"n{n}_idle", "kubelet not composed\\n(no pods to run)", "")])
    return rows


def cell_clients(p: Plan, cell: Cell) -> List[Tuple[str, str]]:
    """The API clients running on a node box: (graph id, what)."""
    out = [(f"n{cell.index}_kubelet", "kubelet")] if p.kubelets else []
    out += [(f"kcm{i}", f"controller-manager {i + 1}") for i in cell.kcms]
    out += [(f"sched{i}", f"scheduler {i + 1}") for i in cell.scheds]
    return out + ([("ccm", "cloud-controller-manager")] if cell.ccm else [])


def cell_title(p: Plan, cell: Cell) -> str:
    name = _dq(cell.names[0])
    head = f"{cell.count} nodes like {name}" if cell.count > 1 else f"node {name}"
    if cell.control_plane:
        head += f" (control plane: {HOW[p.sc.control_plane.placement]})" if cell.apiservers else " (control plane)"
    return head


@dataclass
class Group:
    """A cluster of boxes above the zones: the control plane's machine, external etcd, the addons; or, without
    a cluster (`name` empty), the other boxes there."""

    name: str
    label: str
    attrs: str
    rows: Rows


def top_groups(p: Plan) -> List[Group]:
    sc, cp = p.sc, p.sc.control_plane
    members = etcd_members(sc)
    groups = []
    if p.own_machine:
        label = ("managed control plane: the provider runs it" if cp.placement == "managed"
                 else f"control-plane machine, outside the nodes: {HOW[cp.placement]}")
        first = [(f"apiserver{k}", _apiserver_label(p, k), FILL["cp"]) for k in range(cp.apiservers)]
        if cp.etcd_topology == "stacked" and cp.placement != "managed":
            first += [(f"etcd{i}", _etcd_label(p, i), FILL["etcd"]) for i in range(len(members))]
        second = [(f"kcm{i}", _kcm_label(p, i), FILL["cp"]) for i in range(cp.controller_managers if p.controllers
                                                                           else 0)]
        second += [(f"sched{i}", _sched_label(p, i), FILL["cp"]) for i in range(cp.schedulers if p.schedulers
                                                                                else 0)]
        second += [("ccm", _ccm_label(p), FILL["cloud"])] if p.ccm_controllers else []
        groups.append(Group("cluster_control_plane", label, 'style="rounded,filled"; fillcolor="#f7f9fc"; '
                            'color="#326ce5"', [r for r in (first, second) if r]))
    if cp.etcd_topology == "external" and cp.placement != "managed":
        groups.append(Group("cluster_etcd", f"external etcd: {_plural(len(members), 'member')}, quorum "
                                            f"{quorum(len(members))}",
                            'style="rounded,filled"; fillcolor="#fffaf0"; color="#e08a00"',
                            [[(f"etcd{i}", _etcd_label(p, i), FILL["etcd"]) for i in range(len(members))]]))
    if p.addons:
        groups.append(Group("cluster_addons", "addons (pods in kube-system)", 'style="rounded,dashed"; '
                            'color="#43a047"',
                            [[(f"addon{k}", f"{name}\\n{what}", FILL["addon"]) for k, (name, what)
                              in enumerate(p.addons)]]))
    loose = [(f"scheduler_{k}", f"{_dq(s)}\\nsecond scheduler", FILL["cp"]) for k, s in enumerate(p.custom_schedulers)]
    loose += [(f"operator_{_dq(kind)}", f"{_dq(kind)} operator\\n(the user's controller)", FILL["operator"])
              for kind in p.operators]
    loose += [("cloud", "cloud provider\\nVMs, routes, load balancers", FILL["cloud"])] if p.ccm_controllers else []
    if loose:
        groups.append(Group("", "", "", [loose]))
    for g in groups:
        g.rows = [part for row in g.rows for part in _wrap(row)]
    return groups


def _wrap(row: List[Box], width: float = 460) -> Rows:
    """`row` cut into rows at most `width` points wide (by the estimate)."""
    rows: Rows = [[]]
    used = 0.0
    for box in row:
        w = _box(box[1])[0] + _NODESEP
        if rows[-1] and used + w > width:
            rows.append([])
            used = 0.0
        rows[-1].append(box)
        used += w
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Sizes, and the grid: node columns per zone, zones per band, where the note goes.

def _box(label: str, font: float = _FONT) -> Tuple[float, float]:
    lines = label.split("\\n")
    w = max(54.0, max(len(x) for x in lines) * _CHAR * font / _FONT + 14)
    return w, max(0.3 * 72, len(lines) * font + 6)


def rows_size(rows: Rows, title: str = "") -> Tuple[float, float]:
    """The estimated size of a cluster of `rows` (with a title line where `title`)."""
    w = h = 0.0
    for row in rows:
        sizes = [_box(label) for _, label, _ in row]
        w = max(w, sum(s[0] for s in sizes) + _NODESEP * (len(sizes) - 1))
        h += max(s[1] for s in sizes)
    w = max(w, len(title) * _CHAR + 8)
    return w + 2 * _PAD, h + _RANKSEP * (len(rows) - 1) + 2 * _PAD + (_LABEL_H if title else 0)


@dataclass(frozen=True)
class Grid:
    columns: int                 # node columns per zone (fewer where a zone has fewer nodes)
    zones_per_band: int          # zones side by side; the others in further bands below
    note: str                    # "top" (beside the groups above the zones, where they are one row), "middle"
    #                              (beside the load balancer, between those groups and the zones) or "bottom"
    wrap: int = NOTE_WRAPS[0]    # characters per line of the note


@dataclass(frozen=True)
class Frame:
    """What surrounds the zones, for the estimate (width, height in points; 0 where there is none)."""

    top: Tuple[float, float]
    one_row: bool               # the groups above the zones are one row each: the note may go beside them
    lb: float
    notes: Dict[int, Tuple[float, float]]       # the note's size by its characters per line ({} without a note)
    title: Tuple[float, float]


def estimate(sizes: Dict[int, Tuple[float, float]], zones: List[List[Cell]], grid: Grid,
             frame: Frame) -> Tuple[float, float]:
    """The drawing's estimated width and height (points) with `grid`."""
    band_w: List[float] = []
    band_h: List[float] = []
    for b in range(0, len(zones), grid.zones_per_band):
        w = 0.0
        rows_h: Dict[int, float] = {}
        for cells in zones[b:b + grid.zones_per_band]:
            cols = min(grid.columns, len(cells))
            col_w = [0.0] * cols
            for j, c in enumerate(cells):
                col_w[j % cols] = max(col_w[j % cols], sizes[c.index][0])
                rows_h[j // cols] = max(rows_h.get(j // cols, 0.0), sizes[c.index][1])
            w += sum(col_w) + _NODESEP * cols + 2 * _PAD
        band_w.append(w)
        band_h.append(sum(rows_h.values()) + _RANKSEP * (len(rows_h) - 1) + _LABEL_H + 2 * _PAD)
    top_w, top_h = frame.top
    note_w, note_h = frame.notes.get(grid.wrap, (0.0, 0.0))
    middle_w, middle_h = 0.0, frame.lb
    if note_w and grid.note == "top":
        top_w, top_h = top_w + note_w + _NODESEP, max(top_h, note_h)
    elif note_w and grid.note == "middle":   # right of the load balancer, which is over the middle of the zones
        middle_w, middle_h = max(band_w) / 2 + 75 + note_w + _NODESEP, max(middle_h, note_h + _RANKSEP)
    width = max([top_w, middle_w, frame.title[0]] + band_w)
    # (each band hangs from a rank of invisible anchors)
    height = frame.title[1] + (top_h + _RANKSEP if top_h else 0) + middle_h + sum(band_h) + 2 * _RANKSEP * len(band_h)
    if note_w and grid.note == "bottom":
        width, height = max(width, note_w), height + note_h + _RANKSEP
    return width, height


def choose_grid(sizes: Dict[int, Tuple[float, float]], zones: List[List[Cell]], frame: Frame) -> Grid:
    """The grid of the drawing, by the estimate: one of the drawings between 1.3:1 and 2.2:1 where there are
    some; the nearest 16:9 (in ratio), counting against a grid its further bands of zones and the room it
    wastes (its area over the least)."""
    candidates = []
    for columns in range(1, min(max([len(z) for z in zones] + [1]), 24) + 1):
        for per_band in range(1, len(zones) + 1):
            # (beside groups of several rows, the note would stretch the rank it is on, and them; beside the load
            # balancer it is in the way of no edge, but beside the point the zones hang from, of their edges up)
            wheres = ("top",) * frame.one_row + ("middle",) * bool(frame.lb) + ("bottom",)
            for where, wrap in [(x, y) for x in wheres for y in frame.notes] or [("bottom", NOTE_WRAPS[0])]:
                grid = Grid(columns, per_band, where, wrap)
                w, h = estimate(sizes, zones, grid, frame)
                bands = -(-len(zones) // per_band)
                inside = ASPECT_RANGE[0] <= w / h <= ASPECT_RANGE[1]
                candidates.append((not inside, abs(math.log(w / h / TARGET_ASPECT)) + 0.3 * (bands - 1), w * h, grid))
    least = min(c[2] for c in candidates)
    # In the range first; then the nearest 16:9, a larger area counting against (room wasted).
    best = min(candidates, key=lambda c: (c[0], round(c[1] + math.log(c[2] / least), 3)))
    return best[3]


# ---------------------------------------------------------------------------------------------------------------
# The Graphviz source.

def _node(box: Box, extra: str = "") -> str:
    id_, label, fill = box
    if fill == "point":
        return f'"{id_}" [shape=point, style=invis, width=0, height=0, label=""];'
    style = f'fillcolor="{fill}"' if fill else 'shape=plaintext, style="", fontcolor="#9e9e9e"'
    return f'"{id_}" [label="{label}", {style}{", " + extra if extra else ""}];'


def _rows_source(rows: Rows, indent: str) -> List[str]:
    """Each row one rank, in the order written (an invisible flat chain); each row under the one above."""
    out = []
    for row in rows:
        out += [indent + _node(box, "shape=cylinder" if box[0] == "cloud" else "") for box in row]
        if len(row) > 1:
            out.append(indent + "{ rank=same; " + " -> ".join(f'"{b[0]}"' for b in row) + " [style=invis]; }")
    for upper, lower in zip(rows, rows[1:]):
        if not upper[0][0].endswith("_kubelet"):     # (the CRI edge does it)
            out.append(f'{indent}"{upper[0][0]}" -> "{lower[0][0]}" [style=invis];')
    return out


def _note(p: Plan, wrap: int) -> Tuple[str, Tuple[float, float]]:
    """The faded note, as an HTML-like label, and its estimated size."""
    lines: List[Tuple[str, bool]] = []
    for heading, items in (("not composed for this scenario, so not drawn:", p.leftout),
                           ("about this drawing:", p.notes)):
        if items:
            lines.append((heading, True))
            for item in items:
                lines += [(("• " if k == 0 else "   ") + w, False)
                          for k, w in enumerate(textwrap.wrap(printable(item), wrap))]
    if not lines:
        return "", (0.0, 0.0)
    body = "".join((f"<b>{_text(t)}</b>" if bold else _text(t)) + '<br align="left"/>' for t, bold in lines)
    return f"<{body}>", (max(len(t) for t, _ in lines) * 4.6 + 24, len(lines) * 8.6 + 10)


def architecture_dot(sc: Scenario) -> str:
    """The scenario's architecture in the manner of the seed document's figure 1, as Graphviz source."""
    p = plan(sc)
    cp = sc.control_plane
    lb = cp.apiservers > 1
    head, rest = topology_title(sc).split("; ", 1)
    title = (f'<<font point-size="17"><b>{_text(sc.name)}</b></font><br/>'
             f'<font point-size="12">{_text(head)}</font><br/><font point-size="11">{_text(rest)}</font>>')
    out = ["digraph architecture {",
           # mclimit, remincross: little crossing minimisation, so that zones and nodes keep the order written.
           f'  graph [rankdir=TB, newrank=true, compound=true, mclimit=0.01, remincross=false, fontname="Helvetica", '
           f'nodesep={_NODESEP / 72:.2f}, ranksep={_RANKSEP / 72:.2f}, labelloc=t, label={title}];',
           f'  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize={_FONT}, height=0.3, '
           'margin="0.08,0.03", color="#5c6b80"];',
           '  edge [fontname="Helvetica", fontsize=8, arrowsize=0.6];']
    # Above the zones: the control plane's own machine, external etcd, the addons, the operators, the cloud.
    groups = top_groups(p)
    for g in groups:
        if g.name:
            out.append(f'  subgraph {g.name} {{ label="{g.label}"; {g.attrs}; fontsize=11;')
            out += _rows_source(g.rows, "    ")
            out.append("  }")
        else:
            out += _rows_source(g.rows, "  ")
    if lb:
        out.append(f'  lb [label="load balancer\\nin front of the {cp.apiservers} kube-apiservers", style="filled", '
                   f'fillcolor="{FILL["lb"]}", color="#0277bd"];')
    # The grid, chosen by the estimated sizes.
    rows = {c.index: cell_rows(p, c) for c in p.cells}
    sizes = {c.index: rows_size(rows[c.index], cell_title(p, c)) for c in p.cells}
    top_sizes = [rows_size(g.rows, g.label) for g in groups]
    notes = {wrap: _note(p, wrap) for wrap in NOTE_WRAPS}
    frame = Frame((sum(s[0] + _NODESEP for s in top_sizes), max((s[1] for s in top_sizes), default=0.0)),
                  all(len(g.rows) == 1 for g in groups),
                  (36 + _RANKSEP) if lb else 0.0, {w: n[1] for w, n in notes.items() if n[0]},
                  (max(len(sc.name) * 17, len(head) * 12, len(rest) * 11) * 0.56, 40.0))
    zones = [cells for _, cells in p.zones]
    grid = choose_grid(sizes, zones, frame)
    note = notes[grid.wrap][0]
    # The zones and their nodes.  Where a zone has several rows, the edge of its clients starts from an invisible
    # point at its top (see `_edges`).
    by_zone = any(len(cells) > grid.columns for cells in zones)
    for zi, (zone, cells) in enumerate(p.zones):
        title = f"zone {_dq(zone)}" if zone else "no zone label"
        if by_zone and zi < grid.zones_per_band and zi != _home_zone(p, lb) and _who(p, cells):
            title += f" ({_who(p, cells)})"     # what its edge stands for
        out.append(f'  subgraph cluster_zone_{zi} {{ label="{title}"; '
                   'style="rounded,dashed"; color="#607d8b"; fontsize=12; fontname="Helvetica-Bold";')
        if by_zone:
            out.append(f'    zone{zi} [shape=point, style=invis, width=0, height=0, label=""];')
        for c in cells:
            out.append(f'    subgraph cluster_node_{c.index} {{ label="{cell_title(p, c)}"; style="rounded,filled"; '
                       f'fillcolor="{"#f1f5fd" if c.control_plane else "#fbfcfe"}"; color="#888888"; fontsize=10; '
                       'fontname="Helvetica";')
            out += _rows_source(rows[c.index], "      ")
            out.append("    }")
        out.append("  }")
    # The grid.  Each column of a band hangs from an invisible anchor, the anchors of a band chained left to
    # right on one rank under a hub (the load balancer, or an invisible point): that keeps dot from reordering
    # the zones and the columns.  A box hangs from the one above it in its column; the first row of a band is
    # one rank; the hub of a further band hangs from the bottoms of the band above (weight 0: that orders the
    # ranks without pulling the boxes down).
    first = {i: r[0][0][0] for i, r in rows.items()}
    last = {i: r[-1][0][0] for i, r in rows.items()}
    bottoms: List[str] = []
    deepest: List[str] = []     # the bottoms of the band's longest columns
    above_first = ""   # the first column of the band above (none above the first band)
    for b in range(0, len(zones), grid.zones_per_band):
        band = zones[b:b + grid.zones_per_band]
        hub = "lb" if lb and not b else f"hub{b}"
        if hub != "lb":
            out.append(f'  {hub} [shape=point, style=invis, width=0, height=0, label=""];')
        out += [f'  "{x}" -> {hub} [style=invis, weight=0];' for x in bottoms]
        anchors: List[str] = []
        band_rows: Dict[int, List[str]] = {}
        bottoms, depth = [], {}
        for zi, cells in enumerate(band, start=b):
            cols = min(grid.columns, len(cells))
            for j, c in enumerate(cells):
                band_rows.setdefault(j // cols, []).append(first[c.index])
                if j < cols:
                    anchors.append(f"anchor_{zi}_{j}")
                    out += [f'  {anchors[-1]} [shape=point, style=invis, width=0, height=0, label=""];',
                            f'  {hub} -> {anchors[-1]} [style=invis];',
                            f'  {anchors[-1]} -> "{first[c.index]}" [style=invis, weight=4{", minlen=2" if by_zone else ""}];']
                else:
                    out.append(f'  "{last[cells[j - cols].index]}" -> "{first[c.index]}" [style=invis];')
            bottoms += [last[c.index] for c in cells[-cols:]]
            depth.update((last[c.index], j // cols) for j, c in enumerate(cells))
        deepest = [x for x in bottoms if depth[x] == max(depth.values())]
        out.append("  { rank=same; " + " -> ".join(anchors) + (" [style=invis]" if len(anchors) > 1 else "") + "; }")
        if b:   # the band's first column under the first column of the band above (else the bands drift apart)
            out.append(f'  "{above_first}" -> {anchors[0]} [style=invis, weight=8];')
        above_first = last[band[0][0].index]
        if by_zone:     # the zones' points on a rank of their own above their first rows, each over its row
            out.append("  { rank=same; " + "; ".join(f"zone{zi}" for zi in range(b, b + len(band))) + "; }")
            for zi, cells in enumerate(band, start=b):
                out += [f'  anchor_{zi}_0 -> zone{zi} [style=invis, weight=0];']
                out += [f'  zone{zi} -> "{first[c.index]}" [style=invis, weight=0];' for c in cells[:grid.columns]]
        out += ["  { rank=same; " + "; ".join(f'"{x}"' for x in row) + "; }" for _, row in sorted(band_rows.items())]
    # The groups above the zones hang above the hub; the note beside them, or under everything.
    hanging = [g.rows[-1][len(g.rows[-1]) // 2][0] for g in groups]     # (from the middle: centred)
    if note:
        out.append(f'  leftout [shape=note, style="filled", fillcolor="#fafafa", color="#cfd8dc", fontcolor="#8a8a8a", '
                   f'fontsize=9, label={note}];')
        if grid.note == "top":
            hanging.append("leftout")
        elif grid.note == "middle":
            out.append(f'  {{ rank=same; {"lb" if lb else "hub0"}; leftout; }}')
        else:
            # (centred under the middle one of the longest columns, which pulls no box down)
            middle = deepest[len(deepest) // 2]
            out += [f'  "{x}" -> leftout [style=invis, weight={5 if x == middle else 0}];' for x in bottoms]
    out += [f'  "{x}" -> {"lb" if lb else "hub0"} [style=invis, weight=10];' for x in hanging]
    out += _edges(p, lb, by_zone, grid.zones_per_band)
    out.append("}")
    return "\n".join(out)


def _home_zone(p: Plan, lb: bool):
    """The zone of the node the lone apiserver runs on (None: there is a load balancer, or no such node)."""
    return None if lb else next((zi for zi, (_, cells) in enumerate(p.zones) for c in cells if c.apiservers), None)


def _who(p: Plan, cells: List[Cell]) -> str:
    """The API clients on `cells`, counted: "7 kubelets, 1 controller-manager"."""
    whats = [what.rsplit(" ", 1)[0] if what[-1].isdigit() else what
             for c in cells for _, what in cell_clients(p, c) for _ in range(c.count if what == "kubelet" else 1)]
    return ", ".join(_plural(whats.count(w), w) for w in dict.fromkeys(whats))


def _edges(p: Plan, lb: bool, by_zone: bool, first_band: int) -> List[str]:
    """Who talks to whom: the clients to the load balancer (or the one apiserver), the load balancer to the
    apiservers, the apiservers to etcd, each kubelet to its container runtime, the cloud-controller-manager to
    the cloud.  An edge whose ends' ranks are known is written downwards (dir=back where it points up);
    the others do not constrain the ranks."""
    cp = p.sc.control_plane
    members = etcd_members(p.sc)
    out = []
    target = "lb" if lb else "apiserver0"
    # Where the target is: the load balancer between the groups above and the zones; the lone apiserver on the
    # control plane's machine, above the zones, or on a control-plane node, among them.
    above = []
    if p.own_machine:
        above += [f"kcm{i}" for i in range(cp.controller_managers)] if p.controllers else []
        above += [f"sched{i}" for i in range(cp.schedulers)] if p.schedulers else []
        above += ["ccm"] if p.ccm_controllers else []
    loose = [f"addon{k}" for k in range(len(p.addons))] + [f"scheduler_{k}" for k in range(len(p.custom_schedulers))]
    loose += [f"operator_{_dq(kind)}" for kind in p.operators]
    # The clients on the nodes: one edge from each node box (from its kubelet where that is all it runs and on
    # its first row, else from the top of the box), or from each zone where zones have several rows (edges from
    # the lower rows up would pass between the zones and push them apart; the zone's title says for whom), or
    # from each further band of zones.  Where the lone apiserver runs on a node, the clients beside it have an
    # edge each, and the boxes of its zone too.
    home = next((c for c in p.cells if c.apiservers), None) if not lb else None
    home_zone = _home_zone(p, lb)
    ends: List[Tuple[str, str, str, bool]] = []     # (graph id, cluster, what, in the first band)
    bands: Dict[int, List[Cell]] = {}
    for zi, (_, cells) in enumerate(p.zones):
        if zi >= first_band and zi != home_zone:    # further bands: one edge each, from the point they hang from
            bands.setdefault(zi // first_band * first_band, []).extend(cells)
        elif by_zone and zi != home_zone:
            if _who(p, cells):      # (who it stands for is in the zone's title)
                ends.append((f"zone{zi}", f"cluster_zone_{zi}", "", True))
        else:
            for c in cells:
                clients = cell_clients(p, c)
                if c is home:
                    out += [f'  "{x}" -> apiserver0 [{GREY}, constraint=false];' for x, _ in clients]
                elif clients and c.control_plane and (c.apiservers or c.etcd or c.kcms or c.scheds or c.ccm):
                    ends.append((f"n{c.index}_clients", f"cluster_node_{c.index}", "", zi < first_band))
                elif clients:
                    ends.append((clients[0][0], "", "", zi < first_band))
    for b, cells in sorted(bands.items()):
        zones = [z for z, _ in p.zones[b:b + first_band]]
        if _who(p, cells):
            ends.append((f"hub{b}", "", f"{_who(p, cells)} (zones {zones[0] or '-'} to {zones[-1] or '-'})", False))
    # Written downwards where the target is above the zones (dir=back: the arrow points up); else an edge that
    # does not order the ranks: so too where there are further bands (their edges would push the bands above
    # them aside, and ranked edges past many zones reorder them).  Who a zone's or a band's edge stands for is
    # said at that end.
    for x, cluster, what, top_band in ends:
        label = f'="{_dq(what)}", labelfontcolor="#757575", labelfontsize=8, labeldistance=1.6' if what else ""
        if (lb or p.own_machine) and top_band and not bands:
            clip = f", lhead={cluster}" if cluster else ""
            out.append(f'  {target} -> "{x}" [dir=back{clip}{", headlabel" + label if label else ""}, {GREY}];')
        else:
            clip = f", ltail={cluster}" if cluster else ""
            out.append(f'  "{x}" -> {target} [constraint=false{clip}{", taillabel" + label if label else ""}, '
                       f'{GREY}];')
    for x in above:         # on the control plane's machine, in the row under the apiservers
        out.append(f'  "{x}" -> lb [{GREY}];' if lb else f'  {target} -> "{x}" [dir=back, {GREY}];')
    for x in loose:
        out.append(f'  "{x}" -> {target} [{GREY}{"" if lb else ", constraint=false"}];')
    if p.ccm_controllers:
        out.append('  ccm -> cloud [color="#8e24aa", constraint=false];')
    if lb:
        for k in range(cp.apiservers):
            out.append(f'  apiserver{k} -> lb [dir=back, color="#0277bd"];' if p.own_machine
                       else f'  lb -> apiserver{k} [color="#0277bd"];')
    if p.kubelets:
        out += [f'  "n{c.index}_kubelet" -> "n{c.index}_runtime" [xlabel="CRI", color="#78909c"];' for c in p.cells]
    if cp.placement != "managed":   # each apiserver to its local member where stacked on the nodes
        local = {k: c.etcd[0] for c in p.cells for k in c.apiservers if c.etcd}
        lhead = ", lhead=cluster_etcd" if cp.etcd_topology == "external" else ""
        for k in range(cp.apiservers):
            out.append(f'  apiserver{k} -> etcd{local.get(k, k % len(members))} [color="#e08a00", '
                       f'constraint=false{lhead}];')
    return out


def render_architecture(sc: Scenario, out: str) -> None:
    """Lay out the architecture of `sc` with Graphviz and write it to `out` as SVG."""
    if shutil.which("dot") is None:
        raise RenderError("Graphviz's `dot` is not installed, so the architecture cannot be laid out "
                          "(Debian: apt-get install graphviz)")
    import graphviz
    svg = graphviz.Source(architecture_dot(sc)).pipe(format="svg").decode()
    from .files import write_atomic
    write_atomic(out, svg)
