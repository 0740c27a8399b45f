"""How much memory this process holds: what `--max-memory` bounds and the progress line shows.

The resident set (pages in RAM) is read from /proc/self/statm where there is one (Linux); elsewhere the
peak resident set from getrusage stands in for it (it never decreases, so a bound on it is only stricter).
"""

from __future__ import annotations

import os
import sys

try:
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):   # pragma: no cover - not POSIX
    _PAGE = 4096


def resident_bytes() -> int:
    """The process's resident set size in bytes (0 where the system does not say)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):   # pragma: no cover - not POSIX
        return 0
    return peak if sys.platform == "darwin" else peak * 1024   # bytes on macOS, KiB elsewhere


def shown(n: int) -> str:
    """A size in bytes as people read it (binary units, as Kubernetes quantities write them)."""
    for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}B"
    return f"{n} B"
