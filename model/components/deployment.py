"""The Deployment controller of kube-controller-manager.

Modelled (pkg/controller/deployment): one ReplicaSet per pod-template hash,
named `<deployment>-<hash>`, with the hash as label `pod-template-hash` on
its selector and template (the hash is computed as Kubernetes does: FNV-32a
over the template, rendered with rand.SafeEncodeString).  A RollingUpdate
sync (rolling.go) scales the new ReplicaSet up while the ReplicaSets'
spec.replicas sum to at most replicas + maxSurge (NewRSNewReplicas counts
spec.replicas, not pods: an old ReplicaSet whose controller has not yet
deleted its extra pods lets the pods briefly exceed the surge), and old
ReplicaSets down within what the spec counts and the new ReplicaSet's
unavailable pods allow (reconcileOldReplicaSets), unhealthy ones first,
while at least replicas − maxUnavailable pods stay available; `Recreate` scales the old ones to zero
and waits until their pods are gone (recreate.go) before it creates or
scales up the new one.  With one ReplicaSet, a change of spec.replicas scales it.  Each write
is one step.

Deployment status (sync.go syncRolloutStatus / calculateStatus), composed
where something reads it (a `rolloutStatus` change): the controller writes
observedGeneration (the generation of the spec it synced), replicas,
updatedReplicas and availableReplicas through the status subresource, as a
step of its own whenever what it computes from its view differs from what
is stored (the real controller writes it at the end of the sync that
scaled; as a step of its own it may also come later, never from another
view than one the controller acts on).

Scaling, pause, history and progress (sync.go scale, FindActiveOrLatest,
IsSaturated, GetProportion, getReplicaSetFraction; deployment_controller.go
syncDeployment and isScalingEvent; cleanupDeployment; progress.go
syncRolloutStatus with DeploymentProgressing and DeploymentTimedOut;
deploymentutil.IsPodAvailable): every scale writes the annotations
desired-replicas and max-replicas; an active ReplicaSet whose desired-replicas
differs from spec.replicas is a scaling event, served as a paused Deployment
is, by `sync` (never a rollout: a paused Deployment gets no ReplicaSet for a
new template): the only active ReplicaSet takes the new size, a saturated new
one leaves the old ones at 0, otherwise the difference to replicas + maxSurge
is shared in proportion to each ReplicaSet's max-replicas, larger first, the
leftover to the first; then old ReplicaSets beyond revisionHistoryLimit (10
by default) of no replicas and no pods are deleted.  A rollout with nothing
left to scale cleans up once complete.

Abstracted: availability is read from the pods (Ready, not terminating, and
with minReadySeconds Ready that long: `Pod.ready_long`, set by the step
`time.min_ready_elapsed`, time abstracted) instead of from ReplicaSet
status, and the status counts pods the same way (ReplicaSet status is not
modelled: the ReplicaSet controller counts the same pods from its own
view).  DeploymentComplete, for cleanup, is read from the status the
controller computes from its view rather than the one stored.  The writes
of one proportional scale are one step.  Cleanup orders old ReplicaSets by
creation, standing for the revision annotation (a rollback's new revision is
not modelled).  The progress deadline passes (`time.progress_deadline_exceeded`)
only where the rollout is incomplete and no other weakly fair rule can act:
a rollout that moves keeps renewing its Progressing condition, one that is
stuck sits there until the deadline (a rollout that loops for ever, creating
and losing pods, is never timed out here).  Only the Progressing condition's
ProgressDeadlineExceeded is kept (`DeploymentStatus.timed_out`), written where
a `rolloutStatus` change reads status; other conditions are not modelled.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Iterator, List, Optional

import attrs

from explorer import Rule, label

from ..objects import (Deployment, DeploymentStatus, ObjectMeta, OwnerReference, PodTemplate, ReplicaSet, evolve,
                       LabelSelector, labels_match)
from ..state import ClusterState
from . import apiserver, leaderelection
from .replicaset import owned_active_pods
from ..kinds.deployment import NO_DEADLINE

CLIENT = "kube-controller-manager"
HASH_LABEL = "pod-template-hash"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def safe_encode(s: str) -> str:
    """k8s.io/apimachinery/pkg/util/rand.SafeEncodeString."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in s)


@functools.lru_cache(maxsize=4096)
def template_hash(t: PodTemplate) -> str:
    """controller.ComputeHash: FNV-32a of the pod template, safe-encoded."""
    # Fields left at their default are omitted, so that a field the model gains later does not
    # change the hash (and the ReplicaSet names) of templates that do not use it.
    fields = attrs.asdict(t, filter=lambda a, v: not (a.default is not attrs.NOTHING and v == a.default))
    data = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return safe_encode(str(h))


def resolve(value: str, replicas: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent for maxSurge (up) and maxUnavailable (down)."""
    v = str(value)
    if v.endswith("%"):
        x = int(v[:-1]) * replicas / 100
        return math.ceil(x) if round_up else math.floor(x)
    return int(v)


def owned_replicasets(view, d: Deployment) -> List[ReplicaSet]:
    return [rs for rs in view.replicasets
            if rs.meta.namespace == d.meta.namespace and rs.meta.controller_uid() == d.meta.uid]


def new_replicaset_of(view, d: Deployment) -> Optional[ReplicaSet]:
    h = template_hash(d.template)
    for rs in owned_replicasets(view, d):
        if dict(rs.meta.labels).get(HASH_LABEL) == h:
            return rs
    return None


def available(p, min_ready_seconds: int) -> bool:
    """podutil.IsPodAvailable: Ready, and Ready for at least minReadySeconds (abstract time: `ready_long`)."""
    return p.ready and (min_ready_seconds == 0 or p.ready_long)


def available_pods(view, rs: ReplicaSet) -> int:
    return sum(1 for p in view.pods
               if p.active and available(p, rs.min_ready_seconds) and p.meta.controller_uid() == rs.meta.uid
               and labels_match(rs.selector, p.meta.labels))


def _old_pods_running(view, old: List[ReplicaSet]) -> bool:
    """recreate.go oldPodsRunning: a pod of an old ReplicaSet that is neither Succeeded nor Failed."""
    uids = {rs.meta.uid for rs in old}
    return any(p.meta.controller_uid() in uids and p.phase not in ("Succeeded", "Failed") for p in view.pods)


def _with_hash(labels, h):
    """Labels (or a selector) with pod-template-hash added, as the ReplicaSet of a template gets them."""
    if labels.__class__ is LabelSelector:
        return labels.with_label(HASH_LABEL, h)
    return tuple(sorted(dict(labels, **{HASH_LABEL: h}).items()))


def max_surge(d: Deployment) -> int:
    """deploymentutil.MaxSurge: 0 for Recreate."""
    return 0 if d.strategy == "Recreate" else resolve(d.rolling.max_surge, d.replicas, True)


def _scaled(rs: ReplicaSet, replicas: int, d: Deployment) -> ReplicaSet:
    """sync.go scaleReplicaSet: the new size, with the annotations desired-replicas and max-replicas
    (SetReplicasAnnotations)."""
    return evolve(rs, replicas=replicas, desired_replicas=d.replicas, max_replicas=d.replicas + max_surge(d))


def _scale(s: ClusterState, rs: ReplicaSet, replicas: int, d: Deployment) -> Optional[ClusterState]:
    """scaleReplicaSetAndRecordEvent: one write where the size changes."""
    return apiserver.update(s, _scaled(rs, replicas, d), rs.meta.resource_version)


def is_scaling_event(d: Deployment, rss: List[ReplicaSet]) -> bool:
    """deployment_controller.go isScalingEvent: an active ReplicaSet's desired-replicas annotation differs
    from spec.replicas (a user, or an autoscaler, scaled the Deployment)."""
    return any(rs.replicas > 0 and rs.desired_replicas >= 0 and rs.desired_replicas != d.replicas for rs in rss)


def find_active_or_latest(new: Optional[ReplicaSet], old: List[ReplicaSet]) -> Optional[ReplicaSet]:
    """deploymentutil.FindActiveOrLatest: the only active ReplicaSet, or the newest where none is active;
    None where several are active (they are scaled proportionally)."""
    if new is None and not old:
        return None
    newest_first = sorted(old, key=lambda rs: rs.meta.uid, reverse=True)
    active = [rs for rs in newest_first + ([new] if new is not None else []) if rs.replicas > 0]
    if not active:
        return new if new is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def is_saturated(view, d: Deployment, rs: Optional[ReplicaSet]) -> bool:
    """deploymentutil.IsSaturated: the new ReplicaSet has all of spec.replicas, by size, by annotation, and
    available."""
    return (rs is not None and rs.replicas == d.replicas and rs.desired_replicas == d.replicas
            and available_pods(view, rs) == d.replicas)


def _round(x: float) -> int:
    """integer.RoundToInt32 (math.Round: halves away from zero)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def replica_set_fraction(rs: ReplicaSet, d: Deployment) -> int:
    """deploymentutil.getReplicaSetFraction: the ReplicaSet's share of the new size, from its max-replicas
    annotation (the Deployment's size + maxSurge when it was last scaled), less its size."""
    if d.replicas == 0:
        return -rs.replicas
    deployment_replicas = d.replicas + max_surge(d)
    annotated = rs.max_replicas if rs.max_replicas > 0 else d.status.replicas
    if annotated <= 0:
        return 0
    return _round(rs.replicas * deployment_replicas / annotated) - rs.replicas


def proportion(rs: ReplicaSet, d: Deployment, to_add: int, added: int) -> int:
    """deploymentutil.GetProportion."""
    if rs.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    fraction, allowed = replica_set_fraction(rs, d), to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def scale_plan(view, d: Deployment, new: Optional[ReplicaSet], old: List[ReplicaSet]) -> List[ReplicaSet]:
    """sync.go scale: the ReplicaSets to write for a scaling event (or a paused Deployment's resync), each
    with its new size and annotations; [] where nothing is to be written."""
    only = find_active_or_latest(new, old)
    if only is not None:
        return [] if only.replicas == d.replicas else [_scaled(only, d.replicas, d)]
    if is_saturated(view, d, new):
        return [_scaled(rs, 0, d) for rs in sorted(old, key=lambda rs: rs.meta.uid) if rs.replicas > 0]
    if d.strategy != "RollingUpdate":
        return []
    rss = [rs for rs in old + ([new] if new is not None else []) if rs.replicas > 0]
    allowed = d.replicas + max_surge(d) if d.replicas > 0 else 0
    to_add = allowed - sum(rs.replicas for rs in rss)
    if to_add > 0:      # ReplicaSetsBySizeNewer: larger first, then newer first
        rss.sort(key=lambda rs: (-rs.replicas, -rs.meta.uid))
    elif to_add < 0:    # ReplicaSetsBySizeOlder: larger first, then older first
        rss.sort(key=lambda rs: (-rs.replicas, rs.meta.uid))
    sizes, added = [], 0
    for rs in rss:
        p = proportion(rs, d, to_add, added) if to_add != 0 else 0
        sizes.append(rs.replicas + p)
        added += p
    if rss and to_add != 0:    # leftovers to the largest
        sizes[0] = max(0, sizes[0] + to_add - added)
    out = [_scaled(rs, n, d) for rs, n in zip(rss, sizes)]
    return [rs for rs, cur in zip(out, rss) if rs != cur]


def _write_all(s: ClusterState, view, rss: List[ReplicaSet]) -> Optional[ClusterState]:
    """The writes of one proportional scale, as one step (a crash between them is not modelled)."""
    for rs in rss:
        cur = view.by_uid("ReplicaSet", rs.meta.uid)
        s = apiserver.update(s, rs, cur.meta.resource_version) if s is not None else None
    return s


def cleanup(s: ClusterState, view, d: Deployment, old: List[ReplicaSet]):
    """sync.go cleanupDeployment: beyond revisionHistoryLimit, the oldest old ReplicaSets of no replicas and
    no pods are deleted (one per step; by creation, which stands for the revision annotation)."""
    alive = sorted((rs for rs in old if not rs.meta.deleting), key=lambda rs: rs.meta.uid)
    for rs in alive[:max(0, len(alive) - d.revision_history_limit)]:
        if rs.replicas == 0 and not owned_active_pods(view, rs):
            nxt = apiserver.delete(s, rs)
            return ("cleanup", nxt) if nxt is not None else None
    return None


def _sync(s: ClusterState, view, d: Deployment, new, old):
    """sync.go sync: a scaling event, or a paused Deployment: scale proportionally, then clean up; no rollout
    (a paused Deployment gets no ReplicaSet for a new template)."""
    plan = scale_plan(view, d, new, old)
    if plan:
        return "scale_proportionally" if len(plan) > 1 else "scale", _write_all(s, view, plan)
    return cleanup(s, view, d, old)


def sync(s: ClusterState) -> Iterator:
    """The controller takes one step of a Deployment's rollout: create, scale up or scale down a ReplicaSet."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for d in view.deployments:
            if d.meta.deleting:
                continue
            step = _sync_one(s, view, d)
            if step is not None and step[1] is not None:
                action, nxt = step
                yield label("deployment", action, (("deployment", d.meta.key),) + by), nxt


def _sync_one(s: ClusterState, view, d: Deployment):
    rss = owned_replicasets(view, d)
    new = new_replicaset_of(view, d)
    old = [rs for rs in rss if rs is not new]
    if d.paused or is_scaling_event(d, rss):    # syncDeployment: sync, not a rollout
        return _sync(s, view, d, new, old)
    if new is not None and new.min_ready_seconds != d.min_ready_seconds:   # getNewReplicaSet
        return "update_replicaset", apiserver.update(s, evolve(new, min_ready_seconds=d.min_ready_seconds),
                                                     new.meta.resource_version)
    surge = resolve(d.rolling.max_surge, d.replicas, True)
    unavailable = resolve(d.rolling.max_unavailable, d.replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # validation forbids both zero; the controller treats it so
    recreate = d.strategy == "Recreate"
    old_active = sum(rs.replicas for rs in old)
    if recreate and old_active:
        for rs in old:
            if rs.replicas:
                return "scale_down", _scale(s, rs, 0, d)
    if recreate and _old_pods_running(view, old):
        return None  # rolloutRecreate waits until no old pod is Pending or Running (terminating ones count)
    total = sum(rs.replicas for rs in rss)
    if new is None:
        h = template_hash(d.template)
        if recreate or not old:
            want = d.replicas
        else:
            want = max(0, min(d.replicas, d.replicas + surge - total))
        meta = ObjectMeta(namespace=d.meta.namespace, name=f"{d.meta.name}-{h}",
                          labels=_with_hash(d.template.labels, h),
                          owner_references=(OwnerReference("Deployment", d.meta.name, d.meta.uid, True),))
        rs = ReplicaSet(meta=meta, replicas=want, selector=_with_hash(d.selector, h),
                        template=PodTemplate(_with_hash(d.template.labels, h), d.template.spec),
                        desired_replicas=d.replicas, max_replicas=d.replicas + max_surge(d),
                        min_ready_seconds=d.min_ready_seconds)
        nxt = apiserver.create(s, rs)
        return ("create_replicaset", nxt) if nxt is not None else None
    if not old:
        if new.replicas != d.replicas:
            return "scale", _scale(s, new, d.replicas, d)
        return _cleanup_if_complete(s, view, d, old)
    # Rolling update: scale the new ReplicaSet up within maxSurge ...
    if new.replicas < d.replicas:
        want = min(d.replicas, new.replicas + max(0, d.replicas + surge - total))
        if want > new.replicas:
            return "scale_up", _scale(s, new, want, d)
    elif new.replicas > d.replicas:
        return "scale", _scale(s, new, d.replicas, d)
    # ... and the old ones down (rolling.go reconcileOldReplicaSets): at most what the spec
    # counts allow, unhealthy replicas first, then while replicas - maxUnavailable stay available.
    min_available = d.replicas - unavailable
    new_unavailable = new.replicas - available_pods(view, new)
    max_scaled_down = total - min_available - new_unavailable
    if max_scaled_down <= 0:
        return _cleanup_if_complete(s, view, d, old)
    for rs in old:  # cleanupUnhealthyReplicas
        unhealthy = rs.replicas - available_pods(view, rs)
        if rs.replicas and unhealthy > 0:
            return "scale_down", _scale(s, rs, rs.replicas - min(unhealthy, max_scaled_down), d)
    available = sum(available_pods(view, rs) for rs in rss)  # scaleDownOldReplicaSetsForRollingUpdate
    budget = available - min_available
    for rs in old:
        if rs.replicas and budget > 0:
            return "scale_down", _scale(s, rs, max(0, rs.replicas - budget), d)
    return _cleanup_if_complete(s, view, d, old)


def _cleanup_if_complete(s, view, d, old):
    """rolloutRolling / rolloutRecreate: with nothing left to scale, a complete rollout cleans up."""
    if old and rollout_complete_in(view, d):
        return cleanup(s, view, d, old)
    return None


def calculate_status(view, d: Deployment) -> DeploymentStatus:
    """sync.go calculateStatus, for the spec of generation d.meta.generation as `view` holds it; the
    Progressing condition stays ProgressDeadlineExceeded until the rollout progresses or completes
    (progress.go syncRolloutStatus)."""
    rss = owned_replicasets(view, d)
    new = new_replicaset_of(view, d)
    st = DeploymentStatus(observed_generation=d.meta.generation,
                          replicas=sum(len(owned_active_pods(view, rs)) for rs in rss),
                          updated_replicas=len(owned_active_pods(view, new)) if new is not None else 0,
                          available_replicas=sum(available_pods(view, rs) for rs in rss))
    if d.status.timed_out and not (deployment_complete(d, st) or progressing(d.status, st)):
        st = evolve(st, timed_out=True)
    return st


def deployment_complete(d: Deployment, st: DeploymentStatus) -> bool:
    """deploymentutil.DeploymentComplete."""
    return (st.updated_replicas == d.replicas and st.replicas == d.replicas and st.available_replicas == d.replicas
            and st.observed_generation >= d.meta.generation)


def progressing(old: DeploymentStatus, new: DeploymentStatus) -> bool:
    """deploymentutil.DeploymentProgressing: more updated or available pods, or fewer old ones."""
    return (new.updated_replicas > old.updated_replicas
            or new.replicas - new.updated_replicas < old.replicas - old.updated_replicas
            or new.available_replicas > old.available_replicas)


def rollout_complete_in(view, d: Deployment) -> bool:
    """deploymentutil.DeploymentComplete, on the status the controller computes from `view` (the model does
    not wait for its status write to be read back)."""
    return deployment_complete(d, calculate_status(view, d))


def sync_status(s: ClusterState) -> Iterator:
    """The controller writes a Deployment's status (observedGeneration and its pod counts) through /status."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for d in view.deployments:
            if d.meta.deleting:
                continue
            status = calculate_status(view, d)
            if status != d.status:
                nxt = apiserver.update_status(s, evolve(d, status=status), d.meta.resource_version)
                if nxt is not None:
                    yield label("deployment", "update_status", (("deployment", d.meta.key),) + by), nxt


def has_deadline(d: Deployment) -> bool:
    """deploymentutil.HasProgressDeadline."""
    return d.progress_deadline_seconds != NO_DEADLINE


def deadline_rule(others: List[Rule]) -> Rule:
    """progressDeadlineSeconds, with time abstracted: the deadline passes for a Deployment whose rollout is
    not complete while nothing else in the cluster can move (no other weakly fair rule has a step): a rollout
    that progresses keeps renewing its Progressing condition (DeploymentProgressing), one that is stuck sits
    there until progressDeadlineSeconds have passed.  `others`: the composed rules."""
    fair = [r for r in others if r.fair]

    def progress_deadline_exceeded(s: ClusterState) -> Iterator:
        """The progress deadline of a stuck rollout passes: the Deployment controller writes the Progressing
        condition False, reason ProgressDeadlineExceeded (progress.go syncRolloutStatus, DeploymentTimedOut)."""
        due = []
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for d in view.deployments:
                if (d.meta.deleting or d.paused or not has_deadline(d) or d.status.timed_out
                        or rollout_complete_in(view, d)):
                    continue
                due.append((by, view, d))
        if not due or any(nxt != s for r in fair for _, nxt in r.fn(s)):
            return
        for by, view, d in due:
            status = evolve(calculate_status(view, d), timed_out=True)
            nxt = apiserver.update_status(s, evolve(d, status=status), d.meta.resource_version)
            if nxt is not None:
                yield label("time", "progress_deadline_exceeded", (("deployment", d.meta.key),) + by), nxt

    return Rule("time.progress_deadline_exceeded", progress_deadline_exceeded, doc=progress_deadline_exceeded.__doc__)


def min_ready_elapsed(s: ClusterState) -> Iterator:
    """A pod of a ReplicaSet with minReadySeconds has been Ready that long (time abstracted: a step of its own,
    which the controllers see as the pod's availability, podutil.IsPodAvailable)."""
    for p in s.store.pods:
        if not p.active or not p.ready or p.ready_long:
            continue
        rs = s.store.by_uid("ReplicaSet", p.meta.controller_uid()) if p.meta.controller_uid() else None
        if rs is None or rs.min_ready_seconds == 0:
            continue
        yield (label("time", "min_ready_elapsed", (("pod", p.meta.key),)),
               s.with_store(s.store.put(evolve(p, ready_long=True))))


def uses_min_ready(declared) -> bool:
    return any(o.kind == "Deployment" and o.min_ready_seconds > 0 for o in declared)


def cleans_up(declared) -> bool:
    """Whether a Deployment of the scenario can have more old ReplicaSets than its revisionHistoryLimit (one per
    template it is given, less the current one), so that cleanupDeployment deletes some."""
    templates, limit = {}, {}
    for o in declared:
        if o.kind == "Deployment":
            key = (o.meta.namespace, o.meta.name)
            templates.setdefault(key, set()).add(template_hash(o.template))
            limit[key] = min(limit.get(key, o.revision_history_limit), o.revision_history_limit)
    return any(len(templates[k]) - 1 > limit[k] for k in templates)


def rules(status: bool = False, min_ready: bool = False) -> List[Rule]:
    """The Deployment controller's rollout sync; with `status`, its status writes too; with `min_ready`, the
    passing of minReadySeconds."""
    out = [Rule("deployment.sync", sync, doc=sync.__doc__)]
    if status:
        out.append(Rule("deployment.status", sync_status, doc=sync_status.__doc__))
    if min_ready:
        out.append(Rule("time.min_ready_elapsed", min_ready_elapsed, doc=min_ready_elapsed.__doc__))
    return out
