"""The pods a cluster's objects ask to run, grouped by template: one source for every question of capacity.

`pod_groups(objects, nodes)` answers "which pods must find room, and how
many of each": `n-plus-one-capacity` asks it of the scenario's objects on the
nodes a failure leaves, and the placement diagnosis of the convergence
properties asks it of the objects in etcd on the machines that are up.  A
kind that makes pods says so once, in the registry, so neither can leave one out (as
DaemonSet pods once were: N+1 held where the agents on the surviving nodes
left no room, and the diagnosis blamed the scheduler's greedy order for a
real shortfall).

Each kind of the registry (model/kinds/) that makes pods says which:

* Deployment: spec.replicas of its template (its ReplicaSets' pods are these).
* ReplicaSet that no Deployment owns: spec.replicas.
* Job not finished: as many pods at once as parallelism allows of the
  completions still to go.
* DaemonSet: one pod on each of `nodes` it should run on (NodeShouldRunDaemonPod,
  model/components/daemonset.py), pinned there as its controller pins it.
* Pod that no controller owns and that names no node: itself.

Objects being deleted ask for nothing.

Pods that name their node (`spec.nodeName`) skip the scheduler, and mirror
pods are not modelled; neither is placed here.
"""

from __future__ import annotations

from .kinds import PodGroup, pod_groups  # noqa: F401  (the registry of kinds answers for each kind)
