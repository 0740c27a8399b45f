"""The Eviction subresource of kube-apiserver's pods (POST pods/<name>/eviction): a deletion that respects the
PodDisruptionBudget of the pod.

Follows pkg/registry/core/pod/storage/eviction.go (EvictionREST.Create):

* canIgnorePDB: a pod that is Succeeded, Failed or Pending, or already
  terminating, is deleted without looking at any budget.
* getPodDisruptionBudgets: the budgets of the pod's namespace whose selector
  matches its labels (policy/v1: an empty selector matches every pod, a
  missing one none; releases before the policy/v1 change skipped an empty
  one, "it should match nothing, not everything").  More than one: the
  eviction fails (500, "This pod has more than one PodDisruptionBudget, which
  the eviction subresource does not support"); none: the pod is deleted.
* A pod that is not Ready (IsPodReady, "the current implementation of
  IsHealthy") is deleted without spending the budget where its
  unhealthyPodEvictionPolicy is AlwaysAllow, or, with IfHealthyBudget (the
  default), where status.currentHealthy >= status.desiredHealthy > 0; else it
  goes through checkAndDecrement like a healthy pod.
* checkAndDecrement: 429 Too Many Requests while status.observedGeneration is
  behind the budget's generation ("still being processed by the server") and
  while status.disruptionsAllowed is 0 ("needs N healthy pods and has M
  currently"); otherwise disruptionsAllowed is decremented through the status
  subresource and the pod deleted (gracefully, with its own grace period).

One step: the pod's deletion and the budget's decrement are made together
(upstream: the status update, then the delete, retried on conflict; the
apiserver handler is not interrupted here), the delete written first, so
that a lagging view holds either neither, the deletion alone (a controller
status write based on it then fails its compare-and-swap on the budget) or
both.  That is why DisruptedPods needs no modelling (model/components/
disruption.py).  The resourceVersion precondition upstream sets for an
unhealthy pod (so that it has not become Ready meanwhile) is implied: the
step reads and writes the same state.

Not modelled: the DisruptionTarget condition (reason EvictionByEvictionAPI)
added before the delete (no component reads it), dry-run, the 403 for a
negative disruptionsAllowed (the controller never writes one) and for a
DisruptedPods map over 2000 entries, deleteOptions given by the client (the
drain sends none but its grace period, -1: the pod's own).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from ..objects import PodDisruptionBudget, evolve
from ..state import ClusterState
from . import apiserver

GRANTED = "pdb-granted:"     # the history variable: f"{GRANTED}{budget ns/name}={count}" (see `record_granted`)


def can_ignore_pdb(pod) -> bool:
    """canIgnorePDB: Succeeded, Failed, Pending, or terminating."""
    return pod.phase in ("Succeeded", "Failed", "Pending") or pod.meta.deleting


def budgets_of(store, pod) -> List[PodDisruptionBudget]:
    """getPodDisruptionBudgets: the budgets of the pod's namespace whose selector matches it."""
    from .disruption import selects
    return [b for b in store.poddisruptionbudgets if selects(b, pod)]


def refusal(pod, budgets: List[PodDisruptionBudget]) -> Tuple[Optional[str], bool]:
    """(why the eviction of `pod` is refused, or None; whether a granted one spends the budget's
    disruptionsAllowed), as Create decides it from the budgets that select the pod."""
    if can_ignore_pdb(pod) or not budgets:
        return None, False
    if len(budgets) > 1:
        names = ", ".join(b.meta.name for b in budgets)
        return (f"500: this pod has more than one PodDisruptionBudget ({names}), which the eviction subresource "
                "does not support"), False
    b = budgets[0]
    st = b.status
    if not pod.ready:
        if b.unhealthy_pod_eviction_policy == "AlwaysAllow":
            return None, False
        if st.current_healthy >= st.desired_healthy and st.desired_healthy > 0:
            return None, False
    if st.observed_generation < b.meta.generation:
        return (f"429: the disruption budget {b.meta.name} is still being processed by the server (its status is "
                f"for generation {st.observed_generation}, the budget is at {b.meta.generation})"), False
    if st.disruptions_allowed <= 0:
        return (f"429: the disruption budget {b.meta.name} needs {st.desired_healthy} healthy pods and has "
                f"{st.current_healthy} currently (disruptionsAllowed 0)"), False
    return None, True


def evict(s: ClusterState, namespace: str, name: str) -> Tuple[Optional[ClusterState], str]:
    """POST the Eviction of pod namespace/name: (the state after it, "") when granted, (None, why) when refused
    or failed (NotFound, no etcd quorum)."""
    if not s.etcd_quorum():
        return None, "no etcd quorum"
    pod = s.store.get("Pod", namespace, name)
    if pod is None:
        return None, "404: not found"
    budgets = budgets_of(s.store, pod)
    why, spends = refusal(pod, budgets)
    if why is not None:
        return None, why
    nxt = apiserver.delete(s, pod)
    if nxt is None:
        return None, "the delete failed"
    if spends:
        b = budgets[0]
        st = b.status
        nxt = apiserver.update_status(nxt, evolve(b, status=evolve(st, disruptions_allowed=st.disruptions_allowed - 1)),
                                      b.meta.resource_version)
        if nxt is None:
            return None, "the budget's status update failed"
    return nxt, ""


# -- the history variable of `disruption-budget-respected` ------------------------------------------------

def granted_since_sync(s: ClusterState, pdb) -> int:
    """How many evictions of healthy pods of `pdb` were granted since the disruption controller last wrote its
    status."""
    prefix = f"{GRANTED}{pdb.meta.key}="
    for m in s.marks:
        if m.startswith(prefix):
            return int(m[len(prefix):])
    return 0


def record_granted(before: ClusterState, after: ClusterState, pod) -> ClusterState:
    """After a granted eviction of `pod`: where it was healthy (Ready, not terminating) in `before`, count it
    against every budget that selects it (the history variable the property reads; kept apart from the
    eviction's own bookkeeping, so that a wrong eviction shows)."""
    from .disruption import healthy, selects
    if not healthy(pod):
        return after
    marks = list(after.marks)
    for b in before.store.poddisruptionbudgets:
        if not selects(b, pod):
            continue
        n = granted_since_sync(before, b)
        prefix = f"{GRANTED}{b.meta.key}="
        marks = [m for m in marks if not m.startswith(prefix)] + [f"{prefix}{n + 1}"]
    return evolve(after, marks=tuple(sorted(marks)))


def forget_granted(s: ClusterState, pdb) -> ClusterState:
    prefix = f"{GRANTED}{pdb.meta.key}="
    if not any(m.startswith(prefix) for m in s.marks):
        return s
    return evolve(s, marks=tuple(m for m in s.marks if not m.startswith(prefix)))
