"""The Job controller's orphan-pod worker (pkg/controller/job/job_controller.go: orphanWorker, syncOrphanPod).

A pod that still carries the `batch.kubernetes.io/job-tracking` finalizer
after its Job is gone (deleted with background propagation, as the CronJob
controller deletes the Jobs it replaces or no longer keeps) would never be
counted by a Job again: the Job controller's orphan worker removes the
finalizer from it ("syncOrphanPod removes the tracking finalizer from an
orphan pod if found"), so that the garbage collector's deletion of the pod
can complete.  Upstream also releases the pods of a finished Job here; the
model's Job controller (model/components/job.py) counts and releases those
itself, so only pods whose Job is gone are this worker's.

Composed where a Job can go while its pods still carry the finalizer: where a
CronJob's controller deletes Jobs, with Job tracking by finalizers.  Kept in
a module of its own, beside model/components/job.py, whose rules it does not
change; its steps are named `job-orphans`.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import evolve
from ..state import ClusterState
from . import apiserver, leaderelection
from .job import TRACKING

CLIENT = "kube-controller-manager"


def orphaned(view, pod) -> bool:
    """A pod with the tracking finalizer whose controller is a Job that no longer exists (resolveControllerRef:
    no Job of that name and uid)."""
    if TRACKING not in pod.meta.finalizers:
        return False
    for r in pod.meta.owner_references:
        if r.controller:
            return r.kind == "Job" and view.by_uid("Job", r.uid) is None
    return False


def remove_orphan_finalizer(s: ClusterState) -> Iterator:
    """The Job controller removes its tracking finalizer from a pod whose Job is gone."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for p in view.pods:
            if not orphaned(view, p):
                continue
            live = s.store.by_uid("Pod", p.meta.uid)
            if live is None or TRACKING not in live.meta.finalizers:
                continue
            released = evolve(live, meta=evolve(live.meta, finalizers=tuple(
                f for f in live.meta.finalizers if f != TRACKING)))
            nxt = apiserver.update(s, released, live.meta.resource_version, spec_changed=False)
            if nxt is not None:
                yield label("job-orphans", "remove_finalizer", (("pod", p.meta.key),) + by), nxt


def rules() -> List[Rule]:
    return [Rule("job-orphans.remove_finalizer", remove_orphan_finalizer, doc=remove_orphan_finalizer.__doc__)]
