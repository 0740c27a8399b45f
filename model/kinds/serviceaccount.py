"""ServiceAccount (v1): an identity for pods; the ServiceAccount admission plugin refuses a pod whose
account does not exist yet (model/components/serviceaccount.py)."""

from __future__ import annotations

from ..objects import ServiceAccount
from . import Kind
from .common import policy
from .manifest import inert, meta

_POLICY = policy(**{k: inert("credentials: no property depends on them")
                    for k in ("secrets", "imagePullSecrets", "automountServiceAccountToken")})


def parse(doc) -> ServiceAccount:
    return ServiceAccount(meta=meta(doc, doc.raw, True))


KIND = Kind("ServiceAccount", ("v1",), "serviceaccounts", parse=parse, policy=_POLICY, install_order=0.5, doc=__doc__)
