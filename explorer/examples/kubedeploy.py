"""The reference model `KubeDeploy.tla` (shared/reference), written for kubecheck's engine.

A Deployment/ReplicaSet controller, the scheduler and the kubelets, with at
most one node crash.  It exists to check the engine against TLC: the same
model must give exactly the distinct-state counts TLC reports (3,289 for 3
nodes, R=3, Cap=2; 577 with node symmetry; 104,977 and 4,888 for 4 nodes,
R=4).  It is written the way TLC sees the spec, one rule per action family:

* ``CreatePod``: while fewer than R pods are live, create pod ``nextId``.
* ``Schedule(p, n)``: bind a Pending pod to an up node whose load is below Cap.
* ``StartPod(p)``: the kubelet of an up node starts a Bound pod.
* ``CrashNode(n)``: at most once, a node crashes; its pods become Lost.

A state is the tuple ``(phase, node, crashed, next_id)``: phases and nodes
per pod (pods 0..MaxPods-1), ``crashed`` the crashed node or -1, and
``next_id`` the next pod to create (0-based).
"""

from __future__ import annotations

from itertools import permutations
from typing import Iterator, Optional

from ..system import Invariant, Rule, System, label

NONE, PENDING, BOUND, RUNNING, LOST = range(5)
PHASE_NAMES = ("None", "Pending", "Bound", "Running", "Lost")
NO_NODE = -1


def kubedeploy(nodes: int = 3, replicas: int = 3, cap: int = 2) -> System:
    """The KubeDeploy system for `nodes` nodes, R=`replicas`, Cap=`cap`."""
    max_pods = replicas + cap
    pods = range(max_pods)
    node_ids = range(nodes)

    # The rules build each next state by slicing the tuples they change (one allocation per tuple), as TLC's
    # EXCEPT does; each is a direct transcription of its action in KubeDeploy.tla.

    def create_pod(s) -> Iterator:
        phase, node, crashed, nxt = s
        if nxt < max_pods and phase.count(PENDING) + phase.count(BOUND) + phase.count(RUNNING) < replicas:
            yield label("rs", "CreatePod"), (phase[:nxt] + (PENDING,) + phase[nxt + 1:], node, crashed, nxt + 1)

    schedule_labels = {(p, n): label("scheduler", "Schedule", (("p", p + 1),), (("n", n + 1),))
                       for p in pods for n in node_ids}

    def schedule(s) -> Iterator:
        phase, node, crashed, nxt = s
        if PENDING not in phase:
            return
        loads = [0] * nodes
        for q in pods:
            if phase[q] == BOUND or phase[q] == RUNNING:
                loads[node[q]] += 1
        free = [n for n in node_ids if n != crashed and loads[n] < cap]
        for p in pods:
            if phase[p] == PENDING:
                ph = phase[:p] + (BOUND,) + phase[p + 1:]
                before, after = node[:p], node[p + 1:]
                for n in free:
                    yield schedule_labels[p, n], (ph, before + (n,) + after, crashed, nxt)

    start_labels = [label("kubelet", "StartPod", (("p", p + 1),)) for p in pods]

    def start_pod(s) -> Iterator:
        phase, node, crashed, nxt = s
        if BOUND not in phase:
            return
        for p in pods:
            if phase[p] == BOUND and node[p] != crashed:
                yield start_labels[p], (phase[:p] + (RUNNING,) + phase[p + 1:], node, crashed, nxt)

    crash_labels = [label("environment", "CrashNode", (("n", n + 1),)) for n in node_ids]

    def crash_node(s) -> Iterator:
        phase, node, crashed, nxt = s
        if crashed != NO_NODE:
            return
        for n in node_ids:
            if n not in node:
                yield crash_labels[n], (phase, node, n, nxt)
                continue
            ph = list(phase)
            nd = list(node)
            for p in pods:
                if nd[p] == n and (ph[p] == BOUND or ph[p] == RUNNING):
                    ph[p] = LOST
                    nd[p] = NO_NODE
            yield crash_labels[n], (tuple(ph), tuple(nd), n, nxt)

    def capacity_ok(s) -> Optional[str]:
        phase, node, crashed, nxt = s
        loads = [0] * nodes
        for p in pods:
            if phase[p] == BOUND or phase[p] == RUNNING:
                loads[node[p]] += 1
        if max(loads) <= cap:
            return None
        for n in node_ids:
            if loads[n] > cap:
                return f"node n{n + 1} holds {loads[n]} pods, Cap is {cap}"
        return None

    def no_over_replication(s) -> Optional[str]:
        phase = s[0]
        live = phase.count(PENDING) + phase.count(BOUND) + phase.count(RUNNING)
        return f"{live} live pods, R is {replicas}" if live > replicas else None

    def representative(s):
        """Node symmetry: rename nodes in order of (crashed, pods on the node).

        Non-empty nodes hold disjoint pod sets, so their signatures differ; the
        empty nodes are interchangeable.  Sorting is therefore an exact orbit
        representative, in O(N log N) rather than TLC's N! permutations.
        """
        phase, node, crashed, nxt = s
        sig = [(n == crashed, tuple(p for p in pods if node[p] == n), n) for n in node_ids]
        sig.sort()
        rename = [0] * nodes
        for new, (_, _, old) in enumerate(sig):
            rename[old] = new
        nd = tuple(rename[x] if x != NO_NODE else NO_NODE for x in node)
        return (phase, nd, rename[crashed] if crashed != NO_NODE else NO_NODE, nxt)

    init = (tuple([NONE] * max_pods), tuple([NO_NODE] * max_pods), NO_NODE, 0)
    return System(
        init_states=[init],
        rules=[Rule("CreatePod", create_pod), Rule("Schedule", schedule), Rule("StartPod", start_pod),
               Rule("CrashNode", crash_node, fair=False)],
        invariants=[Invariant("CapacityOK", capacity_ok), Invariant("NoOverReplication", no_over_replication)],
        representative=representative,
        name=f"KubeDeploy_N{nodes}R{replicas}",
    )


def representative_by_permutations(system_nodes: int):
    """TLC's way, for cross-checking the fast representative: min over all node permutations."""
    def rep(s):
        phase, node, crashed, nxt = s
        best = None
        for perm in permutations(range(system_nodes)):
            nd = tuple(perm[x] if x != NO_NODE else NO_NODE for x in node)
            cand = (phase, nd, perm[crashed] if crashed != NO_NODE else NO_NODE, nxt)
            if best is None or cand < best:
                best = cand
        return best
    return rep
