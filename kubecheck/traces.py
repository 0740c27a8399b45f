"""Counterexample traces as ITF JSON files: write, read, show, replay (DESIGN section 6).

A trace file is self-contained: its top-level `#meta` carries the scenario's
text, so `kubecheck trace replay` re-derives every step from its label
against today's model without the original file.

Its values follow ADR-015 (model/itf.py) and its top-level `#meta.encoding`
says so (ENCODING).  A lasso is written as ADR-015 defines it: the loop runs
from `states[loop]` to the last state and back, and the step that closes it
is `#meta.loop_action`.  Three kinds of file are read:

* kubecheck's (`#meta.encoding` set): values decoded by `plain`;
* kubecheck's from before this encoding ("legacy": no `#meta.encoding`, the
  kubecheck mark in `#meta.description` or a `#meta.scenario_text`): plain
  JSON values, and a lasso's last state repeats `states[loop]`;
* any other ITF trace (Apalache's, Quint's): shown, not replayed.

`view` gives every reader the same picture of the three: plain values, each
state's action, and a lasso closed by a copy of the state it returns to (as
legacy files have it), so `show`, the sequence diagram and the HTML report
read them alike.
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
# `#meta.encoding` of the traces whose values and lasso follow ADR-015 (traces written before have none).
ENCODING = "ADR-015"


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
    states_in, labels = list(trace.states), list(trace.labels)
    loop_action = None
    if trace.loop is not None and trace.loop < len(states_in) - 1:
        # The search's lasso ends in a repeat of states[loop]; ADR-015's ends in the state before it, and the
        # step back to states[loop] is named in #meta.loop_action.
        loop_action = render_label(labels[-1])
        states_in, labels = states_in[:-1], labels[:-1]
    states = []
    for i, (s, lab) in enumerate(zip(states_in, labels)):
        st = {"#meta": {"index": i, "action": render_label(lab) if lab else "init"}}
        st.update(encode_state(s))
        states.append(st)
    # Every value of the top-level #meta is a string: the Rust `itf` crate reads the fields it does not
    # know as strings.
    doc: Dict[str, Any] = {
        "#meta": {"format": "ITF", "format-description": FORMAT_DESCRIPTION, "encoding": ENCODING,
                  "source": scenario_path,
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
        if loop_action is not None:
            doc["#meta"]["loop_action"] = loop_action
    if getattr(trace, "checked_alone", ()):
        # The scenario's independent groups of workloads were checked apart: this trace is of its shared
        # cluster with these workloads alone (model/decompose.py), and a replay restricts the scenario so.
        # Written as "Kind ns/name, Kind name, ..." (traces before ADR-015 have a list of [kind, ns, name]).
        doc["#meta"]["checked_alone"] = ", ".join(f"{k} {ns}/{n}" if ns else f"{k} {n}"
                                                  for k, ns, n in trace.checked_alone)
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
    """The ITF document in `path`, checked: any ITF trace (kubecheck's, of either encoding, or another
    tool's) is read; what is not one is a TraceFileError naming the problem."""
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
    if "#meta" in doc and not isinstance(doc["#meta"], dict):     # optional in ADR-015
        raise TraceFileError(f"{path}: not an ITF trace: `#meta` is not an object")
    for key, typ in (("vars", list), ("states", list)):
        if not isinstance(doc.get(key), typ):
            raise TraceFileError(f"{path}: not an ITF trace: `{key}` is missing or not a {typ.__name__}")
    if not doc["states"]:
        raise TraceFileError(f"{path}: not an ITF trace: `states` is empty")
    for i, st in enumerate(doc["states"]):
        if not isinstance(st, dict):
            raise TraceFileError(f"{path}: states[{i}]: a state must be a JSON object, got {_short(st)}")
        if "#meta" in st and not isinstance(st["#meta"], dict):
            raise TraceFileError(f"{path}: states[{i}]: `#meta` must be an object, got {_short(st['#meta'])}")
        action = st.get("#meta", {}).get("action")
        if action is not None and not isinstance(action, str):
            raise TraceFileError(f"{path}: states[{i}]: `#meta.action` must be a string (a step's label), got "
                                 f"{_short(action)}")
    loop = doc.get("loop")
    if loop is not None and (isinstance(loop, bool) or not isinstance(loop, int)
                             or not 0 <= loop < len(doc["states"])):
        raise TraceFileError(f"{path}: `loop` must be the index of a state, got {_short(loop)}")
    action = _meta(doc).get("loop_action")
    if action is not None and not isinstance(action, str):
        raise TraceFileError(f"{path}: `#meta.loop_action` must be a string (a step's label), got {_short(action)}")
    bad = _lone_surrogate(doc)
    if bad is not None:
        raise TraceFileError(f"{path}: {bad}: a string with a lone UTF-16 surrogate (a \\u escape without its "
                             "pair) is not text")
    try:
        view(doc)     # every value decodes
    except TraceFileError as e:
        raise TraceFileError(f"{path}: {e}") from None
    return doc


def _meta(doc: Dict[str, Any]) -> Dict[str, Any]:
    meta = doc.get("#meta")
    return meta if isinstance(meta, dict) else {}


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


# --- ADR-015 values back to plain Python values --------------------------------------------------------

_FORMS = ("#bigint", "#tup", "#set", "#map", "#unserializable")
_BIGINT = re.compile(r"-?[0-9]{1,4000}")


class _BadValue(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.where: List[str] = []


def plain(value: Any) -> Any:
    """An ADR-015 value as a plain Python value, as kubecheck wrote its traces before the encoding and as its
    readers show them: a map is a dict (a key that is not a string is written as readable text, e.g. a tuple
    as "(a, 1)"), a set or a tuple a list, a #bigint an int, an #unserializable value its text, a record a
    dict, a list a list.  A malformed form (`{"#map": 5}`) is a TraceFileError naming where it is."""
    try:
        return _plain(value)
    except _BadValue as e:
        where = "".join(reversed(e.where))
        raise TraceFileError(f"{where.lstrip('.') or 'the value'}: {e.message}") from None
    except RecursionError:
        raise TraceFileError("a value nested too deeply to be read") from None


def _plain(v: Any) -> Any:
    if isinstance(v, list):
        return _items(v)
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        form = next(iter(v))
        if form in _FORMS:
            x = v[form]
            if form == "#bigint":
                if not isinstance(x, str) or not _BIGINT.fullmatch(x):
                    raise _BadValue(f"`#bigint` must be a string of at most 4,000 digits, got {_short(x)}")
                return int(x)
            if form == "#unserializable":
                if not isinstance(x, str):
                    raise _BadValue(f"`#unserializable` must be a string, got {_short(x)}")
                return x
            if not isinstance(x, list):
                raise _BadValue(f"`{form}` must be a list, got {_short(x)}")
            if form != "#map":
                return _items(x)
            out: Dict[str, Any] = {}
            for i, pair in enumerate(x):
                if not (isinstance(pair, list) and len(pair) == 2):
                    e = _BadValue(f"a `#map` entry must be a [key, value] pair, got {_short(pair)}")
                    e.where.append(f"[{i}]")
                    raise e
                key = _key_text(pair[0])
                if key in out:       # two keys written alike (1 and "1"): the second one as JSON
                    key = json.dumps(pair[0], sort_keys=True)
                try:
                    out[key] = _plain(pair[1])
                except _BadValue as e:
                    e.where.append(f".{key}")
                    raise
            return out
    out = {}
    for k, x in v.items():
        try:
            out[k] = _plain(x)
        except _BadValue as e:
            e.where.append(f".{k}")
            raise
    return out


def _items(xs: List[Any]) -> List[Any]:
    out = []
    for i, x in enumerate(xs):
        try:
            out.append(_plain(x))
        except _BadValue as e:
            e.where.append(f"[{i}]")
            raise
    return out


def _key_text(k: Any) -> str:
    """A map key as readable text: a string as it is, a tuple as (a, b), a set as {a, b}, a record as
    {f: v}; JSON for the rest."""
    if isinstance(k, str):
        return k
    if isinstance(k, bool) or k is None:
        return json.dumps(k)
    if isinstance(k, int):
        return str(k)
    if isinstance(k, list):
        return "[" + ", ".join(_key_text(x) for x in k) + "]"
    if isinstance(k, dict):
        if len(k) == 1 and next(iter(k)) in _FORMS:
            form, x = next(iter(k.items()))
            if form in ("#bigint", "#unserializable") and isinstance(x, str):
                return x
            if form == "#tup" and isinstance(x, list):
                return "(" + ", ".join(_key_text(y) for y in x) + ")"
            if form == "#set" and isinstance(x, list):
                return "{" + ", ".join(_key_text(y) for y in x) + "}"
            if form == "#map" and isinstance(x, list) and all(isinstance(p, list) and len(p) == 2 for p in x):
                return "{" + ", ".join(f"{_key_text(a)}: {_key_text(b)}" for a, b in x) + "}"
            raise _BadValue(f"a map key `{form}` is malformed: {_short(k)}")
        return "{" + ", ".join(f"{f}: {_key_text(y)}" for f, y in k.items()) + "}"
    return json.dumps(k)


def plain_state(st: Dict[str, Any]) -> Dict[str, Any]:
    """A state's variables as plain values (`plain`), its #meta as it is."""
    out = {"#meta": st.get("#meta", {})}
    for k, v in st.items():
        if k != "#meta":
            try:
                out[k] = _plain(v)
            except _BadValue as e:
                raise TraceFileError(f"{k}{''.join(reversed(e.where))}: {e.message}") from None
            except RecursionError:
                raise TraceFileError(f"{k}: a value nested too deeply to be read") from None
    return out


# --- one picture of the three kinds of trace -----------------------------------------------------------

@dataclass
class TraceView:
    """A trace as its readers show it.

    `states`: plain values (`plain`), each with its #meta; for a lasso, a copy of states[loop] ends them,
    reached by the loop's closing step (the form of traces before ADR-015), so `loop` is the index of the
    state the last one repeats.  `actions[i]`: the label of the step that led to states[i] (None where the
    trace does not say: another tool's, or a lasso closed without #meta.loop_action).  `kind`:
    "kubecheck", "legacy" (kubecheck's from before ADR-015) or "foreign" (another tool's).
    """

    states: List[Dict[str, Any]]
    actions: List[Optional[str]]
    loop: Optional[int]
    kind: str


def trace_kind(doc: Dict[str, Any]) -> str:
    meta = _meta(doc)
    if "encoding" in meta:
        return "kubecheck" if str(meta.get("description", "")).startswith(TRACE_MARK) \
            or "scenario_text" in meta else "foreign"
    if str(meta.get("description", "")).startswith(TRACE_MARK) or "scenario_text" in meta:
        return "legacy"
    return "foreign"


def view(doc: Dict[str, Any]) -> TraceView:
    """The trace of a document read_trace accepted, as its readers show it (TraceView)."""
    kind = trace_kind(doc)
    raw = doc["states"]
    loop = doc.get("loop")
    actions: List[Optional[str]] = [st.get("#meta", {}).get("action") for st in raw]
    if kind == "legacy":       # plain values already; the lasso's last state repeats states[loop]
        return TraceView(list(raw), actions, loop, kind)
    states = []
    for i, st in enumerate(raw):
        try:
            states.append(plain_state(st))
        except TraceFileError as e:
            raise TraceFileError(f"states[{i}].{e}") from None
    if loop is not None:
        closing = _meta(doc).get("loop_action")
        back = dict(states[loop])
        back["#meta"] = {"index": len(states), "action": closing}
        states.append(back)
        actions.append(closing)
    return TraceView(states, actions, loop, kind)


def _flatten(value: Any, prefix: str, out: Dict[str, Any], whole=(), empty: bool = False) -> None:
    """The leaves of `value` into `out` by dotted path.  An empty map has none (unless `empty`): a map that
    gains its first entry shows that entry, not the map's going from {} to absent."""
    if prefix in whole or (empty and value == {}):
        out[prefix] = value
    elif isinstance(value, dict) and not any(k.startswith("#") for k in value):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else k, out, whole, empty)
    else:
        out[prefix] = value


def diff_states(a: Dict[str, Any], b: Dict[str, Any]) -> List[Tuple[str, Any, Any]]:
    """What changed from state a to b (plain values: `view`, `plain_state`), as (path, before, after); None
    means absent.

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
    """The trace as text: the verdict, then each step with what changed.  Another tool's ITF trace (no
    action labels) is shown with its initial values and what changed from each state to the next."""
    from model.inputs import printable
    meta = _meta(doc)
    v = view(doc)
    # What the file says is shown with its control characters escaped: a trace is input like any other, and
    # an escape sequence in an action must not drive the terminal.
    if v.kind == "foreign":
        what = meta.get("description") or meta.get("source") or "no description"
        lines = [f"an ITF trace not written by kubecheck: {what if isinstance(what, str) else _short(what)}"]
        if isinstance(meta.get("source"), str) and meta.get("description"):
            lines.append(f"  source: {meta['source']}")
        lines.append(f"  {len(doc['states'])} states of {len(doc['vars'])} variables"
                     + (f"; a lasso: the loop returns to state {v.loop}" if v.loop is not None else ""))
        lines.append("")
    else:
        lines = [f"{meta.get('property', '?')} {meta.get('verdict', '?')} in scenario {meta.get('scenario', '?')}",
                 f"  {meta.get('diagnosis', '')}", ""]
    states = v.states
    loop = v.loop
    for i, st in enumerate(states):
        action = v.actions[i]
        # A lasso's loop start (states[loop]) and the step that closes it are marked as the sequence diagram
        # and the HTML report's table mark them.
        mark = "  <- loop starts here" if loop == i else ""
        if loop is not None and i == len(states) - 1 and i > 0:
            if action is None:
                action = f"(back to step {loop})"
            else:
                mark += f"  <- closes the loop: back to step {loop}"
        lines.append(f"step {i}: {action}{mark}" if action is not None else f"step {i}{mark}")
        if i == 0:
            if v.kind == "foreign":      # the initial values
                for k in st:
                    if k != "#meta":
                        flat: Dict[str, Any] = {}
                        _flatten(st[k], k, flat, empty=True)
                        lines.extend(f"    {path}: {_fmt(value)}" for path, value in flat.items())
            continue
        for path, before, after in diff_states(states[i - 1], st):
            if path.startswith("etcd.revision") and v.kind != "foreign":
                continue
            lines.append(f"    {path}: {_fmt(before)} -> {_fmt(after)}")
    if loop is not None:
        lines.append(f"(the last state repeats step {loop}: the cycle can go on for ever)")
    return "\n".join(printable(line) for line in lines)


@dataclass
class ReplayResult:
    ok: bool
    message: str


_ALONE = re.compile(r"([A-Za-z][A-Za-z0-9]*) (?:([^\s,/]+)/)?([^\s,/]+)")


def _alone_keys(alone: Any, path: str) -> List[Tuple[str, str, str]]:
    """#meta.checked_alone: "Kind ns/name, Kind name, ..." (or, before ADR-015, a list of [kind, ns, name])."""
    if isinstance(alone, list) and all(isinstance(k, list) and len(k) == 3 and all(isinstance(x, str) for x in k)
                                       for k in alone):
        return [tuple(k) for k in alone]
    if isinstance(alone, str):
        keys = [_ALONE.fullmatch(item) for item in alone.split(", ")]
        if all(keys):
            return [(m.group(1), m.group(2) or "", m.group(3)) for m in keys]
    raise TraceFileError(f"{path}: `#meta.checked_alone` must name workloads as \"Kind namespace/name, ...\"")


def replay(doc: Dict[str, Any], path: str = "<trace>") -> ReplayResult:
    """Re-derive every step of the trace from its label against today's model."""
    meta = _meta(doc)
    for i, st in enumerate(doc["states"]):
        if not isinstance(st.get("#meta", {}).get("action"), str):
            raise TraceFileError(f"{path}: states[{i}]: `#meta.action` is missing: not a trace kubecheck wrote, so "
                                 "it cannot be replayed (`kubecheck trace show` reads any ITF trace)")
    text = meta.get("scenario_text")
    if not isinstance(text, str):
        raise TraceFileError(f"{path}: `#meta.scenario_text` is missing: this trace cannot be replayed")
    kind = trace_kind(doc)
    if kind == "kubecheck" and doc.get("loop") is not None and not isinstance(meta.get("loop_action"), str):
        raise TraceFileError(f"{path}: `#meta.loop_action` is missing: the step that closes the lasso's loop "
                             "cannot be replayed")
    try:
        sc = parse_scenario(text, meta.get("source", "<trace scenario>"))
    except ScenarioError as e:
        raise TraceFileError(f"{path}: the scenario inside the trace does not load: {e}") from None
    alone = meta.get("checked_alone")
    if alone is not None:
        from model.decompose import restrict_to_keys
        sc = restrict_to_keys(sc, _alone_keys(alone, path))
    model = build_model(sc)
    form = meta.get("states_form")
    canon = (model.presentation if form == "stable-names" else
             (model.quotient or model.canonical) if form == "quotient" else model.canonical)
    v = view(doc)
    states = v.states

    def now(s) -> Dict[str, Any]:
        # Compared as plain values, so a trace from before ADR-015 too (where it has no syncs_in_flight, dns or
        # cloud, the scenario has none: an empty map, which diff_states takes as absent).
        return plain_state(encode_state(s))

    cur = canon(model.init)
    mismatch = _first_difference(states[0], now(cur))
    if mismatch:
        return ReplayResult(False, f"step 0 (init): the initial state differs: {mismatch}")
    from model.inputs import printable
    closing = kind != "legacy" and v.loop is not None
    for i in range(1, len(states)):
        action = v.actions[i]
        shown = printable(action if len(action) <= 200 else action[:197] + "...")
        step = f"step {i} (closing the loop)" if closing and i == len(states) - 1 else f"step {i}"
        found = None
        for rule in model.rules:
            for lab, nxt in rule.fn(cur):
                if render_label(lab) == action:
                    found = canon(nxt)
                    break
            if found is not None:
                break
        if found is None:
            return ReplayResult(False, f"{step}: the model no longer takes {shown}")
        mismatch = _first_difference(states[i], now(found))
        if mismatch:
            return ReplayResult(False, f"{step}: {shown} now leads to a different state: {mismatch}")
        cur = found
    loop = v.loop
    if loop is not None:
        mismatch = _first_difference(states[loop], states[-1])
        if mismatch:
            return ReplayResult(False, f"the last state does not repeat state {loop}: {mismatch}")
    older = " (a trace written before the ADR-015 encoding)" if kind == "legacy" else ""
    closed = f", the loop closed back to state {loop}" if closing else ""
    return ReplayResult(True, f"{len(states) - 1} steps replayed{closed}{older}")


def _first_difference(recorded: Dict[str, Any], now: Dict[str, Any]) -> Optional[str]:
    d = diff_states(recorded, now)
    if not d:
        return None
    from model.inputs import printable
    p, a, b = d[0]
    return printable(f"{_cut(p)}: recorded {_cut(_fmt(a))}, now {_cut(_fmt(b))}")


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
