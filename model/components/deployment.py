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

Abstracted: availability is read from the pods (Ready, not terminating)
instead of from ReplicaSet status, and the status counts pods the same way
(ReplicaSet status is not modelled: the ReplicaSet controller counts the
same pods from its own view); minReadySeconds, revision history, progress
deadlines and status conditions are not modelled.
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


def available_pods(view, rs: ReplicaSet) -> int:
    return sum(1 for p in view.pods
               if p.active and p.ready and p.meta.controller_uid() == rs.meta.uid
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


def _scale(s: ClusterState, rs: ReplicaSet, replicas: int) -> Optional[ClusterState]:
    return apiserver.update(s, evolve(rs, replicas=replicas), rs.meta.resource_version)


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
    surge = resolve(d.rolling.max_surge, d.replicas, True)
    unavailable = resolve(d.rolling.max_unavailable, d.replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # validation forbids both zero; the controller treats it so
    recreate = d.strategy == "Recreate"
    old_active = sum(rs.replicas for rs in old)
    if recreate and old_active:
        for rs in old:
            if rs.replicas:
                return "scale_down", _scale(s, rs, 0)
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
                        template=PodTemplate(_with_hash(d.template.labels, h), d.template.spec))
        nxt = apiserver.create(s, rs)
        return ("create_replicaset", nxt) if nxt is not None else None
    if not old:
        if new.replicas != d.replicas:
            return "scale", _scale(s, new, d.replicas)
        return None
    # Rolling update: scale the new ReplicaSet up within maxSurge ...
    if new.replicas < d.replicas:
        want = min(d.replicas, new.replicas + max(0, d.replicas + surge - total))
        if want > new.replicas:
            return "scale_up", _scale(s, new, want)
    elif new.replicas > d.replicas:
        return "scale", _scale(s, new, d.replicas)
    # ... and the old ones down (rolling.go reconcileOldReplicaSets): at most what the spec
    # counts allow, unhealthy replicas first, then while replicas - maxUnavailable stay available.
    min_available = d.replicas - unavailable
    new_unavailable = new.replicas - available_pods(view, new)
    max_scaled_down = total - min_available - new_unavailable
    if max_scaled_down <= 0:
        return None
    for rs in old:  # cleanupUnhealthyReplicas
        unhealthy = rs.replicas - available_pods(view, rs)
        if rs.replicas and unhealthy > 0:
            return "scale_down", _scale(s, rs, rs.replicas - min(unhealthy, max_scaled_down))
    available = sum(available_pods(view, rs) for rs in rss)  # scaleDownOldReplicaSetsForRollingUpdate
    budget = available - min_available
    for rs in old:
        if rs.replicas and budget > 0:
            return "scale_down", _scale(s, rs, max(0, rs.replicas - budget))
    return None


def calculate_status(view, d: Deployment) -> DeploymentStatus:
    """sync.go calculateStatus, for the spec of generation d.meta.generation as `view` holds it."""
    rss = owned_replicasets(view, d)
    new = new_replicaset_of(view, d)
    return DeploymentStatus(observed_generation=d.meta.generation,
                            replicas=sum(len(owned_active_pods(view, rs)) for rs in rss),
                            updated_replicas=len(owned_active_pods(view, new)) if new is not None else 0,
                            available_replicas=sum(available_pods(view, rs) for rs in rss))


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


def rules(status: bool = False) -> List[Rule]:
    """The Deployment controller's rollout sync; with `status`, its status writes too."""
    out = [Rule("deployment.sync", sync, doc=sync.__doc__)]
    if status:
        out.append(Rule("deployment.status", sync_status, doc=sync_status.__doc__))
    return out
