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

* PersistentVolumeClaims (stateful_pod_control.go CreateStatefulPod,
  createPersistentVolumeClaims; stateful_set_utils.go getPersistentVolumeClaims,
  getPersistentVolumeClaimName, updateStorage): a pod of a set with
  volumeClaimTemplates names, for each template, the claim
  `<template>-<set>-<ordinal>`; the controller creates the claims that do
  not exist yet just before the pod, in the same step (upstream two writes,
  the claims first; a crash between them only leaves a claim that the next
  create re-uses).  The claims are kept when the pod goes (retention policy
  Retain, the default): a re-created pod finds its volume, wherever it is
  attached (model/components/attachdetach.py).

Each API write is one step: with OrderedReady a sync makes at most one;
with Parallel each write of the sync is a step of its own, the replicas'
(creates and deletes of Failed pods, in any order) before the condemned
pods' deletes, as one sync orders them.  The controller has no expectations
(upstream has none for StatefulSets: the names are its guard).

* Rolling updates (updateStatefulSet, its loop after the replicas and the
  condemned pods; newVersionedStatefulSetPod, getPodRevision,
  completeRollingUpdate in stateful_set_utils.go; getStatefulSetRevisions):
  a pod's revision is its label controller-revision-hash
  (apps.StatefulSetRevisionLabel), the name of the ControllerRevision of the
  template it was made from, `<set>-<hash of the template>`.  The update
  revision is the set's template's; the current revision is
  status.currentRevision (the update revision while that is empty).  A pod
  is created from the current revision's template where the strategy is
  RollingUpdate and its ordinal is below spec.updateStrategy.rollingUpdate.
  partition (below status.currentReplicas where rollingUpdate is absent), from
  the update revision's otherwise (OnDelete always).  Once a sync has
  nothing to create or delete for the replicas and the condemned pods (with
  OrderedReady: every replica Running and Ready), RollingUpdate deletes the
  pod of the highest ordinal at or above the partition whose revision is not
  the update revision and that is not Terminating, one per sync, and stops
  at the first pod (from the top) that is not Running and Ready; the next
  sync re-creates it at the update revision.  So the update goes from the
  highest ordinal down, each pod after the one above it is Running and Ready
  again.  A pod of the new revision that never gets Running and Ready (a
  broken template) stops OrderedReady before the update loop is reached, in
  processReplica: reverting the template does not help, the broken pod must
  be deleted by hand (kubernetes 67250; the docs' "forced rollback").
  Parallel reaches the loop and replaces it.  OnDelete never deletes for an
  update: a pod gets the new template when something else deletes it.  The
  status write (updateStatefulSetStatus) is a step of its own: it sets
  status.updateRevision, and status.currentRevision to the update revision
  once every pod of the set is of it, not Terminating, Running and Ready
  (completeRollingUpdate: updatedReplicas == readyReplicas == replicas,
  RollingUpdate only).

Revisions are tracked only in a scenario where some change applies a new
template to a StatefulSet (`revision_table`): elsewhere a set has one
revision, no pod would be deleted for an update, and the label and status
would be written with no property or controller reading them, so they are
left out (the state space and the pods' labels stay as they were).

Abstracted or not modelled: status but the two revisions (replicas,
readyReplicas, currentReplicas, ... : no property reads them; where
rollingUpdate is absent, status.currentReplicas is taken as the sync counts
it from its pods), ControllerRevision objects (a revision's name is computed
from its template, and the controller reads the current revision's template
from the table of the templates the scenario gives the set, as it would read
it from the ControllerRevision it created: creating one, its Revision number,
rollback by re-numbering an equal revision (same name here), collisionCount
and revisionHistoryLimit are not steps; no property counts them),
maxUnavailable (the MaxUnavailableStatefulSet gate: one pod at a time),
the claims' retention policy (Retain: warned where another is given) and
PodClaimIsStale,
minReadySeconds (a pod is available once Ready), ordinals.start (ordinals
start at 0), UpdateStatefulPod's repair of a pod's identity (the pods the
controller makes always match it), adoption and release of pods by selector
(ClaimPods: only the pods it owns count).
"""

from __future__ import annotations

import hashlib
import re
from typing import Dict, Iterator, List, Optional, Tuple

from explorer import Rule, label

from ..objects import ObjectMeta, OwnerReference, Pod, PodTemplate, StatefulSet, StatefulSetStatus, evolve, labels_match
from ..objects import PersistentVolumeClaim
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"      # apps.StatefulSetPodNameLabel
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"           # apps.PodIndexLabel (GA in 1.32)
REVISION_LABEL = "controller-revision-hash"               # apps.StatefulSetRevisionLabel
_ORDINAL = re.compile(r"(.*)-([0-9]+)$")                   # statefulPodRegex
_SAFE = "bcdfghjklmnpqrstvwxz2456789"                      # rand.SafeEncodeString's alphabet

Revisions = Dict[str, PodTemplate]     # a revision's name -> its template: the ControllerRevisions' data


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
    spec = evolve(sts.template.spec, hostname=name, subdomain=sts.service_name)
    if sts.claim_templates:   # updateStorage: a volume per volumeClaimTemplate, naming the ordinal's claim
        spec = evolve(spec, claims=tuple(sorted(set(spec.claims) | set(claim_names(sts, ordinal)))))
    return Pod(meta=meta, spec=spec)


def claim_names(sts: StatefulSet, ordinal: int) -> List[str]:
    """getPersistentVolumeClaimName: `<template>-<set>-<ordinal>` for each volumeClaimTemplate."""
    return [f"{t}-{sts.meta.name}-{ordinal}" for t, _ in sts.claim_templates]


def create_claims(s: ClusterState, sts: StatefulSet, ordinal: int) -> Optional[ClusterState]:
    """createPersistentVolumeClaims (stateful_pod_control.go, called by CreateStatefulPod before the pod): each
    claim of the ordinal that does not exist yet is created from its template; None where a create fails.
    The claims are not owned (persistentVolumeClaimRetentionPolicy Retain, the default): they outlive the pod
    and the set, and a re-created pod gets the same ones."""
    for (template, modes), name in zip(sts.claim_templates, claim_names(sts, ordinal)):
        if s.store.get("PersistentVolumeClaim", sts.meta.namespace, name) is not None:
            continue
        # (upstream also labels it with the selector's matchLabels: nothing here selects claims)
        claim = PersistentVolumeClaim(meta=ObjectMeta(namespace=sts.meta.namespace, name=name), access_modes=modes)
        s = apiserver.create(s, claim)
        if s is None:
            return None
    return s


def revision_name(set_name: str, template: PodTemplate) -> str:
    """The name of the ControllerRevision of `template` (history.ControllerRevisionName of the set's name and
    hashControllerRevision, rendered with rand.SafeEncodeString): `<set>-<hash>`, the same for equal templates.
    The hash is the model's own (sha256 of the template), stable across runs."""
    digest = hashlib.sha256(repr(template).encode()).digest()
    return f"{set_name}-" + "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


def update_revision(sts: StatefulSet) -> str:
    """getStatefulSetRevisions: the revision of the set's template."""
    return revision_name(sts.meta.name, sts.template)


def current_revision(sts: StatefulSet, revisions: Revisions) -> str:
    """getStatefulSetRevisions: status.currentRevision where that revision exists, else the update revision."""
    cur = sts.status.current_revision
    return cur if cur in revisions else update_revision(sts)


def pod_revision(p: Pod) -> str:
    """getPodRevision: the pod's controller-revision-hash label, "" without one."""
    return dict(p.meta.labels).get(REVISION_LABEL, "")


def revision_table(objects, changes) -> Optional[Revisions]:
    """The templates each StatefulSet of the scenario is given, by revision name, or None where no change applies
    a new template to a StatefulSet (revisions are then not tracked: see the module's docstring)."""
    table: Revisions = {}
    current = {}
    rolled = False
    for o in list(objects) + [c.obj for c in changes if c.op == "apply" and c.kind == "StatefulSet"]:
        if o is None or o.kind != "StatefulSet":
            continue
        key = (o.meta.namespace, o.meta.name)
        rolled = rolled or (key in current and current[key] != o.template)
        current[key] = o.template
        table[revision_name(o.meta.name, o.template)] = o.template
    return table if rolled else None


def current_replicas(pods: List[Pod], revision: str) -> int:
    """status.currentReplicas as a sync counts it (computeReplicaStatus): created pods of the current revision
    that are not Terminating."""
    return sum(1 for p in pods if not p.meta.deleting and pod_revision(p) == revision)


def versioned_pod(sts: StatefulSet, ordinal: int, pods: List[Pod], revisions: Optional[Revisions]) -> Pod:
    """newVersionedStatefulSetPod: the pod of `ordinal` from the current revision where the strategy is
    RollingUpdate and the ordinal is below the partition (below status.currentReplicas without rollingUpdate),
    else from the update revision; labelled with its revision.  Without revisions tracked, newStatefulSetPod."""
    if revisions is None:
        return new_pod(sts, ordinal)
    update, current = update_revision(sts), current_revision(sts, revisions)
    below = ordinal < (current_replicas(pods, current) if sts.partition is None else sts.partition)
    rev = current if sts.update_strategy == "RollingUpdate" and below else update
    made = new_pod(evolve(sts, template=revisions.get(rev, sts.template)), ordinal)
    labels = tuple(sorted(dict(made.meta.labels, **{REVISION_LABEL: rev}).items()))
    return evolve(made, meta=evolve(made.meta, labels=labels))


def status_of(sts: StatefulSet, pods: List[Pod], revisions: Revisions) -> StatefulSetStatus:
    """The revisions a sync writes to status (updateStatefulSet, completeRollingUpdate): the update revision,
    and the current one, which becomes the update revision once every pod of the set is of it, not
    Terminating, Running and Ready (RollingUpdate only)."""
    update, current = update_revision(sts), current_revision(sts, revisions)
    if sts.update_strategy == "RollingUpdate" and all(
            not p.meta.deleting and pod_revision(p) == update and running_and_ready(p) for p in pods):
        current = update
    return StatefulSetStatus(current_revision=current, update_revision=update)


def rolling_update_writes(sts: StatefulSet, replicas: Dict[int, Pod]) -> List["Write"]:
    """updateStatefulSet's update loop, once the replicas and condemned pods need nothing: from the highest
    ordinal down to the partition, delete the first pod not of the update revision (and not Terminating);
    stop at the first that is not Running and Ready (isUnavailable)."""
    if sts.update_strategy == "OnDelete":
        return []
    update = update_revision(sts)
    for target in range(sts.replicas - 1, (sts.partition or 0) - 1, -1):
        p = replicas.get(target)
        if p is None:
            return []         # not created yet: unavailable
        if pod_revision(p) != update and not p.meta.deleting:
            return [("delete", target, p)]
        if not healthy(p):
            return []
    return []


Write = Tuple[str, int, Optional[Pod]]   # ("create", ordinal, None) | ("delete", ordinal, the pod as seen)


def sync_writes(sts: StatefulSet, pods: List[Pod], revisions: Optional[Revisions] = None) -> List[Write]:
    """The writes one sync of `sts` makes from these pods (updateStatefulSet, processReplica,
    processCondemned, then the rolling update where `revisions` are tracked), in order; with OrderedReady at
    most one."""
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
    if writes or revisions is None:
        return writes        # Parallel: the update loop comes after the condemned pods' deletes
    return rolling_update_writes(sts, replicas)


def _delete_by_name(s: ClusterState, namespace: str, name: str) -> Optional[ClusterState]:
    """DeletePod: DELETE by name, without preconditions (graceful for a pod bound to a node); None on
    NotFound."""
    cur = s.store.get("Pod", namespace, name)
    return None if cur is None else apiserver.delete(s, cur)


def _writes(s: ClusterState, op: str, revisions: Optional[Revisions] = None):
    """(label args, the set, the pod's name, the pod as seen or None, the set's pods as seen) of each write of
    kind `op` a sync of some StatefulSet would make now."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for sts in view.statefulsets:
            pods = set_pods(view, sts)
            for kind, ordinal, seen in sync_writes(sts, pods, revisions):
                if kind == op:
                    name = seen.meta.name if seen is not None else pod_name(sts, ordinal)
                    yield (("sts", sts.meta.key), ("pod", f"{sts.meta.namespace}/{name}")) + by, sts, name, seen, pods


def rules(revisions: Optional[Revisions] = None) -> List[Rule]:
    """The controller's steps; `revisions` (revision_table), where the scenario rolls a StatefulSet to a new
    template: pods are versioned, updated by ordinal, and the status write is a step."""

    def create_pod(s: ClusterState) -> Iterator:
        """The controller creates a StatefulSet's missing pod under its ordinal's name (with OrderedReady, only
        once every lower ordinal is Running and Ready), from the revision its ordinal gets."""
        for args, sts, name, _, pods in _writes(s, "create", revisions):
            nxt = create_claims(s, sts, ordinal_of_name(name)) if sts.claim_templates else s
            nxt = None if nxt is None else apiserver.create(nxt, versioned_pod(sts, ordinal_of_name(name), pods,
                                                                                 revisions))
            if nxt is not None:     # None on AlreadyExists: the name is taken
                yield label("statefulset", "create_pod", args), nxt

    def delete_pod(s: ClusterState) -> Iterator:
        """The controller deletes a StatefulSet's Failed pod (to re-create it), a condemned one (scale down,
        highest ordinal first) or one of an old revision (rolling update, highest ordinal first)."""
        for args, sts, name, seen, _ in _writes(s, "delete", revisions):
            nxt = _delete_by_name(s, sts.meta.namespace, name)
            if nxt is not None:
                why = (seen.phase if seen.phase in ("Failed", "Succeeded") else
                       "condemned" if ordinal_of(seen) >= sts.replicas else "update")
                yield label("statefulset", "delete_pod", args, (("why", why),)), nxt

    def update_status(s: ClusterState) -> Iterator:
        """The controller writes a StatefulSet's status.currentRevision and updateRevision where they differ
        from what its sync computes (updateStatefulSetStatus, through the status subresource)."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for sts in view.statefulsets:
                status = status_of(sts, set_pods(view, sts), revisions)
                if status == sts.status:
                    continue
                nxt = apiserver.update_status(s, evolve(sts, status=status), sts.meta.resource_version)
                if nxt is not None:
                    yield label("statefulset", "update_status", (("sts", sts.meta.key),) + by,
                                (("currentRevision", status.current_revision),
                                 ("updateRevision", status.update_revision))), nxt

    out = [Rule("statefulset.create_pod", create_pod, doc=create_pod.__doc__),
           Rule("statefulset.delete_pod", delete_pod, doc=delete_pod.__doc__)]
    if revisions is not None:
        out.append(Rule("statefulset.update_status", update_status, doc=update_status.__doc__))
    return out
