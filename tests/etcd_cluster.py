"""A real etcd cluster of local members, for tests/test_etcd_real.py.

`Cluster(n, directory)` starts `n` etcd members on free 127.0.0.1 ports, each in a process group of its own
(killed with the test process too, where Linux allows), its data under `directory`.  `stop(i)` kills member
i (SIGKILL: a crash) and `start(i)` restarts it on its data; `pause(i)` / `resume(i)` freeze and thaw it
(SIGSTOP / SIGCONT: the member is cut off from the others while it keeps its state and its readiness);
`close()` kills them all and removes their data.  Requests go to etcd 3.4's JSON gateway (/v3/kv/..., /v3/watch) through urllib
with an explicit timeout each: a request that is refused, or gets no answer in time, raises `Refused`;
an error etcd answers about revisions (compacted, future) raises `RevisionError`.  The timeout follows
what the cluster was seen to be (a leader known or not, a member paused), never the model's expectation.

`settle()` waits for the state the model's steps are atomic between: with a majority running, one leader
followed by every member running, each having applied the same log; without one, no member leading (a
leader keeps accepting proposals for an election timeout after it lost its majority, see
test_etcd_real.py).
"""

from __future__ import annotations

import base64
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import List, Optional, Tuple

ETCD = shutil.which("etcd")
HEARTBEAT_MS = 50
ELECTION_MS = 500
QUORUM_TIMEOUT = 5.0      # a request while a leader is known: it should answer at once
NO_LEADER_TIMEOUT = 0.3   # a write or linearizable read with no leader: nothing can commit it
LOCAL_TIMEOUT = 1.0       # a request a member answers from its own state (serializable read, watch)
PAUSED_TIMEOUT = 0.2      # a request to a frozen process: it cannot answer


class Refused(Exception):
    """No answer: the connection refused or reset, no answer in time, or an error that is not an answer."""


class MemberExited(RuntimeError):
    """A member's process ended by itself (it could not bind its ports, say)."""


class RevisionError(Exception):
    """etcd's answer that a revision was compacted or is in the future: `kind` is "compacted" or "future"."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def unb64(s: str) -> str:
    return base64.b64decode(s).decode()


def prefix_end(prefix: str) -> str:
    """The end of the range of the keys that start with `prefix` (its last byte plus one)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def version() -> Optional[Tuple[int, ...]]:
    """etcd's version, e.g. (3, 4, 23); None where it is not installed."""
    if ETCD is None:
        return None
    out = subprocess.run([ETCD, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"etcd Version: (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else None


def free_ports(n: int) -> List[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:
    """In the child before exec: a session of its own, and SIGKILL when the test process dies (Linux)."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Cluster:
    def __init__(self, n: int, directory: str):
        if ETCD is None:
            raise RuntimeError("etcd is not installed")
        self.n = n
        self.directory = directory
        ports = free_ports(2 * n)
        self.client_ports = ports[:n]
        self.peer_ports = ports[n:]
        self.names = [f"m{i + 1}" for i in range(n)]
        self.procs: List[Optional[subprocess.Popen]] = [None] * n
        self.paused = [False] * n
        self.served = [False] * n    # it has answered a request since it (re)started: it is ready
        self.leader: Optional[str] = None   # the leader every running member follows, once settled (None: none)
        self.initial = ",".join(f"{nm}=http://127.0.0.1:{p}" for nm, p in zip(self.names, self.peer_ports))
        try:
            for i in range(n):
                self.start(i, new=True)
            self.settle()
        except BaseException:
            self.close()
            raise

    # -- processes --------------------------------------------------------------------------------------------

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.client_ports[i]}"

    def running(self, i: int) -> bool:
        """Started and not paused."""
        return self.procs[i] is not None and not self.paused[i]

    def start(self, i: int, new: bool = False) -> None:
        assert self.procs[i] is None
        nm = self.names[i]
        args = [ETCD, "--name", nm, "--data-dir", os.path.join(self.directory, nm),
                "--listen-client-urls", self.url(i), "--advertise-client-urls", self.url(i),
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-cluster", self.initial, "--initial-cluster-token", "kubecheck-test",
                "--initial-cluster-state", "new" if new else "existing",
                "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS),
                "--logger", "zap", "--log-level", "warn"]
        with open(os.path.join(self.directory, f"{nm}.log"), "ab") as log:
            self.procs[i] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             preexec_fn=_die_with_parent)
        self.paused[i] = False
        self.served[i] = False

    def stop(self, i: int) -> None:
        """Kill member i's process group (a crash: what it wrote to its disk stays)."""
        p = self.procs[i]
        if p is None:
            return
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        self.procs[i] = None
        self.paused[i] = False
        self.served[i] = False

    def pause(self, i: int) -> None:
        os.killpg(self.procs[i].pid, signal.SIGSTOP)
        self.paused[i] = True

    def resume(self, i: int) -> None:
        os.killpg(self.procs[i].pid, signal.SIGCONT)
        self.paused[i] = False

    def close(self) -> None:
        """Kill every member, and remove their data (etcd preallocates 64 MB write-ahead-log segments); the
        logs stay."""
        for i in range(self.n):
            self.stop(i)
        for nm in self.names:
            shutil.rmtree(os.path.join(self.directory, nm), ignore_errors=True)

    def restore(self) -> None:
        """Every member running again (started or resumed), and settled."""
        for i in range(self.n):
            if self.procs[i] is None:
                self.start(i)
            elif self.paused[i]:
                self.resume(i)
        self.settle()

    def log_tail(self, chars: int = 3000) -> str:
        out = []
        for nm in self.names:
            try:
                with open(os.path.join(self.directory, f"{nm}.log"), "rb") as f:
                    out.append(f"--- {nm}.log\n" + f.read().decode(errors="replace")[-chars:])
            except OSError:
                pass
        return "\n".join(out)

    # -- requests ---------------------------------------------------------------------------------------------

    def timeout(self, i: int, local: bool) -> float:
        """How long to wait for member i: its answer comes at once or never (see the module docstring)."""
        if self.paused[i]:
            return PAUSED_TIMEOUT
        if self.leader is not None:
            return QUORUM_TIMEOUT
        return LOCAL_TIMEOUT if local else NO_LEADER_TIMEOUT

    def call(self, i: int, path: str, body: dict, timeout: Optional[float] = None, local: bool = False) -> dict:
        """POST `body` to member i's gateway; its JSON answer."""
        if self.procs[i] is None:
            raise Refused(f"{self.names[i]} is down")
        if timeout is None:
            timeout = self.timeout(i, local)
        req = urllib.request.Request(self.url(i) + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                out = json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read()).get("error", "")
            except ValueError:
                msg = f"HTTP {e.code}"
            if "required revision has been compacted" in msg:
                raise RevisionError("compacted", msg)
            if "required revision is a future revision" in msg:
                raise RevisionError("future", msg)
            raise Refused(msg)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:   # refused, reset, timed out
            raise Refused(str(e))
        self.served[i] = True
        return out

    def watch(self, i: int, key: str, range_end: str, start_revision: int, floor: int = 0,
              timeout: Optional[float] = None):
        """Watch [key, range_end) on member i from `start_revision`: ("compacted", compact_revision), or
        ("events", [event, ...]) with the events up to the member's revision when the watch was created.
        Every revision after `floor` is taken to be a write in the range (the caller's own), so the events
        end at an event at that revision; an event that never comes (compacted away) ends them after
        LOCAL_TIMEOUT of silence."""
        if self.procs[i] is None:
            raise Refused(f"{self.names[i]} is down")
        if timeout is None:
            timeout = self.timeout(i, local=True)
        body = json.dumps({"create_request": {"key": b64(key), "range_end": b64(range_end),
                                              "start_revision": str(start_revision)}})
        conn = http.client.HTTPConnection("127.0.0.1", self.client_ports[i], timeout=timeout)
        try:
            conn.request("POST", "/v3/watch", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            if resp.status != 200:
                raise Refused(f"HTTP {resp.status}")
            created = json.loads(resp.readline())["result"]
            self.served[i] = True
            if created.get("canceled"):
                return "compacted", int(created.get("compact_revision", 0))
            upto = int(created["header"]["revision"])   # the member's revision: events up to it are history
            events = []
            if max(start_revision, floor + 1) > upto:
                return "events", events
            conn.sock.settimeout(LOCAL_TIMEOUT)
            while True:
                try:
                    line = resp.readline()
                except (socket.timeout, TimeoutError):
                    return "events", events    # nothing more in time (an event compacted away)
                if not line:
                    return "events", events
                res = json.loads(line)["result"]
                if res.get("canceled"):
                    return "compacted", int(res.get("compact_revision", 0))
                events += res.get("events", [])
                if events and int(events[-1]["kv"]["mod_revision"]) >= upto:
                    return "events", events
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            raise Refused(str(e))
        finally:
            conn.close()

    # -- settling ---------------------------------------------------------------------------------------------

    def leader_index(self) -> Optional[int]:
        """The member that leads, once settled with a majority."""
        for i in range(self.n):
            if self.running(i) and self.status(i)["header"]["member_id"] == self.leader:
                return i
        return None

    def status(self, i: int) -> dict:
        # A member that has not served since it started may be waiting for a quorum: do not wait long for it.
        return self.call(i, "/v3/maintenance/status", {},
                         timeout=LOCAL_TIMEOUT if self.served[i] else NO_LEADER_TIMEOUT)

    def settle(self, deadline: float = 30.0) -> None:
        """Wait until the cluster is in a state the model describes (module docstring)."""
        end = time.monotonic() + deadline
        running = [i for i in range(self.n) if self.running(i)]
        majority = 2 * len(running) > self.n
        while True:
            for i in running:
                if self.procs[i].poll() is not None:
                    raise MemberExited(f"etcd member {self.names[i]} exited ({self.procs[i].returncode})\n"
                                       + self.log_tail())
            leader = self._settled(running, majority)
            if leader is not False:
                self.leader = leader
                return
            if time.monotonic() > end:
                raise TimeoutError(f"etcd did not settle with {[self.names[i] for i in running]} running\n"
                                   + self.log_tail())
            time.sleep(0.02)

    def _settled(self, running, majority):
        sts = {}
        for i in running:
            try:
                sts[i] = self.status(i)
            except Refused:
                if majority or self.served[i]:
                    return False
                # Without a majority, a member that has not served since it started does not answer (it
                # waits to publish itself through a quorum) and cannot lead: nothing to wait for.
        if not majority:
            return None if all(not st.get("leader") for st in sts.values()) else False
        leaders = {st.get("leader") for st in sts.values()}
        if not leaders <= {st["header"]["member_id"] for st in sts.values()}:
            return False    # they follow a leader that is paused, or none
        applied = {(st.get("raftAppliedIndex"), st.get("raftIndex")) for st in sts.values()}
        if len(leaders) != 1 or not next(iter(leaders)) or len(applied) != 1:
            return False
        (a, c), = applied
        return next(iter(leaders)) if a == c else False
