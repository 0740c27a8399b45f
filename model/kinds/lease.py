"""Lease (coordination.k8s.io/v1): leader election's record of who leads (model/components/
leaderelection.py).  Made by the replicas themselves, never by a manifest."""

from __future__ import annotations

from . import Kind


def encode(o, rec) -> None:
    rec["holder"] = o.holder


KIND = Kind("Lease", ("coordination.k8s.io/v1",), "leases", deletable=False, encode=encode, doc=__doc__)
