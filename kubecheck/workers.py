"""Several scenarios checked at once, each in a worker process of its own (`verify --workers N`).

Each scenario is checked exactly as one process checks it (the same searches, verdicts and traces; its
`--timeout` and `--max-memory` are its own process's), in a process forked from the command's after every
scenario was loaded and validated.  A worker writes its scenario's traces itself (each scenario has a folder
of its own: the command refuses two scenarios of one name) and sends back its report with what it printed on
standard error; the command prints them in the order of the command line, each as soon as it and the ones
before it are done, and writes --json/--junit/--report after each as a run of one process does.  So the
output is the same with any number of workers, but for the times.

Each task runs in a fresh process (`maxtasksperchild=1`): the memory a large search took is returned before
the next scenario starts.  Ctrl-C (or SIGTERM) is the command's to handle: the workers ignore SIGINT, and
the command stops them, keeps what was finished and says which scenarios were not checked.  A single search
is not split across processes: a Kubernetes state costs more to send to another process (about 80 us to
pickle and 170 us to unpickle, measured on rolling-update-node-crash) than to expand (about 120 us).
"""

from __future__ import annotations

import io
import multiprocessing as mp
import pickle
import signal
import sys
import time
from typing import Callable, Iterator, List, Optional

_JOBS = None   # (verify_one, args, scenarios, load_seconds): set before the pool forks its workers


def _worker_start() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C: the command stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # ... by terminating them


def _check(k: int):
    """Scenario `k` checked in this worker: (report, what it printed on standard error, an exception to
    raise in the command instead, or None)."""
    verify_one, args, loaded, load_seconds = _JOBS
    sc = loaded[k]
    err, stderr = io.StringIO(), sys.stderr
    sys.stderr = err
    try:
        rep = verify_one(args.scenarios[k], args, sc, loaded_in=load_seconds.get(sc.name, 0.0))
        return rep, err.getvalue(), None
    except Exception as e:   # raised in the command, as one process would have raised it
        try:
            pickle.dumps(e)
        except Exception:
            e = RuntimeError(f"{type(e).__name__}: {e}")
        return None, err.getvalue(), e
    finally:
        sys.stderr = stderr


class Waiting:
    """The command's line on a terminal while other processes check scenarios: how many are done, where."""

    def __init__(self, args, total: int, where: str):
        self.tty = not args.quiet and sys.stderr.isatty()
        self.total, self.where, self.start = total, where, time.perf_counter()

    def still(self, done: int) -> None:
        if self.tty:
            sys.stderr.write(f"\r\x1b[Kkubecheck: {done} of {self.total} scenarios checked, {self.where}, "
                             f"{time.perf_counter() - self.start:.0f} s")
            sys.stderr.flush()

    def done(self, printed: str) -> None:
        """A scenario's check came back: the line cleared, what the check printed on standard error shown."""
        if self.tty:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(printed)
        sys.stderr.flush()


def check_in_workers(verify_one: Callable, args, loaded: List, load_seconds: dict) -> Iterator[Optional[object]]:
    """The reports of `loaded`'s scenarios in order, checked by `args.workers` processes; None after the last
    one finished when the run was interrupted."""
    global _JOBS
    from copy import copy
    quiet = copy(args)
    quiet.quiet = True    # the workers' progress lines would interleave: the command prints one of its own
    _JOBS = (verify_one, quiet, loaded, load_seconds)
    n = min(args.workers, len(loaded))
    pool = mp.get_context("fork").Pool(n, initializer=_worker_start, maxtasksperchild=1)
    waiting = Waiting(args, len(loaded), f"{n} workers")
    try:
        results = pool.imap(_check, range(len(loaded)))
        for k in range(len(loaded)):
            while True:
                try:
                    rep, err, exc = results.next(timeout=1.0)
                    break
                except mp.TimeoutError:
                    waiting.still(k)
            waiting.done(err)
            if exc is not None:
                raise exc
            yield rep
    except KeyboardInterrupt:
        yield None
    finally:
        pool.terminate()
        pool.join()
        _JOBS = None
