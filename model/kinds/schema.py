"""Structural validation of Kubernetes manifests against the official OpenAPI schemas.

The schemas are those the `kubernetes-validate` package ships (offline, one
set per Kubernetes minor version; the strict variants refuse unknown
fields, as `kubectl apply`'s default field validation does).  The version is
the Cluster document's `spec.kubernetesVersion` (the newest shipped not
newer than it), by default the newest shipped.

`problems(raw, version)` returns the document's schema violations as
(path, message, unknown_field, known_fields) tuples, unknown fields first;
the loader (model/scenario.py) turns them into errors or, for unknown
fields under `--lenient`, warnings.  Kinds without a schema (custom
resources) are not checked here.
"""

from __future__ import annotations

import functools
import re
from typing import Any, List, Optional, Tuple

Problem = Tuple[List[Any], str, Optional[str], Tuple[str, ...]]


class SchemaUnavailable(Exception):
    """The package of schemas is missing, or has no schemas for the version asked for."""


@functools.lru_cache(maxsize=None)
def versions() -> Tuple[str, ...]:
    try:
        from kubernetes_validate.utils import all_versions
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise SchemaUnavailable(f"the kubernetes-validate package is not installed ({e}): "
                                "pip install kubernetes-validate") from None
    return tuple(all_versions())


def newest() -> str:
    return _minor(versions()[-1])


def _minor(v: str) -> str:
    return ".".join(v.split(".")[:2])


def resolve(version: Optional[str]) -> str:
    """The shipped schema version for `version` ("1.33", "v1.33.2"; None: the newest), e.g. "1.33.0"."""
    have = versions()
    if version is None:
        return have[-1]
    m = re.fullmatch(r"v?(\d+)\.(\d+)(\.\d+)?", str(version).strip())
    if not m:
        raise SchemaUnavailable(f"expected a Kubernetes version such as \"1.33\", got {version!r}")
    want = (int(m.group(1)), int(m.group(2)))
    older = [v for v in have if tuple(int(x) for x in v.split(".")[:2]) <= want]
    if not older or tuple(int(x) for x in have[-1].split(".")[:2]) < want:
        raise SchemaUnavailable(f"no schemas for Kubernetes {want[0]}.{want[1]}: the versions shipped are "
                                f"{_minor(have[0])} to {_minor(have[-1])}")
    return older[-1]


@functools.lru_cache(maxsize=None)
def _definitions(version: str):
    from kubernetes_validate.utils import schema_contents
    return schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)


@functools.lru_cache(maxsize=None)
def _validator(version: str, kind: str, api_version: str):
    import jsonschema
    from referencing import Registry, Resource
    from kubernetes_validate.utils import schema_contents
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{api}.json", version)
    except (FileNotFoundError, OSError):
        return None
    registry = Resource.from_contents(_definitions(version)) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def has_schema(kind: str, api_version: str, version: str) -> bool:
    return _validator(version, kind, api_version) is not None


@functools.lru_cache(maxsize=None)
def _served(version: str):
    """kind -> the apiVersions the schemas of `version` define it in (x-kubernetes-group-version-kind)."""
    out = {}
    for d in _definitions(version).get("$defs", {}).values():
        for gvk in (d.get("x-kubernetes-group-version-kind") or []) if isinstance(d, dict) else []:
            api = f"{gvk['group']}/{gvk['version']}" if gvk.get("group") else gvk["version"]
            out.setdefault(gvk["kind"], [])
            if api not in out[gvk["kind"]]:
                out[gvk["kind"]].append(api)
    return out


def served_api_versions(kind: str, version: str) -> Tuple[str, ...]:
    """The apiVersions Kubernetes `version` serves `kind` in (none: not a built-in kind)."""
    return tuple(_served(version).get(kind, ()))


def _plain(value: Any) -> Any:
    """The document as plain dicts and lists (the loader's located ones are subclasses)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def problems(raw: dict, version: str) -> List[Problem]:
    """Schema violations of manifest `raw`: unknown fields first (each with the fields known there), then
    the others, each once, in document order."""
    v = _validator(version, raw.get("kind", ""), raw.get("apiVersion", ""))
    if v is None:
        return []
    unknown: List[Problem] = []
    other: List[Problem] = []
    seen = set()
    for e in v.iter_errors(_plain(raw)):
        for err in (e,):
            path = list(err.absolute_path)
            if err.validator == "additionalProperties" and isinstance(err.instance, dict):
                known = tuple(sorted((err.schema.get("properties") or {}).keys()))
                for key in err.instance:
                    if key not in known and (tuple(path), key) not in seen:
                        seen.add((tuple(path), key))
                        unknown.append((path + [key], "unknown field", key, known))
                continue
            key = (tuple(path), err.message)
            if key not in seen:
                seen.add(key)
                other.append((path, _message(err), None, ()))
    return unknown + other


def _message(err) -> str:
    if err.validator == "type":
        want = err.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        shown = repr(err.instance)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"expected {'an' if str(want)[0] in 'aeiou' else 'a'} {want}, got {shown}"
    if err.validator == "required":
        return err.message.replace("is a required property", "is required")
    if err.validator in ("oneOf", "anyOf"):
        shown = repr(err.instance)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"{shown} is not valid here"
    msg = err.message
    return msg if len(msg) <= 200 else msg[:197] + "..."
