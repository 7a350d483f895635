"""Per-stage peak memory and returning freed heap to the OS (``harness.memory``, Linux/glibc)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ssl_xai_bench.harness import memory

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self/clear_refs").exists(),
    reason="needs Linux /proc",
)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


def test_peak_is_reset_and_measures_one_stage():
    memory.release_free_heap()
    memory.reset_peak()
    base = memory.peak_rss_mb()
    assert base == pytest.approx(_rss_mb(), abs=20)
    chunk = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
    assert memory.peak_rss_mb() >= base + 280
    del chunk
    # as between two stages of a worker: freed heap handed back, then the peak reset (with the
    # workers' allocator settings the freed chunk stays resident until it is handed back)
    memory.release_free_heap()
    memory.reset_peak()
    assert memory.peak_rss_mb() < base + 100  # the next stage does not inherit the old peak


def test_freed_small_allocations_go_back_to_the_os():
    memory.release_free_heap()
    before = _rss_mb()
    # 1 MiB blocks stay in the malloc heap (below any mmap threshold; workers disable mmap), where
    # MALLOC_TRIM_THRESHOLD_ would keep them resident after free().
    blocks = [np.ones(2**20 // 8) for _ in range(300)]
    assert _rss_mb() > before + 250
    del blocks
    memory.release_free_heap()
    assert _rss_mb() < before + 60
