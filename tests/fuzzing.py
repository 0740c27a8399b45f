"""Fuzzing kubecheck's inputs (issue 17, item 5): Hypothesis strategies for malformed scenarios and traces, and
the oracle every input must pass.

Seeds are valid inputs: the built-in scenarios (`scenarios/*.yaml`), the public manifest sets of
`tests/manifests/` (each file put under a small Cluster document), and the ITF traces of `tests/fuzz_seeds/`
(written by `kubecheck verify` for a few small violating scenarios).  A fuzzed input is a seed put through a
few mutations of its parsed tree (a value replaced by one of another type, or a huge, negative, NaN, very
long, NUL-containing or deeply nested one; a key deleted, renamed or added; a list item duplicated; a
document dropped, duplicated or swapped) and of its bytes (truncated, invalid UTF-8 or YAML syntax spliced
in, a line duplicated or deleted).

Scenarios are checked with `verify` (with `--nodes 2` where a mutation left no Cluster document), traces
with `trace show`, `trace replay` and `render`.  `plausible_scenarios` makes gentler mutants (a value of the
right type, an item deleted or repeated), most of which load and reach the model and a bounded search.

The oracle (`run_cli`, then `problems`) runs the command line in this process (`kubecheck.cli.main`) with
small bounds (`VERIFY_BOUNDS`) and asks: an exit status of 0, 1, 2 or 3 (never 4, an internal error, and
never an exception out of `main`); for 2, one line on standard error, at most `MAX_ERROR_CHARS`, starting
`kubecheck: `; no traceback and no raw control character on either stream, whatever the status (standard
output is strict UTF-8, as a real one); every call within `MAX_SECONDS`, and without raising the process's
peak resident memory by more than `MAX_BYTES`.

Used by tests/test_fuzz.py (about 1,400 inputs by default, deterministic) and bench/fuzz.py (as many as
asked, with counts of the exit statuses, the slowest call and the largest memory).
"""

from __future__ import annotations

import contextlib
import copy
import glob
import io
import json
import os
import re
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_TRACES_DIR = os.path.join(ROOT, "tests", "fuzz_seeds")

MAX_SECONDS = 20.0           # one call; the bounds given to verify make a loaded scenario stop in a few seconds
SLOW_SECONDS = 5.0           # flagged in bench/fuzz.py's summary (not a failure)
MAX_BYTES = 300 * 2 ** 20    # what one call may add to the process's peak resident memory (or allocate, where
                             # tracemalloc measures it)
MAX_ERROR_CHARS = 2000       # an exit-2 message


# --- seeds ---------------------------------------------------------------------------------------------

WRAP_HEAD = """apiVersion: kubecheck/v1alpha1
kind: Cluster
metadata: {name: fuzzed}
spec: {}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {topology.kubernetes.io/zone: a}}
status: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: n2, labels: {topology.kubernetes.io/zone: b}}
status: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}
---
"""


@dataclass(frozen=True)
class Seed:
    name: str
    text: str
    docs: Tuple[Any, ...]      # the parsed documents (plain dicts and lists)


def _plain_docs(text: str) -> Tuple[Any, ...]:
    return tuple(yaml.safe_load_all(text))


_SEEDS: Dict[str, List[Seed]] = {}


def scenario_seeds() -> List[Seed]:
    """The built-in scenarios, then each manifest file of tests/manifests under WRAP_HEAD (sorted, stable)."""
    if "scenarios" not in _SEEDS:
        out = []
        for p in sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.yaml"))):
            text = open(p, encoding="utf-8").read()
            out.append(Seed(os.path.relpath(p, ROOT), text, _plain_docs(text)))
        for p in sorted(glob.glob(os.path.join(ROOT, "tests", "manifests", "**", "*.yaml"), recursive=True)):
            if os.path.getsize(p) > 20_000:
                continue     # the largest sets (dashboard, online-boutique) make every mutant slow to check
            text = WRAP_HEAD + open(p, encoding="utf-8").read()
            out.append(Seed(os.path.relpath(p, ROOT), text, _plain_docs(text)))
        _SEEDS["scenarios"] = out
    return _SEEDS["scenarios"]


def trace_seeds() -> List[Seed]:
    if "traces" not in _SEEDS:
        out = []
        for p in sorted(glob.glob(os.path.join(SEED_TRACES_DIR, "*.itf.json"))):
            text = open(p, encoding="utf-8").read()
            out.append(Seed(os.path.relpath(p, ROOT), text, (json.loads(text),)))
        _SEEDS["traces"] = out
    return _SEEDS["traces"]


# --- trees: every place a value can be, and how to change it --------------------------------------------

Path = Tuple[Any, ...]


def paths(tree: Any, limit: int = 5000) -> List[Path]:
    """Every position in `tree` (the root first), depth first, at most `limit` of them."""
    out: List[Path] = []
    stack: List[Tuple[Path, Any]] = [((), tree)]
    while stack and len(out) < limit:
        p, node = stack.pop()
        out.append(p)
        if isinstance(node, dict):
            stack.extend((p + (k,), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((p + (i,), v) for i, v in reversed(list(enumerate(node))))
    return out


def get_at(tree: Any, path: Path) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def set_at(tree: Any, path: Path, value: Any) -> Any:
    """`tree` with the value at `path` replaced (the root itself when `path` is empty)."""
    if not path:
        return value
    get_at(tree, path[:-1])[path[-1]] = value
    return tree


def nested(depth: int, leaf: Any = "x", as_list: bool = False) -> Any:
    v = leaf
    for _ in range(depth):
        v = [v] if as_list else {"a": v}
    return v


# Values chosen for what they break: wrong types, limits of int32/int64, non-finite floats, strings that read
# as other things, very long ones, control characters, paths, YAML's own typed scalars.
SPECIAL_STRINGS = [
    "", " ", "a", "A_B", "-1", "0", "1e999", "0x10", "0o17", "1_000", "NaN", ".nan", "-.inf", "Infinity",
    "1Ei", "9Ei", "100m", "0.0001m", "1e-30", "2Gi", "1.5", "-0", "+1", "1..2", "1e308", "99999999999999999999",
    "null", "~", "true", "yes", "on", "no", "y", "2001-12-14", "12:30:45",
    "x\x00y", "\x00", "line\nbreak", "tab\there", "\r", "\x1b[2J\x1b[31mred", "\u202eevil", "\ufeffbom", "é",
    "\u2028", "a" * 300, "b" * 70_000, "../../../etc/passwd", "/", "/dev/zero", "/proc/self/environ", ".",
    "..", "-", "%s%s%n", "{0}{1}", "$(touch /tmp/kubecheck-fuzz-pwned)", "`id`", "*", "&", "#", "'", '"',
    "kube-system", "default", "Deployment", "Pod", "Node", "Cluster", "List", "CustomObject", "apps/v1", "v1",
    "kubecheck/v1alpha1", "all", "holds", "violated", "external", "self-hosted", "init",
]

SPECIAL_INTS = [0, 1, -1, 2, 3, 7, 100, 2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 53 + 1, 2 ** 63 - 1,
                2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, -10 ** 30, 10 ** 400]

SPECIAL_FLOATS = [0.0, -0.0, 0.5, 1.5, -1.5, 1e-300, 1e300, 1.7976931348623157e308, float("inf"), float("-inf"),
                  float("nan"), 2.0 ** 31, 2.0 ** 63, 1.0]

scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(SPECIAL_INTS), st.integers(-1000, 1000),
    st.sampled_from(SPECIAL_FLOATS), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(SPECIAL_STRINGS), st.text(max_size=12),
)

values = st.one_of(
    scalars,
    st.binary(max_size=8),                                         # !!binary
    st.dates(),                                                    # an unquoted 2001-12-14 is a date in YAML 1.1
    st.lists(scalars, max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(SPECIAL_STRINGS[:30])), scalars, max_size=3),
    st.sets(st.sampled_from(["a", "b", "c"]), max_size=2),         # !!set
    st.builds(nested, st.sampled_from([2, 30, 120, 199, 201, 400]), scalars, st.booleans()),
    st.integers(2, 40).map(lambda n: [{"name": f"item-{i}"} for i in range(n)]),
)

keys = st.one_of(
    st.sampled_from(["unknownField", "name", "kind", "spec", "metadata", "apiVersion", "status", "replicas",
                     "items", "#meta", "#map", "#set", "#tup", "loop", "states", "vars", "", " ", "x\x00y",
                     "a" * 300, "metadata.name", "spec.replicas", "<<"]),
    st.text(max_size=8), st.integers(-3, 3), st.booleans(), st.none(), st.sampled_from([1.5, float("nan")]),
)


def _typo(key: str) -> str:
    return key[:-1] if len(key) > 1 else key + "x"


# Values of the right type that a real manifest or scenario might hold: they pass the type checks and reach
# the meaning of the field (and, often, the model and the search).
PLAUSIBLE_STRINGS = [
    "", "a", "x", "default", "kube-system", "web", "db", "n1", "n2", "n3", "w-1", "cp-1", "zone-a", "a", "b",
    "0", "1", "2", "100m", "500m", "1500m", "0.5", "1Gi", "512Mi", "1e3", "110", "0m", "1k",
    "Always", "Never", "OnFailure", "IfNotPresent", "NoSchedule", "NoExecute", "PreferNoSchedule", "Equal",
    "In", "NotIn", "Exists", "DoesNotExist", "Gt", "TCP", "UDP", "ClusterIP", "NodePort", "LoadBalancer",
    "ExternalName", "None", "Background", "Foreground", "Orphan", "RollingUpdate", "Recreate", "OnDelete",
    "Parallel", "OrderedReady", "Forbid", "Replace", "Allow", "Honor", "Ignore", "DoNotSchedule",
    "ScheduleAnyway", "kubernetes.io/hostname", "topology.kubernetes.io/zone", "app", "nginx", "nginx:1.27",
    "node-role.kubernetes.io/control-plane", "stacked", "external", "traditional", "static-pods",
    "self-hosted", "managed", "cache", "consistent", "lastSynced", "quorum", "holds", "violated", "unknown",
    "not-applicable", "all", "node-crash", "node-recover", "zone-outage", "zone-recover", "etcd-member-crash",
    "etcd-member-restart", "apiserver-restart", "controller-crash", "kubelet-restart", "partition",
    "partition-heal", "pause", "vm-deleted", "request-timeout", "deployment-converges", "replicas-bounded",
    "single-leader", "job-completes", "n-plus-one-capacity", "Deployment", "ReplicaSet", "Pod", "Job",
    "DaemonSet", "Service", "Node", "Namespace", "StatefulSet", "CronJob", "apps/v1", "v1", "batch/v1",
    "1.33", "1.29", "1.20", "9.99", "low", "target", "high", "system-node-critical", "high-priority",
]
PLAUSIBLE_NUMBERS = [0, 1, 2, 3, 5, 7, 10, 30, 100, -1, 2 ** 31 - 1, 0.5, 1.2, 1.5, 15, 2.0, 1e-9]


@st.composite
def plausible_value(draw, cur: Any) -> Any:
    """A value of the same type as `cur`, one a real file could hold (or a near miss of `cur`)."""
    if isinstance(cur, bool):
        return not cur
    if isinstance(cur, (int, float)):
        return draw(st.one_of(st.sampled_from(PLAUSIBLE_NUMBERS), st.integers(-2, 12),
                              st.just(cur + 1), st.just(cur - 1), st.just(cur * 2)))
    if isinstance(cur, str):
        return draw(st.one_of(st.sampled_from(PLAUSIBLE_STRINGS), st.just(cur + "x"), st.just(cur.upper()),
                              st.just(cur[:-1]), st.just(cur + cur), st.just(cur + "-2")))
    if isinstance(cur, list):
        return draw(st.one_of(st.just([]), st.just(cur[::-1]), st.just(cur + cur[:1]), st.just(cur[1:])))
    if isinstance(cur, dict):
        if not cur:
            return {"x": draw(scalars)}
        k = draw(st.sampled_from(sorted(cur, key=str)))
        return {a: b for a, b in cur.items() if a != k}
    return draw(scalars)


OPS = (["plausible"] * 6 + ["replace"] * 4 + ["delete"] * 3 + ["add"] * 2 + ["rename", "duplicate", "wrap", "deepen",
       "drop-doc", "dup-doc", "swap-docs", "copy-elsewhere"])


DEEP_OPS = ["plausible"] * 6 + ["delete", "duplicate", "add", "copy-elsewhere"]
HEADER = ({"apiVersion"}, {"kind"}, {"metadata", "name"})


@st.composite
def tree_mutation(draw, docs: List[Any], ops=tuple(OPS), spare_headers: bool = False) -> Tuple[List[Any], str]:
    """One structural mutation of the documents `docs` (changed in place); returns them and a description.

    Positions are drawn from every non-root node of one document, leaves (the values) twice as often as inner
    nodes, so that most mutations land deep in a manifest rather than on its apiVersion."""
    op = draw(st.sampled_from(ops))
    if not docs:
        return docs, "no document"
    if op in ("drop-doc", "dup-doc", "swap-docs"):
        i = draw(st.integers(0, len(docs) - 1))
        if op == "drop-doc":
            del docs[i]
        elif op == "dup-doc":
            docs.insert(i, copy.deepcopy(docs[i]))
        else:
            j = draw(st.integers(0, len(docs) - 1))
            docs[i], docs[j] = docs[j], docs[i]
        return docs, f"{op} {i}"
    d = draw(st.sampled_from(range(len(docs))))
    ps = paths(docs[d])
    leaves = [p for p in ps[1:] if not isinstance(get_at(docs[d], p), (dict, list))
              and not (spare_headers and (p in (("apiVersion",), ("kind",), ("metadata", "name"))))]
    inner = [p for p in ps[1:] if p not in leaves] if len(ps) < 400 else []
    pool = leaves + leaves + inner
    if not pool:
        p: Path = ()
    else:
        p = draw(st.sampled_from(pool))
    where = f"doc {d} {'.'.join(map(str, p)) or '(root)'}"
    cur = get_at(docs[d], p)
    if op == "plausible":
        docs[d] = set_at(docs[d], p, draw(plausible_value(cur)))
    elif op == "replace":
        docs[d] = set_at(docs[d], p, draw(values))
    elif op == "delete" and p:
        parent = get_at(docs[d], p[:-1])
        del parent[p[-1]]
    elif op == "add":
        target = cur if isinstance(cur, (dict, list)) else get_at(docs[d], p[:-1]) if p else None
        if isinstance(target, dict):
            target[draw(keys)] = draw(values)
        elif isinstance(target, list):
            target.append(draw(st.one_of(values, st.just(copy.deepcopy(target[0])) if target else values)))
    elif op == "rename" and p and isinstance(p[-1], str):
        parent = get_at(docs[d], p[:-1])
        new = draw(st.one_of(keys, st.just(_typo(p[-1])), st.just(p[-1].upper())))
        try:
            parent[new] = parent.pop(p[-1])
        except TypeError:
            pass
    elif op == "duplicate":
        if isinstance(cur, list) and cur:
            cur.append(copy.deepcopy(cur[draw(st.integers(0, len(cur) - 1))]))
        elif p and isinstance(get_at(docs[d], p[:-1]), list):
            get_at(docs[d], p[:-1]).append(copy.deepcopy(cur))
    elif op == "wrap":
        docs[d] = set_at(docs[d], p, draw(st.sampled_from([[cur], {"value": cur}, [cur, cur]])))
    elif op == "deepen":
        docs[d] = set_at(docs[d], p, nested(draw(st.sampled_from([50, 150, 199, 250])), cur,
                                            draw(st.booleans())))
    elif op == "copy-elsewhere":
        # A value from one place put in another: right shape, wrong place (a list of containers as labels).
        q = draw(st.sampled_from(ps))
        docs[d] = set_at(docs[d], p, copy.deepcopy(get_at(docs[d], q)))
    return docs, f"{op} at {where}"


# Text spliced into the bytes: invalid UTF-8, YAML syntax of every kind (anchors, tags, merge keys, complex
# keys, directives, document markers), JSON tokens, control characters.
SPLICES = [
    b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\x1b[2J", b"\r", b"\t", b"\x85",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\n---\n", b"\n...\n", b"\n--- |\n  x\n", b"%YAML 1.2\n---\n", b"%TAG ! x\n",
    b"&a ", b"*a", b"*undefined", b"<<: *a\n", b"<<: [1, 2]\n", b"? [a, b]\n: c\n", b"? {a: 1}\n: c\n",
    b"!!binary aGk=", b"!!set {a, b}", b"!!omap [a: 1, b: 2]", b"!!pairs [a: 1]", b"!!timestamp 2001-12-14",
    b"!!float 1", b"!!int x", b"!!str ", b"!!python/object/apply:os.system ['true']", b"!custom ", b"!<tag:x> ",
    b"{", b"}", b"[", b"]", b"'", b'"', b":", b"- ", b"|", b">", b"#", b"@", b"`", b",", b"\\", b"\\u0000",
    b"1e999", b".nan", b"-.inf", b"~", b"null", b"2147483648", b"-1", b"99999999999999999999999",
    b'"#map": [[1]]', b'{"#set": [[]]}', b'{"#tup": 1}', b"NaN", b"Infinity", b"[[[[[[[[",
]


@st.composite
def byte_mutation(draw, data: bytes) -> Tuple[bytes, str]:
    if not data:
        return draw(st.sampled_from(SPLICES)), "splice into empty"
    op = draw(st.sampled_from(["truncate", "splice", "splice", "delete", "dup-line", "drop-line", "flip",
                               "indent"]))
    i = draw(st.integers(0, len(data)))
    if op == "truncate":
        return data[:i], f"truncate at {i}"
    if op == "splice":
        s = draw(st.sampled_from(SPLICES))
        return data[:i] + s + data[i:], f"splice {s!r} at {i}"
    if op == "delete":
        n = draw(st.integers(1, 40))
        return data[:i] + data[i + n:], f"delete {n} at {i}"
    if op == "flip":
        b = draw(st.integers(0, 255))
        return data[:i] + bytes([b]) + data[i + 1:], f"byte {b} at {i}"
    lines = data.split(b"\n")
    j = min(i * len(lines) // (len(data) + 1), len(lines) - 1)
    if op == "dup-line":
        lines.insert(j, lines[j])
    elif op == "drop-line":
        del lines[j]
    else:
        lines[j] = draw(st.sampled_from([b" ", b"\t", b"    "])) + lines[j]
    return b"\n".join(lines), f"{op} {j}"


def dump_yaml(docs: List[Any]) -> bytes:
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=10 ** 9).encode("utf-8")


def dump_json(docs: List[Any]) -> bytes:
    return json.dumps(docs[0] if len(docs) == 1 else docs, allow_nan=True).encode("utf-8")


@dataclass
class Fuzzed:
    """One fuzzed input: its bytes, the seed it came from and what was done to it (for the failure message)."""

    seed: str
    data: bytes
    steps: List[str] = field(default_factory=list)

    def __repr__(self) -> str:
        shown = self.data if len(self.data) <= 3000 else self.data[:3000] + b"...(%d bytes)" % len(self.data)
        return f"Fuzzed(seed={self.seed!r}, steps={self.steps!r}, data={shown!r})"


def _mutated(draw, seed: Seed, dump: Callable[[List[Any]], bytes], tree_ops: int, byte_ops: int,
             ops=tuple(OPS), spare_headers: bool = False) -> Fuzzed:
    docs = copy.deepcopy(list(seed.docs))
    steps = []
    for _ in range(draw(st.integers(1, tree_ops))):
        docs, what = draw(tree_mutation(docs, ops, spare_headers))
        steps.append(what)
    try:
        data = dump(docs)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as e:   # a value the dumper cannot write
        steps.append(f"(not serialisable: {type(e).__name__}; the seed's text used)")
        data = seed.text.encode("utf-8")
    n_bytes = draw(st.sampled_from([0, 0, 1] if byte_ops else [0])) if steps else 1
    for _ in range(n_bytes):
        data, what = draw(byte_mutation(data))
        steps.append(what)
    return Fuzzed(seed.name, data, steps)


@st.composite
def fuzzed_scenarios(draw, tree_ops: int = 3, byte_ops: int = 1) -> Fuzzed:
    seed = draw(st.sampled_from(scenario_seeds()))
    return _mutated(draw, seed, dump_yaml, tree_ops, byte_ops)


@st.composite
def plausible_scenarios(draw) -> Fuzzed:
    """Scenarios one or two plausible changes away from a seed (a value of the right type, an item deleted or
    repeated; never the documents' apiVersion, kind or name, no byte mutation): most still load, and reach
    the meaning of their fields, the model and a bounded search."""
    seed = draw(st.sampled_from(scenario_seeds()))
    return _mutated(draw, seed, dump_yaml, 2, 0, tuple(DEEP_OPS), spare_headers=True)


@st.composite
def embedded_scenario_traces(draw) -> Tuple[Any, List[str]]:
    """A seed trace whose `#meta.scenario_text` (the scenario a replay loads) is itself fuzzed."""
    seed = draw(st.sampled_from(trace_seeds()))
    doc = copy.deepcopy(seed.docs[0])
    inner = _mutated(draw, Seed("scenario_text", doc["#meta"]["scenario_text"],
                                _plain_docs(doc["#meta"]["scenario_text"])), dump_yaml, 2, 1)
    doc["#meta"]["scenario_text"] = inner.data.decode("utf-8", "surrogateescape")
    return doc, [f"scenario_text: {s}" for s in inner.steps]


# The fields of a trace's top-level #meta that replay reads, with values of the right shape and of others.
META_VALUES = {
    "checked_alone": [[["Deployment", "default", "web"]], [["ReplicaSet", "default", "web"]], [["Nope", "x", "y"]],
                      [], [["Node", "", "n1"]], [[1, 2, 3]], [["a", "b"]], "x", None, {"a": 1}],
    "states_form": ["quotient", "canonical", "stable-names", "bogus", None, 1, []],
    "source": ["scenarios/x.yaml", "/", "/dev/zero", "", None, 7, ["a"], "../../../../etc/passwd"],
    "loop": [0, 1, -1, 10 ** 6, True, 1.0, "1", None, [0]],
    "scenario_text": ["", "apiVersion: kubecheck/v1alpha1\nkind: Cluster\n", "{", None, 5, "x: !!int y",
                      "apiVersion: kubecheck/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec: {manifests: ['/']}"],
    "property": ["", None, 1, "\x1b[2J", "a" * 5000],
}


@st.composite
def meta_traces(draw) -> Tuple[Any, List[str]]:
    """A seed trace with one or two fields of #meta (or `loop`) set to a value from META_VALUES."""
    doc = copy.deepcopy(draw(st.sampled_from(trace_seeds())).docs[0])
    steps = []
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(sorted(META_VALUES)))
        value = draw(st.sampled_from(META_VALUES[key]))
        (doc if key == "loop" else doc["#meta"])[key] = value
        steps.append(f"{key} = {value!r}"[:80])
    return doc, steps


@st.composite
def fuzzed_traces(draw, tree_ops: int = 3, byte_ops: int = 1) -> Fuzzed:
    seeds = trace_seeds()
    which = draw(st.integers(0, 5))
    if which == 1:
        doc, steps = draw(meta_traces())
        return Fuzzed("trace with fuzzed #meta", json.dumps(doc).encode(), steps)
    if which == 0:
        doc, steps = draw(embedded_scenario_traces())
        try:
            data = json.dumps(doc).encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = json.dumps(doc, ensure_ascii=True).encode()
        return Fuzzed("trace with fuzzed scenario_text", data, steps)
    seed = draw(st.sampled_from(seeds))
    return _mutated(draw, seed, dump_json, tree_ops, byte_ops)


# --- the oracle --------------------------------------------------------------------------------------------

# What must not reach a terminal as it is: C0 controls but tab and newline, DEL and C1 controls, the line and
# paragraph separators, bidirectional overrides and isolates.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass
class Outcome:
    argv: List[str]
    code: Any                 # the exit status, or the exception that escaped main()
    stdout: str
    stderr: str
    seconds: float
    rss_growth: int           # how far above its level before fuzzing the process's peak resident memory is
    rss_raised: int = 0       # how much this call raised that peak (0: it stayed below the peak reached before)
    peak_bytes: int = 0       # Python allocations at the peak of the call (tracemalloc), where measured
    timed: bool = True        # False under tracemalloc, whose overhead makes times meaningless


_BASELINE: List[int] = []


def _max_rss() -> int:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024     # KiB on Linux


def run_cli(argv: List[str], tracemalloc_peak: bool = False) -> Outcome:
    """`kubecheck ARGV` in this process: its exit status, what it printed, its time and memory.

    Memory is the process's peak resident size (getrusage), which only grows: a call is charged with how much
    it raised that peak (`rss_raised`; `rss_growth` is the peak's distance from its level before the first
    call).  A call that takes hundreds of MiB raises it by about as much, unless an earlier call went as high.
    `tracemalloc_peak`: also the peak of Python's allocations during the call, exact (tracemalloc slows some
    code twentyfold, deep recursion most: times are then not checked)."""
    from kubecheck.cli import main
    if not _BASELINE:
        _BASELINE.append(_max_rss())
    peak_before = _max_rss()
    # Streams as a terminal's or a pipe's are: UTF-8, strict on standard output (a lone surrogate there is an
    # error, as it would be for a real run), backslashreplace on standard error (Python's default).
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="\n", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", newline="\n",
                           write_through=True)
    started_tracing = tracemalloc_peak and not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    if tracemalloc_peak:
        tracemalloc.reset_peak()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code: Any = main(list(argv))
    except SystemExit as e:               # argparse's --help and errors
        code = e.code
    except KeyboardInterrupt:
        raise
    except BaseException as e:            # an exception out of main(): always a failure of the oracle
        code = e
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if tracemalloc_peak else 0
    if started_tracing:
        tracemalloc.stop()
    texts = []
    for stream in (out, err):
        texts.append(stream.buffer.getvalue().decode("utf-8", "backslashreplace"))
    peak_after = _max_rss()
    return Outcome(list(argv), code, texts[0], texts[1], seconds, max(peak_after - _BASELINE[0], 0),
                   peak_after - peak_before, peak, timed=not tracemalloc_peak)


def problems(o: Outcome) -> List[str]:
    """What is wrong with an outcome (empty: it passes)."""
    bad = []
    if isinstance(o.code, BaseException):
        bad.append(f"an exception escaped main(): {type(o.code).__name__}: {o.code}")
    elif o.code not in (0, 1, 2, 3):
        bad.append(f"exit status {o.code} (expected 0, 1, 2 or 3)")
    if "Traceback" in o.stderr or "Traceback" in o.stdout:
        bad.append("a traceback was printed")
    if "internal error" in o.stderr:
        bad.append("an internal error was reported")
    if o.code == 2:
        # One line, the error; the scenario's warnings may come before it where the error is found after they
        # are printed (an unknown property in spec.check.properties: kubecheck/cli.py's verify_one).
        lines = o.stderr.strip("\n").split("\n")
        errors = [line for line in lines if not line.startswith("kubecheck: warning: ")]
        if len(errors) != 1 or errors[0] != lines[-1]:
            bad.append(f"exit 2 with {len(errors)} lines on standard error besides warnings (expected one, last)")
        if len(lines[-1]) > MAX_ERROR_CHARS:
            bad.append(f"exit 2 with a message of {len(lines[-1]):,} characters (at most {MAX_ERROR_CHARS:,})")
        if not lines[-1].startswith("kubecheck: "):
            bad.append("exit 2 without a message starting `kubecheck: `")
    for name, text in (("standard error", o.stderr), ("standard output", o.stdout)):
        m = CONTROL.search(text)
        if m:
            bad.append(f"a raw control character on {name}: {m.group()!r} in "
                       f"{text[max(m.start() - 60, 0):m.end() + 20]!r}")
    if o.timed and o.seconds > MAX_SECONDS:
        bad.append(f"took {o.seconds:.1f} s (at most {MAX_SECONDS:g})")
    if o.rss_raised > MAX_BYTES:
        # Charged to the call: caches that grow slowly over thousands of calls (the Kubernetes schemas of each
        # version a scenario names, some 15 MiB each) are not.
        bad.append(f"raised the process's peak resident memory by {o.rss_raised / 2 ** 20:.0f} MiB "
                   f"(at most {MAX_BYTES / 2 ** 20:.0f})")
    if o.peak_bytes > MAX_BYTES:
        bad.append(f"allocated {o.peak_bytes / 2 ** 20:.0f} MiB (at most {MAX_BYTES / 2 ** 20:.0f})")
    return bad


def describe(o: Outcome, what: Any = None) -> str:
    err = o.stderr if len(o.stderr) <= 1500 else o.stderr[:1500] + f"...({len(o.stderr):,} characters)"
    memory = f"peak resident size +{o.rss_growth / 2 ** 20:.0f} MiB (+{o.rss_raised / 2 ** 20:.0f} in this call)"
    if o.peak_bytes:
        memory += f", allocated {o.peak_bytes / 2 ** 20:.1f} MiB"
    return (f"kubecheck {' '.join(o.argv)}\n  -> {o.code!r} in {o.seconds:.2f} s, {memory}"
            f"\n  problems: {problems(o)}\n  stderr: {err!r}" + (f"\n  input: {what!r}" if what is not None else ""))


# The bounds that make a scenario that loads stop soon: a few hundred states, a few seconds of search and Z3.
VERIFY_BOUNDS = ["--quiet", "--max-states", "150", "--max-depth", "12", "--timeout", "4"]


def verify_argv(path: str, traces_dir: str, extra: Tuple[str, ...] = ()) -> List[str]:
    return ["verify", path, *VERIFY_BOUNDS, "--traces", traces_dir, *extra]


def check_scenario_bytes(data: bytes, folder: str, tracemalloc_peak: bool = False,
                         extra: Tuple[str, ...] = ()) -> Outcome:
    path = os.path.join(folder, "fuzzed.yaml")
    with open(path, "wb") as f:
        f.write(data)
    if not CLUSTER_DOCUMENT.search(data):
        extra = ("--nodes", "2") + tuple(extra)     # plain manifests: checked on a default cluster
    return run_cli(verify_argv(path, os.path.join(folder, "traces"), extra), tracemalloc_peak)


CLUSTER_DOCUMENT = re.compile(rb"(?m)^kind:\s*Cluster\s*$")   # as model/scenario.py's has_cluster_document


def check_trace_bytes(data: bytes, folder: str, action: str, tracemalloc_peak: bool = False) -> Outcome:
    path = os.path.join(folder, "fuzzed.itf.json")
    with open(path, "wb") as f:
        f.write(data)
    if action == "render":
        return run_cli(["render", path, "--out", os.path.join(folder, "fuzzed.svg")], tracemalloc_peak)
    return run_cli(["trace", action, path], tracemalloc_peak)


@dataclass
class Tally:
    """Counts for a run of the fuzzer: inputs tried, calls by exit status, the slowest and the largest."""

    inputs: int = 0
    calls: int = 0
    by_code: Dict[str, int] = field(default_factory=dict)
    slowest: Optional[Tuple[float, str]] = None
    largest: Optional[Tuple[int, str]] = None
    failures: List[str] = field(default_factory=list)
    slow: int = 0
    hungry: List[Tuple[int, str]] = field(default_factory=list)   # calls that raised the peak by 50 MiB or more

    def add(self, o: Outcome, label: str) -> List[str]:
        self.calls += 1
        key = str(o.code) if not isinstance(o.code, BaseException) else type(o.code).__name__
        self.by_code[key] = self.by_code.get(key, 0) + 1
        if o.seconds > SLOW_SECONDS:
            self.slow += 1
        if self.slowest is None or o.seconds > self.slowest[0]:
            self.slowest = (o.seconds, label)
        size = o.peak_bytes or o.rss_raised
        if o.rss_raised >= 50 * 2 ** 20:
            self.hungry.append((o.rss_raised, label))
        if self.largest is None or size > self.largest[0]:
            self.largest = (size, label)
        bad = problems(o)
        if bad:
            self.failures.append(describe(o, label))
        return bad

    def summary(self) -> str:
        codes = ", ".join(f"exit {k}: {v}" for k, v in sorted(self.by_code.items()))
        s = f"{self.inputs} fuzzed inputs, {self.calls} calls ({codes})"
        if self.slowest:
            s += f"; slowest {self.slowest[0]:.2f} s ({self.slowest[1]})"
        if self.largest:
            s += f"; largest {self.largest[0] / 2 ** 20:.1f} MiB ({self.largest[1]})"
        if self.slow:
            s += f"; {self.slow} calls over {SLOW_SECONDS:g} s"
        return s
