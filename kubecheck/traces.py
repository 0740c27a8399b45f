"""Counterexample traces as ITF JSON files: write, read, show, replay (DESIGN section 6).

A trace file is self-contained: its top-level `#meta` carries the scenario's
text, so `kubecheck trace replay` re-derives every step from its label
against today's model without the original file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from explorer import Trace, render_label
from model.compose import build_model
from model.itf import VARS, encode_state
from model.scenario import ScenarioError, parse_scenario

from .files import TRACE_MARK, inside, write_atomic, written_by_kubecheck

FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"


class TraceFileError(Exception):
    """An unreadable or malformed trace file: exit status 2 (one line: control characters escaped)."""

    def __str__(self) -> str:
        from model.inputs import printable
        return printable(super().__str__())


def _json_int(text: str) -> int:
    if len(text) > 4000:    # Python converts at most 4,300 digits (a ValueError that is no JSONDecodeError)
        raise TraceFileError(f"an integer of {len(text):,} digits: too large to read")
    return int(text)


def _lone_surrogate(doc: Any) -> Optional[str]:
    """Where `doc` holds a string with a lone UTF-16 surrogate (a JSON "\\udc80" escape without its pair): such
    a string is not Unicode text and cannot be printed or written as UTF-8."""
    stack: List[Tuple[str, Any]] = [("", doc)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return where or "(top)"
        elif isinstance(v, dict):
            for k, x in v.items():
                if _SURROGATE.search(k):
                    return f"{where}.{k}" if where else k
                stack.append((f"{where}.{k}" if where else k, x))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", x) for i, x in enumerate(v))
    return None


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def to_itf(trace: Trace, *, scenario_name: str, scenario_path: str, scenario_text: str, prop: str,
           verdict: str, diagnosis: str) -> Dict[str, Any]:
    states = []
    for i, (s, lab) in enumerate(zip(trace.states, trace.labels)):
        st = {"#meta": {"index": i, "action": render_label(lab) if lab else "init"}}
        st.update(encode_state(s))
        states.append(st)
    doc: Dict[str, Any] = {
        "#meta": {"format": "ITF", "format-description": FORMAT_DESCRIPTION, "source": scenario_path,
                  "description": f"{TRACE_MARK}: {prop} {verdict} in scenario {scenario_name}",
                  "scenario": scenario_name, "property": prop, "verdict": verdict, "diagnosis": diagnosis,
                  "scenario_text": scenario_text,
                  "states_form": "stable-names" if trace.presented else
                                 ("quotient" if getattr(trace, "quotient", False) else "canonical")},
        "vars": list(VARS),
        "states": states,
    }
    if trace.loop is not None:
        doc["loop"] = trace.loop
    if getattr(trace, "checked_alone", ()):
        # The scenario's independent groups of workloads were checked apart: this trace is of its shared
        # cluster with these workloads alone (model/decompose.py), and a replay restricts the scenario so.
        doc["#meta"]["checked_alone"] = [list(k) for k in trace.checked_alone]
    return doc


def write_trace(directory: str, scenario_name: str, prop: str, doc: Dict[str, Any],
                svg: Optional[str] = None) -> Tuple[Optional[str], Optional[str]]:
    """Write the trace (and its sequence diagram beside it) as `<directory>/<scenario>/<prop>.itf.json`.

    Returns (path written, None) or (None, why not): a file of that name that kubecheck did not write
    is left as it is.  The path never leaves `directory` (the scenario name is checked when loaded, and
    the resolved path again here); each file is written to a temporary name and renamed into place.
    """
    folder = inside(directory, scenario_name)
    path = inside(directory, scenario_name, f"{prop}.itf.json")
    if os.path.exists(path) and not written_by_kubecheck(path):
        return None, f"{path} exists and is not a trace kubecheck wrote: left as it is, the trace not written"
    os.makedirs(folder, exist_ok=True)
    write_atomic(path, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    if svg is not None:
        write_atomic(path[:-len(".itf.json")] + ".svg", svg)
    return path, None


def remove_stale_trace(directory: str, scenario_name: str, prop: str) -> Optional[str]:
    """A property that no longer fails keeps no counterexample from an earlier run: kubecheck's own trace
    and its diagram are removed.  Returns a warning where a file there is not kubecheck's (left alone)."""
    path = inside(directory, scenario_name, f"{prop}.itf.json")
    if not os.path.isfile(path):
        return None
    if not written_by_kubecheck(path):
        return f"{path} is not a trace kubecheck wrote: left as it is"
    os.remove(path)
    svg = path[:-len(".itf.json")] + ".svg"
    if os.path.isfile(svg):
        os.remove(svg)
    return None


def read_trace(path: str) -> Dict[str, Any]:
    from model.inputs import InputError, read_text
    try:
        doc = json.loads(read_text(path, limit=256 * 1024 * 1024, what="trace"), parse_int=_json_int)
    except InputError as e:
        raise TraceFileError(str(e)) from None
    except TraceFileError as e:
        raise TraceFileError(f"{path}: not a trace: {e}") from None
    except json.JSONDecodeError as e:
        raise TraceFileError(f"{path}: not a JSON file: {e}") from None
    except RecursionError:
        raise TraceFileError(f"{path}: nested too deeply to be a trace") from None
    if not isinstance(doc, dict):
        raise TraceFileError(f"{path}: not an ITF trace: expected a JSON object at the top")
    for key, typ in (("#meta", dict), ("vars", list), ("states", list)):
        if not isinstance(doc.get(key), typ):
            raise TraceFileError(f"{path}: not an ITF trace: `{key}` is missing or not a {typ.__name__}")
    if not doc["states"]:
        raise TraceFileError(f"{path}: not an ITF trace: `states` is empty")
    for i, st in enumerate(doc["states"]):
        if not isinstance(st, dict) or not isinstance(st.get("#meta"), dict) or "action" not in st["#meta"]:
            raise TraceFileError(f"{path}: states[{i}]: `#meta.action` is missing")
        if not isinstance(st["#meta"]["action"], str):
            raise TraceFileError(f"{path}: states[{i}]: `#meta.action` must be a string (a step's label), got "
                                 f"{_short(st['#meta']['action'])}")
    loop = doc.get("loop")
    if loop is not None and (isinstance(loop, bool) or not isinstance(loop, int)
                             or not 0 <= loop < len(doc["states"])):
        raise TraceFileError(f"{path}: `loop` must be the index of a state, got {_short(loop)}")
    bad = _lone_surrogate(doc)
    if bad is not None:
        raise TraceFileError(f"{path}: {bad}: a string with a lone UTF-16 surrogate (a \\u escape without its "
                             "pair) is not text")
    return doc


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _flatten(value: Any, prefix: str, out: Dict[str, Any], whole=()) -> None:
    if prefix in whole:
        out[prefix] = value
    elif isinstance(value, dict) and value and not any(k.startswith("#") for k in value):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else k, out, whole)
    else:
        out[prefix] = value


def diff_states(a: Dict[str, Any], b: Dict[str, Any]) -> List[Tuple[str, Any, Any]]:
    """What changed from state a to b, as (path, before, after); None means absent.

    An object created or removed is one entry (its whole record), an object
    changed is one entry per changed field.
    """
    oa = a["etcd"].get("objects") if isinstance(a.get("etcd"), dict) else None
    ob = b["etcd"].get("objects") if isinstance(b.get("etcd"), dict) else None
    oa, ob = (oa if isinstance(oa, dict) else {}), (ob if isinstance(ob, dict) else {})
    whole = {f"etcd.objects.{k}" for k in set(oa) ^ set(ob)}
    fa: Dict[str, Any] = {}
    fb: Dict[str, Any] = {}
    for k in a:
        if k != "#meta":
            _flatten(a[k], k, fa, whole)
    for k in b:
        if k != "#meta":
            _flatten(b[k], k, fb, whole)
    out = []
    for key in list(fa) + [k for k in fb if k not in fa]:
        if fa.get(key) != fb.get(key):
            out.append((key, fa.get(key), fb.get(key)))
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "(absent)"
    return json.dumps(v, separators=(", ", ": "))


def show(doc: Dict[str, Any]) -> str:
    """The trace as text: the verdict, then each step with what changed."""
    from model.inputs import printable
    meta = doc["#meta"]
    # What the file says is shown with its control characters escaped: a trace is input like any other, and
    # an escape sequence in an action must not drive the terminal.
    lines = [f"{meta.get('property', '?')} {meta.get('verdict', '?')} in scenario {meta.get('scenario', '?')}",
             f"  {meta.get('diagnosis', '')}", ""]
    states = doc["states"]
    loop = doc.get("loop")
    for i, st in enumerate(states):
        action = st["#meta"]["action"]
        mark = "  <- loop starts here" if loop == i else ""
        lines.append(f"step {i}: {action}{mark}")
        if i == 0:
            continue
        for path, before, after in diff_states(states[i - 1], st):
            if path.startswith("etcd.revision"):
                continue
            lines.append(f"    {path}: {_fmt(before)} -> {_fmt(after)}")
    if loop is not None:
        lines.append(f"(the last state repeats step {loop}: the cycle can go on for ever)")
    return "\n".join(printable(line) for line in lines)


@dataclass
class ReplayResult:
    ok: bool
    message: str


def replay(doc: Dict[str, Any], path: str = "<trace>") -> ReplayResult:
    """Re-derive every step of the trace from its label against today's model."""
    meta = doc["#meta"]
    text = meta.get("scenario_text")
    if not isinstance(text, str):
        raise TraceFileError(f"{path}: `#meta.scenario_text` is missing: this trace cannot be replayed")
    try:
        sc = parse_scenario(text, meta.get("source", "<trace scenario>"))
    except ScenarioError as e:
        raise TraceFileError(f"{path}: the scenario inside the trace does not load: {e}") from None
    alone = meta.get("checked_alone")
    if alone is not None:
        if not (isinstance(alone, list) and all(isinstance(k, list) and len(k) == 3 and all(isinstance(x, str) for x in k)
                                                for k in alone)):
            raise TraceFileError(f"{path}: `#meta.checked_alone` must be a list of [kind, namespace, name]")
        from model.decompose import restrict_to_keys
        sc = restrict_to_keys(sc, alone)
    model = build_model(sc)
    form = meta.get("states_form")
    canon = (model.presentation if form == "stable-names" else
             (model.quotient or model.canonical) if form == "quotient" else model.canonical)
    states = doc["states"]
    cur = canon(model.init)
    mismatch = _first_difference(states[0], encode_state(cur))
    if mismatch:
        return ReplayResult(False, f"step 0 (init): the initial state differs: {mismatch}")
    from model.inputs import printable
    for i in range(1, len(states)):
        action = states[i]["#meta"]["action"]
        shown = printable(action if len(action) <= 200 else action[:197] + "...")
        found = None
        for rule in model.rules:
            for lab, nxt in rule.fn(cur):
                if render_label(lab) == action:
                    found = canon(nxt)
                    break
            if found is not None:
                break
        if found is None:
            return ReplayResult(False, f"step {i}: the model no longer takes {shown}")
        mismatch = _first_difference(states[i], encode_state(found))
        if mismatch:
            return ReplayResult(False, f"step {i}: {shown} now leads to a different state: {mismatch}")
        cur = found
    loop = doc.get("loop")
    if loop is not None:
        mismatch = _first_difference(states[loop], states[-1])
        if mismatch:
            return ReplayResult(False, f"the last state does not repeat state {loop}: {mismatch}")
    return ReplayResult(True, f"{len(states) - 1} steps replayed")


def _first_difference(recorded: Dict[str, Any], now: Dict[str, Any]) -> Optional[str]:
    d = diff_states(recorded, now)
    if not d:
        return None
    from model.inputs import printable
    p, a, b = d[0]
    return printable(f"{_cut(p)}: recorded {_cut(_fmt(a))}, now {_cut(_fmt(b))}")


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
