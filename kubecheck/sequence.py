"""A counterexample trace as a sequence diagram in SVG, for a design review's slide (`trace_svg`).

Read from the trace alone (`traces.view`: kubecheck's traces of either
encoding, and another tool's ITF trace), the diagram shows:

* one lane per component instance, named as the model's clients are
  (`kubelet/n1`, `kube-controller-manager-2`, `kube-scheduler`), then one
  per apiserver instance, then etcd; faults and time on the left
  (`environment`), the user's changes in `user`.  A fault that strikes a
  component is drawn on that component's lane (a kubelet's crash on its
  kubelet's lane), in orange;
* one box per step: its whole label and what it changed (objects created,
  deleted or changed field by field, a pod's phase and node, the containers
  a machine starts or stops), wrapped inside the box; every box's `<title>`
  (its tooltip) holds the label and every change unabridged, as
  `kubecheck trace show` prints them;
* arrows: a write from the acting lane to the apiserver instance its client
  talks to (`apiservers.*.clients` of the state before) and on to etcd; a
  cache's watch event from etcd to its apiserver; a relist from the
  apiserver instance a client (re)connects to, back to the client, with how
  far that cache is behind;
* the state that matters, where it changes, as small labels on the lanes
  (inside the box on the acting lane): each apiserver cache's lag behind
  etcd or its being down, each leader-elected replica's leadership (a
  replica that still acts as leader while the Lease names another is a
  "stale leader"), a machine's or kubelet's being down, etcd's members up
  and its quorum; a lane is dotted red while its component is down, orange
  while it is paused;
* the verdict: a safety violation's last step in red; a convergence
  violation that is stuck (no component can act) has no red step but a
  final band "nothing can act:" with its full diagnosis; a lasso (ADR-015:
  `loop` is the index of the loop's first state; the step back to it,
  `#meta.loop_action`, is the last box) has its loop in blue, a line where
  the loop starts (after step `loop`, as `trace show` marks "step N <- loop
  starts here") and a back-arrow from the closing step to it, labelled with
  that step.

Text is measured by character (Arial's advance widths, which Liberation
Sans and Helvetica share) and wrapped; the drawing has a viewBox, so it
scales.  Everything taken from the trace is escaped (`_text`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .architecture import _text
from .traces import _flatten, _fmt, diff_states, view

FONT = "Helvetica, Arial, sans-serif"
PAD = 16
GUTTER = 40              # left of the lanes where a lasso's back-arrow runs
ROW_GAP = 12
MIN_LANES_WIDTH = 760
LANE_W = {"environment": 190, "user": 180, "client": 214, "node": 204, "apiserver": 168, "etcd": 156,
          "other": 204, "state": 640}
GROUP = {"environment": 0, "user": 1, "client": 2, "other": 2, "node": 3, "apiserver": 4, "etcd": 5, "state": 6}
BOX_LABEL_LINES, BOX_CHANGE_LINES, DIAGNOSIS_LINES = 8, 12, 40

INK = "#263238"
TONE = {"ok": "#2e7d32", "warn": "#e65100", "bad": "#c62828", "neutral": "#546e7a"}
RED, RED_FILL = "#c62828", "#fde2e1"
BLUE, BLUE_FILL = "#1565c0", "#e3f2fd"
ORANGE, ORANGE_FILL = "#ef6c00", "#fff3e0"
TEAL = "#00796b"
WRITE = "#37474f"

STUCK = "stuck outside the goal, no component can act: "


# --- text measured by character ------------------------------------------------------------------------

# Advance widths of Arial (and Helvetica, Liberation Sans), in thousandths of the font size.
_ADVANCE: Dict[str, int] = {}
for _chars, _w in ((" !,./:;I[\\]fijlt|", 278), ("'", 191), ("\"", 355), ("()-`r", 333), ("*", 389), ("^", 469),
                   ("J", 500), ("cksvxyz", 500), ("#$0123456789?L_abdeghnopqu", 556), ("+<=>~", 584),
                   ("FTZ", 611), ("ABEKPSVXY", 667), ("CDHNRUw", 722), ("GOQ", 778), ("Mm", 833), ("%", 889),
                   ("W", 944), ("@", 1015), ("{}", 334), ("&", 667)):
    for _c in _chars:
        _ADVANCE[_c] = _w


def _advance(c: str) -> int:
    w = _ADVANCE.get(c)
    if w is not None:
        return w
    o = ord(c)
    return 1000 if o >= 0x1100 else 600


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of `text` in pixels at font `size`, estimated from each character's advance."""
    return sum(_advance(c) for c in text) * size / 1000 * (1.07 if bold else 1.0)


_SOFT = set(",;(=/.-:|)]}")


def wrap(text: str, width: float, size: float, bold: bool = False, max_lines: Optional[int] = None) -> List[str]:
    """`text` in lines no wider than `width` pixels: broken at a space where it can (unless that leaves the
    line less than half full and punctuation comes later), else after punctuation (`,` `/` `=` `(` `:` ...),
    else anywhere.  Past `max_lines`, the last line ends in "…" (the full text is in the element's <title>)."""
    scale = size / 1000 * (1.07 if bold else 1.0)
    lines: List[str] = []
    n = len(text)
    start = 0
    while start < n:
        w = 0.0
        i = start
        space = soft = -1           # the line may end before text[space] (a space), or at soft (after punctuation)
        w_space = 0.0
        while i < n:
            c = text[i]
            cw = _advance(c) * scale
            if w + cw > width and i > start and c != " ":
                break
            if c == " ":
                space, w_space = i, w
            elif c in _SOFT:
                soft = i + 1
            w += cw
            i += 1
        if i >= n:
            lines.append(text[start:].rstrip())
            break
        cut = space if space > start else i
        if soft > start and (cut == i or (soft > cut and w_space < width / 2)):
            end = text.find(" ", soft)
            if cut == i or (end if end >= 0 else n) - soft > 3:     # not leaving a word's last letters alone
                cut = soft
        lines.append(text[start:cut].rstrip())
        if max_lines is not None and len(lines) >= max_lines:
            lines[-1] = _ellipsis(lines[-1], width, size, bold)
            return lines
        start = cut
        while start < n and text[start] == " ":
            start += 1
    return lines or [""]


def _ellipsis(line: str, width: float, size: float, bold: bool) -> str:
    while line and text_width(line + " …", size, bold) > width:
        line = line[:-1]
    return line + " …"


# --- the steps, read from the trace --------------------------------------------------------------------

_ARG_SPLIT = re.compile(r", (?=[A-Za-z_][\w.-]*=)")


def parse_label(action: str) -> Tuple[str, str, Dict[str, str]]:
    """`component.action(k=v, ...)` as (component, action, {k: v}); what does not parse is the component."""
    head, paren, rest = action.partition("(")
    comp, _, name = head.partition(".")
    args: Dict[str, str] = {}
    if paren:
        inner = rest[:-1] if rest.endswith(")") else rest
        for part in _ARG_SPLIT.split(inner):
            k, eq, val = part.partition("=")
            if eq:
                args.setdefault(k.strip(), val)
    return comp, name, args


def _d(x: Any) -> Dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _client_of(comp: str, name: str, args: Dict[str, str]) -> Optional[str]:
    try:
        from model.observation import client_of
        c = client_of((comp, name, tuple(args.items()), ()))
    except Exception:        # a label of another model: no client known
        return None
    return c if isinstance(c, str) and c else None


def lane_of(action: str) -> str:
    """The lane a step is drawn on: the client it acts as (the model's name for it: `kubelet/n1`,
    `kube-controller-manager-2`), the component a fault strikes, an apiserver instance, etcd, or
    `environment` (faults and time that strike no one component) and `user`."""
    comp, name, args = parse_label(action)
    if comp == "environment":
        if "node" in args:
            return f"kubelet/{args['node']}"
        if "process" in args:
            return args["process"]
        if "instance" in args:
            return f"apiserver-{args['instance']}"
        if "member" in args:
            return "etcd"
        return "environment"
    if comp == "user":
        return "user"
    if comp == "etcd":
        return "etcd"
    if comp == "apiserver":
        if "client" in args:
            return args["client"]
        return f"apiserver-{args['instance']}" if "instance" in args else "apiserver"
    if comp == "leaderelection":
        for key in ("by", "process"):
            if key in args:
                return args[key]
        return "environment"     # a Lease expiring: time passing
    client = _client_of(comp, name, args)
    if client is not None:
        return client
    for key in ("by", "process"):
        if key in args:
            return args[key]
    return comp or action


@dataclass
class Lane:
    id: str
    kind: str
    subtitle: str = ""
    x: float = 0.0
    w: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


@dataclass
class Arrow:
    kind: str           # write, watch, relist
    src: str
    dst: str
    label: str = ""
    track: int = 0


@dataclass
class Step:
    k: int
    lane: str
    head: str                          # component.action (bold), or the whole label
    args: str                          # (k=v, ...)
    changes: List[str]
    tooltip: List[str]
    fault: bool = False
    view: str = ""                     # how stale the view it acted on was, where it was
    arrows: List[Arrow] = field(default_factory=list)
    pills: Dict[str, Tuple[str, str]] = field(default_factory=dict)    # lane -> (text, tone) where it changes


def _natural(s: str) -> Tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", s) if p)


def _instances(states: List[Dict[str, Any]]) -> List[str]:
    """The apiserver instances (`apiservers` entries that are records: not `quorum_reads`)."""
    names = [k for k, rec in _d(states[0].get("apiservers")).items() if isinstance(rec, dict) and k != "quorum_reads"]
    return sorted(names, key=_natural)


def _clients(st: Dict[str, Any], inst: str) -> List[str]:
    c = _d(_d(st.get("apiservers")).get(inst)).get("clients")
    return [x for x in c if isinstance(x, str)] if isinstance(c, list) else []


def _instance_of(st: Dict[str, Any], client: str, instances: List[str]) -> Optional[str]:
    """The apiserver instance `client` talks to (the model's ClusterState.instance_of: the first one where it
    is not listed)."""
    for inst in instances:
        if client in _clients(st, inst):
            return inst
    return instances[0] if instances else None


def _lag(st: Dict[str, Any], inst: str) -> Optional[int]:
    lag = _d(_d(st.get("apiservers")).get(inst)).get("cache_behind_writes")
    return lag if isinstance(lag, int) and not isinstance(lag, bool) else None


def _lease_holder(st: Dict[str, Any], component: str) -> Optional[str]:
    for key, obj in _d(_d(st.get("etcd")).get("objects")).items():
        if key.startswith("Lease ") and key.endswith("/" + component) and isinstance(obj, dict):
            holder = obj.get("holder")
            return holder if isinstance(holder, str) else None
    return None


def lane_state(lane: Lane, st: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    """What the lane's component is in state `st`, as (text, tone), where the trace says: an apiserver's cache
    lag, etcd's members, a kubelet's machine, a leader-elected replica's leadership."""
    if lane.kind == "apiserver":
        rec = _d(st.get("apiservers")).get(lane.id)
        if not isinstance(rec, dict):
            return None
        if rec.get("up") is False:
            return "down", "bad"
        lag = _lag(st, lane.id)
        if lag is None:
            return None
        return (f"cache {lag} behind", "warn") if lag > 0 else ("cache current", "ok")
    if lane.kind == "etcd":
        members = _d(st.get("etcd_members"))
        if not members:
            return None
        up = sum(1 for m in members.values() if m == "up")
        n = len(members)
        if up == n:
            return ("up", "ok") if n == 1 else (f"{up}/{n} members up", "ok")
        if up >= n // 2 + 1:
            return f"{up}/{n} members up", "warn"
        return f"{up}/{n} members up: no quorum", "bad"
    if lane.id.startswith("kubelet/"):
        host = _d(st.get("hosts")).get(lane.id[len("kubelet/"):])
        if not isinstance(host, dict):
            return None
        if host.get("up") is False:
            return "machine down", "bad"
        if host.get("kubelet") is False:
            return "kubelet down", "bad"
        return "up", "ok"
    rep = _d(st.get("replicas")).get(lane.id)
    if isinstance(rep, dict):
        if rep.get("up") is False:
            return "down", "bad"
        if rep.get("leader"):
            holder = _lease_holder(st, re.sub(r"-\d+$", "", lane.id))
            text, tone = ("leader", "ok") if holder in (None, lane.id) else ("stale leader (Lease: "
                                                                             f"{holder or 'none'})", "bad")
        else:
            text, tone = "standby", "neutral"
        if rep.get("paused"):
            return text + ", paused", "warn" if tone != "bad" else tone
        return text, tone
    return None


def _status(state: Optional[Tuple[str, str]]) -> str:
    """How a lane's line is drawn: down (dotted red), paused (orange) or up."""
    if state is None:
        return "up"
    text, tone = state
    if tone == "bad" and ("down" in text or "no quorum" in text):
        return "down"
    return "paused" if "paused" in text else "up"


def _v(x: Any) -> str:
    """A value as short readable text (strings unquoted but the empty one)."""
    if x is None:
        return "(absent)"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return x if x and " " not in x else json.dumps(x, ensure_ascii=False)
    if isinstance(x, list):
        return "[" + ", ".join(_v(y) for y in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {_v(y)}" for k, y in x.items()) + "}"
    return str(x)


def _fields(rec: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if isinstance(rec, dict):
        for k, x in rec.items():
            _flatten(x, k, out)
    return out


def _field_changes(a: Any, b: Any, skip=()) -> List[str]:
    fa, fb = _fields(a), _fields(b)
    out = []
    for key in list(fa) + [k for k in fb if k not in fa]:
        if key in skip or fa.get(key) == fb.get(key):
            continue
        if key not in fa:
            out.append(f"{key} {_v(fb[key])}")
        elif key not in fb:
            out.append(f"{key} removed (was {_v(fa[key])})")
        else:
            out.append(f"{key} {_v(fa[key])} → {_v(fb[key])}")
    return out


def _created(key: str, obj: Any) -> str:
    o = _d(obj)
    parts = []
    if "phase" in o:
        parts.append(_v(o["phase"]))
    if "nodeName" in o:
        parts.append(f"on {o['nodeName']}" if o["nodeName"] else "unscheduled")
    for f in ("replicas", "holder"):
        if f in o:
            parts.append(f"{f} {_v(o[f])}")
    return f"+ {key}" + (f" ({', '.join(parts)})" if parts else "")


# Top-level variables whose changes the boxes show in their own way (or not at all: the fault budget, the
# count of changes made, etcd's revision; the apiservers' lag and clients are the lanes' state and arrows).
_OWN = {"etcd", "hosts", "etcd_members", "apiservers", "replicas", "faults_left", "changes_made"}


def changes(a: Dict[str, Any], b: Dict[str, Any], diff: List[Tuple[str, Any, Any]]) -> List[str]:
    """What step a -> b changed, one line per object or machine, as a box shows it."""
    out: List[str] = []
    oa = _d(_d(a.get("etcd")).get("objects"))
    ob = _d(_d(b.get("etcd")).get("objects"))
    for key, obj in ob.items():
        if key not in oa:
            out.append(_created(key, obj))
    for key in oa:
        if key not in ob:
            out.append(f"− {key}")
    for key, obj in ob.items():
        if key in oa and oa[key] != obj:
            parts = _field_changes(oa[key], obj, skip=("resourceVersion",))
            if parts:
                out.append(f"{key}: {', '.join(parts)}")
    ha, hb = _d(a.get("hosts")), _d(b.get("hosts"))
    for name in list(hb) + [n for n in ha if n not in hb]:
        x, y = _d(ha.get(name)), _d(hb.get(name))
        if x == y:
            continue
        parts = []
        if x.get("up") != y.get("up") and "up" in y:
            parts.append("machine up" if y["up"] else "machine down")
        if x.get("kubelet") != y.get("kubelet") and "kubelet" in y and x.get("up") == y.get("up"):
            parts.append("kubelet started" if y["kubelet"] else "kubelet stopped")
        ra = x.get("running") if isinstance(x.get("running"), list) else []
        rb = y.get("running") if isinstance(y.get("running"), list) else []
        started = [_v(p) for p in rb if p not in ra]
        stopped = [_v(p) for p in ra if p not in rb]
        if started:
            parts.append("runs " + ", ".join(started))
        if stopped:
            parts.append("stops " + ", ".join(stopped))
        parts += _field_changes({k: v for k, v in x.items() if k not in ("up", "kubelet", "running")},
                                {k: v for k, v in y.items() if k not in ("up", "kubelet", "running")})
        if parts:
            out.append(f"{name}: {'; '.join(parts)}")
    ma, mb = _d(a.get("etcd_members")), _d(b.get("etcd_members"))
    for name in mb:
        if ma.get(name) != mb[name]:
            out.append(f"{name} {_v(mb[name])}")
    pa, pb = _d(a.get("replicas")), _d(b.get("replicas"))
    for name in list(pb) + [n for n in pa if n not in pb]:
        x, y = pa.get(name), pb.get(name)
        if x != y and not isinstance(x, dict) and not isinstance(y, dict):   # "lease <component>": "expired"
            out.append(f"{name}: {_v(y)}" if y is not None else f"{name}: no longer {_v(x)}")
    for path, x, y in diff:
        if path.split(".", 1)[0] not in _OWN:
            out.append(f"{path}: {_v(x)} → {_v(y)}")
    return out


def _closing_note(loop: int) -> str:
    return f"back to step {loop}" + (" (the initial state)" if loop == 0 else "")


def read_steps(doc: Dict[str, Any]):
    """(lanes, steps, view) of a trace: what the diagram draws, before it is laid out."""
    v = view(doc)
    states = v.states
    foreign = v.kind == "foreign"
    steps: List[Step] = []
    last = len(states) - 1
    if foreign:
        lanes = [Lane("state", "state", "the trace's variables")]
        flat: Dict[str, Any] = {}
        for k, x in states[0].items():
            if k != "#meta":
                _flatten(x, k, flat, empty=True)
        init = [f"{p}: {_v(x)}" for p, x in flat.items()]
        steps.append(Step(0, "state", "step 0: the initial state", "", init, ["the initial state"] + init))
        for k in range(1, len(states)):
            action = v.actions[k]
            if action is None and v.loop is not None and k == last:
                action = _closing_note(v.loop)
            diff = diff_states(states[k - 1], states[k])
            lines = [f"{p}: {_v(x)} → {_v(y)}" for p, x, y in diff]
            steps.append(Step(k, "state", f"step {k}: {action}" if action else f"step {k}", "", lines,
                              [action or f"step {k}"] + [f"{p}: {_fmt(x)} -> {_fmt(y)}" for p, x, y in diff]))
        return lanes, steps, v

    instances = _instances(states)
    lanes_by_id: Dict[str, Lane] = {}

    def lane(lid: str) -> Lane:
        if lid not in lanes_by_id:
            if lid in instances or re.fullmatch(r"apiserver(-\d+)?", lid):
                kind, sub = "apiserver", "kube-apiserver"
            elif lid == "etcd":
                members = _d(states[0].get("etcd_members"))
                kind, sub = "etcd", (f"{len(members)} member{'s' if len(members) != 1 else ''}" if members else "")
            elif lid == "environment":
                kind, sub = "environment", "faults, time"
            elif lid == "user":
                kind, sub = "user", "kubectl"
            elif lid.startswith(("kubelet/", "kube-proxy/", "network-plugin/")):
                kind, sub = "node", ""
            elif lid == "(no action label)":
                kind, sub = "other", ""
            else:
                kind, sub = "client", ""
            lanes_by_id[lid] = Lane(lid, kind, sub)
        return lanes_by_id[lid]

    for inst in instances:
        lane(inst)
    if isinstance(states[0].get("etcd"), dict):
        lane("etcd")
    for k in range(1, len(states)):
        a, b = states[k - 1], states[k]
        action = v.actions[k]
        if action is None:
            comp, name, args, lid = "", "", {}, "(no action label)"
            head, argtext = (f"{k}. ({_closing_note(v.loop)})" if v.loop is not None and k == last
                             else f"{k}. (no action label)"), ""
        else:
            comp, name, args = parse_label(action)
            lid = lane_of(action)
            head_text, paren, rest = action.partition("(")
            head, argtext = f"{k}. {head_text}", paren + rest
            if argtext == "()":
                argtext = ""
        me = lane(lid)
        diff = diff_states(a, b)
        fa, fb = a.get("faults_left"), b.get("faults_left")
        fault = comp == "environment" or (isinstance(fa, int) and isinstance(fb, int) and fb < fa)
        step = Step(k, lid, head, argtext, changes(a, b, diff),
                    [action if action is not None else head[len(f"{k}. "):]]
                    + [f"{p}: {_fmt(x)} -> {_fmt(y)}" for p, x, y in diff if p != "etcd.revision"], fault)
        relisting = (name == "restart" and comp in ("kubelet", "leaderelection")) or \
            (comp == "apiserver" and name == "failover")
        client = _client_of(comp, name, args) if action is not None and not relisting else None
        inst = _instance_of(a, client, instances) if client is not None else None
        lag = _lag(a, inst) if inst is not None else None
        pin = _d(_d(a.get("apiservers")).get("quorum_reads")).get(client)
        if lag is not None and isinstance(pin, int) and not isinstance(pin, bool) and pin < lag:
            lag = pin
        if lag:
            step.view = f"acted on a view {lag} write{'s' if lag != 1 else ''} behind etcd ({inst}'s cache)"
            step.tooltip.insert(1, step.view)
        wrote = any(p.startswith("etcd.objects.") for p, _, _ in diff)
        if me.kind == "apiserver" and name in ("watch", "restart") and "etcd" in lanes_by_id:
            step.arrows.append(Arrow("watch" if name == "watch" else "relist", "etcd", lid,
                                     "watch event" if name == "watch" else "relist from etcd"))
        if wrote and comp != "environment" and me.kind != "etcd" and "etcd" in lanes_by_id:
            if me.kind == "apiserver":
                step.arrows.append(Arrow("write", lid, "etcd"))
            else:
                inst = _instance_of(a, lid, instances)
                if inst is not None:
                    step.arrows.append(Arrow("write", lid, inst))
                    step.arrows.append(Arrow("write", inst, "etcd"))
        relisted = []
        for inst in instances:
            before = _clients(a, inst)
            relisted += [(inst, c) for c in _clients(b, inst) if c not in before]
        if relisting:
            if not any(c == lid for _, c in relisted):
                inst = _instance_of(b, lid, instances)
                if inst is not None:
                    relisted.append((inst, lid))
        pins = _d(_d(b.get("apiservers")).get("quorum_reads"))     # how far behind the newest view a client saw is
        track = 1 if step.arrows else 0
        for inst, c in relisted:
            lag = _lag(b, inst)
            pin = pins.get(c)
            how = "" if lag is None else f"cache {lag} behind" if lag else "cache current"
            if lag and isinstance(pin, int) and not isinstance(pin, bool) and pin < lag:
                how += f"; its view stays {pin} behind" if pin else "; its view stays current"
            lane(c)
            step.arrows.append(Arrow("relist", inst, c, f"relist ({how})" if how else "relist", track))
            track += 1
        if not diff:
            step.changes.append("(nothing changed that the trace records)")
        steps.append(step)

    # The lanes whose state the trace follows: shown where that state changes at some step.
    candidates = dict(lanes_by_id)
    for h in _d(states[0].get("hosts")):
        candidates.setdefault(f"kubelet/{h}", Lane(f"kubelet/{h}", "node"))
    for r, rec in _d(states[0].get("replicas")).items():
        if isinstance(rec, dict):
            candidates.setdefault(r, Lane(r, "client"))
    for lid, ln in candidates.items():
        prev = lane_state(ln, states[0])
        for step in steps:
            cur = lane_state(ln, states[step.k])
            if cur is not None and cur != prev:
                step.pills[lid] = cur
                lanes_by_id.setdefault(lid, ln)
            prev = cur
    lanes = sorted(lanes_by_id.values(), key=lambda ln: (GROUP[ln.kind], _natural(ln.id)))
    return lanes, steps, v


# --- the drawing ---------------------------------------------------------------------------------------

class _Svg:
    def __init__(self):
        self.parts: List[str] = []

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x: float, y: float, s: str, size: float = 11, fill: str = INK, bold: bool = False,
             anchor: str = "start", halo: bool = False, italic: bool = False) -> None:
        attrs = f'x="{x:.1f}" y="{y:.1f}" font-size="{size:g}"'
        if fill != INK:
            attrs += f' fill="{fill}"'
        if bold:
            attrs += ' font-weight="bold"'
        if italic:
            attrs += ' font-style="italic"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if halo:
            attrs += ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'
        self.add(f"<text {attrs}>{_text(s)}</text>")


def _title(lines: List[str]) -> str:
    """A <title> (tooltip) of several lines, each escaped."""
    return "<title>" + "\n".join(_text(line) for line in lines) + "</title>"


def _arrowhead(x: float, y: float, direction: int, color: str) -> str:
    return (f'<polygon points="{x:.1f},{y:.1f} {x - 7 * direction:.1f},{y - 3.5:.1f} '
            f'{x - 7 * direction:.1f},{y + 3.5:.1f}" fill="{color}"/>')


def _tone_fill(tone: str) -> str:
    return {"ok": "#e8f5e9", "warn": "#fff3e0", "bad": "#ffebee", "neutral": "#eceff1"}[tone]


def _pill_lines(text: str, lane: Lane) -> List[str]:
    return wrap(text, lane.w - 26, 9.5, max_lines=4)


def trace_svg(doc: Dict[str, Any]) -> str:
    """A trace (an ITF document read_trace accepted) as a sequence diagram in SVG (module docstring)."""
    lanes, steps, v = read_steps(doc)
    meta = doc.get("#meta") if isinstance(doc.get("#meta"), dict) else {}
    states = v.states
    foreign = v.kind == "foreign"
    loop = v.loop
    last_k = len(states) - 1
    diagnosis = str(meta.get("diagnosis", "")) if not foreign else ""
    stuck = diagnosis.startswith(STUCK) and loop is None
    safety = not foreign and loop is None and not stuck and bool(steps)
    prop, verdict, scenario = (str(meta.get(k, "?")) for k in ("property", "verdict", "scenario"))
    by_id = {ln.id: ln for ln in lanes}

    # Lanes side by side; a drawing narrower than MIN_LANES_WIDTH widens its lanes.
    left = GUTTER if loop is not None else PAD
    total = sum(LANE_W[ln.kind] for ln in lanes)
    extra = max(0.0, (MIN_LANES_WIDTH - total) / len(lanes)) if lanes else 0.0
    x = float(left)
    for ln in lanes:
        ln.x, ln.w = x, LANE_W[ln.kind] + extra
        x += ln.w
    right = x
    width = int(right + PAD)
    inner = width - 2 * PAD

    body = _Svg()       # drawn after the backgrounds and lane lines, which need the height first
    y = 30.0

    # The heading: what was checked, and why it fails (a stuck violation's why is the band at the end).
    if foreign:
        what = meta.get("description") or meta.get("source") or "no description"
        title = f"an ITF trace not written by kubecheck: {what if isinstance(what, str) else _fmt(what)}"
        heading_lines = [title]
    else:
        title = f"{prop} {verdict} in {scenario}"
        heading_lines = [title, diagnosis]
    body.add(f'<g class="heading">{_title(heading_lines)}')
    for line in wrap(title, inner, 17, bold=True, max_lines=4):
        body.text(PAD, y, line, 17, bold=True)
        y += 22
    if foreign:
        n_vars = len(doc.get("vars", [])) if isinstance(doc.get("vars"), list) else 0
        sub = f"{len(doc['states'])} states of {n_vars} variables, no step labels: each box is what changed"
        if loop is not None:
            sub += f"; a lasso: the loop returns to state {loop}"
        body.text(PAD, y, sub, 12, fill="#455a64")
        y += 17
    elif stuck:
        body.text(PAD, y, "stuck: the last state is outside the goal and no component can act (why: at the end)",
                  12, fill="#455a64")
        y += 17
    elif diagnosis:
        for line in wrap(diagnosis, inner, 12, max_lines=DIAGNOSIS_LINES):
            body.text(PAD, y, line, 12, fill="#37474f")
            y += 16
    alone = meta.get("checked_alone")
    if isinstance(alone, str) and alone:
        for line in wrap(f"checked with these workloads alone: {alone}", inner, 10.5, max_lines=4):
            body.text(PAD, y, line, 10.5, fill="#607d8b", italic=True)
            y += 14
    body.add("</g>")
    y += 8

    # Lane headers: the name, what it is, and its state at the start.
    head_top = y
    head_h = 0.0
    heads = []
    for ln in lanes:
        name_lines = wrap(ln.id, ln.w - 20, 12, bold=True, max_lines=3)
        sub_lines = wrap(ln.subtitle, ln.w - 20, 10, max_lines=2) if ln.subtitle else []
        st = lane_state(ln, states[0]) if not foreign else None
        pill = _pill_lines(st[0], ln) if st else []
        h = 8 + 15 * len(name_lines) + 13 * len(sub_lines) + (4 + 12 * len(pill) + 4 if pill else 0) + 6
        heads.append((ln, name_lines, sub_lines, st, pill))
        head_h = max(head_h, h)
    for ln, name_lines, sub_lines, st, pill in heads:
        bx, bw = ln.x + 6, ln.w - 12
        tip = [ln.id] + ([ln.subtitle] if ln.subtitle else []) + ([f"at the start: {st[0]}"] if st else [])
        body.add(f'<g class="lane" data-lane="{_text(ln.id)}">{_title(tip)}')
        body.add(f'<rect x="{bx:.1f}" y="{head_top:.1f}" width="{bw:.1f}" height="{head_h:.1f}" rx="5" '
                 f'fill="#eceff1" stroke="#b0bec5"/>')
        ty = head_top + 18
        for line in name_lines:
            body.text(ln.cx, ty, line, 12, bold=True, anchor="middle")
            ty += 15
        for line in sub_lines:
            body.text(ln.cx, ty - 2, line, 10, fill="#607d8b", anchor="middle")
            ty += 13
        if st:
            _pill(body, ln, ty - 6, st, pill)
        body.add("</g>")
    y = head_top + head_h + 14
    rows_top = y

    # Rows: one per step.
    row_top: Dict[int, float] = {}
    row_bottom: Dict[int, float] = {}
    loop_y: Optional[float] = None
    closing_box = None
    back_label: List[str] = []
    closing_action = v.actions[last_k] if loop is not None else None
    for step in steps:
        if loop is not None and step.k == loop + 1:
            y += 16
            loop_y = y - 10
        ln = by_id[step.lane]
        bx, bw = ln.x + 7, ln.w - 14
        tw = bw - 12
        head = wrap(step.head, tw, 11, bold=True, max_lines=BOX_LABEL_LINES)
        args = wrap(step.args, tw, 10.5, max_lines=BOX_LABEL_LINES) if step.args else []
        change_lines: List[Tuple[str, bool]] = []     # (line, first line of a change)
        for c in step.changes:
            for i, line in enumerate(wrap(c, tw - (8 if c else 0), 10)):
                change_lines.append((line, i == 0))
        if len(change_lines) > BOX_CHANGE_LINES:
            hidden = sum(1 for _, first in change_lines[BOX_CHANGE_LINES - 1:] if first)
            change_lines = change_lines[:BOX_CHANGE_LINES - 1] + [
                (f"… {hidden} more change{'s' if hidden != 1 else ''}: see the tooltip", True)]
        view_lines = wrap(step.view, tw, 10, bold=True) if step.view else []
        own = step.pills.get(step.lane)
        own_lines = wrap(f"now: {own[0]}", tw, 10, bold=True) if own else []
        tags: List[Tuple[str, str]] = []
        if safety and step.k == last_k:
            tags.append((f"✗ violates {prop}", RED))
        if loop is not None and step.k == last_k:
            tags.append((f"↺ closes the loop: {_closing_note(loop)}", BLUE))
        if step.fault:
            tags.append(("fault", ORANGE))
        tag_lines = [(line, color) for text, color in tags for line in wrap(text, tw, 10, bold=True)]
        box_h = (8 + 14 * len(head) + 13 * len(args) + (4 + 13 * len(change_lines) if change_lines else 0)
                 + 13 * len(view_lines) + 13 * len(own_lines) + 13 * len(tag_lines) + 5)
        tracks = max((a.track for a in step.arrows), default=-1) + 1
        pills_y = y + 18 + 13 * (tracks - 1) + 9 if tracks else y + 4
        pill_bottom = y
        for lid, st in step.pills.items():
            if lid != step.lane:
                pill_bottom = max(pill_bottom, pills_y + 12 * len(_pill_lines(st[0], by_id[lid])) + 4)
        row_h = max(box_h, pill_bottom - y, 18 + 13 * tracks)
        row_top[step.k], row_bottom[step.k] = y, y + row_h

        # The box.
        violating = safety and step.k == last_k
        in_loop = loop is not None and step.k > loop
        closing = loop is not None and step.k == last_k
        fill, stroke, sw = ((RED_FILL, RED, 2) if violating else (BLUE_FILL, BLUE, 2 if closing else 1.2)
                            if in_loop else (ORANGE_FILL, ORANGE, 1.2) if step.fault else ("#f5f7fa", "#90a4ae", 1))
        cls = "step" + (" violation" if violating else "") + (" loop" if in_loop else "") + \
              (" closing" if closing else "") + (" fault" if step.fault else "")
        body.add(f'<g class="{cls}" data-step="{step.k}" data-lane="{_text(step.lane)}">{_title(step.tooltip)}')
        body.add(f'<rect x="{bx:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{box_h:.1f}" rx="6" fill="{fill}" '
                 f'stroke="{stroke}" stroke-width="{sw:g}"/>')
        ty = y + 15
        for line in head:
            body.text(bx + 6, ty, line, 11, bold=True)
            ty += 14
        for line in args:
            body.text(bx + 6, ty - 1, line, 10.5, fill="#37474f")
            ty += 13
        if change_lines:
            ty += 4
            for line, first in change_lines:
                body.text(bx + 6 + (0 if first else 8), ty - 1, line, 10, fill="#455a64")
                ty += 13
        for line in view_lines:
            body.text(bx + 6, ty - 1, line, 10, fill=TONE["warn"], bold=True)
            ty += 13
        for line in own_lines:
            body.text(bx + 6, ty - 1, line, 10, fill=TONE[own[1]], bold=True)
            ty += 13
        for line, color in tag_lines:
            body.text(bx + 6, ty - 1, line, 10, fill=color, bold=True)
            ty += 13
        body.add("</g>")
        if closing:
            closing_box = (bx + bw / 2, y + box_h)

        # Arrows.
        for a in step.arrows:
            src, dst = by_id.get(a.src), by_id.get(a.dst)
            if src is None or dst is None or src is dst:
                continue
            ay = y + 18 + 13 * a.track
            direction = 1 if dst.cx > src.cx else -1
            x1 = (bx + bw if direction > 0 else bx) if src.id == step.lane else src.cx
            x2 = (bx if direction > 0 else bx + bw) if dst.id == step.lane else dst.cx
            color = WRITE if a.kind == "write" else TEAL
            dash = "" if a.kind == "write" else ' stroke-dasharray="5 3"'
            what = {"write": f"{a.src} writes through {a.dst}" if a.dst != "etcd" else f"{a.src} writes to etcd",
                    "watch": f"{a.dst}'s cache gets the next event from etcd",
                    "relist": f"{a.dst} lists from {a.src}"}[a.kind]
            body.add(f'<g class="arrow {a.kind}" data-from="{_text(a.src)}" data-to="{_text(a.dst)}">'
                     f'{_title([what + (f": {a.label}" if a.label and a.kind == "relist" else "")])}')
            body.add(f'<line x1="{x1:.1f}" y1="{ay:.1f}" x2="{x2 - 6 * direction:.1f}" y2="{ay:.1f}" '
                     f'stroke="{color}" stroke-width="1.4"{dash}/>')
            body.add(_arrowhead(x2, ay, direction, color))
            if a.kind == "write" and a.dst != "etcd":
                body.add(f'<circle cx="{dst.cx:.1f}" cy="{ay:.1f}" r="2.5" fill="{color}"/>')
            if a.label:
                body.text((x1 + x2) / 2, ay - 3, a.label, 9, fill=color, anchor="middle", halo=True)
            body.add("</g>")

        # The state that changed at this step, on the other lanes.
        for lid, st in step.pills.items():
            if lid != step.lane:
                pl = by_id[lid]
                body.add(f'<g class="state" data-lane="{_text(lid)}" data-step="{step.k}">'
                         f'{_title([f"{lid} after step {step.k}: {st[0]}"])}')
                _pill(body, pl, pills_y, st, _pill_lines(st[0], pl))
                body.add("</g>")

        y += row_h + ROW_GAP
        if closing:
            back = (f"↺ {closing_action}: {_closing_note(loop)}, and the loop repeats for ever" if closing_action
                    else f"↺ {_closing_note(loop)}: the loop repeats for ever")
            back_label = wrap(back, right - GUTTER / 2 - 12, 10.5, bold=True, max_lines=BOX_LABEL_LINES)
            y += 12 + 14 * len(back_label)
    rows_bottom = max(row_bottom.values(), default=rows_top)

    # A stuck convergence violation: why nothing can act, in full, as the last band.
    band_top = band_h = 0.0
    if stuck:
        why = diagnosis[len(STUCK):]
        clauses = _clauses(why)
        lines: List[Tuple[str, bool]] = []
        for i, clause in enumerate(clauses):
            text = f"nothing can act: {clause}" if i == 0 else clause
            for line in wrap(text, inner - 24 - (0 if i == 0 else 10), 11.5 if i == 0 else 11, bold=i == 0,
                             max_lines=DIAGNOSIS_LINES):
                lines.append((line, i == 0))
        band_top = y + 4
        band_h = 12 + 16 * len(lines)
        body.add(f'<g class="stuck">{_title([diagnosis])}')
        body.add(f'<rect x="{PAD}" y="{band_top:.1f}" width="{inner}" height="{band_h:.1f}" rx="6" fill="#fff8e1" '
                 f'stroke="#f9a825" stroke-width="1.5"/>')
        ty = band_top + 19
        for line, bold in lines:
            body.text(PAD + 12 + (0 if bold else 10), ty, line, 11.5 if bold else 11, bold=bold,
                      fill="#4e342e")
            ty += 16
        body.add("</g>")
        y = band_top + band_h + 10

    # The key.
    key = ("Boxes are steps, top to bottom, on the lane of the component that acts (orange: a fault). Solid "
           "arrows: a write through the client's apiserver to etcd; dashed: a watch event or a relist. Labels on "
           "the lanes: state where it changes; a lane is dotted red while its component is down, dashed orange "
           "while it is paused. Hover a box for its full label and every change.")
    if foreign:
        key = "Each box is what changed from one state to the next. Hover a box for every change."
    y += 6
    key_lines = wrap(key, inner, 9.5)
    for line in key_lines:
        body.text(PAD, y + 8, line, 9.5, fill="#78909c")
        y += 12
    height = int(y + PAD)

    # Now the backgrounds and the lane lines, under the rest.
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">',
           f"<title>{_text(f'{scenario}: {prop} {verdict}' if not foreign else title)}</title>",
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if loop is not None and loop_y is not None:
        frame_bottom = (closing_box[1] if closing_box is not None else rows_bottom) + 5
        out.append(f'<g class="loop-frame">{_title([f"the loop: from step {loop} it repeats for ever"])}'
                   f'<rect x="{left - 4}" y="{loop_y:.1f}" width="{right - left + 8:.1f}" '
                   f'height="{frame_bottom - loop_y:.1f}" fill="#f3f8fe" stroke="#90caf9" stroke-dasharray="6 3"/>'
                   "</g>")
    for ln in lanes:
        segments = []   # (y0, y1, status), from the header down, each step's row in the state after it
        if foreign:
            segments.append((head_top + head_h, rows_bottom, "up"))
        else:
            status = _status(lane_state(ln, states[0]))
            y0 = head_top + head_h
            for step in steps:
                s = _status(lane_state(ln, states[step.k]))
                if s != status:
                    segments.append((y0, row_top[step.k], status))
                    y0, status = row_top[step.k], s
            segments.append((y0, max(rows_bottom, y0), status))
        for y0, y1, status in segments:
            style = {"up": 'stroke="#b0bec5" stroke-width="1.2" stroke-dasharray="4 3"',
                     "down": f'stroke="{RED}" stroke-width="2" stroke-dasharray="1 4" stroke-linecap="round"',
                     "paused": f'stroke="{ORANGE}" stroke-width="2" stroke-dasharray="7 3"'}[status]
            out.append(f'<line x1="{ln.cx:.1f}" y1="{y0:.1f}" x2="{ln.cx:.1f}" y2="{y1:.1f}" {style}/>')
    out.extend(body.parts)
    if loop is not None and loop_y is not None:
        label = f"↺ loop starts here: {_closing_note(loop)[len('back to '):]}"
        out.append(f'<g class="loop-start" data-step="{loop}">{_title([label, "from here the steps repeat for ever"])}'
                   f'<line x1="{left - 4}" y1="{loop_y:.1f}" x2="{right + 4:.1f}" y2="{loop_y:.1f}" stroke="{BLUE}" '
                   f'stroke-width="1.5" stroke-dasharray="6 3"/>')
        t = _Svg()
        t.text(left + 2, loop_y - 4, label, 10.5, fill=BLUE, bold=True, halo=True)
        out.extend(t.parts)
        out.append("</g>")
        if closing_box is not None:
            cx, cy = closing_box
            yb = cy + 12
            gx = GUTTER / 2
            back = closing_action or f"({_closing_note(loop)})"
            out.append(f'<g class="loop-back" data-to-step="{loop}">{_title([back, _closing_note(loop)])}'
                       f'<path d="M{cx:.1f},{cy:.1f} V{yb:.1f} H{gx:.1f} V{loop_y:.1f} H{left - 11:.1f}" fill="none" '
                       f'stroke="{BLUE}" stroke-width="2"/>' + _arrowhead(left - 4, loop_y, 1, BLUE))
            t = _Svg()
            ty = yb + 14
            for line in back_label:
                t.text(gx + 10, ty, line, 10.5, fill=BLUE, bold=True, halo=True)
                ty += 14
            out.extend(t.parts)
            out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _pill(svg: _Svg, lane: Lane, y: float, st: Tuple[str, str], lines: List[str]) -> None:
    text, tone = st
    w = min(max(text_width(line, 9.5) for line in lines) + 12, lane.w - 14)
    h = 12 * len(lines) + 4
    svg.add(f'<rect x="{lane.cx - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{min(h / 2, 7):.1f}" '
            f'fill="{_tone_fill(tone)}" stroke="{TONE[tone]}"/>')
    ty = y + 11
    for line in lines:
        svg.text(lane.cx, ty, line, 9.5, fill=TONE[tone], anchor="middle")
        ty += 12


def _clauses(text: str) -> List[str]:
    """`text` split after its top-level "; " (not inside parentheses), each clause keeping its ";"."""
    out, depth, start = [], 0, 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == ";" and depth == 0 and text.startswith("; ", i):
            out.append(text[start:i + 1])
            start = i + 2
            i += 1
        i += 1
    out.append(text[start:])
    return [c for c in out if c] or [text]
