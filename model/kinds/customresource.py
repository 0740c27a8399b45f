"""CustomResourceDefinition (apiextensions.k8s.io/v1) and the objects of the kinds it defines.

A CRD makes the apiserver store and serve a new kind; the model keeps its group, kind, plural, scope,
versions and whether its versions have the status subresource.  An object of such a kind is a
`CustomObject`, its spec kept as the user wrote it (flattened to (path, value) pairs): only an operator of
the user's (spec.operators) reads it."""

from __future__ import annotations

from typing import Any

from ..objects import CustomObject, CustomResourceDefinition
from . import Kind
from .common import policy
from .manifest import MODELLED, NAME_RULES, check_name, inert, meta, modelled, short

_VERSION = {"name": MODELLED, "subresources": MODELLED,
            "*": inert("served, stored, schema, printer columns: the model stores what a manifest gives")}
_CRD_POLICY = policy(spec=modelled({"group": MODELLED, "names": MODELLED, "scope": MODELLED,
                                    "versions": modelled(_VERSION, items=True),
                                    "conversion": inert("one stored version is modelled"),
                                    "preserveUnknownFields": inert("validation of custom objects is not modelled")}))


def parse_crd(doc) -> CustomResourceDefinition:
    m = meta(doc, doc.raw, False)
    spec = doc.get(doc.raw, "spec", "", dict, required=True)
    names = doc.get(spec, "names", "spec", dict, required=True)
    scope = doc.get(spec, "scope", "spec", str, "Namespaced")
    if scope not in ("Namespaced", "Cluster"):
        raise doc.error("spec.scope", f"expected Namespaced or Cluster, got {short(scope)}")
    group = doc.get(spec, "group", "spec", str, required=True)
    plural = doc.get(names, "plural", "spec.names", str, required=True)
    check_name(doc, plural, "spec.names.plural", "dns1035")       # as the apiserver validates a CRD
    kind_name = doc.get(names, "kind", "spec.names", str, required=True)
    if not NAME_RULES["dns1035"][0].fullmatch(kind_name.lower()) or len(kind_name) > 63:
        raise doc.error("spec.names.kind", f"must be a DNS-1035 label once lowercased (a CamelCase word such as "
                        f"Backup), got {short(kind_name)}")
    if m.name != f"{plural}.{group}":
        raise doc.error("metadata.name", f"must be <plural>.<group>, {plural}.{group}, got {short(m.name)}")
    versions = doc.get(spec, "versions", "spec", list, required=True)
    if not versions:
        raise doc.error("spec.versions", "at least one version is required")
    versions = doc.items(spec, "versions", "spec")
    if "subresources" in spec:
        raise doc.error("spec.subresources", "apiextensions.k8s.io/v1 has subresources per version: "
                        "spec.versions[].subresources")
    with_status = [isinstance(doc.get(v, "subresources", vp, dict, {}).get("status"), dict) for vp, v in versions]
    if len(set(with_status)) > 1:
        raise doc.error("spec.versions", "a status subresource on some versions and not others is not modelled")
    return CustomResourceDefinition(meta=m, group=group, kind_name=kind_name,
                                    plural=plural, scope=scope,
                                    versions=tuple(str(doc.get(v, "name", vp, str, required=True))
                                                   for vp, v in versions),
                                    status_subresource=with_status[0])


def _flat(value: Any, prefix: str, out: list) -> None:
    if isinstance(value, dict):
        for k in sorted(value, key=str):
            _flat(value[k], f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flat(v, f"{prefix}[{i}]", out)
    else:
        out.append((prefix, str(value)))


def parse_custom_object(doc, crd: CustomResourceDefinition) -> CustomObject:
    """An object of a kind the scenario's CustomResourceDefinition `crd` defines."""
    api = doc.get(doc.raw, "apiVersion", "", str, required=True)   # a change's apply body is checked here
    group, _, version = api.partition("/")
    if group != crd.group or version not in crd.versions:
        raise doc.error("apiVersion", f"{crd.kind_name} is served as "
                        f"{', '.join(crd.group + '/' + v for v in crd.versions)} (CustomResourceDefinition "
                        f"{crd.meta.name}), got {short(api)}")
    m = meta(doc, doc.raw, crd.scope == "Namespaced")
    spec: list = []
    _flat(doc.raw.get("spec", {}), "", spec)
    return CustomObject(meta=m, api_version=api, custom_kind=crd.kind_name, spec=tuple(spec))


def encode_crd(o, rec) -> None:
    rec.update(group=o.group, kind=o.kind_name, plural=o.plural, scope=o.scope, versions=list(o.versions))


def encode(o, rec) -> None:
    from ..itf import itf_map
    rec.update(apiVersion=o.api_version, kind=o.custom_kind, spec=itf_map(o.spec))   # keyed by field path
    rec["generation"] = o.meta.generation
    if o.status.observed_generation:
        rec["status"] = {"observedGeneration": o.status.observed_generation}


class CRD_MODULE:   # the CRD's own entry, beside the custom objects'
    KIND = Kind("CustomResourceDefinition", ("apiextensions.k8s.io/v1",), "crds", namespaced=False,
                parse=parse_crd, policy=_CRD_POLICY, install_order=1,
                spec_fields=("group", "kind_name", "plural", "scope", "versions"), encode=encode_crd,
                hints=(("spec.subresources", "apiextensions.k8s.io/v1 has subresources per version: "
                                             "spec.versions[].subresources"),), doc=__doc__)


# Custom objects are parsed against their CRD (parse_custom_object), not from a manifest kind of their own.
KIND = Kind("CustomObject", (), "custom_objects", install_order=2, spec_fields=("spec",), encode=encode,
            doc=__doc__)
