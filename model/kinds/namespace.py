"""Namespace (v1): a scope for names.  Only its existence is modelled (and, with the ServiceAccount
controller, its `default` ServiceAccount); a Namespace's deletion removes it, not its contents."""

from __future__ import annotations

from ..objects import Namespace
from . import Kind
from .common import policy
from .manifest import inert, meta

_POLICY = policy(spec=inert("finalizers of a Namespace: its deletion is not modelled beyond the object"))


def parse(doc) -> Namespace:
    return Namespace(meta=meta(doc, doc.raw, False, name_rule="label"))


KIND = Kind("Namespace", ("v1",), "namespaces", namespaced=False, parse=parse, policy=_POLICY, install_order=0,
            doc=__doc__)
