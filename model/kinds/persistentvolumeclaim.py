"""PersistentVolumeClaim (v1): a pod's claim to a volume (model/components/attachdetach.py).

Modelled: the claim's name and spec.accessModes.  A claim is taken as bound at once to a volume of its own
(the PersistentVolume controller's binding and the external provisioner's dynamic provisioning are not steps:
the volume exists as soon as the claim does, named by the claim), network-attached storage that any node can
attach: one node at a time where the access modes include ReadWriteOnce or ReadWriteOncePod (upstream
util.IsMultiAttachAllowed: a volume whose access modes list neither may attach to several nodes).  What the
claim asks of storage beyond that is not modelled: its size (no property counts storage), storageClassName
(provisioning, the volume's zone: the scheduler's VolumeBinding and VolumeZone filters would keep a pod on
the nodes of its volume's zone; here every node can reach every volume), volumeName and selector (binding to
a pre-provisioned PersistentVolume), volumeMode and dataSource (what is in the volume).
"""

from __future__ import annotations

from ..objects import PersistentVolumeClaim
from . import Kind
from .common import policy
from .manifest import MODELLED, inert, meta, modelled, short, unmodelled

MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
SINGLE_NODE = ("ReadWriteOnce", "ReadWriteOncePod")
PLACEMENT = ("statefulset-converges", "deployment-converges", "n-plus-one-capacity")
SPEC = modelled({
    "accessModes": MODELLED,
    "resources": inert("the claim's size: no property counts storage"),
    "storageClassName": unmodelled(*PLACEMENT, reason="provisioning and the volume's zone (VolumeBinding, "
                                                      "VolumeZone): every node is taken to reach every volume"),
    "volumeName": unmodelled(*PLACEMENT, reason="binding to a pre-provisioned PersistentVolume"),
    "selector": unmodelled(*PLACEMENT, reason="binding to a pre-provisioned PersistentVolume"),
    "volumeMode": inert("what is in the volume: no property reads it"),
    "dataSource": inert("what is in the volume: no property reads it"),
    "dataSourceRef": inert("what is in the volume: no property reads it"),
    "volumeAttributesClassName": inert("the volume's performance: no property reads it"),
})
_POLICY = policy(spec=SPEC)


def access_modes(doc, spec: dict, fpath: str) -> tuple:
    """spec.accessModes as ValidatePersistentVolumeClaimSpec checks them: at least one, each a known mode."""
    modes = doc.get(spec, "accessModes", fpath, list, [])
    if not modes:
        raise doc.error(f"{fpath}.accessModes", "at least 1 access mode is required")
    for m in modes:
        if m not in MODES:
            raise doc.error(f"{fpath}.accessModes", f"expected one of {', '.join(MODES)}, got {short(m)}")
    return tuple(sorted(set(modes)))


def single_node(modes) -> bool:
    """Not util.IsMultiAttachAllowed: the volume attaches to one node at a time."""
    return any(m in SINGLE_NODE for m in modes)


def parse(doc) -> PersistentVolumeClaim:
    m = meta(doc, doc.raw, True)
    spec = doc.get(doc.raw, "spec", "", dict, required=True)
    return PersistentVolumeClaim(meta=m, access_modes=access_modes(doc, spec, "spec"))


def encode(o, rec) -> None:
    rec["accessModes"] = list(o.access_modes)


KIND = Kind("PersistentVolumeClaim", ("v1",), "persistentvolumeclaims", parse=parse, policy=_POLICY,
            install_order=2.5, deletable=False, encode=encode, doc=__doc__)
