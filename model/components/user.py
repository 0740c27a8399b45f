"""The user: the scenario's `spec.changes`, made in order, each once.

Each change is one step (what `kubectl scale` or `kubectl apply` sends), and
changes are weakly fair (DESIGN section 2.1): the next change is eventually
made, interleaved with everything the components do.  A change whose
request fails for a passing reason (no apiserver or etcd quorum, a
conflict, a name still taken by an object being deleted) is retried: it is
not enabled until it can succeed.  `delete` of a Pod is graceful, or forced
with gracePeriodSeconds 0 (the object goes at once, containers may still
run until their kubelet notices).  `apply` of an object
that exists replaces its spec and labels (a new generation when they
differ), keeping its identity and status; of a new one, creates it.
`rolloutStatus` is `kubectl rollout status` (or a deploy tool's wait) in the
user's pipeline: the changes after it wait until it returns, which it does
once the Deployment's status says its rollout is complete; whether it first
compares status.observedGeneration with metadata.generation is
`behaviour.rolloutStatusChecksGeneration`.  Where the status says the
rollout exceeded its progress deadline (the Progressing condition False,
reason ProgressDeadlineExceeded), the wait fails as kubectl does ("deployment
"web" exceeded its progress deadline", a non-zero exit): the pipeline stops
there.  A failed step is shown as the change made with `failed` in its label,
and every change after it counted as made without being made (none of them
happens; convergence is judged from then on).

`load` sets the level the metric of a HorizontalPodAutoscaler reports (low,
target, high; model/components/podautoscaler.py): the load on its pods
changes, no request is sent.

`apply` of an existing Deployment is `kubectl apply`'s three-way merge for
spec.replicas (staging/src/k8s.io/kubectl/pkg/cmd/apply/patcher.go, with
the last-applied-configuration annotation, `Deployment.applied_replicas`): a
manifest with replicas sets them; one without keeps the live value (an
autoscaler's) where the last manifest applied had none too, and deletes the
field, so that it defaults to 1, where the last one had it (kubernetes issue
67135).

Nodes (kubectl cordon, uncordon, taint, drain; the Node is patched, so these
never conflict): `cordon` and `uncordon` set spec.unschedulable; `taint`
adds the taint, or replaces the one of the same key and effect (kubectl
taint --overwrite); `untaint` removes the taints of that key (of that effect
only, where one is given), and is a no-op where there is none (kubectl would
say "not found"): a Node `apply` replaces all taints, these touch only the
one named.  `drain` is `kubectl drain --ignore-daemonsets
--delete-emptydir-data --force` (staging/src/k8s.io/kubectl/pkg/drain:
drain.go, filters.go): one change, several steps.  It cordons the Node,
then evicts through the Eviction API (model/components/eviction.py) every
pod bound there but those a DaemonSet that exists manages (daemonSetFilter;
a finished DaemonSet pod, and one whose DaemonSet is gone, are evicted:
--force) and mirror pods (the model has none); bare pods are evicted too
(unreplicatedFilter with --force), pods with emptyDir volumes too
(--delete-emptydir-data).  Each eviction is a step of its own, one fairness
instance per pod, as kubectl evicts the pods in parallel, each retried every
5 s while refused (429): a refused eviction is not enabled.  The change is
finished, and the next may start, when no such pod is left on the Node, not
even one terminating (waitForDelete: kubectl drain returns once every
evicted pod is gone from etcd).  Abstracted: kubectl lists the pods once,
where the model's drain evicts any evictable pod it finds on the Node until
none is left (they differ only for a pod that reaches the cordoned Node
meanwhile: one naming it in spec.nodeName); a drain that an error stops
(more than one budget selecting a pod: 500) waits for ever here, where
kubectl would exit with the error, the Node left cordoned: either way the
drain does not complete.
"""

from __future__ import annotations

from typing import Iterator, List, Sequence


from explorer import Rule, label

from ..kinds import KINDS
from ..scenario import Change
from ..state import ClusterState
from . import apiserver
from ..objects import evolve


# What `kubectl apply` may change on an existing object: its spec (and labels), never its status, which an
# update of the main resource drops (strategy.go); each kind declares it (model/kinds/, `spec_fields`).


def available_pods_of(store, d) -> int:
    """Pods of all of a Deployment's ReplicaSets that are Ready and not terminating (minReadySeconds 0)."""
    from .deployment import owned_replicasets
    uids = {rs.meta.uid for rs in owned_replicasets(store, d)}
    return sum(1 for p in store.pods if p.active and p.ready and p.meta.controller_uid() in uids)


def rollout_complete(d, checks_generation: bool = True) -> bool:
    """kubectl's DeploymentStatusViewer (polymorphichelpers/rollout_status.go): the status was computed for the
    current spec (observedGeneration >= generation), every replica is updated, no old replica remains, and the
    updated ones are available.  Without `checks_generation`, as deploy tools that read the counts alone
    (Shopify/krane before its PR 325, kubectl wait before 1.21): the previous rollout's counts pass too."""
    st = d.status
    if checks_generation and st.observed_generation < d.meta.generation:
        return False
    return (st.updated_replicas >= d.replicas and st.replicas <= st.updated_replicas
            and st.available_replicas >= st.updated_replicas)


def rollout_failed(d, checks_generation: bool = True) -> bool:
    """DeploymentStatusViewer: the status of the current spec says the progress deadline was exceeded."""
    return d.status.timed_out and (not checks_generation or d.status.observed_generation >= d.meta.generation)


def applied_replicas(cur, obj) -> int:
    """spec.replicas after `kubectl apply` of `obj` over `cur` (client-side three-way merge): the manifest's,
    where it has them; the live object's, where neither it nor the last-applied configuration has them;
    the default (1) where the last-applied configuration had them and the manifest drops them."""
    if obj.applied_replicas:
        return obj.replicas
    return 1 if cur.applied_replicas else cur.replicas


FAILED = object()     # make_change's answer for a step of the pipeline that fails (its later steps are not made)


def make_change(s: ClusterState, ch: Change, checks_generation: bool = True):
    if ch.op == "load":
        # The load on the pods changes: what the autoscaler's metric reports from now on (not a request).
        from .podautoscaler import with_load
        return with_load(s, f"{ch.namespace}/{ch.name}", ch.level)
    store = s.store
    cur = store.get(ch.kind, ch.namespace, ch.name)
    if cur is not None and ch.kind == "CustomObject" and cur.custom_kind != ch.obj.custom_kind:
        cur = next((o for o in store.custom_objects if o.custom_kind == ch.obj.custom_kind
                    and o.meta.namespace == ch.namespace and o.meta.name == ch.name), None)
    if ch.op == "scale":
        if cur is None:
            return s  # kubectl scale of a missing object fails: nothing changes
        nxt = apiserver.update(s, evolve(cur, replicas=ch.replicas), cur.meta.resource_version)
        mark = f"rollout-from-available:{cur.meta.key}"
        if nxt is not None and mark in nxt.marks:   # a new size: rollout-availability's floor no longer applies
            nxt = evolve(nxt, marks=tuple(m for m in nxt.marks if m != mark))
        return nxt
    if not any(s.apiservers_up):
        return None  # kubectl cannot reach any apiserver: the user retries
    if ch.op == "rolloutStatus":
        # kubectl rollout status lists (a quorum read) then watches the Deployment; it returns once the
        # status says the rollout is complete, or at once with an error where there is no such Deployment.
        if cur is None or rollout_complete(cur, checks_generation):
            return s
        if rollout_failed(cur, checks_generation):
            return FAILED
        return None
    if ch.op == "delete":
        if cur is None:
            return s  # NotFound: nothing to do
        return apiserver.delete(s, cur, grace=ch.grace_seconds != 0, propagation=ch.propagation)
    if ch.op == "apply":
        if cur is None:
            return apiserver.create(s, ch.obj)  # None on AlreadyExists: the user retries
        fields = {f: getattr(ch.obj, f) for f in KINDS[ch.kind].spec_fields}
        if ch.kind == "Deployment":
            fields["replicas"] = applied_replicas(cur, ch.obj)
        meta = evolve(cur.meta, labels=ch.obj.meta.labels)
        new = evolve(cur, meta=meta, **fields)
        if new == cur:
            return s
        nxt = apiserver.update(s, new, cur.meta.resource_version)
        if nxt is not None and ch.kind == "Deployment" and new.template != cur.template:
            mark = f"rollout-from-available:{cur.meta.key}"
            if available_pods_of(s.store, cur) >= cur.replicas and mark not in nxt.marks:
                nxt = evolve(nxt, marks=tuple(sorted(nxt.marks + (mark,))))
        return nxt
    if ch.op in NODE_OPS:
        return node_change(s, ch)
    raise AssertionError(ch.op)


NODE_OPS = ("cordon", "uncordon", "taint", "untaint")


def node_change(s: ClusterState, ch: Change):
    """kubectl cordon / uncordon / taint / untaint: a patch of the Node as etcd holds it (never a conflict)."""
    cur = s.store.get("Node", "", ch.name)
    if cur is None:
        return s      # NotFound: nothing changes
    if ch.op in ("cordon", "uncordon"):
        new = evolve(cur, unschedulable=ch.op == "cordon")
    elif ch.op == "taint":
        t = ch.taint
        new = evolve(cur, taints=tuple(x for x in cur.taints if (x.key, x.effect) != (t.key, t.effect)) + (t,))
    else:
        t = ch.taint
        new = evolve(cur, taints=tuple(x for x in cur.taints
                                       if not (x.key == t.key and (not t.effect or x.effect == t.effect))))
    if new == cur:
        return s
    return apiserver.update(s, new, cur.meta.resource_version)


def drained_by(store, pod) -> bool:
    """Whether `kubectl drain --ignore-daemonsets --delete-emptydir-data --force` deletes `pod` (filters.go):
    every pod but a DaemonSet's that is not finished and whose DaemonSet exists (daemonSetFilter), and mirror
    pods (mirrorPodFilter; the model has none)."""
    ref = next((r for r in pod.meta.owner_references if r.controller), None)
    if ref is None or ref.kind != "DaemonSet" or pod.phase in ("Succeeded", "Failed"):
        return True
    return store.by_uid("DaemonSet", ref.uid) is None     # orphaned: deleted with --force


def pods_to_drain(store, node: str) -> list:
    """The pods bound to `node` that the drain deletes (GetPodsForDeletion), terminating ones included."""
    return [p for p in store.pods if p.spec.node_name == node and drained_by(store, p)]


def drain_steps(s: ClusterState, i: int, ch: Change) -> Iterator:
    """The steps of drain change `i` that can be made now: cordon; evict a pod (one instance per pod);
    return, once no pod to drain is left on the Node."""
    from .eviction import record_granted
    if not any(s.apiservers_up) or not s.etcd_quorum():
        return      # kubectl reaches no apiserver, or its reads and writes time out: it retries
    node = s.store.get("Node", "", ch.name)
    index = (("index", i + 1),)
    if node is None:
        yield label("user", "change", index, (("what", f"drain {ch.name}: NotFound"),)), evolve(s, next_change=i + 1)
        return
    if not node.unschedulable:
        nxt = apiserver.update(s, evolve(node, unschedulable=True), node.meta.resource_version)
        if nxt is not None:
            yield label("user", "change", index, (("what", f"drain {ch.name}: cordon"),)), nxt
        return
    left = pods_to_drain(s.store, ch.name)
    if not left:
        yield (label("user", "change", index, (("what", f"drain {ch.name}: done, no pod left to evict"),)),
               evolve(s, next_change=i + 1))
        return
    for p in left:
        if p.meta.deleting:
            continue     # evicted (or deleted) already: waitForDelete waits for it to go
        nxt, _ = apiserver.evict(s, p.meta.namespace, p.meta.name)
        if nxt is not None:
            yield (label("user", "evict", index + (("pod", p.meta.key),), (("node", ch.name),)),
                   record_granted(s, nxt, p))


def rules(changes: Sequence[Change], rollout_status_checks_generation: bool = True) -> List[Rule]:
    if not changes:
        return []

    def change(s: ClusterState) -> Iterator:
        """The user makes the next change of the scenario (or, for rolloutStatus, returns from the wait)."""
        i = s.next_change
        if i >= len(changes):
            return
        if changes[i].op == "drain":
            yield from drain_steps(s, i, changes[i])
            return
        nxt = make_change(s, changes[i], rollout_status_checks_generation)
        if nxt is None:
            return  # the request failed (no quorum, conflict, AlreadyExists): retried later
        if nxt is FAILED:   # the pipeline stops: no later change is made
            yield (label("user", "change", (("index", i + 1),), (("what", changes[i].describe()), ("failed",
                   f"deployment {changes[i].name!r} exceeded its progress deadline"))), evolve(s, next_change=len(changes)))
            return
        yield (label("user", "change", (("index", i + 1),), (("what", changes[i].describe()),)),
               evolve(nxt, next_change=i + 1))

    return [Rule("user.change", change, fair=True, doc=change.__doc__)]
