"""Checkpoints of a long search: written periodically, read back to continue (`--checkpoint DIR`,
`--resume DIR`).

As TLC does, a search writes its state at a boundary between two expansions,
every `every` seconds (TLC: every 30 minutes by default), to a file of its own
in the checkpoint folder (named after the scenario and the search), replaced atomically; a search that is interrupted
(Ctrl-C, SIGTERM, a CI timeout) continues from the last one written.  What is
written is everything the breadth-first search needs to go on as if it had
not stopped: the states in discovery order (the seen set is rebuilt from
them), parents, depths, fair edges and their instances, the violations and
the counters; a resumed search reaches the same states, transitions and
verdicts as an uninterrupted one (tested).  Seconds are the only figure that
differs: they count this run's time, with the earlier runs' added.

A checkpoint names the search it belongs to (`key`: the system, its rules and
properties, the reduction and the bounds that shape the search): one written
for another scenario, another command line or another version of the model
is not used (the search starts afresh, and says so).  The file is a pickle:
read only checkpoints this tool wrote, as for any pickle.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from typing import Any, Dict, Optional

FORMAT = 1


class Checkpoint:
    """Where one scenario's search keeps its checkpoint, how often it writes it, and whether it resumes."""

    def __init__(self, folder: str, name: str, every: float = 60.0, resume: bool = False):
        self.folder = folder
        self.name = name
        self.path = os.path.join(folder, f"{name}.checkpoint")   # the last one written or read
        self.every = every
        self.resume = resume
        self.written: Optional[Dict[str, Any]] = None   # what the last checkpoint held: states, depth
        self.resumed_from: Optional[int] = None         # states the search resumed with, if it did
        self.note: Optional[str] = None                 # why a checkpoint found was not used

    def path_for(self, key: str) -> str:
        """One file per search (a check may run two: around observers, then the full system)."""
        return os.path.join(self.folder, f"{self.name}.{key[:12]}.checkpoint")

    def load(self, key: str) -> Optional[Dict[str, Any]]:
        """The saved search for `key`, or None (none saved, or saved for another search: `note` says)."""
        self.path = self.path_for(key)
        if not self.resume or not os.path.isfile(self.path):
            return None
        try:
            with open(self.path, "rb") as f:
                data = pickle.load(f)
        except Exception as e:   # a truncated or foreign file: start afresh, and say so
            self.note = f"the checkpoint {self.path} could not be read ({type(e).__name__}); searched afresh"
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            self.note = (f"the checkpoint {self.path} belongs to another search (scenario, options or model "
                         f"version); searched afresh")
            return None
        self.resumed_from = len(data["states"])
        return data

    def save(self, key: str, data: Dict[str, Any]) -> None:
        """Write `data` for `key` atomically (a temporary file renamed over the last checkpoint)."""
        self.path = self.path_for(key)
        data = dict(data, key=key, format=FORMAT, written=time.time())
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".kubecheck-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self.written = {"states": len(data["states"]), "depth": int(data["depth"][data["head"] - 1])
                        if data["head"] else 0}


def search_key(system, **shape) -> str:
    """What identifies a search: the system's name, rules and properties, and the options that shape it."""
    parts = [system.name, [r.name for r in system.rules], [i.name for i in system.invariants],
             [a.name for a in system.actions], [c.name for c in system.convergences], sorted(shape.items()),
             _code_version()]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


_VERSION: Optional[str] = None


def _code_version() -> str:
    """A digest of the engine's and the model's source: a checkpoint of older code is not resumed."""
    global _VERSION
    if _VERSION is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        h = hashlib.sha256()
        for top in ("explorer", "model", "properties"):
            for dirpath, dirnames, files in sorted(os.walk(os.path.join(root, top))):
                dirnames.sort()
                for fn in sorted(files):
                    if fn.endswith(".py"):
                        with open(os.path.join(dirpath, fn), "rb") as f:
                            h.update(fn.encode() + f.read())
        _VERSION = h.hexdigest()
    return _VERSION
