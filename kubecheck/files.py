"""Writing what kubecheck produces without harming what the user has (DESIGN section 4, "never hurt the user").

* Every output path is checked before the run (`check_outputs`): its folder
  exists and is writable, it is not a folder, it is not one of the scenario
  files being read, and no two outputs share a path; `--traces` is a folder or
  can be made one.  A run that would fail at the end fails at the start, with
  exit status 2 and nothing written.
* Every file is written to a temporary name beside it and renamed into place
  (`write_atomic`), so an interrupted run leaves the previous file whole.
* A trace file is written inside the traces folder only (`inside`), and
  kubecheck overwrites or deletes a trace only where the file there is one it
  wrote (`written_by_kubecheck`); a file of the user's with that name is left
  alone, with a warning.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Iterable, List, Optional, Sequence, Tuple


class OutputError(Exception):
    """An output path that cannot or must not be written: exit status 2, before anything runs."""


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _writable_folder(path: str) -> Optional[str]:
    """Why files cannot be made in the folder `path` (or the nearest folder above it that exists), or None."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        return f"{probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"folder {probe} is not writable"
    return None


def check_outputs(outputs: Sequence[Tuple[str, Optional[str]]], inputs: Iterable[str],
                  traces: Optional[str] = None) -> None:
    """Refuse, before the run, outputs that would overwrite an input, collide, or fail to be written.

    `outputs`: (flag, path) pairs; a None path or "-" (standard output) is skipped.
    """
    inputs = [p for p in inputs if p != "-"]
    seen: List[Tuple[str, str]] = []
    for flag, path in outputs:
        if not path or path == "-":
            continue
        if os.path.isdir(path):
            raise OutputError(f"{flag} {path}: is a folder; give a file path")
        for src in inputs:
            if os.path.exists(path) and _same(path, src):
                raise OutputError(f"{flag} {path}: is the scenario being checked; it would be overwritten")
        for other_flag, other in seen:
            if _same(path, other):
                raise OutputError(f"{flag} {path}: {other_flag} writes the same file; give each its own path")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise OutputError(f"{flag} {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"{flag} {path}: folder {folder} is not writable")
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise OutputError(f"{flag} {path}: is not writable")
        seen.append((flag, path))
    if traces is not None:
        if os.path.exists(traces) and not os.path.isdir(traces):
            raise OutputError(f"--traces {traces}: is a file, not a folder")
        why = _writable_folder(traces)
        if why:
            raise OutputError(f"--traces {traces}: {why}")
        for flag, path in seen:
            if _same(path, traces):
                raise OutputError(f"{flag} {path}: is the traces folder")


def write_atomic(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, renamed into place."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".kubecheck-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def inside(folder: str, *parts: str) -> str:
    """The path of `parts` under `folder`, refusing any that would resolve outside it."""
    base = os.path.realpath(folder)
    path = os.path.join(folder, *parts)
    real = os.path.realpath(path)
    if real != base and not real.startswith(base + os.sep):
        raise OutputError(f"{path}: would be written outside the traces folder {folder}")
    return path


TRACE_MARK = "kubecheck counterexample"


def written_by_kubecheck(path: str) -> bool:
    """Whether the trace file at `path` is one kubecheck wrote (its ITF `#meta.description` says so)."""
    try:
        if os.path.getsize(path) > 256 * 1024 * 1024:
            return False
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return False
    meta = doc.get("#meta") if isinstance(doc, dict) else None
    return isinstance(meta, dict) and str(meta.get("description", "")).startswith(TRACE_MARK)
