"""Process memory: the resident-set peak of one stage, and handing freed heap back to the OS.

The workers run with ``MALLOC_TRIM_THRESHOLD_`` set very high, one arena and no mmap
(``ssl_xai_bench.harness.runner.WORKER_ENV``: freed memory is kept for the next allocation instead
of being returned and faulted in again, which made LocCNN's training steps ~1.9x faster here). The
price is that a worker's resident set stays at the largest stage it ever ran. Between stages the
memory is no longer needed, so :func:`release_free_heap` returns it with glibc's ``malloc_trim``;
within a stage nothing changes.

:func:`reset_peak` and :func:`peak_rss_mb` measure one stage's peak with the Linux high-water mark
(``VmHWM`` in ``/proc/self/status``, reset by writing ``5`` to ``/proc/self/clear_refs``). Elsewhere
both are no-ops and the peak reads 0.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak() -> None:
    """Reset this process's resident-set high-water mark (Linux >= 4.0; otherwise nothing)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark since the last :func:`reset_peak`, MiB
    (0.0 where ``/proc`` is not available)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


@cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_free_heap() -> None:
    """Return freed heap pages to the operating system (glibc ``malloc_trim(0)``; else nothing)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
