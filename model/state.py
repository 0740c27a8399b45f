"""ClusterState: the one immutable value every component reduces over.

It holds what is really there: the API objects as stored in etcd (the
`Store`), each machine with its kubelet and the containers its runtime runs
(`Host`), the remaining fault budget, and how many of the user's changes have
been made.  Nothing in it is mutated: a step builds a new state that shares
the unchanged parts.  Static facts of the scenario (a machine's zone and
allocatable, the list of changes) live in the `Scenario`, not here.
"""

from __future__ import annotations

from typing import Optional, Tuple

import attrs
from attrs import frozen

from .components.etcd import Store
from .objects import Resources


@frozen
class RunningPod:
    """The containers of one pod in a machine's container runtime."""

    namespace: str
    name: str
    uid: int
    requests: Resources

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

    def running(self, uid: int) -> Optional[RunningPod]:
        for rp in self.pods:
            if rp.uid == uid:
                return rp
        return None


@frozen(cache_hash=True)
class ClusterState:
    store: Store
    hosts: Tuple[Host, ...]
    faults_left: int = 0
    next_change: int = 0
    etcd_up: Tuple[bool, ...] = (True,)   # per etcd member (model/topology.py), whether it runs

    def etcd_quorum(self) -> bool:
        """Raft's majority of members up: writes and linearizable reads can be served."""
        return 2 * sum(self.etcd_up) > len(self.etcd_up)

    def host(self, name: str) -> Optional[Host]:
        for h in self.hosts:
            if h.name == name:
                return h
        return None

    def with_store(self, store: Store) -> "ClusterState":
        return attrs.evolve(self, store=store)

    def with_host(self, host: Host) -> "ClusterState":
        return attrs.evolve(self, hosts=tuple(host if h.name == host.name else h for h in self.hosts))
