"""Reading one manifest: typed fields with messages that name the file, the line, the document and the field.

`Doc` wraps one YAML document of a scenario.  Its accessors check a field's
type and raise `ScenarioError` with a message such as::

    app.yaml:14: document 3 (Deployment default/web): spec.replicas: expected an integer, got 'three'

`Doc.known` is the check of a mapping's keys against those a schema allows:
an unknown key is an error naming the closest known one (as `kubectl apply`'s
strict field validation refuses it), or a warning under `--lenient`.

The field policy (`Field`, `check_fields`) is the second layer: for a field
the Kubernetes schema accepts, whether the model reads it (`MODELLED`),
knows it has no effect on any property it checks (`inert(reason)`), or does
not model it although it could change a verdict (`unmodelled(properties)`,
a warning naming those properties).
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..inputs import line_of, printable
from ..objects import LabelSelector, NodeSelectorRequirement, ObjectMeta, Resources
from ..quantity import QuantityError, cpu_millis, whole


MAX_MESSAGE = 1500     # characters: a message quotes what the user wrote, `short` for each value


class ScenarioError(Exception):
    """A scenario that cannot be loaded; the message says where and what (on one line: what the user wrote
    is quoted with its control characters escaped, model/inputs.py's `printable`, and a message that would
    still be longer than MAX_MESSAGE keeps its beginning and its end)."""

    def __str__(self) -> str:
        text = printable(super().__str__())
        if len(text) > MAX_MESSAGE:
            text = f"{text[:1000]} ...({len(text) - 1300:,} characters)... {text[-300:]}"
        return text


def type_name(value: Any) -> str:
    """What a YAML value is, in YAML's words (a `Located` mapping is "a mapping", not "Located")."""
    import datetime
    for typ, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                      (dict, "a mapping"), (list, "a list"), (bytes, "binary data"), (datetime.datetime, "a timestamp"),
                      (datetime.date, "a date"), (set, "a set"), (type(None), "null")):
        if isinstance(value, typ):
            return name
    return type(value).__name__


def clip(text: str, limit: int = 60) -> str:
    """A name the user wrote, as a message shows it unquoted: at most `limit` characters."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def short(value: Any, limit: int = 60) -> str:
    """`value` as a message quotes it: its repr, at most `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class LeftOut(Exception):
    """Raised by a kind's parser for a manifest of a variant the model does not run (a headless Service): the
    document is left out with a warning naming `properties`, not refused."""

    def __init__(self, what: str, properties: Tuple[str, ...], field: str = "(document)"):
        super().__init__(what)
        self.what, self.properties, self.field = what, properties, field


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_steps(fpath: str) -> List[Any]:
    """"spec.containers[0].name" -> ["spec", "containers", 0, "name"] (for finding its line)."""
    return [int(i) if i else k for k, i in _STEP.findall(fpath)]


def _label(value: Any) -> str:
    """A kind, namespace or name as a document's heading shows it: a string as it is, anything else short."""
    if value is None or isinstance(value, str):
        return value or ""
    text = repr(value) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Doc:
    """Error and warning context for one document: `path`, its `index` (1-based), the `raw` mapping."""

    def __init__(self, path: str, index: int, raw: Any, warnings: List[str], lenient: bool = False):
        self.path, self.index, self.raw, self.warnings, self.lenient = path, index, raw, warnings, lenient
        kind = raw.get("kind", "?") if isinstance(raw, dict) else "?"
        meta = raw.get("metadata") if isinstance(raw, dict) else None
        name = meta.get("name", "?") if isinstance(meta, dict) else "?"
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        # Any of them may be of another type (a mapping where the namespace goes): the accessors say so.
        kind, name, ns = (_label(x) for x in (kind, name, ns))
        what = f"{kind} {ns + '/' if ns else ''}{name}"
        self.what = what if len(what) <= 80 else what[:77] + "..."   # names quoted in messages stay short
        self.priority_classes: Dict[str, Any] = {}   # the scenario's PriorityClasses, for pod admission

    def sub(self, raw: Any, fpath: str) -> "Doc":
        """A Doc for `raw`, found at `fpath` of this document (a change's `apply` body), sharing its warnings."""
        d = Doc(self.path, self.index, raw, self.warnings, self.lenient)
        d.what = f"{self.what}, {fpath}"
        d.priority_classes = self.priority_classes
        return d

    def line(self, fpath: str) -> int:
        return line_of(self.raw, path_steps(fpath)) if fpath and fpath[0] != "(" else getattr(self.raw, "line", 0)

    def where(self, fpath: str) -> str:
        line = self.line(fpath)
        return f"{self.path}{':' + str(line) if line else ''}: document {self.index} ({self.what}): {fpath}"

    def error(self, fpath: str, msg: str) -> ScenarioError:
        return ScenarioError(f"{self.where(fpath)}: {msg}")

    def warn(self, fpath: str, msg: str) -> None:
        self.warnings.append(printable(f"{self.where(fpath)}: {msg}"))

    # -- typed accessors -------------------------------------------------
    def get(self, obj: dict, key: str, fpath: str, typ, default=None, required=False):
        full = f"{fpath}.{key}" if fpath else key
        if not isinstance(obj, dict):
            raise self.error(fpath or "(document)", f"expected a mapping, got {type_name(obj)}")
        if key not in obj or obj[key] is None:
            if required:
                raise self.error(full, "required field is missing")
            return default
        val = obj[key]
        shown = short(val)
        if typ is int and (isinstance(val, bool) or not isinstance(val, int)):
            raise self.error(full, f"expected an integer, got {shown}")
        if typ is int and not -2**31 <= val < 2**31:
            raise self.error(full, f"out of range: Kubernetes integers here are 32-bit, got {shown}")
        if typ is float and (isinstance(val, bool) or not isinstance(val, (int, float))):
            hint = ""
            if isinstance(val, str) and re.fullmatch(r"[-+]?\d+[eE][-+]?\d+", val.strip()):
                hint = " (YAML 1.1 reads an exponent without a decimal point as a string: write 1.0e3 or 1000)"
            raise self.error(full, f"expected a number, got {shown}{hint}")
        if typ is float and not math.isfinite(val):
            raise self.error(full, f"expected a finite number, got {shown}")
        if typ is bool and not isinstance(val, bool):
            raise self.error(full, f"expected true or false, got {shown}")
        if typ is str and not isinstance(val, str):
            raise self.error(full, f"expected a string, got {shown}")
        if typ is dict and not isinstance(val, dict):
            raise self.error(full, f"expected a mapping, got {type_name(val)}")
        if typ is list and not isinstance(val, list):
            raise self.error(full, f"expected a list, got {type_name(val)}")
        return val

    def items(self, obj: dict, key: str, fpath: str) -> List[Tuple[str, dict]]:
        """The mappings of list field `key`, each with its path."""
        out = []
        for i, item in enumerate(self.get(obj, key, fpath, list, [])):
            ip = f"{fpath}.{key}[{i}]" if fpath else f"{key}[{i}]"
            if not isinstance(item, dict):
                raise self.error(ip, f"expected a mapping, got {type_name(item)}")
            out.append((ip, item))
        return out

    def unknown(self, fpath: str, key: Any, known: Sequence[str], hint: str = "") -> None:
        """Field `key` of the mapping at `fpath` is not in the schema: an error, or a warning when lenient.
        `hint`: what to write instead, where the kind knows (else the closest known field)."""
        full = f"{fpath}.{key}" if fpath else str(key)
        close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
        hint = f": {hint}" if hint else f"; did you mean {close[0]}?" if close else ""
        if self.lenient:
            self.warn(full, f"unknown field, ignored{hint}")
        else:
            raise self.error(full, f"unknown field{hint} (--lenient to ignore it)")

    def known(self, obj: dict, fpath: str, keys) -> None:
        for k in obj:
            if k not in keys:
                self.unknown(fpath, k, keys)

    def labels(self, obj: dict, key: str, fpath: str) -> Tuple[Tuple[str, str], ...]:
        d = self.get(obj, key, fpath, dict, {})
        out = []
        for k, v in d.items():
            if v is None:
                v = ""
            if not isinstance(v, (str, int, float, bool)) or isinstance(v, bool):
                raise self.error(f"{fpath}.{key}.{k}", f"expected a string label value, got {short(v)}")
            problem = label_problem(str(k), str(v))
            if problem:
                raise self.error(f"{fpath}.{key}.{k}", f"not a valid label: {problem}")
            out.append((str(k), str(v)))
        return tuple(sorted(out))


# -- shared parts of manifests ------------------------------------------------

CORE_RESOURCES = ("cpu", "memory", "pods")


def quantities(doc: Doc, obj: dict, fpath: str, required=(), default_pods: Optional[int] = 110) -> Resources:
    """A ResourceList (requests, limits, allocatable, overhead): cpu in millicores, memory and every other
    resource (ephemeral-storage, hugepages-*, extended resources such as nvidia.com/gpu) in whole units."""
    cpu = mem = 0
    pods = None
    scalar = []
    for key in required:
        if key not in obj:
            raise doc.error(f"{fpath}.{key}", "required field is missing")
    for key, val in obj.items():
        try:
            if key == "cpu":
                cpu = cpu_millis(val)
            elif key == "memory":
                mem = whole(val)
            elif key == "pods":
                pods = whole(val)
            else:
                amount = whole(val)
                if amount:
                    scalar.append((str(key), amount))
        except QuantityError as e:
            raise doc.error(f"{fpath}.{key}", str(e)) from None
    return Resources(cpu, mem, (default_pods or 0) if pods is None else pods, tuple(sorted(scalar)))


# The apiserver's rules for names (k8s.io/apimachinery/pkg/util/validation): most objects' names are DNS-1123
# subdomains, a namespace's a DNS-1123 label, a Service's a DNS-1035 label; label keys are qualified names
# (an optional DNS subdomain prefix and "/"), label values at most 63 characters of [A-Za-z0-9_.-].
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
NAME_RULES = {
    "subdomain": (re.compile(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"), 253,
                  "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter "
                  "or digit)"),
    "label": (re.compile(_DNS1123_LABEL), 63,
              "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)"),
    "dns1035": (re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?"), 63,
                "a DNS-1035 label (lowercase letters, digits and '-', starting with a letter and ending with a "
                "letter or digit)"),
}
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def check_name(doc: Doc, value: str, fpath: str, rule: str = "subdomain") -> str:
    """`value` if it is a valid name by `rule` (NAME_RULES), else the apiserver's refusal as an error."""
    pattern, limit, what = NAME_RULES[rule]
    if len(value) > limit or not pattern.fullmatch(value):
        raise doc.error(fpath, f"must be {what}, at most {limit} characters, got {short(value)}")
    return value


def label_problem(key: str, value: str) -> Optional[str]:
    """Why `key: value` is not a valid label (as the apiserver's ValidateLabels says), or None."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not NAME_RULES["subdomain"][0].fullmatch(prefix)):
        return f"the key's prefix {short(prefix)} must be a DNS-1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED.fullmatch(name):
        return (f"the key {short(key)} must be at most 63 letters, digits, '-', '_' or '.', starting and ending "
                "with a letter or digit (with an optional DNS subdomain prefix and '/')")
    if value and (len(value) > 63 or not _QUALIFIED.fullmatch(value)):
        return (f"the value {short(value)} must be empty or at most 63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit")
    return None


def meta(doc: Doc, raw: dict, namespaced: bool, name_rule: str = "subdomain") -> ObjectMeta:
    m = doc.get(raw, "metadata", "", dict, required=True)
    name = doc.get(m, "name", "metadata", str, None)
    if not name:
        if doc.get(m, "generateName", "metadata", str, ""):
            raise doc.error("metadata.generateName", "generateName is not modelled: give the object a name")
        raise doc.error("metadata.name", "required field is missing" if name is None else "must not be empty")
    check_name(doc, name, "metadata.name", name_rule)
    # An empty namespace is the default one, as kubectl apply reads it (it was "" before: keys without "ns/").
    ns = (doc.get(m, "namespace", "metadata", str, "default") or "default") if namespaced else ""
    if ns:
        check_name(doc, ns, "metadata.namespace", "label")
    return ObjectMeta(namespace=ns, name=name, labels=doc.labels(m, "labels", "metadata"))


OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def expression(doc: Doc, e: dict, ep: str) -> NodeSelectorRequirement:
    """One matchExpressions requirement, validated as apimachinery's ValidateLabelSelectorRequirement does."""
    op = doc.get(e, "operator", ep, str, required=True)
    if op not in OPERATORS:
        raise doc.error(f"{ep}.operator", f"expected In, NotIn, Exists or DoesNotExist, got {short(op)}")
    values = tuple(str(v) for v in doc.get(e, "values", ep, list, []))
    if op in ("In", "NotIn") and not values:
        raise doc.error(f"{ep}.values", f"must be non-empty when operator is {op}")
    if op in ("Exists", "DoesNotExist") and values:
        raise doc.error(f"{ep}.values", f"must be empty when operator is {op}")
    return NodeSelectorRequirement(doc.get(e, "key", ep, str, required=True), op, values)


def label_selector(doc: Doc, sel: dict, fpath: str):
    """A metav1.LabelSelector: the matchLabels pairs alone (a sorted tuple, the fast common case) or, with
    matchExpressions, a `LabelSelector`; both are read by `labels_match`."""
    ml = doc.labels(sel, "matchLabels", fpath)
    exprs = tuple(expression(doc, e, ep) for ep, e in doc.items(sel, "matchExpressions", fpath))
    return LabelSelector(ml, exprs) if exprs else ml


def selector_is_empty(sel) -> bool:
    return not sel if isinstance(sel, tuple) else not sel.match_labels and not sel.expressions


# -- the field policy ---------------------------------------------------------

class Field:
    """What the model does with one field a manifest may set."""

    __slots__ = ("state", "reason", "properties", "children", "items")

    def __init__(self, state: str, reason: str = "", properties: Tuple[str, ...] = (),
                 children: Optional[Dict[str, "Field"]] = None, items: bool = False):
        self.state, self.reason, self.properties = state, reason, properties
        self.children, self.items = children, items


def modelled(children: Optional[Dict[str, Field]] = None, items: bool = False) -> Field:
    """Read by the model; `children`, the policy of its fields (of each item's, for a list with `items`)."""
    return Field("modelled", children=children, items=items)


def inert(reason: str) -> Field:
    """Known, and without effect on any property kubecheck checks, for `reason`."""
    return Field("inert", reason)


def unmodelled(*properties: str, reason: str = "") -> Field:
    """Known, not modelled, and able to change the verdicts of `properties` ("*": of any)."""
    return Field("unmodelled", reason, properties)


MODELLED = modelled()


def describe_properties(props: Sequence[str]) -> str:
    if not props or "*" in props:
        return "any verdict may differ from a real cluster"
    if len(props) == 1:
        return f"{props[0]} may differ from a real cluster"
    return f"{', '.join(props[:-1])} and {props[-1]} may differ from a real cluster"


# The properties that follow where pods run; a field of a pod spec that can change placement names those of
# them that the kind making the pods feeds (a Deployment's pods do not change daemonset-converges).
PLACEMENT = frozenset({"deployment-converges", "daemonset-converges", "job-completes", "n-plus-one-capacity",
                       "pods-rescheduled-after-node-failure", "statefulset-converges"})


def check_fields(doc: Doc, obj: Any, policy: Dict[str, Field], fpath: str = "",
                 placement: Optional[Sequence[str]] = None) -> None:
    """Warn for every field of `obj` that `policy` marks unmodelled (naming the properties it may change), and
    for every field the policy does not know (the schema accepts it, so it is taken as able to change any
    verdict).  Descends into modelled fields that have a policy of their own.  `placement`: the placement
    properties the document's pods feed (the others are not named)."""
    if not isinstance(obj, dict):
        return
    for key, value in obj.items():
        full = f"{fpath}.{key}" if fpath else str(key)
        f = policy.get(key, policy.get("*"))
        if f is None:
            doc.warn(full, f"not modelled: {describe_properties(('*',))}")
            continue
        if f.state == "unmodelled":
            if value in (None, False, [], {}, "") and f.reason != "always":
                continue     # set to its zero value: as if absent
            why = f" ({f.reason})" if f.reason and f.reason != "always" else ""
            props = f.properties
            if placement is not None:
                props = tuple(p for p in props if p not in PLACEMENT or p in placement) or props
            doc.warn(full, f"not modelled{why}: {describe_properties(props)}")
        elif f.state == "modelled" and f.children is not None:
            if f.items and isinstance(value, list):
                for i, item in enumerate(value):
                    check_fields(doc, item, f.children, f"{full}[{i}]", placement)
            else:
                check_fields(doc, value, f.children, full, placement)
