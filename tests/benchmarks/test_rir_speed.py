"""RIR speed: ``fast`` vs ``exact`` per source position at T60 = 0.6 s (paper room and array).

Both modes are timed side by side in one run (medians after a warm-up); the ratio is asserted and
stored in the benchmark's ``extra_info``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from bench import rir as R
from bench.scenes import SceneConfig

pytestmark = pytest.mark.benchmark_suite


def _median_seconds(fn, rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@pytest.mark.parametrize("convention", ["gpurir", "pyroomacoustics"])
def test_fast_is_40x_faster_than_exact_at_t60_06(benchmark, convention):
    scene = SceneConfig.paper(t60=0.6, rir_convention=convention)
    position = np.array([[1.48125, 5.375, 1.33693965]])
    exact = SceneConfig.from_dict({**scene.to_dict(), "rir_mode": "exact"})
    fast = SceneConfig.from_dict({**scene.to_dict(), "rir_mode": "fast"})
    t_exact = _median_seconds(lambda: R.compute_rirs(exact, position), rounds=3)
    benchmark.pedantic(R.compute_rirs, args=(fast, position), rounds=7, warmup_rounds=1)
    t_fast = benchmark.stats.stats.median
    ratio = t_exact / t_fast
    benchmark.extra_info.update({"exact_s": t_exact, "fast_s": t_fast, "ratio": ratio})
    print(f"{convention}: exact {t_exact:.3f} s, fast {t_fast:.4f} s per position, "
          f"ratio {ratio:.1f}x")
    assert ratio >= 40.0
