"""Scenarios checked as Ray tasks (`verify --backend ray [--address ADDR]`), on this machine or a Ray cluster.

Each scenario is checked by one Ray task exactly as one process checks it (kubecheck.cli.verify_one: the
same searches, verdicts and traces; its --timeout and --max-memory are the task's own).  The task writes
nothing: a Ray worker may run on another machine, so its counterexample traces (and the removal of traces
that no longer fail) come back with its report and are written here, into --traces, as one process would
have written them; what it printed on standard error comes back too.  The reports are printed in the order
of the command line, each as soon as it and the ones before it are done.  So the output is the same as with
one process, but for the times (tests/test_ray.py).

Without --address a local Ray instance is started for the run, with --workers CPUs (all of this machine's
without it) and stopped at the end; --address auto joins the cluster `ray start` made on this machine, and
ray://HOST:10001 a remote one, whose workers need kubecheck installed (the same version: a task refuses to
run against another).  Ctrl-C (or SIGTERM) cancels the tasks still running and keeps what finished.  Ray is
an optional dependency: `pip install 'kubecheck[ray]'`.
"""

from __future__ import annotations

import io
import logging
import pickle
import sys
from copy import copy
from typing import Iterator, List, Optional

from .compose import UsageError


def _check_remote(version: str, args, path: str, sc, loaded_in: float):
    """One scenario, in a Ray worker: (report, standard error, the trace files to write, an exception)."""
    from . import __version__
    if version != __version__:
        raise RuntimeError(f"the Ray worker runs kubecheck {__version__}, the command {version}: install the same "
                           "version on every node of the cluster")
    from .cli import verify_one
    files: list = []

    def defer(prop, doc, svg):
        files.append((prop, doc, svg))
        return None, None
    err, stderr = io.StringIO(), sys.stderr
    sys.stderr = err
    try:
        rep = verify_one(path, args, sc, loaded_in=loaded_in, trace_files=defer)
        return rep, err.getvalue(), files, None
    except Exception as e:   # raised in the command, as one process would have raised it
        try:
            pickle.dumps(e)
        except Exception:
            e = RuntimeError(f"{type(e).__name__}: {e}")
        return None, err.getvalue(), files, e
    finally:
        sys.stderr = stderr


def _ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--backend ray needs Ray, an optional dependency: pip install 'kubecheck[ray]'") from None
    return ray


def _reachable(address: str) -> Optional[str]:
    """Why the Ray cluster at `address` (host:port, or ray://host:port) cannot be reached, if it cannot: Ray's
    own client retries for minutes before it gives up."""
    import socket
    if address == "auto":
        return None
    hostport = address.split("://", 1)[1] if "://" in address else address
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return f"expected HOST:PORT, ray://HOST:PORT or auto, got {address!r}"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as e:
        return f"cannot reach {address}: {e.strerror or type(e).__name__}"
    return None


def check_with_ray(args, loaded: List, load_seconds: dict, trace_files_now) -> Iterator[Optional[object]]:
    """The reports of `loaded`'s scenarios in order, each checked by a Ray task; None after the last one
    finished when the run was interrupted."""
    ray = _ray()
    from . import __version__
    quiet = copy(args)
    quiet.quiet = True   # the tasks' progress lines would interleave: the command prints one of its own
    if args.address:
        why = _reachable(args.address)
        if why:
            raise UsageError(f"--address: {why}")
    started = not ray.is_initialized()
    try:
        if args.address:
            ray.init(address=args.address, logging_level=logging.ERROR, log_to_driver=False)
        else:
            ray.init(num_cpus=args.workers if args.workers_given else None, include_dashboard=False,
                     logging_level=logging.ERROR, log_to_driver=False)
    except Exception as e:
        raise UsageError(f"--backend ray: could not {'reach ' + args.address if args.address else 'start Ray'}: "
                         f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    task = ray.remote(num_cpus=1, max_retries=0)(_check_remote)
    refs = [task.remote(__version__, quiet, args.scenarios[k], sc, load_seconds.get(sc.name, 0.0))
            for k, sc in enumerate(loaded)]
    from .workers import Waiting
    waiting = Waiting(args, len(loaded), "on Ray")
    k = 0
    try:
        for k, (ref, sc) in enumerate(zip(refs, loaded)):
            while not ray.wait([ref], timeout=1.0)[0]:
                waiting.still(k)
            rep, err, files, exc = ray.get(ref)
            waiting.done(err)
            write = trace_files_now(args, sc)
            paths = {}
            for prop, doc, svg in files:   # written here, as the check would have written them
                path, why = write(prop, doc, svg)
                paths[prop] = path
                if why:
                    print(f"kubecheck: warning: {why}", file=sys.stderr)
            sys.stderr.flush()
            if exc is not None:
                raise exc
            for r in rep.results:
                if r.prop in paths:
                    r.trace = paths[r.prop]
            yield rep
    except KeyboardInterrupt:
        yield None
    finally:
        for ref in refs[k:]:
            try:
                ray.cancel(ref, force=True)
            except Exception:
                pass
        if started:
            ray.shutdown()
