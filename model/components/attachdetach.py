"""The attach/detach controller of kube-controller-manager, and the attachment of volumes to nodes.

Follows pkg/controller/volume/attachdetach (kubernetes/kubernetes):

* Desired state of world (populator/desired_state_of_world_populator.go,
  util.ProcessPodVolumes, volumeutil.IsPodTerminated): each volume of a pod
  bound to a node, while the pod is not terminated.  A pod counts as
  terminated when its phase is Succeeded or Failed, or it is being deleted
  and its containers do not run (as its status reports them): a pod stuck
  Terminating on a Node that is down still reports them running, so its
  volumes stay desired there until the pod is gone (PodGC's gcTerminating or
  a force deletion).  A volume is a PersistentVolumeClaim's (model/kinds/
  persistentvolumeclaim.py): bound at once to a volume of its own, named by
  the claim (`ns/name`), network-attached storage that every node reaches.
* Actual state of world: `ClusterState.attachments`, (claim, node) pairs:
  the storage's attachments, which the controller's cache and the
  VolumeAttachment objects of a CSI driver record (abstracted as one: the
  controller knows exactly what is attached; VolumeAttachment objects and the
  external-attacher's ControllerPublish/Unpublish are not steps of their own).
* reconciler.go `reconcile`: detach first, then attach (attachDesiredVolumes).
  A volume attached to a node where it is no longer desired is detached
  unless it is still mounted there (MountedByNode, from the Node's
  status.volumesInUse, which the kubelet reports), but for two exceptions:
  the Node has the taint node.kubernetes.io/out-of-service (hasOutOfServiceTaint,
  any value and effect; GA in 1.28: non-graceful node shutdown), or the
  Node is not Ready (nodeIsHealthy) and maxWaitForUnmountDuration (6 min)
  has passed since the detach was first wanted (forceDetach, unless
  kube-controller-manager runs with --disable-force-detach-on-timeout, since
  1.30: `behaviour.forceDetachOnTimeout: false`).  The six minutes are
  abstracted: the forced detach is a weakly fair step like the others.  So
  upstream, by default, a volume does not stay attached for ever to a Node
  that is down once no pod there wants it: it is force-detached after the
  timeout; only where the force detach on timeout is disabled does it stay
  attached until the out-of-service taint.  (This brief's first reading, "the
  timeout force-detaches only where the node is healthy", is the opposite of
  reconciler.go: forceDetach := !isHealthy && forceDetachTimeoutExpired.)
  A volume desired on a node and attached nowhere is attached there; a
  ReadWriteOnce volume attached to another node is not (the Multi-Attach
  error, util.IsMultiAttachAllowed: reportMultiAttachError), a volume whose
  access modes allow it attaches to several nodes.
* MountedByNode, abstracted: a node whose kubelet reports (machine and
  kubelet up, reachable) has it mounted while a container of a pod using it
  runs there (`RunningPod.volumes`; the kubelet's volume manager unmounts
  when the pod's containers stop: the same step here); a node whose kubelet
  cannot report keeps its last report, taken as listing every volume
  attached there (a pod bound there may have been about to mount it).
* What a detach does to a node that still runs a container mounting the
  volume (a Node only cut off from the control plane, wrongly tainted
  out-of-service, or force-detached on the timeout): the controller's
  detach is a ControllerUnpublishVolume of the CSI driver, which for the
  network-attached storage most drivers provide succeeds without the node's
  cooperation (the CSI spec requires NodeUnpublish first, the force detach
  skips that: the Kubernetes documentation's "Non-graceful node shutdown"
  and "Storage: force detach on timeout" warn that it may corrupt data).
  The model keeps the old container running with the volume mounted, and
  lets the volume attach to the next node: `volume-single-attach` is then
  violated.  Drivers that fence the old node (refuse the attach while the
  old one may write) are not modelled.

The kubelet (model/components/kubelet.py) starts a pod's containers only
once every claim's volume is attached to its node (the volume manager's
WaitForAttachAndMount, reading node.status.volumesAttached: abstracted as
reading the attachments).  Not modelled: the scheduler's VolumeBinding,
VolumeZone and NodeVolumeLimits filters (every node reaches every volume, no
limit on attachments per node: a ReadWriteOnce volume does not constrain
scheduling, only where the containers can start), the PersistentVolume
controller's binding and provisioning, the reconciler's sync of attached
volumes (VerifyVolumesAreAttached), ReadWriteOncePod's one-pod rule (taken
as ReadWriteOnce), volumes of a pod's own spec (a Pod manifest's
persistentVolumeClaim volumes are warned), in-tree plugins without attach.
Composed only where a scenario has a StatefulSet with volumeClaimTemplates
or a PersistentVolumeClaim (model/compose.py).
"""

from __future__ import annotations

from typing import Iterator, List, Optional

from explorer import Rule, label

from ..kinds.persistentvolumeclaim import single_node
from ..objects import Pod, evolve
from ..state import ClusterState
from . import leaderelection
from .podgc import out_of_service

CLIENT = "kube-controller-manager"


def claim_keys(pod: Pod) -> List[str]:
    """The volumes (claims, `ns/name`) a pod's spec names."""
    return [f"{pod.meta.namespace}/{c}" for c in pod.spec.claims]


def desired(pod: Pod) -> bool:
    """The pod's volumes are in the desired state of world: bound, and not terminated (volumeutil.IsPodTerminated:
    a terminal phase, or deleted with no container running as its status reports)."""
    if not pod.spec.node_name or pod.phase in ("Succeeded", "Failed"):
        return False
    return not (pod.meta.deleting and pod.phase != "Running")


def attached_to(s: ClusterState, claim: str) -> List[str]:
    return [n for c, n in s.attachments if c == claim]


def mounted_by_node(s: ClusterState, claim: str, node: str, last_report: bool = True) -> bool:
    """MountedByNode as the Node's status.volumesInUse reports it (see the module docstring); `last_report`
    False: a node whose kubelet cannot report is taken as having unmounted everything (wrong: for the tests)."""
    h = s.host(node)
    if h is None:
        return False
    if h.up and h.kubelet_up and h.reachable:
        return any(claim in rp.volumes for rp in h.pods)
    return last_report


def all_attached(s: ClusterState, pod: Pod, node: str) -> bool:
    """Every volume the pod names is attached to `node` (the kubelet's WaitForAttachAndMount)."""
    return all((c, node) in s.attachments for c in claim_keys(pod))


def _single(view, claim: str) -> bool:
    ns, name = claim.split("/", 1)
    pvc = view.get("PersistentVolumeClaim", ns, name)
    return pvc is None or single_node(pvc.access_modes)


def rules(force_on_timeout: bool = True, honour_unhealthy: bool = True) -> List[Rule]:
    """The controller's two steps.  `honour_unhealthy` False is a broken controller, for the tests: it detaches
    a volume from a node that cannot report as if the kubelet had unmounted it."""

    def why_detach(s: ClusterState, view, claim: str, node: str) -> Optional[str]:
        n = view.get("Node", "", node)
        if not mounted_by_node(s, claim, node, last_report=honour_unhealthy):
            return "unmounted"
        if n is not None and out_of_service(n):
            return "out-of-service"
        if force_on_timeout and (n is None or n.ready != "True"):
            return "timeout"
        return None

    def detach(s: ClusterState) -> Iterator:
        """The controller detaches a volume from a node where no pod wants it, once the kubelet there has
        unmounted it, or at once where the Node is out-of-service, or after the timeout where it is not Ready."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            wanted = {(c, p.spec.node_name) for p in view.pods if desired(p) for c in claim_keys(p)}
            for claim, node in s.attachments:
                if (claim, node) in wanted:
                    continue
                why = why_detach(s, view, claim, node)
                if why is None:
                    continue
                rest = tuple(a for a in s.attachments if a != (claim, node))
                yield (label("attachdetach", "detach", (("volume", claim), ("node", node)) + by, (("why", why),)),
                       evolve(s, attachments=rest))

    def attach(s: ClusterState) -> Iterator:
        """The controller attaches the volume of a pod bound to a node there, unless a ReadWriteOnce volume is
        attached to another node (Multi-Attach error)."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            seen = set()
            for p in view.pods:
                if not desired(p):
                    continue
                for claim in claim_keys(p):
                    node = p.spec.node_name
                    if (claim, node) in seen or (claim, node) in s.attachments:
                        continue
                    seen.add((claim, node))
                    ns, name = claim.split("/", 1)
                    if view.get("PersistentVolumeClaim", ns, name) is None:
                        continue   # not bound: no volume yet
                    if attached_to(s, claim) and _single(view, claim):
                        continue   # Multi-Attach error
                    yield (label("attachdetach", "attach", (("volume", claim), ("node", node)) + by),
                           evolve(s, attachments=tuple(sorted(s.attachments + ((claim, node),)))))

    return [Rule("attachdetach.detach", detach, doc=detach.__doc__),
            Rule("attachdetach.attach", attach, doc=attach.__doc__)]


def volumes_modelled(sc) -> bool:
    """Whether the scenario has volumes: a StatefulSet with volumeClaimTemplates or a PersistentVolumeClaim, in
    its manifests or its changes (the cone of influence of this controller and of `volume-single-attach`)."""
    declared = list(sc.objects) + [c.obj for c in sc.changes if getattr(c, "obj", None) is not None]
    return any((o.kind == "StatefulSet" and o.claim_templates) or o.kind == "PersistentVolumeClaim"
               for o in declared)
