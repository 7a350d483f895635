"""Peak memory of the default preset (issue 10 "Resource bounds"): under 8 GiB.

Runs ``ssl-xai-bench run --preset default --no-report`` in a fresh store (about 15 minutes on 2
cores) and measures two peaks: the sum of the resident set sizes of the CLI and every descendant
(its Dask workers, the eSpeak synthesiser), sampled every 0.2 s with ``psutil``, and the largest
single process (``ru_maxrss`` from ``os.wait4``). The bound applies to the sum, what the machine
must hold at once (an over-estimate: shared library pages count once per process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

LIMIT_GIB = 8.0


class _TreeSampler:
    """Peak of the summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, period_s: float = 0.2) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._root = psutil.Process(pid)
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)
        self._thread.start()

    def _run(self, period_s: float) -> None:
        while not self._stop.wait(period_s):
            total = 0
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "ssl-xai-bench"
    if script.exists():
        return [str(script)]
    found = shutil.which("ssl-xai-bench")
    return [found] if found else [sys.executable, "-m", "bench.cli"]


@pytest.mark.benchmark_suite
def test_default_preset_peak_memory_below_8_gib(benchmark, tmp_path):
    def run() -> tuple[int, int]:
        log = tmp_path / "run.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [*_cli(), "run", "--preset", "default", "--no-report",
                 "--set", "runner.progress=false", "--store", str(tmp_path / "store"),
                 "--results-dir", str(tmp_path / "results")],
                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
            sampler = _TreeSampler(proc.pid)
            try:
                _, status, usage = os.wait4(proc.pid, 0)  # keeps the rusage Popen.wait drops
            finally:
                tree_peak = sampler.stop()
            proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode == 0, log.read_text()[-5000:]
        return tree_peak, usage.ru_maxrss * 1024

    tree_peak, single_peak = benchmark.pedantic(run, rounds=1, iterations=1)
    gib = 2.0**30
    benchmark.extra_info.update(peak_tree_rss_gib=round(tree_peak / gib, 3),
                                peak_single_process_rss_gib=round(single_peak / gib, 3))
    print(f"\ndefault preset: peak RSS {tree_peak / gib:.2f} GiB (all processes), "
          f"{single_peak / gib:.2f} GiB (largest process)")
    assert tree_peak < LIMIT_GIB * gib
