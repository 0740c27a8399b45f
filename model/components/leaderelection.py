"""Leader election of kube-controller-manager and kube-scheduler replicas (client-go tools/leaderelection).

Modelled: a Lease object per component in etcd (kube-system), naming its
holder.  A replica acquires it with a resourceVersion-conditioned write when
it is unheld or its holder's renewals are older than leaseDuration, and then
believes it leads: only then do its controllers act.  The holder renews
while it can write; a renewal that changes nothing else makes no new state.
A holder that cannot renew (no etcd quorum, its apiserver down) steps down
after renewDeadline; a holder that sees another name in the Lease steps
down.  There is no fencing: the Lease records one holder, and nothing stops
a replica that still believes it leads from writing.

Time is abstracted to one fact per Lease: its holder's renewals are older
than leaseDuration (`expired_leases`).  It becomes true (a weakly fair step:
time passes) once the holder stops renewing: crashed, paused, or unable to
write.  Whether it can become true while the holder still believes it leads
is decided by the lease timings, as the Z3 claim `leader-lease-safe` decides
them over real time: a running holder that cannot renew steps down first iff
renewDeadline + retryPeriod < leaseDuration / maxClockRateRatio; a paused
holder resumes first iff that holds with maxPause added.  Otherwise the
Lease may expire first, another replica acquire it, and the old holder act
before it notices (`step_down`, weakly fair) that it lost the Lease.
"""

from __future__ import annotations

from typing import Iterator, List


from explorer import Rule, label

from ..objects import Lease, ObjectMeta, evolve
from ..state import ClusterState, Process
from . import apiserver

LEASE_NAMESPACE = "kube-system"


def actors(s: ClusterState, component: str) -> List[str]:
    """The client names of `component`'s replicas whose controllers act now.

    With one replica (no processes of that component in the state), the
    component acts as one client named after itself.
    """
    procs = [p for p in s.processes if p.component == component]
    if not procs:
        return [component]
    return [p.name for p in procs if p.up and not p.paused and p.leader]


def acting(s: ClusterState, component: str):
    """(client name, label args) for each replica of `component` that acts now.

    The label names the replica (`by=...`) only where there are several.
    """
    names = actors(s, component)
    if names == [component]:
        return [(component, ())]
    return [(n, (("by", n),)) for n in names]


def acting_views(s: ClusterState, component: str):
    """(client, label args, view) for each replica of `component` that acts now and reaches its apiserver."""
    for actor, by in acting(s, component):
        view = apiserver.view(s, actor)
        if view is not None:
            yield actor, by, view


def lease_of(s: ClusterState, component: str):
    return s.store.get("Lease", LEASE_NAMESPACE, component)


def initial_lease(component: str) -> Lease:
    return Lease(meta=ObjectMeta(namespace=LEASE_NAMESPACE, name=component), holder="")


def holder_stops_first(le, pause: float = 0.0) -> bool:
    """With these timings, does a holder that stops renewing stop acting before a candidate may take over?

    The closed form of the `leader-lease-safe` claim: the holder acts for at
    most renewDeadline + retryPeriod (+ a pause) after its last renewal, the
    candidate waits leaseDuration on its own clock, clocks differ by at most
    maxClockRateRatio (the holder's clock taken as the reference).
    """
    return le.renew_deadline + le.retry_period + pause < le.lease_duration / le.max_clock_rate_ratio


def _can_write(s: ClusterState, proc: Process) -> bool:
    return s.etcd_quorum() and s.apiservers_up[s.instance_of(proc.name)]


def acquire(s: ClusterState) -> Iterator:
    """A replica takes the Lease: unheld, or its holder has not renewed for leaseDuration."""
    for p in s.processes:
        if not p.up or p.paused or p.leader:
            continue
        lease = lease_of(s, p.component)
        if lease is None or not (lease.holder == "" or p.component in s.expired_leases):
            continue
        nxt = apiserver.update(s, evolve(lease, holder=p.name), lease.meta.resource_version,
                               spec_changed=False)
        if nxt is None:
            continue
        nxt = evolve(nxt.with_process(evolve(p, leader=True)),
                           expired_leases=tuple(x for x in nxt.expired_leases if x != p.component))
        yield label("leaderelection", "acquire", (("lease", p.component),), (("by", p.name),)), nxt


def step_down(s: ClusterState) -> Iterator:
    """A leader stops leading: it could not renew within renewDeadline, or the Lease names another holder."""
    for p in s.processes:
        if not (p.up and not p.paused and p.leader):
            continue
        lease = lease_of(s, p.component)
        lost = lease is None or lease.holder != p.name
        if lost or not _can_write(s, p):
            why = "lease taken" if lost else "renew failed"
            # kube-controller-manager exits when it loses its Lease: its scheduled evictions go with it.
            yield (label("leaderelection", "step_down", (("by", p.name),), (("why", why),)),
                   evolve(s.with_process(evolve(p, leader=False)),
                          taint_evictions=tuple(e for e in s.taint_evictions if e[0] != p.name)))


def renew(s: ClusterState) -> Iterator:
    """A leader renews a Lease it still holds after its renewals had lapsed (e.g. after a pause)."""
    for p in s.processes:
        if p.up and not p.paused and p.leader and p.component in s.expired_leases and _can_write(s, p):
            lease = lease_of(s, p.component)
            if lease is not None and lease.holder == p.name:
                nxt = apiserver.update(s, lease, lease.meta.resource_version, spec_changed=False)
                if nxt is not None:
                    yield (label("leaderelection", "renew", (("by", p.name),)),
                           evolve(nxt, expired_leases=tuple(x for x in s.expired_leases if x != p.component)))


def expire_rule(le) -> Rule:
    steps_down_first = holder_stops_first(le)
    resumes_first = holder_stops_first(le, le.max_pause)

    def expire(s: ClusterState) -> Iterator:
        """Time passes: the holder has not renewed the Lease for leaseDuration."""
        for lease in s.store.leases:
            comp = lease.meta.name
            if not lease.holder or comp in s.expired_leases:
                continue
            holder = s.process(lease.holder)
            if holder is not None and holder.up and holder.leader:
                if holder.paused:
                    if resumes_first:
                        continue  # pauses up to maxPause end before the Lease can expire
                elif _can_write(s, holder):
                    continue  # it renews
                elif steps_down_first:
                    continue  # with safe timings it steps down before the Lease expires
            yield (label("leaderelection", "lease_expires", (("lease", comp),)),
                   evolve(s, expired_leases=tuple(sorted(s.expired_leases + (comp,)))))

    return Rule("leaderelection.lease_expires", expire, doc=expire.__doc__)


def restart(s: ClusterState) -> Iterator:
    """The supervisor restarts a crashed replica; it reconnects to an apiserver and is a follower."""
    for p in s.processes:
        if p.up:
            continue
        back = s.with_process(evolve(p, up=True, leader=False, paused=False))
        for k, up in enumerate(s.apiservers_up):
            if up:
                choice = (("apiserver", k + 1),) if len(s.apiservers_up) > 1 else ()
                yield (label("leaderelection", "restart", (("process", p.name),), choice),
                       apiserver.reconnect(back, p.name, k, quorum_read=False))


def resume(s: ClusterState) -> Iterator:
    """A paused replica resumes where it stopped, still believing what it believed."""
    for p in s.processes:
        if p.up and p.paused:
            yield label("leaderelection", "resume", (("process", p.name),)), s.with_process(evolve(p, paused=False))


def rules(le) -> List[Rule]:
    """The leader-election rules, with the scenario's lease timings (`LeaderElection`)."""
    return [Rule("leaderelection.acquire", acquire, doc=acquire.__doc__),
            Rule("leaderelection.step_down", step_down, doc=step_down.__doc__),
            Rule("leaderelection.renew", renew, doc=renew.__doc__),
            expire_rule(le),
            Rule("leaderelection.restart", restart, doc=restart.__doc__),
            Rule("leaderelection.resume", resume, doc=resume.__doc__)]
