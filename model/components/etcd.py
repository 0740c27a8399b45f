"""etcd: the consistent key-value store behind kube-apiserver.

Modelled: one logical keyspace holding every API object, a global revision
that each write increments, and each object's mod revision as its
resourceVersion, so that compare-and-swap on resourceVersion (what
GuaranteedUpdate does with an etcd transaction, and create with a compare on
mod_revision 0) can be expressed.  The members and Raft are in
`ClusterState` (model/state.py): which members are up (`etcd_up`) and which
hold the last acknowledged write (`etcd_current`); writes and linearizable
reads need a majority up (`etcd_quorum`, checked by kube-apiserver's writes
and quorum reads), a write reaches exactly the members up (`with_store`),
and a majority with a current member up catches every member up
(`with_members`).  Past keyspaces, one per write, are `ClusterState.history`,
kept as far back as a watch cache reads them.

When no component of a scenario can read a stale object, resourceVersions
are not observable and are not tracked (`track_revisions=False`): every
compare-and-swap would succeed anyway, and tracking them would only multiply
states by the orders in which independent objects were last written.

Revisions and uids are renumbered densely by the canonical form (model/
canonical.py): only their equality and order are observable.

Checked against a real etcd (tests/test_etcd_real.py, Debian's etcd-server
3.4): random sequences of puts, compare-and-swaps on mod_revision, deletes,
linearizable reads (now and at past revisions), serializable reads and
watches from a chosen member, compactions, member crashes, restarts, pauses
and losses of quorum, applied to a 3-member cluster and to these pieces; every
real outcome is one the model allows.  A member cut off (paused) while writes
went on, then left alone, answers serializable reads from its old keyspace:
the model's member up but not current, whose keyspace is one of the
history's.  The differences, each pinned by a test there:

* Not modelled: compaction (kube-apiserver's 410 Gone is abstracted too,
  model/components/apiserver.py).  A read or watch from below the compacted
  revision fails (a watch is cancelled with the compact revision).  A watch
  from exactly the compaction revision misses a delete made at that
  revision on etcd without the fix of etcd issue 18089 (etcd PR 18274 and
  its 2024 backports; Debian's 3.4.23 lacks it), so a watcher starting there
  never learns of that delete (`test_compaction`).
* Not modelled: etcd's per-key create_revision and version; kube-apiserver
  reads only mod_revision (`test_version_and_create_revision_not_modelled`).
* Serializable reads: the model makes none (its components read through
  watch caches or linearizably), so no verdict depends on the two
  differences below.  A member process started without a quorum answers no
  client, not even a serializable read, until it has joined one
  (`test_member_started_without_quorum_answers_nothing`); in the model it is
  up.  A follower applies a write a moment after the leader acknowledged it,
  so a serializable read from it may miss the write
  (`test_follower_read_may_lag_an_acknowledged_write`); in the model the
  write reaches every member up at once.
* A difference that can change a verdict, not modelled yet: a write refused
  for want of a quorum may still commit.  A leader that has just lost its
  majority keeps taking proposals for up to an election timeout; its client
  times out (an error to the apiserver's client); when the next majority
  includes it, its longer log wins the election and the write commits,
  before any other (a majority without it drops the write).  In the model a
  write without a quorum fails and is gone
  (`test_timed_out_write_commits_later`).
"""

from __future__ import annotations

# The keyspace's value, etcd's Store, is model/store.py's (the state holds it and depends on no component);
# named here too, where checkpoints pickled before it moved look for it.
from ..store import KIND_FIELDS, Store  # noqa: F401

