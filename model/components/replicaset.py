"""The ReplicaSet controller of kube-controller-manager.

Modelled (pkg/controller/replicaset/replica_set.go, manageReplicas): the
controller counts the *active* pods it owns (controller ownerReference with
its uid, labels matching its selector, not terminating, not Succeeded or
Failed) and creates or deletes the difference to spec.replicas.  Each create
or delete is one API call, so one step.  Which pod to delete follows the
first criteria of controller.ActivePodsWithRanks: unassigned before
assigned, Pending before Running, not Ready before Ready; among pods equal on
those, any may be chosen (the outcome of the step).  New pods are named from
generateName `<rs>-`, carry the template's labels and spec, and an owner
reference to the ReplicaSet.

Expectations (controller_utils.go): after its own create or delete for a
ReplicaSet, a controller replica does not sync that ReplicaSet again until
its informer has seen the write (its view has reached the write's revision);
`behaviour.expectations: false` turns this off, to show what it prevents.
The expectation lives in the replica's memory and is lost when it crashes.
Adoption and release (controller_ref_manager.go): an active orphan pod that
matches the selector is adopted (a uid-guarded patch of its ownerReferences)
before any pod is created; an owned pod whose labels stop matching is
released.

Ambiguous failures (the `request-timeout` fault): a create commits in etcd but
its response is lost, so the controller takes it for a failure and, as
manageReplicas does for every pod slowStartBatch did not create, lowers its
expectations (CreationObserved) instead of waiting for the pod: with a
lagging view it counts too few pods and creates another.  The timeout spends
one unit of the fault budget and is not fair.

The workqueue (client-go/util/workqueue): a key is handed to one worker at
a time (a key being processed is held back, re-added as dirty, until the
worker calls Done), so each sync of a ReplicaSet is one step here.
`behaviour.workqueuePerKey: false` takes that guarantee away, as a
hand-made worker pool without a workqueue would: two workers (of
--concurrent-replicaset-syncs) may each begin a sync of the same ReplicaSet,
pass the expectations check and read the view before either creates, then
each create the pod it decided on (`start_sync`, then `create_pod`).  A
worker remembers only which ReplicaSet it syncs: its pod is made from the
template etcd holds when it creates (the same as the one it read, unless
the ReplicaSet changed in between, which no built-in scenario does).  Only
creates are split so; deletes stay one step.

The ReplicationController (pkg/controller/replication): upstream's
ReplicationManager is this same controller, built by
replicaset.NewBaseController with the ReplicationController kind, its own
workqueue ("replicationmanager") and expectations, and adapters that convert
each ReplicationController to a ReplicaSet and back (conversion.go:
informerAdapter, conversionLister, podControlAdapter), as if it were an
older API version of ReplicaSet.  Here likewise: `rules(kind=...)` builds
the same rules over the ReplicationControllers, labelled
`replicationcontroller` (args `rc=`), owning their pods with a
ReplicationController ownerReference; its equality-based selector is a
matchLabels tuple (model/kinds/replicationcontroller.py).  Both controllers
adopt matching orphans; the first adoption wins (a uid-guarded update).
`behaviour.workqueuePerKey: false` is modelled for the ReplicaSet controller
only.

Not yet modelled: status (replicas, availableReplicas), burst limits and
slow start, the expectations' 5-minute timeout.
"""

from __future__ import annotations

from typing import Iterator, List

from explorer import Rule, label

from ..objects import ObjectMeta, OwnerReference, Pod, ReplicaSet, evolve, labels_match
from ..state import ClusterState
from . import apiserver, leaderelection

CLIENT = "kube-controller-manager"
# The kinds this code keeps, and the name of the controller (its rules' prefix) and of its label argument for each.
COMPONENT = {"ReplicaSet": "replicaset", "ReplicationController": "replicationcontroller"}
ARG = {"ReplicaSet": "rs", "ReplicationController": "rc"}


def owned_active_pods(view, rs: ReplicaSet) -> List[Pod]:
    """The active pods that `rs` owns and selects, as the controller sees them."""
    uid = rs.meta.uid
    return [p for p in view.pods
            if p.active and p.meta.namespace == rs.meta.namespace and p.meta.controller_uid() == uid
            and labels_match(rs.selector, p.meta.labels)]


def new_pod(rs: ReplicaSet) -> Pod:
    t = rs.template
    meta = ObjectMeta(namespace=rs.meta.namespace, name="", generate_name=f"{rs.meta.name}-",
                      labels=t.labels,
                      owner_references=(OwnerReference(rs.kind, rs.meta.name, rs.meta.uid, True),))
    return Pod(meta=meta, spec=t.spec)


def deletion_rank(p: Pod) -> tuple:
    """Lower ranks are deleted first (the start of controller.ActivePodsWithRanks' order)."""
    return (p.spec.node_name != "", {"Pending": 0, "Unknown": 1, "Running": 2}.get(p.phase, 0), p.ready)


def orphans_to_adopt(view, rs: ReplicaSet) -> List[Pod]:
    """controller_ref_manager.go ClaimPods: active pods in the namespace that match the selector and have
    no controller, which the ReplicaSet adopts (not while it is itself being deleted)."""
    if rs.meta.deleting:
        return []
    return [p for p in view.pods
            if p.active and p.meta.namespace == rs.meta.namespace and p.meta.controller_uid() is None
            and labels_match(rs.selector, p.meta.labels)]


def pods_to_release(view, rs: ReplicaSet) -> List[Pod]:
    """Owned pods whose labels no longer match the selector: the ReplicaSet releases (orphans) them."""
    return [p for p in view.pods
            if p.meta.namespace == rs.meta.namespace and p.meta.controller_uid() == rs.meta.uid
            and not labels_match(rs.selector, p.meta.labels)]


def _syncable(s: ClusterState, actor: str, view, expectations: bool, kind: str = "ReplicaSet"):
    """The ReplicaSets (or objects of `kind`) `actor` may sync now: with expectations, only those whose own
    creates and deletes its informer has already seen (SatisfiedExpectations)."""
    for rs in view.of(kind):
        if expectations and view.revision < s.expectation(actor, rs.meta.uid):
            continue
        yield rs


def _needs_pod(view, rs: ReplicaSet) -> bool:
    """manageReplicas would create a pod: fewer active pods than spec.replicas, no orphan to adopt first."""
    return not rs.meta.deleting and not orphans_to_adopt(view, rs) and len(owned_active_pods(view, rs)) < rs.replicas


def _creates(s: ClusterState, expectations: bool, kind: str = "ReplicaSet"):
    """(actor, ReplicaSet, label args, state after the create) for each create the controller would make."""
    for actor, by, view in leaderelection.acting_views(s, CLIENT):
        for rs in _syncable(s, actor, view, expectations, kind):
            if _needs_pod(view, rs):
                nxt = apiserver.create(s, new_pod(rs))
                if nxt is not None:
                    yield actor, rs, ((ARG[kind], rs.meta.key),) + by, nxt


WORKERS = 2   # concurrent workers per controller replica, where they may share a key


def rules(expectations: bool = True, timeouts: bool = False, per_key: bool = True,
          kind: str = "ReplicaSet") -> List[Rule]:
    """The controller of `kind`: ReplicaSet, or ReplicationController (the same code, its own rules)."""
    name, arg = COMPONENT[kind], ARG[kind]
    per_key = per_key or kind != "ReplicaSet"

    def expect(nxt: ClusterState, actor: str, rs: ReplicaSet) -> ClusterState:
        """ExpectCreations / ExpectDeletions: remember the revision of this write, if expectations are on."""
        return nxt.expect(actor, rs.meta.uid, nxt.store.revision) if expectations else nxt

    def create_pod(s: ClusterState) -> Iterator:
        """The controller creates a pod for a ReplicaSet that has fewer active pods than spec.replicas."""
        for actor, rs, args, nxt in _creates(s, expectations, kind):
            yield label(name, "create_pod", args), expect(nxt, actor, rs)

    def create_pod_timeout(s: ClusterState) -> Iterator:
        """Fault: the controller's create commits, but its response times out; the controller counts it as
        not created and expects nothing from it."""
        if s.faults_left <= 0:
            return
        for actor, rs, args, nxt in _creates(s, expectations, kind):
            yield label(name, "create_pod", args, (("response", "timeout"),)), evolve(nxt, faults_left=nxt.faults_left - 1)

    def delete_pod(s: ClusterState) -> Iterator:
        """The controller deletes one of the most deletable pods of a ReplicaSet that has too many."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for rs in _syncable(s, actor, view, expectations, kind):
                pods = owned_active_pods(view, rs)
                if rs.meta.deleting or len(pods) <= rs.replicas:
                    continue
                lowest = min(deletion_rank(p) for p in pods)
                for p in pods:
                    if deletion_rank(p) == lowest:
                        nxt = apiserver.delete(s, p)
                        if nxt is not None:
                            yield (label(name, "delete_pod", ((arg, rs.meta.key),) + by,
                                         (("pod", p.meta.key),)),
                                   expect(nxt, actor, rs))

    def adopt_pod(s: ClusterState) -> Iterator:
        """The controller adopts an orphan pod that matches a ReplicaSet's selector (uid-guarded patch)."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for rs in view.of(kind):
                for p in orphans_to_adopt(view, rs):
                    ref = OwnerReference(kind, rs.meta.name, rs.meta.uid, True)
                    adopted = evolve(p, meta=evolve(p.meta, owner_references=p.meta.owner_references + (ref,)))
                    nxt = apiserver.update(s, adopted, p.meta.resource_version, spec_changed=False)
                    if nxt is not None:
                        yield (label(name, "adopt_pod", ((arg, rs.meta.key),) + by,
                                     (("pod", p.meta.key),)), nxt)

    def release_pod(s: ClusterState) -> Iterator:
        """The controller releases an owned pod whose labels no longer match its selector."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            for rs in view.of(kind):
                for p in pods_to_release(view, rs):
                    refs = tuple(r for r in p.meta.owner_references if r.uid != rs.meta.uid)
                    nxt = apiserver.update(s, evolve(p, meta=evolve(p.meta, owner_references=refs)),
                                           p.meta.resource_version, spec_changed=False)
                    if nxt is not None:
                        yield (label(name, "release_pod", ((arg, rs.meta.key),) + by,
                                     (("pod", p.meta.key),)), nxt)

    def start_sync(s: ClusterState) -> Iterator:
        """A worker takes a ReplicaSet's key while another worker may hold it too (no per-key workqueue): it
        passes the expectations check and decides, from its view, to create a pod."""
        for actor, by, view in leaderelection.acting_views(s, CLIENT):
            if sum(1 for w in s.syncs if w[0] == actor) >= WORKERS:
                continue   # every worker of this replica is busy
            for rs in _syncable(s, actor, view, expectations):
                if _needs_pod(view, rs):
                    yield (label("replicaset", "start_sync", (("rs", rs.meta.key),) + by),
                           evolve(s, syncs=tuple(sorted(s.syncs + ((actor, rs.meta.key),)))))

    def finish_sync(s: ClusterState) -> Iterator:
        """A worker that began a sync creates the pod it decided on, and expects it."""
        acting = dict(leaderelection.acting(s, CLIENT))
        for i, (actor, key) in enumerate(s.syncs):
            if actor not in acting or (i and s.syncs[i - 1] == (actor, key)):
                continue   # a paused or deposed replica's worker waits; identical workers are one choice
            ns, name = key.split("/", 1)
            rs = s.store.get("ReplicaSet", ns, name)
            rest = s.syncs[:i] + s.syncs[i + 1:]
            if rs is None:
                yield label("replicaset", "finish_sync", (("rs", key),) + acting[actor]), evolve(s, syncs=rest)
                continue
            nxt = apiserver.create(s, new_pod(rs))
            if nxt is not None:
                yield (label("replicaset", "create_pod", (("rs", key),) + acting[actor]),
                       expect(evolve(nxt, syncs=rest), actor, rs))

    timeout_rules = [Rule(f"{name}.create_pod_timeout", create_pod_timeout, fair=False,
                          doc=create_pod_timeout.__doc__)] if timeouts else []
    if not per_key:
        return [Rule("replicaset.start_sync", start_sync, doc=start_sync.__doc__),
                Rule("replicaset.finish_sync", finish_sync, doc=finish_sync.__doc__),
                Rule("replicaset.delete_pod", delete_pod, doc=delete_pod.__doc__),
                Rule("replicaset.adopt_pod", adopt_pod, doc=adopt_pod.__doc__),
                Rule("replicaset.release_pod", release_pod, doc=release_pod.__doc__)] + timeout_rules
    return [Rule(f"{name}.create_pod", create_pod, doc=create_pod.__doc__),
            Rule(f"{name}.delete_pod", delete_pod, doc=delete_pod.__doc__),
            Rule(f"{name}.adopt_pod", adopt_pod, doc=adopt_pod.__doc__),
            Rule(f"{name}.release_pod", release_pod, doc=release_pod.__doc__)] + timeout_rules
