"""ClusterState: the one immutable value every component reduces over.

It holds what is really there: the API objects as stored in etcd (the
`Store`), each machine with its kubelet and the containers its runtime runs
(`Host`), the remaining fault budget, and how many of the user's changes have
been made.  Nothing in it is mutated: a step builds a new state that shares
the unchanged parts.  Static facts of the scenario (a machine's zone and
allocatable, the list of changes) live in the `Scenario`, not here, but for
three that the components' pure functions read and that never change during
a search: `max_lag` (check.maxStaleness), `track_expectations` (whether
controllers keep expectations that a lagging cache makes observable) and
`sa_admission` (whether the ServiceAccount admission plugin is composed).
They are the same in every state of one scenario, so they cost no states.
"""

from __future__ import annotations

from typing import Optional, Tuple

from attrs import frozen

from .store import Store
from .objects import Resources, evolve


@frozen
class RunningPod:
    """The containers of one pod in a machine's container runtime."""

    namespace: str
    name: str
    uid: int
    requests: Resources
    generate_name: str = ""   # the pod's name was generated from this prefix (renumbered with its uid)
    ip: str = ""              # its sandbox's IP, from the network plugin's IPAM ("" where IPs are not modelled)
    host_ports: tuple = ()    # (protocol, hostIP, port) it holds on the machine
    volumes: tuple = ()       # the claims (ns/name) whose volumes its containers have mounted (attachdetach.py)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@frozen(cache_hash=True)
class Host:
    """A machine: whether it is up, whether its kubelet runs, and what its runtime runs."""

    name: str
    up: bool = True
    kubelet_up: bool = True
    pods: Tuple[RunningPod, ...] = ()   # sorted by uid
    reachable: bool = True              # False: partitioned from the control plane
    vm_deleted: bool = False            # its cloud VM is gone: down for good
    # The Service rules kube-proxy (or the network plugin replacing it) has programmed in this machine's
    # kernel: (Service ns/name, ClusterIP, backend pod IPs), sorted; lost when the machine goes down.
    service_rules: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = ()

    def running(self, uid: int) -> Optional[RunningPod]:
        for rp in self.pods:
            if rp.uid == uid:
                return rp
        return None


@frozen
class Process:
    """One replica of a leader-elected control-plane component (kube-controller-manager, kube-scheduler)."""

    name: str                 # its client name, e.g. kube-controller-manager-2
    component: str            # kube-controller-manager | kube-scheduler
    up: bool = True
    paused: bool = False      # frozen after its last action (GC pause, VM stall)
    leader: bool = False      # it believes it holds the Lease, so its controllers act


@frozen(cache_hash=True)
class ClusterState:
    store: Store
    hosts: Tuple[Host, ...]
    faults_left: int = 0
    next_change: int = 0
    etcd_up: Tuple[bool, ...] = (True,)   # per etcd member (model/topology.py), whether it runs
    # Per member, whether its log holds the last acknowledged write (Raft
    # replication, abstracted: a write reaches every member up at the time).
    etcd_current: Tuple[bool, ...] = (True,)
    # Watch caches (model/components/apiserver.py).  history[i] is etcd's
    # keyspace as it was i+1 writes ago, kept only as far back as some view
    # still reads it; cache_lag[k] is how many writes apiserver k's watch
    # cache is behind (0 = current), at most max_lag (check.maxStaleness).
    max_lag: int = 0
    history: Tuple[Store, ...] = ()
    apiservers_up: Tuple[bool, ...] = (True,)
    # Self-hosted apiserver instances whose pod went with their machine: only an apiserver can give it back.
    apiserver_pods_lost: Tuple[int, ...] = ()
    cache_lag: Tuple[int, ...] = (0,)
    # Which apiserver instance each client talks to (empty: all talk to
    # instance 0), and clients whose last list was a quorum read at a
    # revision newer than their cache's (client, lag of that read).
    connections: Tuple[Tuple[str, int], ...] = ()
    pins: Tuple[Tuple[str, int], ...] = ()
    # Leader-elected replicas, where a component has more than one, and the
    # Leases whose holder has not renewed for leaseDuration (time, abstracted).
    processes: Tuple[Process, ...] = ()
    expired_leases: Tuple[str, ...] = ()
    # Per client, the revision of the newest view it has acted on (model/observation.py).
    watermarks: Tuple[Tuple[str, int], ...] = ()
    # Controller expectations (pkg/controller/controller_utils.go), in each
    # controller replica's memory: (client, owner uid, revision of its last
    # create or delete for that owner).  Satisfied once the client's view has
    # reached that revision; lost when the replica crashes.
    expectations: Tuple[Tuple[str, int, int], ...] = ()
    track_expectations: bool = False
    # Syncs a controller replica's workers have begun and not finished, where the workqueue does not keep a
    # key to one worker at a time (`behaviour.workqueuePerKey: false`, model/components/replicaset.py):
    # (client, ReplicaSet ns/name), one entry per worker, sorted.  Lost when the replica crashes.
    syncs: Tuple[Tuple[str, str], ...] = ()
    # The ServiceAccount admission plugin is modelled (model/components/serviceaccount.py).
    sa_admission: bool = False
    # History variables that properties read, set by the user's changes (e.g.
    # "rollout-from-available:default/web": a template change made while the
    # Deployment was fully available, for `rollout-availability`).
    marks: Tuple[str, ...] = ()
    # Per Job uid, how many of its pods have succeeded in all (saturating one past completions),
    # for `job-completions-not-exceeded`: pods that succeeded may since have been removed.
    job_successes: Tuple[Tuple[int, int], ...] = ()
    # The cluster DNS addon's zone, as its replicas serve it: (Service ns/name, ClusterIP), sorted
    # (model/components/dns.py).
    dns_records: Tuple[Tuple[str, str], ...] = ()
    # The cloud provider's resources (model/components/cloudcontroller.py): its routes, (node, pod CIDR), and
    # its load balancers, (Service ns/name, backend node names), both sorted.
    cloud_routes: Tuple[Tuple[str, str], ...] = ()
    cloud_lbs: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    # Time for CronJobs (model/components/environment.py `tick_rules`): per CronJob ns/name, how many of its
    # scheduled times have come, and whether the last one's startingDeadlineSeconds has passed; sorted.
    cron_ticks: Tuple[Tuple[str, int, bool], ...] = ()
    # The taint-eviction controller's scheduled evictions, in each kube-controller-manager replica's memory
    # (its TimedWorkerQueue, model/components/tainteviction.py): (client, pod uid), sorted.  Lost when the
    # replica crashes or stops leading.
    taint_evictions: Tuple[Tuple[str, int], ...] = ()
    # The storage's attachments of claims' volumes to nodes (model/components/attachdetach.py): (claim ns/name,
    # node), sorted; what the attach/detach controller's actual state of world and the VolumeAttachments record.
    attachments: Tuple[Tuple[str, str], ...] = ()

    def ticks_of(self, cronjob: str) -> Tuple[int, bool]:
        """(scheduled times come, the last one's starting deadline passed) of CronJob `cronjob` (ns/name)."""
        for key, n, late in self.cron_ticks:
            if key == cronjob:
                return n, late
        return 0, False

    def expectation(self, client: str, uid: int) -> int:
        for c, u, rev in self.expectations:
            if c == client and u == uid:
                return rev
        return 0

    def expect(self, client: str, uid: int, rev: int) -> "ClusterState":
        if not self.track_expectations:
            return self
        rest = [e for e in self.expectations if not (e[0] == client and e[1] == uid)]
        return evolve(self, expectations=tuple(sorted(rest + [(client, uid, rev)])))

    def process(self, name: str) -> Optional[Process]:
        for p in self.processes:
            if p.name == name:
                return p
        return None

    def with_process(self, proc: Process) -> "ClusterState":
        return evolve(self, processes=tuple(proc if p.name == proc.name else p for p in self.processes))

    def etcd_quorum(self) -> bool:
        """Raft's majority of members up: writes and linearizable reads can be served."""
        return 2 * sum(self.etcd_up) > len(self.etcd_up)

    def with_members(self, up: Tuple[bool, ...]) -> "ClusterState":
        """etcd members stop or start.  Once a quorum is up, a leader with the latest log (if any up member
        has it) replicates it to every up member; without one, nobody catches up."""
        current = self.etcd_current
        if 2 * sum(up) > len(up) and any(c and u for c, u in zip(current, up)):
            current = tuple(c or u for c, u in zip(current, up))
        return evolve(self, etcd_up=up, etcd_current=current)

    def instance_of(self, client: str) -> int:
        for c, k in self.connections:
            if c == client:
                return k
        return 0

    def pin_of(self, client: str) -> Optional[int]:
        for c, lag in self.pins:
            if c == client:
                return lag
        return None

    def pin_limit(self, client: str, lags) -> int:
        """A pin is kept while it is fresher than the cache its client reads (`lags`, per instance); a client
        of an instance that is down keeps it while the history reaches back that far."""
        k = self.instance_of(client)
        return lags[k] if self.apiservers_up[k] else self.max_lag

    def host(self, name: str) -> Optional[Host]:
        for h in self.hosts:
            if h.name == name:
                return h
        return None

    def with_store(self, store: Store) -> "ClusterState":
        """Commit a write to etcd: the old keyspace goes into the history, and every
        watch cache (and quorum-read pin) falls one write further behind."""
        if self.etcd_current != self.etcd_up:
            self = evolve(self, etcd_current=self.etcd_up)  # the write reached exactly the members up
        if self.max_lag == 0:
            return evolve(self, store=store)
        k = self.max_lag
        lags = tuple(min(lag + 1, k) for lag in self.cache_lag)
        pins = tuple((c, lag + 1) for c, lag in self.pins if lag + 1 < self.pin_limit(c, lags))
        # A view never allocates uids: a past keyspace keeps next_uid 0, so that equal histories are equal
        # whatever uids were allocated since (the canonical form renumbers them).
        past = self.store if self.store.next_uid == 0 else evolve(self.store, next_uid=0)
        return evolve(self, store=store, history=((past,) + self.history)[:k], cache_lag=lags,
                            pins=pins)

    def with_host(self, host: Host) -> "ClusterState":
        return evolve(self, hosts=tuple(host if h.name == host.name else h for h in self.hosts))
