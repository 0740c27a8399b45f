"""One self-contained HTML report of a verification run (--report): no network, CSS, JS and SVG inline.

At the top, the run: the kubecheck version, the git commit of the current
folder's checkout (where there is one), the date, the command line, the
options (strategy, seed, bounds, reduction, symmetry, timeout) and the
summary.  Then the scenarios, those that need a look first (an unexpected
verdict, a violation where the scenario expects none, an unknown); a
scenario whose verdicts are all as expected is collapsed.

In each scenario, the verdicts that need a look first (unexpected, then
violated and unknown), then those that hold; the properties that do not
apply are one line that opens on why.  Each counterexample is drawn once:
a trace with the same steps and states as one drawn above is named as the
same and linked to it.  Each drawn trace has its sequence diagram, a table
of every step with what changed and the objects it changed as they are
after it, and a link to its file (relative to the report, its path in text
too).  With JavaScript, a viewer steps through it (buttons, arrow keys)
and the page reads `#trace=<scenario>/<property>&step=N` from its address;
without, the table lists every step.

Everything the user's files say (names, paths, diagnoses, warnings) is
escaped; the script is a constant that reads only the page, and builds the
viewer by copying the table's own cells, never from text.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import os
import shlex
import shutil
import subprocess
import sys
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from model.inputs import printable
from model.scenario import load_scenario

from .render import architecture_dot, trace_svg
from .report import ScenarioReport, run_counts
from .traces import TraceFileError, diff_states, read_trace, view

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em 2em; color: #222; max-width: 1500px; }
h1 { font-size: 1.5em; margin-bottom: 0.3em; }
h2 { font-size: 1.2em; display: inline; margin: 0; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; vertical-align: top; font-size: 0.9em; text-align: left; }
th { background: #f0f3f7; }
code, pre, .mono { font-family: Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.85em; }
a { color: #1565c0; }
.holds { color: #2e7d32; font-weight: bold; } .violated { color: #c62828; font-weight: bold; }
.unknown { color: #ef6c00; font-weight: bold; } .not-applicable { color: #888; }
.zero { color: #bbb; font-weight: normal; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; font-size: 0.8em; font-weight: bold;
         vertical-align: middle; margin-left: 0.4em; border: 1px solid transparent; }
.b-unexpected { background: #c62828; color: #fff; }
.b-violated { background: #fde2e1; color: #b71c1c; border-color: #f5b7b1; }
.b-unknown { background: #fff3e0; color: #e65100; border-color: #ffcc80; }
.b-expected { background: #eef2f6; color: #455a64; border-color: #cfd8dc; }
.b-holds { background: #e8f5e9; color: #2e7d32; border-color: #a5d6a7; }
.run { background: #f7f9fb; border: 1px solid #dde3ea; border-radius: 6px; padding: 0.6em 1em; }
.run table { margin: 0.3em 0; } .run td, .run th { border: none; padding: 1px 10px 1px 0; }
.run th { background: none; color: #555; font-weight: normal; white-space: nowrap; }
.why { color: #455a64; font-style: italic; margin: 0.3em 0; }
.summary { font-size: 1.05em; margin: 0.2em 0 0.5em; }
.attention { border-left: 4px solid #c62828; padding: 0.2em 0.8em; margin: 0.8em 0; background: #fff8f8; }
details.scenario { border: 1px solid #dde3ea; border-radius: 6px; margin: 0.35em 0; padding: 0 0.8em; }
details.scenario > summary { cursor: pointer; padding: 0.3em 0; }
details.scenario[open] > summary { border-bottom: 1px solid #eee; margin-bottom: 0.5em; }
details.scenario.s-unexpected { border-color: #e57373; border-width: 2px; }
.counts { color: #555; font-size: 0.85em; margin-left: 0.6em; }
.path { color: #555; font-size: 0.85em; }
tr.unexpected td { background: #fff0f0; }
tr.unexpected td:first-child { border-left: 4px solid #c62828; }
details.na { margin: -0.5em 0 1em; color: #555; font-size: 0.9em; }
details.command > summary, details.na > summary, details.arch > summary, details.seq > summary,
details.all-steps > summary { cursor: pointer; }
.diagram { overflow-x: auto; border: 1px solid #eee; padding: 0.5em; margin: 0.5em 0; }
section.trace { border-top: 1px dashed #ccc; margin-top: 1em; }
.same { color: #444; }
table.steps td.n { text-align: right; color: #555; }
table.steps td.chg { max-width: 60em; word-break: break-word; }
table.steps tr.current td { background: #fffbe6; }
table.steps tr.loop-start td:first-child { border-left: 4px solid #1565c0; }
table.steps tr.violation td:first-child { border-left: 4px solid #c62828; }
.mark { font-size: 0.8em; font-weight: bold; margin-left: 0.4em; }
.m-loop { color: #1565c0; } .m-violation { color: #c62828; }
.chg-line { margin: 1px 0; }
.before { background: #fde2e1; text-decoration: line-through; text-decoration-color: #e57373; }
.after { background: #e3f7e6; }
.obj { margin: 0.3em 0 0.6em; } .obj-name { font-weight: bold; }
.obj pre { margin: 0.2em 0; padding: 0.3em 0.5em; background: #fafafa; border: 1px solid #eee; white-space: pre-wrap; }
.obj .new { background: #e3f7e6; display: inline-block; width: 100%; }
.obj .gone { background: #fde2e1; text-decoration: line-through; display: inline-block; width: 100%; }
.viewer { border: 1px solid #90a4ae; border-radius: 6px; padding: 0.5em 0.8em; margin: 0.5em 0; background: #fcfdfe; }
.viewer:focus { outline: 2px solid #1565c0; }
.viewer .controls button { font-size: 0.9em; padding: 2px 10px; margin-right: 4px; cursor: pointer; }
.viewer .pos { margin: 0 0.8em; font-weight: bold; }
.viewer .hint { color: #777; font-size: 0.8em; }
.viewer .vhead { margin: 0.6em 0 0.4em; font-size: 1.05em; }
.viewer .vobj { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 0 1em; }
.viewer details.vinit > summary { cursor: pointer; color: #455a64; }
.viewer h4 { margin: 0.6em 0 0.2em; font-size: 0.9em; color: #455a64; }
.toolbar { margin-left: 1em; } .toolbar button { font-size: 0.8em; margin-right: 4px; }
h2.list { display: block; margin: 1.2em 0 0.3em; font-size: 1.1em; display: inline-block; }
.calm { color: #2e7d32; }
"""

# The viewer (progressive enhancement: without it the steps table lists every step).  It reads the page
# only: it copies the table's cells, already escaped, and never turns text into markup.
SCRIPT = r"""
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var viewers = {}, active = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function copyChildren(from, to) {
    for (var c = from.firstChild; c; c = c.nextSibling) { to.appendChild(c.cloneNode(true)); }
  }
  function openAround(node) {
    for (var p = node; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
  }

  function Viewer(sec) {
    var self = this;
    var rows = sec.querySelectorAll("table.steps tr[data-step]");
    var box = sec.querySelector(".viewer");
    if (!rows.length || !box) { return; }
    self.sec = sec; self.rows = rows; self.box = box; self.i = 0;
    var bar = el("div", "controls");
    var first = el("button", "first", "\u00ab first"), prev = el("button", "prev", "\u25c0 previous");
    var pos = el("span", "pos"), next = el("button", "next", "next \u25b6"), last = el("button", "last", "last \u00bb");
    [first, prev, pos, next, last].forEach(function (b) { bar.appendChild(b); });
    bar.appendChild(el("span", "hint", "(or the \u2190 \u2192 keys)"));
    first.type = prev.type = next.type = last.type = "button";
    first.onclick = function () { self.show(0, true); };
    prev.onclick = function () { self.show(self.i - 1, true); };
    next.onclick = function () { self.show(self.i + 1, true); };
    last.onclick = function () { self.show(rows.length - 1, true); };
    var panel = el("div", "panel");
    box.appendChild(bar); box.appendChild(panel);
    box.hidden = false; box.tabIndex = 0;
    self.buttons = {first: first, prev: prev, next: next, last: last};
    sec.addEventListener("click", function () { active = self; });
    box.addEventListener("focus", function () { active = self; });
    Array.prototype.forEach.call(rows, function (row, k) {
      row.addEventListener("click", function (ev) {
        if (ev.target.closest("summary, a")) { return; }
        self.show(k, true);
      });
    });
    var all = sec.querySelector("details.all-steps");
    if (all) { all.open = false; }
    self.show = function (i, remember) {
      i = Math.max(0, Math.min(rows.length - 1, i));
      self.i = i;
      Array.prototype.forEach.call(rows, function (r, k) { r.classList.toggle("current", k === i); });
      box.setAttribute("data-current", String(i));
      pos.textContent = "step " + i + " of " + (rows.length - 1);
      first.disabled = prev.disabled = i === 0;
      next.disabled = last.disabled = i === rows.length - 1;
      var row = rows[i];
      panel.textContent = "";
      var head = el("div", "vhead");
      head.appendChild(el("b", null, "step " + i + ": "));
      copyChildren(row.querySelector("td.act"), head);
      panel.appendChild(head);
      if (i > 0) { panel.appendChild(el("h4", null, "what changed")); }
      var chg = el("div", "vchg");
      copyChildren(row.querySelector("td.chg"), chg);
      panel.appendChild(chg);
      var objs = row.querySelector("td.obj .objs");
      if (objs) {
        var o = el("div", "vobj");
        copyChildren(objs, o);
        if (i === 0) {      // the whole initial state: folded, it would push the steps out of sight
          var d = el("details", "vinit");
          d.appendChild(el("summary", null, "the initial state: " + row.querySelector("td.obj summary").textContent));
          d.appendChild(o);
          panel.appendChild(d);
        } else {
          panel.appendChild(el("h4", null, "the objects it changed, after this step"));
          panel.appendChild(o);
        }
      }
      if (remember) {
        active = self;
        try {
          history.replaceState(null, "", "#trace=" + encodeURIComponent(sec.getAttribute("data-trace"))
                               .replace(/%2F/g, "/") + "&step=" + i);
        } catch (e) { /* a page that may not change its address */ }
      }
    };
    self.show(0, false);
    viewers[sec.getAttribute("data-trace")] = self;
  }

  Array.prototype.forEach.call(document.querySelectorAll("section.trace[data-trace]"), function (sec) {
    new Viewer(sec);
  });

  document.addEventListener("keydown", function (ev) {
    if (!active || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) { return; }
    var t = ev.target;
    if (t && t.closest && t.closest("input, textarea, select, [contenteditable]")) { return; }
    if (ev.key === "ArrowRight") { active.show(active.i + 1, true); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { active.show(active.i - 1, true); ev.preventDefault(); }
  });

  function fromAddress() {
    var raw = location.hash.replace(/^#/, ""), p = {};
    if (!raw) { return; }
    raw.split("&").forEach(function (kv) {
      var k = kv.indexOf("=");
      if (k > 0) { try { p[kv.slice(0, k)] = decodeURIComponent(kv.slice(k + 1)); } catch (e) { /* ignored */ } }
    });
    if (p.trace === undefined) {
      var target = null;
      try { target = document.getElementById(decodeURIComponent(raw)); } catch (e) { /* ignored */ }
      if (target) { openAround(target); target.scrollIntoView(); }
      return;
    }
    var v = viewers[p.trace];
    if (!v) { return; }
    openAround(v.sec);
    v.show(parseInt(p.step || "0", 10) || 0, false);
    active = v;
    // `press`: a list of presses to make, as a reader would (next, prev, first, last by the buttons;
    // right, left by the keys): what the tests of the page use.
    (p.press ? p.press.split(",") : []).forEach(function (what) {
      if (v.buttons[what]) { v.buttons[what].click(); }
      else if (what === "right" || what === "left") {
        document.dispatchEvent(new KeyboardEvent("keydown", {key: what === "right" ? "ArrowRight" : "ArrowLeft",
                                                            bubbles: true}));
      }
    });
    v.sec.scrollIntoView();
  }
  window.addEventListener("hashchange", fromAddress);
  fromAddress();

  var tools = document.getElementById("toolbar");
  if (tools) {
    tools.hidden = false;
    tools.querySelector(".open-all").onclick = function () {
      document.querySelectorAll("details.scenario").forEach(function (d) { d.open = true; });
    };
    tools.querySelector(".close-all").onclick = function () {
      document.querySelectorAll("details.scenario").forEach(function (d) { d.open = false; });
    };
  }
})();
"""


def _e(value: Any) -> str:
    """Text from the user's files (or anything else) as HTML text or a double-quoted attribute's value:
    escaped, its control characters written as escapes (as on the terminal)."""
    return html.escape(printable(str(value)), quote=True)


# --- caches: the report is written again after each scenario of a run ----------------------------------

_CACHE: Dict[Tuple, Any] = {}


def _cached(kind: str, path: str, make):
    """make() once per file version (path, modification time, size) in this process; uncached where the
    file cannot be looked at."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return make()
    key = (kind, os.path.abspath(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        if len(_CACHE) > 2000:
            _CACHE.clear()
        _CACHE[key] = make()
    return _CACHE[key]


def _architecture(path: str) -> str:
    if shutil.which("dot") is None:
        return "<p><em>Architecture diagram omitted: Graphviz's dot is not installed.</em></p>"
    if path == "-":     # read once, by the check
        return "<p><em>Architecture diagram omitted: the scenario was read from standard input.</em></p>"

    def make():
        import graphviz
        svg = graphviz.Source(architecture_dot(load_scenario(path, lenient=True))).pipe(format="svg").decode()
        return f'<div class="diagram">{svg[svg.find("<svg"):]}</div>'
    return _cached("architecture", path, make)


# --- the run ---------------------------------------------------------------------------------------------

_COMMIT: Dict[str, Optional[str]] = {}


def _git_commit() -> Optional[str]:
    """The short commit of the git checkout the current folder is in, None where there is none (or no git)."""
    cwd = os.getcwd()
    if cwd not in _COMMIT:
        commit = None
        if shutil.which("git"):
            try:
                p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                   timeout=10, stdin=subprocess.DEVNULL)
                if p.returncode == 0 and p.stdout.strip():
                    commit = p.stdout.strip()
                    d = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                       text=True, timeout=10, stdin=subprocess.DEVNULL)
                    if d.returncode == 0 and d.stdout.strip():
                        commit += " (with uncommitted changes)"
            except (OSError, subprocess.SubprocessError):
                commit = None
        _COMMIT[cwd] = commit
    return _COMMIT[cwd]


def _command_line() -> Optional[str]:
    """The command line of this process where it is a `kubecheck verify` one (not, e.g., a test runner's
    that called kubecheck from Python)."""
    argv = list(sys.argv)
    if "verify" not in argv[1:3]:
        return None
    return shlex.join(["kubecheck"] + argv[1:])


def _status(rep: ScenarioReport) -> Tuple[int, str, str]:
    """(rank, badge class, label) of a scenario: what needs a look first."""
    if rep.expect:
        bad = [r for r in rep.results if not rep.judge(r)[2]]
        if any(r.verdict != "unknown" for r in bad):
            return 0, "unexpected", f"{len(bad)} unexpected"
        if bad:
            return 2, "unknown", "unknown"
        return 3, "expected", "as expected"
    verdicts = {r.verdict for r in rep.results}
    if "violated" in verdicts:
        return 1, "violated", "violated"
    if "unknown" in verdicts:
        return 2, "unknown", "unknown"
    return 3, "holds", "all hold"


def _summary(reports: List[ScenarioReport]) -> str:
    """The run's summary, as the terminal's last line says it (report.run_counts), with the counts that need a
    look coloured."""
    c = run_counts(reports)
    n = c["scenarios"]

    def hot(count: int, cls: str, text: str) -> str:
        return f"<span class='{cls if count else 'zero'}'>{count} {text}</span>"
    parts = [f"<b>{n} scenario{'' if n == 1 else 's'}</b>"]
    if c["expected"]:
        ok, bad, unknown = c["expected"]
        parts.append(f"{ok} as expected, {hot(bad, 'violated', 'unexpected')}, {hot(unknown, 'unknown', 'unknown')}")
    if c["plain"]:
        v, u, held = c["plain"]
        parts.append(f"without expect: {hot(v, 'violated', 'with a violation')}, "
                     f"{hot(u, 'unknown', 'with an unknown verdict')}, {held} all holding")
    return "; ".join(parts)


def _run_section(reports: List[ScenarioReport], run) -> str:
    from . import __version__
    rows = [("kubecheck", _e(__version__))]
    commit = _git_commit()
    if commit:
        rows.append(("commit", f"<code>{_e(commit)}</code> (of the git checkout the command ran in)"))
    rows.append(("written", _e(datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z"))))
    if run is not None:
        command = _command_line()
        if command and len(command) > 300:     # a shell's glob: the scenarios' names fill the page
            rows.append(("command", f"<details class='command'><summary><code>{_e(command[:160])}&hellip;</code> "
                                    f"({len(sys.argv) - 1} arguments)</summary><code>{_e(command)}</code></details>"))
        elif command:
            rows.append(("command", f"<code class='command'>{_e(command)}</code>"))
        from .junit import run_properties
        props = run_properties(run)
        keys = (["strategy", "seed", "max-examples", "max-steps", "timeout"] if props.get("strategy") == "random" else
                ["strategy", "seed", "max-depth", "max-states", "timeout", "max-memory", "reduction", "symmetry",
                 "first-violation"])
        shown = []
        for key in keys:
            value = props.get(key)
            if value is None and key in ("max-depth", "max-states"):
                value = "each scenario's spec.check"
            elif value is None:
                value = "none"
            elif isinstance(value, bool):
                value = "on" if value else "off"
            shown.append(f"{_e(key)} <b>{_e(value)}</b>")
        rows.append(("options", ", ".join(shown)))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (f"<section class='run' id='run'><h1>kubecheck report</h1><p class='summary'>{_summary(reports)}</p>"
            f"<table class='meta'>{table}</table></section>")


# --- one trace -------------------------------------------------------------------------------------------

def _json(v: Any) -> str:
    return "(absent)" if v is None else json.dumps(v, separators=(", ", ": "))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _entities(a: Dict[str, Any], b: Dict[str, Any]) -> List[Tuple[str, Any, Any]]:
    """What changed from state a to b, by object: (name, before, after), None where absent.  An object of
    etcd is named by its key (`Pod default/web-1`); an entry of a map of records (a machine, an etcd member)
    by its variable and key (`hosts.n1`); any other variable as a whole.  etcd's revision is left out."""
    out: List[Tuple[str, Any, Any]] = []
    names = [k for k in b if k != "#meta"] + [k for k in a if k != "#meta" and k not in b]
    for var in names:
        va, vb = a.get(var), b.get(var)
        if va == vb:
            continue
        if var == "etcd" and isinstance(va or {}, dict) and isinstance(vb or {}, dict):
            va, vb = va or {}, vb or {}
            oa, ob = va.get("objects", {}), vb.get("objects", {})
            if isinstance(oa, dict) and isinstance(ob, dict):
                for k in list(ob) + [k for k in oa if k not in ob]:
                    if oa.get(k) != ob.get(k):
                        out.append((k, oa.get(k), ob.get(k)))
                ra = {f: x for f, x in va.items() if f not in ("objects", "revision")}
                rb = {f: x for f, x in vb.items() if f not in ("objects", "revision")}
                if ra != rb:
                    out.append(("etcd", ra or None, rb or None))
                continue
        da, db = va if va is not None else {}, vb if vb is not None else {}
        if isinstance(da, dict) and isinstance(db, dict) and (da or db) \
                and all(isinstance(x, dict) for x in list(da.values()) + list(db.values())):
            for k in list(db) + [k for k in da if k not in db]:
                if da.get(k) != db.get(k):
                    out.append((f"{var}.{k}", da.get(k), db.get(k)))
            continue
        out.append((var, va, vb))
    return out


def _leaves(value: Any, path: Tuple = (), out: Optional[Dict[Tuple, Any]] = None) -> Dict[Tuple, Any]:
    out = {} if out is None else out
    if isinstance(value, dict) and value:
        for k, x in value.items():
            _leaves(x, path + (k,), out)
    else:
        out[path] = value
    return out


def _yaml_lines(value: Any, changed: set, path: Tuple = (), indent: int = 0) -> List[str]:
    """`value` as YAML-like lines of HTML, the leaves under a path in `changed` marked new."""
    pad = "  " * indent
    lines = []
    if isinstance(value, dict) and value:
        for k, x in value.items():
            p = path + (k,)
            if isinstance(x, dict) and x:
                lines.append(f"{pad}{_e(k)}:")
                lines.extend(_yaml_lines(x, changed, p, indent + 1))
            else:
                text = f"{pad}{_e(k)}: {_e(_json(x))}"
                lines.append(f"<span class='new'>{text}</span>" if p in changed else text)
    else:
        text = f"{pad}{_e(_json(value))}"
        lines.append(f"<span class='new'>{text}</span>" if path in changed else text)
    return lines


def _object_html(name: str, before: Any, after: Any, initial: bool) -> str:
    if after is None:
        body = "\n".join(f"<span class='gone'>{line}</span>" for line in _yaml_lines(before, set()))
        return f"<div class='obj'><span class='obj-name'>{_e(name)}</span> removed<pre>{body}</pre></div>"
    if before is None:
        what = "" if initial else " created"
        changed = set() if initial else set(_leaves(after))
        return (f"<div class='obj'><span class='obj-name'>{_e(name)}</span>{what}"
                f"<pre>{chr(10).join(_yaml_lines(after, changed))}</pre></div>")
    la, lb = _leaves(before), _leaves(after)
    changed = {p for p in lb if la.get(p, object()) != lb[p]}
    gone = [p for p in la if p not in lb and not any(q[:len(p)] == p for q in lb)]
    lines = _yaml_lines(after, changed)
    lines += [f"<span class='gone'>{_e('.'.join(map(str, p)))}: {_e(_json(la[p]))}</span>" for p in gone]
    return f"<div class='obj'><span class='obj-name'>{_e(name)}</span><pre>{chr(10).join(lines)}</pre></div>"


def _steps_table(doc) -> str:
    """The table of a trace's steps (ITF document, any kind `view` reads): each step's action, what it
    changed (path: before -> after), and the objects it changed as they are after it; the loop's start, the
    step closing it and a last violating state are marked.  The viewer steps through its rows."""
    rows = []
    v = view(doc)     # plain values; a lasso closed by a copy of the state it returns to
    states = v.states
    loop = v.loop
    meta = doc.get("#meta") if isinstance(doc.get("#meta"), dict) else {}
    stuck = str(meta.get("diagnosis", "")).startswith("stuck")
    last = len(states) - 1
    for i, st in enumerate(states):
        classes, marks = [], []
        if loop == i:
            classes.append("loop-start")
            marks.append("<span class='mark m-loop'>\u21bb loop starts</span>")
        if loop is not None and i == last and i > 0:
            marks.append(f"<span class='mark m-loop'>closes the loop: back to step {loop}</span>")
        if loop is None and i == last and v.kind != "foreign":
            classes.append("violation")
            marks.append("<span class='mark m-violation'>"
                         f"{'stuck here: no component can act' if stuck else 'the violation'}</span>")
        if i == 0:
            changes = "<div class='chg-line'>the initial state</div>"
        else:
            changes = "".join(
                f"<div class='chg-line'><code>{_e(p)}</code>: <span class='before mono'>{_e(_short(_json(a)))}</span>"
                f" &rarr; <span class='after mono'>{_e(_short(_json(b)))}</span></div>"
                for p, a, b in diff_states(states[i - 1], st) if not p.startswith("etcd.revision")) \
                or "<div class='chg-line'>nothing that the trace records</div>"
            if loop is not None and i == last:
                changes += f"<div class='chg-line'>back to the state after step {loop}</div>"
        ents = [(n, x, y) for n, x, y in _entities(states[i - 1] if i else {}, st)
                if i or y not in ({}, [], None)]
        objects = "".join(_object_html(n, x, y, i == 0) for n, x, y in ents)
        count = f"{len(ents)} object{'' if len(ents) == 1 else 's'}"
        obj = (f"<details><summary>{count}</summary><div class='objs'>{objects}</div></details>"
               if ents else "")
        action = v.actions[i] if v.actions[i] is not None else ("(back to step %d)" % loop if loop is not None
                                                                 and i == last else "")
        cls = f" class='{' '.join(classes)}'" if classes else ""
        rows.append(f"<tr data-step='{i}'{cls}>"
                    f"<td class='n'>{i}</td><td class='act'><code>{_e(action)}</code>{''.join(marks)}</td>"
                    f"<td class='chg'>{changes}</td><td class='obj'>{obj}</td></tr>")
    return ("<table class='steps'><tr><th>step</th><th>action</th><th>what changed</th>"
            "<th>objects after the step</th></tr>" + "".join(rows) + "</table>")


def _trace_key(doc) -> str:
    """Two traces with this key are the same counterexample: the same steps to the same states."""
    meta = doc.get("#meta") if isinstance(doc.get("#meta"), dict) else {}
    text = json.dumps([doc["states"], doc.get("loop"), meta.get("loop_action")], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _file_link(path: str, base: Optional[str]) -> str:
    """A link to a file the report names: relative to the report's folder where there is one (so the report
    and its traces move together), the path as the run wrote it in text."""
    target = path
    if base is not None:
        try:
            target = os.path.relpath(os.path.abspath(path), base)
        except ValueError:      # another drive
            target = os.path.abspath(path)
    href = urllib.parse.quote(target.replace(os.sep, "/"), safe="/-._~")
    return f"<a class='file' href=\"{_e(href)}\"><code>{_e(path)}</code></a>"


def _named(first: Tuple[str, str, str], scenario: str) -> str:
    """A trace drawn above, (id, scenario, property), named from within `scenario`."""
    return first[2] if first[1] == scenario else f"{first[2]} of scenario {first[1]}"


def _trace_ref(tid: str) -> str:
    return "#trace=" + urllib.parse.quote(tid, safe="/-._~")


# --- the report ----------------------------------------------------------------------------------------------

def _verdict(rep: ScenarioReport, r, said: frozenset = frozenset()) -> Tuple[str, bool]:
    """(the verdict cell's HTML, whether the verdict is unexpected); the expected verdict's reason unless it is
    in `said` (said once above the table)."""
    text = f"<span class='{_e(r.verdict)}'>{_e(r.verdict)}</span>" + (" (bounded)" if r.bounded else "")
    if rep.expect:
        want, why, ok = rep.judge(r)
        if not ok:
            return text + f" <span class='badge b-unexpected'>UNEXPECTED: expected {_e(want or 'holds')}</span>", True
        if want not in (None, "holds"):
            text += " <span class='badge b-expected'>as expected</span>"
            if why and why not in said:
                text += f"<div class='path'>{_e(why)}</div>"
    return text, False


def html_report(reports: List[ScenarioReport], run=None) -> str:
    """The report of `reports`.  `run`: the run's options (the parsed command line of `kubecheck verify`:
    its strategy, seed, bounds..., and `report`, the report's own path, which links are relative to);
    None: no options shown, links as the traces' paths are written."""
    report_path = getattr(run, "report", None) if run is not None else None
    base = os.path.dirname(os.path.abspath(report_path)) if isinstance(report_path, str) else None
    order = sorted(range(len(reports)), key=lambda k: (_status(reports[k])[0], k))
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             "<meta name='viewport' content='width=device-width, initial-scale=1'><title>kubecheck report</title>",
             f"<style>{STYLE}</style></head><body>", _run_section(reports, run)]

    # What needs a look; the scenarios follow in that order, each one line (its name, status and counts) that
    # opens on its verdicts: those with nothing to look at are closed.
    look = [reports[k] for k in order if _status(reports[k])[0] < 3]
    if look:
        parts.append("<p class='attention'>Needs a look: " + ", ".join(
            f"<a href=\"#{_e(rep.scenario)}\">{_e(rep.scenario)}</a> <span class='badge b-{_status(rep)[1]}'>"
            f"{_e(_status(rep)[2])}</span>" for rep in look) + "</p>")
    elif reports:
        parts.append("<p class='calm'>Nothing needs a look: every verdict is the expected one, or holds.</p>")
    parts.append(f"<h2 class='list'>{len(reports)} scenario{'' if len(reports) == 1 else 's'}"
                 f"{', those that need a look first' if look else ''}</h2>"
                 "<span id='toolbar' class='toolbar' hidden><button type='button' class='open-all'>open all"
                 "</button><button type='button' class='close-all'>close all</button></span>")

    drawn: Dict[str, Tuple[str, str, str]] = {}   # trace key -> (its id, scenario, property) where first drawn
    for k in order:
        rep = reports[k]
        rank, cls, label = _status(rep)
        st = rep.stats
        counts = {}
        for r in rep.results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        said = ", ".join(f"{counts[v]} {v}" for v in ("violated", "unknown", "holds", "not-applicable")
                         if counts.get(v))
        parts.append(f"<details class='scenario s-{cls}' id=\"{_e(rep.scenario)}\"{' open' if rank < 3 else ''}>"
                     f"<summary><h2>{_e(rep.scenario)}</h2><span class='badge b-{cls}'>{_e(label)}</span>"
                     f"<span class='counts'>{_e(said)}</span></summary>")
        parts.append(f"<p class='path'>{_e(rep.path)}</p>")
        bounds = "".join(f", {_e(b)} {_e('none' if n is None else f'{n:,}' if isinstance(n, int) else n)}"
                         for b, n in rep.bounds.items())
        parts.append(f"<p>{st.distinct_states:,} states, {st.transitions:,} transitions, depth {st.depth}, "
                     f"{st.seconds:.2f} s{bounds}"
                     f"{'' if st.complete else ', <b>cut short</b>: ' + _e(st.stop_reason)}</p>")
        if rep.warnings:
            parts.append("<h3>warnings: what the model does not model here</h3><ul>"
                         + "".join(f"<li><code>{_e(w)}</code></li>" for w in rep.warnings) + "</ul>")
        if rep.notes:
            parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in rep.notes) + "</ul>")

        # Traces first, so the verdict table can link to where each is drawn.
        traces: Dict[str, Tuple[str, Optional[Tuple[str, str, str]], Any]] = {}   # prop -> (id, first drawn, doc)
        unreadable: Dict[str, str] = {}      # prop -> why its trace file cannot be shown (removed since, ...)
        for r in rep.results:
            if r.trace:
                try:
                    doc = _cached("trace", r.trace, lambda path=r.trace: read_trace(path))
                except (TraceFileError, OSError) as e:
                    unreadable[r.prop] = str(e)
                    continue
                tid = f"{rep.scenario}/{r.prop}"
                key = _trace_key(doc)
                traces[r.prop] = (tid, drawn.get(key), doc)
                drawn.setdefault(key, (tid, rep.scenario, r.prop))

        def rank_of(r):
            if rep.expect and not rep.judge(r)[2]:
                return 0
            return {"violated": 1, "unknown": 2}.get(r.verdict, 3)
        shown = [r for r in rep.results if r.verdict != "not-applicable" or rank_of(r) == 0]
        shown.sort(key=rank_of)     # stable: the catalog's order within each rank
        na = [r for r in rep.results if r not in shown]
        # An expected verdict's reason shared by several (often the scenario's one sentence) is said once.
        whys: Dict[str, int] = {}
        for r in shown:
            want, why, ok = rep.judge(r) if rep.expect else (None, "", True)
            if ok and why and want not in (None, "holds"):
                whys[why] = whys.get(why, 0) + 1
        said = frozenset(w for w, n in whys.items() if n > 1)
        for why in sorted(said):
            parts.append(f"<p class='why'>Expected, the scenario says: {_e(why)}</p>")
        rows = []
        for r in shown:
            verdict, unexpected = _verdict(rep, r, said)
            trace = ""
            if r.prop in traces:
                tid, first, _ = traces[r.prop]
                where = first[0] if first else tid
                trace = (f"<a href=\"{_e(_trace_ref(where))}\">step through it</a>"
                         + (f" (the same as {_e(_named(first, rep.scenario))})" if first else "")
                         + f"<br>file: {_file_link(r.trace, base)}")
            elif r.prop in unreadable:
                trace = f"file: {_file_link(r.trace, base)} (not shown: {_e(unreadable[r.prop])})"
            rows.append(f"<tr class='{'unexpected' if unexpected else 'r-' + _e(r.verdict)}'><td>{_e(r.prop)}</td>"
                        f"<td>{_e(r.kind)}</td><td class='verdict'>{verdict}</td>"
                        f"<td>{_e(r.diagnosis or '')}</td><td>{trace}</td></tr>")
        if rows:
            parts.append("<table class='verdicts'><tr><th>property</th><th>kind</th><th>verdict</th>"
                         "<th>diagnosis</th><th>trace</th></tr>" + "".join(rows) + "</table>")
        if na:
            names = ", ".join(r.prop for r in na)
            parts.append(f"<details class='na'><summary>{len(na)} not applicable: {_e(_short(names, 160))}</summary>"
                         "<table class='na-table'><tr><th>property</th><th>kind</th><th>why it does not apply</th></tr>"
                         + "".join(f"<tr><td>{_e(r.prop)}</td><td>{_e(r.kind)}</td>"
                                   f"<td class='not-applicable'>{_e(r.diagnosis or '')}"
                                   f"{' (as expected)' if rep.expect and rep.judge(r)[0] else ''}</td></tr>"
                                   for r in na) + "</table></details>")

        for r in rep.results:
            if r.prop not in traces:
                continue
            tid, first, doc = traces[r.prop]
            if first is not None:
                parts.append(f"<section class='trace same' id=\"{_e('trace=' + tid)}\">"
                             f"<h3>counterexample: {_e(r.prop)}</h3><p class='same'>The same counterexample as "
                             f"<a href=\"{_e(_trace_ref(first[0]))}\">{_e(_named(first, rep.scenario))}</a> above "
                             f"(the same steps and states). File: {_file_link(r.trace, base)}</p></section>")
                continue
            v = view(doc)
            steps = len(v.states) - 1
            lasso = ("" if v.loop is None else
                     f"; a lasso: step {v.loop + 1} to step {steps} repeat for ever, the last one going back to the "
                     f"state after step {v.loop}" if v.loop + 1 < steps else
                     f"; a lasso: step {steps} repeats for ever, going back to the state after step {v.loop}")
            also = [p for p, (_, f, _) in traces.items() if f is not None and f[0] == tid]
            parts.append(f"<section class='trace' id=\"{_e('trace=' + tid)}\" data-trace=\"{_e(tid)}\">"
                         f"<h3>counterexample: {_e(r.prop)}"
                         + (f" <span class='counts'>(also {_e(', '.join(also))})</span>" if also else "")
                         + f"</h3><p>{steps} step{'' if steps == 1 else 's'}{lasso}. "
                         f"File: {_file_link(r.trace, base)}</p>"
                         "<div class='viewer' hidden></div>"
                         f"<details class='seq' open><summary>sequence diagram</summary>"
                         f"<div class='diagram'>{_cached('svg', r.trace, lambda d=doc: trace_svg(d))}</div></details>"
                         f"<details class='all-steps' open><summary>every step ({steps + 1} rows)</summary>"
                         f"{_cached('steps', r.trace, lambda d=doc: _steps_table(d))}</details></section>")
        # The architecture last: what went wrong comes first, the picture of the cluster after.
        parts.append(f"<details class='arch'{' open' if rank < 3 else ''}><summary>architecture</summary>"
                     f"{_architecture(rep.path)}</details>")
        parts.append("</details>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)
