"""The StatefulSet controller of kube-controller-manager.

Follows pkg/controller/statefulset (kubernetes/kubernetes):

* Identity (stateful_set_utils.go): a set's pod for ordinal i is named
  `<set>-<i>` (getPodName), not from generateName; it carries the template's
  labels and the identity labels `statefulset.kubernetes.io/pod-name` and
  `apps.kubernetes.io/pod-index` (updateIdentity, initIdentity), and a
  controller ownerReference to the set (newStatefulSetPod).  A pod's
  ordinal and parent are parsed back from its name (getParentNameAndOrdinal,
  `(.*)-([0-9]+)$`); its spec.hostname is its name and its spec.subdomain the
  set's spec.serviceName (updateIdentity), which give it the DNS name
  `<pod>.<serviceName>` through a Service of that name (model/components/
  dns.py); the set's pods are those it owns whose name's parent is
  the set (isMemberOf) and whose labels match its selector
  (getPodsForStatefulSet's ClaimPods with the isMemberOf filter).
* One sync (stateful_set_control.go, updateStatefulSet): the pods with an
  ordinal below spec.replicas are the replicas, those above are condemned.
  Unless the set is being deleted, each replica is processed in ordinal order
  (processReplica): a Failed or Succeeded one is deleted (and, once etcd no
  longer holds it, re-created under the same name by a later sync); a missing
  one is created; with OrderedReady (the monotonic policy, the default) the
  sync stops after that write, and stops without writing at a replica that is
  Terminating (isTerminating: deletionTimestamp set) or not Running and Ready
  (isRunningAndReady), so ordinal i is created only once every ordinal below
  it is Running and Ready.  Then the condemned pods, highest ordinal first
  (processCondemned): with OrderedReady one is deleted per sync, only when no
  condemned pod is Terminating and the one to delete is Running and Ready or
  is the first unhealthy pod (firstUnavailablePod); Parallel (allowsBurst)
  creates and deletes without waiting (runForAll with slowStartBatch), and
  skips Terminating condemned pods.
* A pod being deleted keeps its name until etcd no longer holds it: the
  controller never creates a second pod of one identity (a create of a name
  that exists fails, AlreadyExists: stateful_pod_control.go CreateStatefulPod).
  So a pod that taint eviction deleted gracefully on a crashed or cut-off
  Node stays Terminating for ever (no kubelet confirms the deletion) and the
  set stays short: at most one pod per identity.  A force deletion (grace 0)
  or PodGC (gcTerminating, on an out-of-service Node; gcOrphaned, once the
  Node is gone: model/components/podgc.py) removes it, and the controller
  re-creates it at once.
* Deletes are by name, without a uid precondition (DeletePod), as upstream:
  a sync acting on a stale view deletes whatever pod etcd holds under that
  name.

Each API write is one step: with OrderedReady a sync makes at most one;
with Parallel each write of the sync is a step of its own, the replicas'
(creates and deletes of Failed pods, in any order) before the condemned
pods' deletes, as one sync orders them.  The controller has no expectations
(upstream has none for StatefulSets: the names are its guard).

Abstracted or not modelled: status (replicas, readyReplicas, ... : no
property reads it), ControllerRevisions and rolling updates of a changed
template (updateStrategy, partition, maxUnavailable: pods keep the template
they were made with; warned at load), PersistentVolumeClaims
(volumeClaimTemplates, the retention policy, PodClaimIsStale: warned),
minReadySeconds (a pod is available once Ready), ordinals.start (ordinals
start at 0), UpdateStatefulPod's repair of a pod's identity (the pods the
controller makes always match it), adoption and release of pods by selector
(ClaimPods: only the pods it owns count).
"""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Tuple

from explorer import Rule, label

from ..objects import ObjectMeta, OwnerReference, Pod, StatefulSet, evolve, labels_match
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"      # apps.StatefulSetPodNameLabel
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"           # apps.PodIndexLabel (GA in 1.32)
_ORDINAL = re.compile(r"(.*)-([0-9]+)$")                   # statefulPodRegex


def parent_and_ordinal(name: str) -> Tuple[str, int]:
    """getParentNameAndOrdinal: the set a pod's name belongs to and its ordinal, or ("", -1)."""
    m = _ORDINAL.fullmatch(name)
    if m is None:
        return "", -1
    ordinal = int(m.group(2))
    return m.group(1), ordinal if ordinal < 2 ** 31 else -1   # strconv.ParseInt(_, 10, 32)


def ordinal_of_name(name: str) -> int:
    return parent_and_ordinal(name)[1]


def ordinal_of(pod: Pod) -> int:
    return ordinal_of_name(pod.meta.name)


def pod_name(sts: StatefulSet, ordinal: int) -> str:
    """getPodName."""
    return f"{sts.meta.name}-{ordinal}"


def is_member(sts: StatefulSet, pod: Pod) -> bool:
    """isMemberOf: the parent parsed from the pod's name is the set."""
    return parent_and_ordinal(pod.meta.name)[0] == sts.meta.name


def set_pods(view, sts: StatefulSet) -> List[Pod]:
    """The pods the controller syncs for `sts`: owned by it, members by name, matching its selector."""
    uid = sts.meta.uid
    return [p for p in view.pods
            if p.meta.namespace == sts.meta.namespace and p.meta.controller_uid() == uid and is_member(sts, p)
            and labels_match(sts.selector, p.meta.labels)]


def running_and_ready(p: Pod) -> bool:
    """isRunningAndReady (with minReadySeconds 0, also isRunningAndAvailable)."""
    return p.phase == "Running" and p.ready


def healthy(p: Pod) -> bool:
    """isHealthy: Running and Ready, and not Terminating."""
    return running_and_ready(p) and not p.meta.deleting


def new_pod(sts: StatefulSet, ordinal: int) -> Pod:
    """newStatefulSetPod: the template's pod with the ordinal's identity, owned by the set."""
    name = pod_name(sts, ordinal)
    labels = dict(sts.template.labels)
    labels[POD_NAME_LABEL] = name
    labels[POD_INDEX_LABEL] = str(ordinal)
    meta = ObjectMeta(namespace=sts.meta.namespace, name=name, labels=tuple(sorted(labels.items())),
                      owner_references=(OwnerReference("StatefulSet", sts.meta.name, sts.meta.uid, True),))
    # updateIdentity: the pod's hostname is its name, its subdomain the set's governing Service (serviceName).
    return Pod(meta=meta, spec=evolve(sts.template.spec, hostname=name, subdomain=sts.service_name))


Write = Tuple[str, int, Optional[Pod]]   # ("create", ordinal, None) | ("delete", ordinal, the pod as seen)


def sync_writes(sts: StatefulSet, pods: List[Pod]) -> List[Write]:
    """The writes one sync of `sts` makes from these pods (updateStatefulSet, processReplica,
    processCondemned), in order; with OrderedReady at most one."""
    if sts.meta.deleting:
        return []          # a set being deleted only has its status updated
    monotonic = sts.pod_management != "Parallel"   # allowsBurst
    replicas = {}
    condemned = []
    for p in pods:
        o = ordinal_of(p)
        if 0 <= o < sts.replicas:
            replicas[o] = p
        elif o >= 0:
            condemned.append(p)
    condemned.sort(key=ordinal_of, reverse=True)          # descendingOrdinal
    writes: List[Write] = []
    for o in range(sts.replicas):
        p = replicas.get(o)
        if p is not None and p.phase in ("Failed", "Succeeded"):
            if not p.meta.deleting:
                writes.append(("delete", o, p))
            if monotonic:
                return writes        # the new pod comes once etcd no longer holds this one
            continue
        if p is None:
            writes.append(("create", o, None))
            if monotonic:
                return writes
            continue
        if monotonic and (p.meta.deleting or not running_and_ready(p)):
            return writes            # waiting for it to terminate, or to be Running and Ready
    if writes:
        return writes                # Parallel: the condemned pods are processed after these writes
    # firstUnavailablePod: every replica is healthy here under OrderedReady, so it is the condemned pod of
    # the lowest ordinal that is not healthy (isUnavailable), if any.
    first = next((p for p in reversed(condemned) if not healthy(p)), None)
    for p in condemned:
        if p.meta.deleting:
            if monotonic:
                return writes        # waiting for it to terminate before scaling down further
            continue
        if monotonic and not running_and_ready(p) and p is not first:
            return writes
        writes.append(("delete", ordinal_of(p), p))
        if monotonic:
            return writes
    return writes


def _delete_by_name(s: ClusterState, namespace: str, name: str) -> Optional[ClusterState]:
    """DeletePod: DELETE by name, without preconditions (graceful for a pod bound to a node); None on
    NotFound."""
    cur = s.store.get("Pod", namespace, name)
    return None if cur is None else apiserver.delete(s, cur)


def _writes(s: ClusterState, op: str):
    """(label args, the set, the pod's name, the pod as seen or None) of each write of kind `op` a sync of some
    StatefulSet would make now."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for sts in view.statefulsets:
            for kind, ordinal, seen in sync_writes(sts, set_pods(view, sts)):
                if kind == op:
                    name = seen.meta.name if seen is not None else pod_name(sts, ordinal)
                    yield (("sts", sts.meta.key), ("pod", f"{sts.meta.namespace}/{name}")) + by, sts, name, seen


def create_pod(s: ClusterState) -> Iterator:
    """The controller creates a StatefulSet's missing pod under its ordinal's name (with OrderedReady, only
    once every lower ordinal is Running and Ready)."""
    for args, sts, name, _ in _writes(s, "create"):
        nxt = apiserver.create(s, new_pod(sts, ordinal_of_name(name)))   # None on AlreadyExists: the name is taken
        if nxt is not None:
            yield label("statefulset", "create_pod", args), nxt


def delete_pod(s: ClusterState) -> Iterator:
    """The controller deletes a StatefulSet's Failed pod (to re-create it) or a condemned one (scale down,
    highest ordinal first)."""
    for args, sts, name, seen in _writes(s, "delete"):
        nxt = _delete_by_name(s, sts.meta.namespace, name)
        if nxt is not None:
            why = seen.phase if seen.phase in ("Failed", "Succeeded") else "condemned"
            yield label("statefulset", "delete_pod", args, (("why", why),)), nxt


def rules() -> List[Rule]:
    return [Rule("statefulset.create_pod", create_pod, doc=create_pod.__doc__),
            Rule("statefulset.delete_pod", delete_pod, doc=delete_pod.__doc__)]
