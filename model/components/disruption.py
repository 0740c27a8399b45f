"""The disruption controller of kube-controller-manager: each PodDisruptionBudget's status.

Follows pkg/controller/disruption/disruption.go (kubernetes/kubernetes):

* trySync: the budget's pods are every pod of its namespace its selector
  matches (getPodsForPdb: terminating and terminated pods too; no selector
  selects none, an empty one every pod).
* getExpectedPodCount: with maxUnavailable (integer or percentage) or a
  percentage minAvailable, expectedCount is the sum of the scales of the
  pods' controllers (getExpectedScale: a Deployment's spec.replicas for the
  pods of its ReplicaSets, getPodDeployment; a bare ReplicaSet's and a
  StatefulSet's spec.replicas, getPodReplicaSet and getPodStatefulSet; any
  other kind through its /scale subresource, getScaleController, which
  DaemonSets and Jobs do not implement: an error), pods without a controller
  left out (unmanagedPods, an event only); desiredHealthy is expectedCount
  minus maxUnavailable, or the percentage of it, each rounded up
  (GetScaledValueFromIntOrPercent with roundUp), never below 0.  With an
  integer minAvailable, desiredHealthy is that integer and expectedCount the
  number of pods selected.  With neither field both are 0.
* countHealthyPods: the pods selected that are Ready and not terminating.
* updatePdbStatus: disruptionsAllowed = currentHealthy - desiredHealthy, or
  0 where that is negative or expectedCount is 0; status.observedGeneration
  becomes the budget's generation.  Written through the status subresource
  (compare-and-swap on the budget's resourceVersion: a sync that read the
  budget before an eviction decremented it fails, 409, and syncs again).
  The write is skipped where the status would not change.
* failSafe: where the expected count cannot be computed (a pod's controller
  is not found, or has no scale), disruptionsAllowed is set to 0 and the rest
  of the status kept.

Each budget's sync is one weakly fair step, enabled while the status it
would write differs from the stored one (the informers' events and the
resync are abstracted into "eventually").

Abstracted: DisruptedPods (the pods an eviction granted and the controller
has not yet seen terminating, with their 2-minute DeletionTimeout and the
recheck queue) -- the model's eviction decrements the budget and deletes the
pod in one step (model/components/eviction.py), so any view that holds the
decrement holds the pod terminating too, and the map would always be empty
when the controller reads it; the DisruptionAllowed condition and its
reasons; the stale DisruptionTarget cleanup (syncStalePodDisruption: no
component reads the condition); events.
"""

from __future__ import annotations

import math
from typing import Iterator, List, Optional, Tuple

from explorer import Rule, label

from ..kinds import KINDS
from ..objects import DisruptionBudgetStatus, PodDisruptionBudget, evolve, labels_match
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"


def selects(pdb: PodDisruptionBudget, pod) -> bool:
    """getPodsForPdb's selector match: in the budget's namespace, its selector (none: no pod) matching the
    pod's labels (an empty selector matches every pod)."""
    return (pdb.selector is not None and pod.meta.namespace == pdb.meta.namespace
            and labels_match(pdb.selector, pod.meta.labels))


def pods_for_pdb(view, pdb: PodDisruptionBudget) -> list:
    """getPodsForPdb: every pod the budget selects, whatever its phase."""
    return [p for p in view.pods if selects(pdb, p)]


def scaled_value(value: str, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent with roundUp: an integer as it is, a percentage of `total`
    rounded up."""
    if value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def controller_scale(view, pod) -> Tuple[Optional[Tuple[int, int]], str]:
    """The (uid, scale) of the controller of `pod` as getExpectedScale's finders find it, or (None, why not)."""
    ref = next((r for r in pod.meta.owner_references if r.controller), None)
    if ref.kind == "ReplicaSet":
        rs = view.by_uid("ReplicaSet", ref.uid)
        if rs is None:
            return None, f"found no controllers for pod {pod.meta.name!r}"
        owner = next((r for r in rs.meta.owner_references if r.controller), None)
        if owner is not None and owner.kind == "Deployment":
            dep = view.by_uid("Deployment", owner.uid)
            if dep is not None:
                return (dep.meta.uid, dep.replicas), ""      # getPodDeployment
        return (rs.meta.uid, rs.replicas), ""                # getPodReplicaSet, or its /scale
    kind = KINDS.get(ref.kind)
    if kind is None or not kind.scalable:
        return None, f"{ref.kind.lower()}s does not implement the scale subresource"
    owner = view.by_uid(ref.kind, ref.uid)
    if owner is None:
        return None, f"found no controllers for pod {pod.meta.name!r}"
    return (owner.meta.uid, owner.replicas), ""               # getPodStatefulSet, getScaleController


def expected_scale(view, pods) -> Tuple[Optional[int], str]:
    """getExpectedScale: the sum of the scales of the pods' controllers (pods without one left out), or
    (None, the error)."""
    scales = {}
    for p in pods:
        if p.meta.controller_uid() is None:
            continue       # unmanagedPods: an event, not an error
        found, why = controller_scale(view, p)
        if found is None:
            return None, why
        scales[found[0]] = found[1]
    return sum(scales.values()), ""


def expected_pod_count(view, pdb: PodDisruptionBudget, pods) -> Tuple[Optional[Tuple[int, int]], str]:
    """getExpectedPodCount: (expectedCount, desiredHealthy), or (None, the error failSafe reports)."""
    if pdb.max_unavailable:
        expected, why = expected_scale(view, pods)
        if expected is None:
            return None, why
        return (expected, max(0, expected - scaled_value(pdb.max_unavailable, expected))), ""
    if pdb.min_available and not pdb.min_available.endswith("%"):
        return (len(pods), int(pdb.min_available)), ""
    if pdb.min_available:
        expected, why = expected_scale(view, pods)
        if expected is None:
            return None, why
        return (expected, scaled_value(pdb.min_available, expected)), ""
    return (0, 0), ""


def healthy(pod) -> bool:
    """What countHealthyPods counts: not terminating, and Ready (IsPodReady)."""
    return not pod.meta.deleting and pod.ready


def count_healthy_pods(pods) -> int:
    return sum(1 for p in pods if healthy(p))


def computed_status(view, pdb: PodDisruptionBudget) -> DisruptionBudgetStatus:
    """The status one sync writes (trySync, updatePdbStatus; failSafe where the expected count fails)."""
    pods = pods_for_pdb(view, pdb)
    counts, _ = expected_pod_count(view, pdb, pods)
    if counts is None:
        return evolve(pdb.status, disruptions_allowed=0)     # failSafe: the rest as it was
    expected, desired = counts
    current = count_healthy_pods(pods)
    allowed = current - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    return DisruptionBudgetStatus(observed_generation=pdb.meta.generation, current_healthy=current,
                                  desired_healthy=desired, expected_pods=expected, disruptions_allowed=allowed)


def status_written(s: ClusterState, nxt: ClusterState, pdb: PodDisruptionBudget) -> ClusterState:
    """After the controller's status write: the budget's voluntary evictions since its last computation start
    again from none (the history variable `disruption-budget-respected` reads, model/components/eviction.py)."""
    from .eviction import forget_granted
    return forget_granted(nxt, pdb)


def sync(s: ClusterState) -> Iterator:
    """The disruption controller recomputes a PodDisruptionBudget's status (currentHealthy, desiredHealthy,
    expectedPods, disruptionsAllowed) from the pods it selects and their controllers' scale, and writes it."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for pdb in view.poddisruptionbudgets:
            status = computed_status(view, pdb)
            if status == pdb.status:
                continue
            nxt = apiserver.update_status(s, evolve(pdb, status=status), pdb.meta.resource_version)
            if nxt is None or nxt is s:
                continue
            st = status
            yield (label("disruption", "sync", (("pdb", pdb.meta.key),) + by,
                         (("healthy", f"{st.current_healthy}/{st.desired_healthy}"),
                          ("allowed", st.disruptions_allowed))),
                   status_written(s, nxt, pdb))


def rules() -> List[Rule]:
    return [Rule("disruption.sync", sync, doc=sync.__doc__)]
