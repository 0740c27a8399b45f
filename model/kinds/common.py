"""Field policies shared by every kind: metadata and status."""

from __future__ import annotations

from .manifest import MODELLED, inert, modelled, unmodelled

SERVER_SET = inert("set by the apiserver: the model starts from the manifests as just applied")
METADATA = modelled({
    "name": MODELLED, "namespace": MODELLED, "labels": MODELLED,
    "annotations": inert("annotations are read by no modelled component"),
    **{k: SERVER_SET for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                               "selfLink", "deletionGracePeriodSeconds")},
    "ownerReferences": unmodelled("garbage-collected", "stable-reconciliation",
                                  reason="an owner given in a manifest: the object is taken as unowned"),
    "finalizers": unmodelled("garbage-collected", "stable-reconciliation", reason="finalizers of other controllers"),
    "deletionTimestamp": unmodelled("*", reason="an object being deleted"),
    "generateName": MODELLED,
})
STATUS = inert("written by the controllers: the model starts from a fresh cluster")


def policy(**fields):
    """A kind's top-level field policy: apiVersion, kind, metadata and status as every kind has them."""
    return {"apiVersion": MODELLED, "kind": MODELLED, "metadata": METADATA, "status": STATUS, **fields}
