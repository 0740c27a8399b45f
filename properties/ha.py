"""HA properties: claims over every allowed failure, decided by Z3.

Each claim is encoded as "is there a failure (or a timing) that breaks it?";
a satisfying assignment is the counterexample, unsatisfiability the proof.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import z3

from explorer.smt import Claim, ClaimResult, find
from model.scenario import Scenario
from model.components.nodelifecycle import UNREACHABLE_TAINTS
from model.objects import evolve
from model.topology import etcd_members, quorum

from .placement import placement_exists
from model.workloads import pod_groups
from .safety import leader_elected

from .catalog import always, register

MEMBER_FAULTS = ("etcd-member-crash", "zone-outage", "node-crash", "vm-deleted")


@register("etcd-quorum-survives", "ha", always)
def etcd_quorum_survives(sc: Scenario):
    """For every combination of at most faults.budget faults of the allowed kinds, a majority of etcd members stays up.

    Seed document: etcd ("consistent and highly-available key value store")
    and "the control plane usually runs across multiple computers".  A fault
    takes down one member (etcd-member-crash), the member on a crashed or
    deleted control-plane machine (node-crash, vm-deleted, stacked etcd), or
    every member in a zone (zone-outage).  Raft needs floor(n/2)+1 members
    up for writes and linearizable reads.  Decided by Z3: one Boolean per
    possible fault, their count within the budget, and "fewer than a quorum
    up" as the goal; the satisfying choice is the counterexample.
    """
    members = etcd_members(sc)
    kinds = set(sc.fault_kinds)
    budget = sc.fault_budget

    def decide() -> ClaimResult:
        n = len(members)
        q = quorum(n)
        faults = []  # (description, Bool, members it takes down)
        if "etcd-member-crash" in kinds:
            for m in members:
                faults.append((f"etcd-member-crash of {m.name}", [m.name]))
        if "zone-outage" in kinds:
            for z in sorted({m.zone for m in members if m.zone}):
                faults.append((f"zone-outage of zone {z}", [m.name for m in members if m.zone == z]))
        for kind in ("node-crash", "vm-deleted"):
            if kind in kinds:
                for node in sorted({m.node for m in members if m.node and m.node != "control-plane"}):
                    faults.append((f"{kind} of {node}", [m.name for m in members if m.node == node]))
        chosen = [z3.Bool(f"f{i}") for i in range(len(faults))]
        down = {m.name: z3.Or([c for c, (_, hit) in zip(chosen, faults) if m.name in hit] or [z3.BoolVal(False)])
                for m in members}
        constraints = [z3.Sum([z3.If(c, 1, 0) for c in chosen] or [z3.IntVal(0)]) <= budget,
                       z3.Sum([z3.If(d, 1, 0) for d in down.values()]) > n - q]
        # The fewest faults, then the earliest in the list: one deterministic counterexample.
        objectives = [("min", z3.Sum([z3.If(c, 1, 0) for c in chosen] or [z3.IntVal(0)]))]
        objectives += [("max", z3.If(c, 1, 0)) for c in chosen]
        model = find(constraints, {f"f{i}": c for i, c in enumerate(chosen)}, objectives=objectives)
        zones = {}
        for m in members:
            zones[m.zone or "(no zone)"] = zones.get(m.zone or "(no zone)", 0) + 1
        layout = ", ".join(f"zone {z} holds {k} of {n}" for z, k in sorted(zones.items()))
        if model is None:
            allowed = sorted(kinds & set(MEMBER_FAULTS))
            if budget == 0 or not allowed:
                why = "no fault that can stop an etcd member is allowed"
            else:
                why = (f"no combination of at most {budget} of {', '.join(allowed)} stops more than {n - q} "
                       f"member{'s' if n - q != 1 else ''}")
            return ClaimResult(True, f"{n} etcd member{'s' if n != 1 else ''} ({layout}), quorum {q}: {why}",
                               {"members": n, "quorum": q})
        picked = [faults[i] for i in range(len(faults)) if model[f"f{i}"]]
        where = {m.name: f"{m.name} on {m.node}" if m.node and m.node != "control-plane" else m.name
                 for m in members}
        lost = [where[n] for n in sorted({name for _, hit in picked for name in hit})]
        what = " and ".join(d for d, _ in picked)
        verb = "take" if len(picked) > 1 else "takes"
        return ClaimResult(False, f"{what} {verb} down {len(lost)} of {n} etcd members ({', '.join(lost)}): "
                                  f"{n - len(lost)} left, quorum is {q} ({layout})",
                           {"faults": [d for d, _ in picked], "members_down": lost, "quorum": q})

    return Claim("etcd-quorum-survives", decide, etcd_quorum_survives.__doc__)


def _secs(x) -> str:
    f = float(x)
    return f"{f:.3f}".rstrip("0").rstrip(".") + " s"


@register("leader-lease-safe", "ha", leader_elected)
def leader_lease_safe(sc: Scenario):
    """With the scenario's lease timings, clock-rate ratio and pause bound, two instances can never both act as leader at the same real time.

    Seed document: kube-controller-manager and kube-scheduler run as
    leader-elected replicas for fault tolerance.  Modelled as client-go's
    tools/leaderelection loop: the holder's last successful renewal is at
    real time 0; after it, the holder waits retryPeriod, then retries for up
    to renewDeadline, so it may start leader-only work until renewDeadline +
    retryPeriod after that renewal on its own clock, and a pause (GC, VM
    stall) of up to maxPause can delay that work's write further.  A
    candidate observes the renewed record at some time t >= 0 and takes over
    once leaseDuration has passed on its own clock; clocks may run at rates
    whose ratio is at most maxClockRateRatio.  No fencing token exists, so
    any overlap is two leaders.  Decided by Z3 over real-valued time (the
    holder's clock rate normalised to 1).  Request latency is not modelled
    (it only widens the window).
    """
    le = sc.control_plane.leader_election

    def decide() -> ClaimResult:
        LD, RD, RP = (Fraction(str(v)) for v in (le.lease_duration, le.renew_deadline, le.retry_period))
        R, P = Fraction(str(le.max_clock_rate_ratio)), Fraction(str(le.max_pause))
        u = z3.Real("candidate_real_seconds_per_own_second")
        t_obs, t_work, pause = z3.Reals("t_observe t_work pause")
        t_acquire = t_obs + LD * u
        constraints = [u >= 1 / R, u <= R, t_obs >= 0, t_work >= 0, t_work <= RD + RP,
                       pause >= 0, pause <= P, t_work + pause > t_acquire]
        terms = {"u": u, "t_observe": t_obs, "t_work": t_work, "pause": pause, "t_acquire": t_acquire,
                 "t_write": t_work + pause}
        # The widest overlap, then the earliest observation, the shortest pause, the latest work.
        m = find(constraints, terms, objectives=[("max", t_work + pause - t_acquire), ("min", t_obs),
                                                 ("min", pause), ("max", t_work)])
        margin = LD / R - (RD + RP + P)
        if m is None:
            return ClaimResult(True, f"the candidate waits at least leaseDuration/ratio = {_secs(LD / R)} of real time; "
                                     f"the old leader's last write lands at most renewDeadline + retryPeriod + maxPause = "
                                     f"{_secs(RD + RP + P)} after its last renewal: no overlap (margin {_secs(margin)})",
                               {"margin": float(margin)})
        rate = 1 / m["u"]
        return ClaimResult(False,
                           f"the leader renews at t=0 and starts leader-only work at t={_secs(m['t_work'])}"
                           + (f", is paused {_secs(m['pause'])}" if m["pause"] else "")
                           + f", its write landing at t={_secs(m['t_write'])}; the candidate, whose clock runs "
                           f"{float(rate):.3g}x the leader's, observes the renewal at t={_secs(m['t_observe'])} and "
                           f"acquires after {_secs(LD)} on its clock, at t={_secs(m['t_acquire'])}: two leaders act "
                           f"between t={_secs(m['t_acquire'])} and t={_secs(m['t_write'])}",
                           {k: float(v) for k, v in m.items()})

    return Claim("leader-lease-safe", decide, leader_lease_safe.__doc__)


def _etcd_can_fail(sc: Scenario) -> Optional[str]:
    from model.topology import control_plane_nodes
    kinds = set(sc.fault_kinds)
    if sc.fault_budget > 0 and ({"etcd-member-crash", "apiserver-restart", "zone-outage"} & kinds or (
            "node-crash" in kinds and control_plane_nodes(sc))):
        return None
    return "no fault that stops etcd members or apiservers is modelled for this scenario"


@register("control-plane-available", "ha", _etcd_can_fail)
def control_plane_available(sc: Scenario):
    """In every reachable state, an etcd quorum and at least one apiserver are up, so that writes can succeed.

    Seed document: "in production the control plane usually runs across
    multiple computers ... providing fault-tolerance and high availability".
    Checked on every state the faults can reach; the counterexample is the
    sequence of faults that takes the quorum away.
    """
    from explorer import Invariant
    from model.state import ClusterState

    def check(s: ClusterState) -> Optional[str]:
        if not any(s.apiservers_up):
            why = f"all {len(s.apiservers_up)} kube-apiserver instance(s) are down: no request can be served"
            if s.apiserver_pods_lost:
                why += (" (self-hosted: the pod of " + ", ".join(f"apiserver-{k + 1}" for k in s.apiserver_pods_lost)
                        + " went with its machine, and only an apiserver could give it back to the kubelet: "
                        "nothing can recreate it)")
            return why
        if not s.etcd_quorum():
            down = [f"etcd-{i + 1}" for i, up in enumerate(s.etcd_up) if not up]
            return (f"etcd has {sum(s.etcd_up)} of {len(s.etcd_up)} members up ({', '.join(down)} down), "
                    f"quorum is {quorum(len(s.etcd_up))}: no write can commit")
        return None

    return Invariant("control-plane-available", check, control_plane_available.__doc__)


@register("workloads-survive-control-plane-outage", "ha", _etcd_can_fail)
def workloads_survive_control_plane_outage(sc: Scenario):
    """While the control plane is unavailable, no container stops on a machine that is up.

    Seed document: node components "maintain running pods"; the kubelet keeps
    what it runs when it cannot reach the apiserver.  Checked on every step
    taken while etcd has no quorum or no apiserver is up: a machine that stays up keeps every
    container it had.
    """
    from explorer import ActionProperty

    def check(s, lab, t) -> Optional[str]:
        if s.etcd_quorum() and any(s.apiservers_up):
            return None
        for before, after in zip(s.hosts, t.hosts):
            if before.up and after.up:
                lost = [rp.key for rp in before.pods if after.running(rp.uid) is None]
                if lost:
                    return (f"{lab[0]}.{lab[1]} stopped {', '.join(lost)} on {before.name} while the control plane "
                            f"was unavailable (etcd had no quorum or no apiserver was up)")
        return None

    return ActionProperty("workloads-survive-control-plane-outage", check,
                          workloads_survive_control_plane_outage.__doc__)


def _workload_templates(sc: Scenario, nodes=None):
    """Every group of identical pods the scenario asks to run (model/workloads.py), DaemonSet pods on `nodes`
    (default: every Node)."""
    return pod_groups(sc.objects, sc.nodes if nodes is None else nodes)


def _summary(templates) -> str:
    """`2 x Deployment default/web, 3 x DaemonSet default/agent (one per node), ...`"""
    counts = {}
    for name, _, count, *_ in templates:
        key = name.split(" pod for ")[0] + (" (one per node)" if " pod for " in name else "")
        counts[key] = counts.get(key, 0) + count
    return ", ".join(f"{n} x {k}" for k, n in counts.items())


def _node_failures_allowed(sc: Scenario) -> Optional[str]:
    if not sc.nodes:
        return "no nodes"
    if not _workload_templates(sc):
        return "no pods to place"
    return None


@register("n-plus-one-capacity", "ha", _node_failures_allowed)
def n_plus_one_capacity(sc: Scenario):
    """After any one allowed node (or zone) failure, a placement of all pods exists on what remains that satisfies every scheduling constraint: a placement, not a sum of requests.

    Where the scenario allows no node or zone failure, the failure of any one
    node is asked about (DESIGN section 5): a cluster is sized for N+1 or not,
    whatever faults a scenario explores.  Every kind that makes pods counts
    (model/workloads.py), DaemonSet pods on the nodes that remain.

    Seed document: "a cluster usually runs multiple nodes, providing fault
    tolerance".  Decided by Z3 as bin packing: integer counts of each
    template's pods per node, each node's cpu, memory and pod count, taints
    and nodeSelector, node affinity, pod anti-affinity and topology spread,
    for each single node failure (node-crash, vm-deleted) and each zone
    failure (zone-outage).  A crashed machine's Node stays, tainted
    unreachable, and still counts as a topology spread domain (as it does for
    kube-scheduler); a deleted VM's Node goes.  The counterexample names the
    failure and shows the requests against the capacity left.
    """
    kinds = set(sc.fault_kinds)

    def decide() -> ClaimResult:
        failures = []
        allowed = {"node-crash", "vm-deleted", "zone-outage"} & kinds if sc.fault_budget > 0 else set()
        if {"node-crash", "vm-deleted"} & allowed or not allowed:
            # With no node or zone failure allowed, the question is still asked of any one node's failure.
            failures += [(f"node {n.meta.name} fails", {n.meta.name}) for n in sc.nodes]
        if "zone-outage" in allowed:
            zones = sorted({sc.zone_of(n.meta.name) for n in sc.nodes} - {""})
            failures += [(f"zone {z} fails", {n.meta.name for n in sc.nodes if sc.zone_of(n.meta.name) == z})
                         for z in zones]
        everything = _workload_templates(sc)
        if not placement_exists(list(sc.nodes), everything):
            need = sum(t[1].requests.cpu * t[2] for t in everything)
            have = sum(n.allocatable.cpu for n in sc.nodes)
            return ClaimResult(False, f"no placement of {_summary(everything)} satisfies the scheduler's filters "
                                      f"even with every node up (cpu requested {need}m of {have}m allocatable): "
                                      "the cluster is short before any failure", {"failure": "none"})
        # The Node object outlives its machine (a crash; the default where no failure is allowed).
        stays = bool({"node-crash", "zone-outage"} & allowed) or not allowed
        for what, gone in failures:
            left = [n for n in sc.nodes if n.meta.name not in gone]
            templates = _workload_templates(sc, left)   # the DaemonSets' pods on the nodes left
            dead = [evolve(n, ready="Unknown", taints=n.taints + tuple(t for t in UNREACHABLE_TAINTS
                                                                       if t not in n.taints))
                    for n in sc.nodes if n.meta.name in gone] if stays else []
            if not placement_exists(left + dead, templates, down={n.meta.name for n in dead}):
                need = sum(t[1].requests.cpu * t[2] for t in templates)
                have = sum(n.allocatable.cpu for n in left)
                pods = _summary(templates)
                spread = (" while the failed Nodes still count as topology spread domains"
                          if dead and placement_exists(left, templates) else "")
                asked = "" if allowed else " (no node failure is allowed in this scenario: any one node's is asked about)"
                if not left:
                    return ClaimResult(False, f"if {what}, no node is left for {pods}{asked}", {"failure": what})
                names = (", ".join(n.meta.name for n in left) if len(left) <= 8
                         else f"the {len(left)} nodes left")
                return ClaimResult(False, f"if {what}, no placement of {pods} exists on "
                                          f"{names}{spread} "
                                          f"(cpu requested {need}m, left {have}m){asked}", {"failure": what})
        return ClaimResult(True, f"a placement of every pod exists after each of {len(failures)} single failures")

    return Claim("n-plus-one-capacity", decide, n_plus_one_capacity.__doc__)
