"""RIR speed: ``fast`` vs ``exact`` per source position at T60 = 0.6 s (paper room and array).

Both modes run side by side in one test, for each convention: after a warm-up, rounds alternate
one ``exact`` position with several ``fast`` ones, so a load change on the machine hits both;
the ratio of the medians is asserted (>= 40x, issue 3) and stored in the benchmark's
``extra_info``. pytest-benchmark records the ``fast`` timings.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from bench import rir as R
from bench.scenes import SceneConfig

pytestmark = pytest.mark.benchmark_suite

EXACT_ROUNDS = 5
FAST_PER_ROUND = 3


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@pytest.mark.parametrize("convention", ["gpurir", "pyroomacoustics"])
def test_fast_is_40x_faster_than_exact_at_t60_06(benchmark, convention):
    scene = SceneConfig.paper(t60=0.6, rir_convention=convention)
    position = np.array([[1.48125, 5.375, 1.33693965]])
    exact = SceneConfig.from_dict({**scene.to_dict(), "rir_mode": "exact"})
    fast = SceneConfig.from_dict({**scene.to_dict(), "rir_mode": "fast"})

    def run_exact():
        return R.compute_rirs(exact, position)

    def run_fast():
        return R.compute_rirs(fast, position)

    run_exact(), run_fast()  # warm-up (imports, caches)
    t_exact, t_fast = [], []
    for _ in range(EXACT_ROUNDS):
        t_exact.append(_seconds(run_exact))
        t_fast.extend(_seconds(run_fast) for _ in range(FAST_PER_ROUND))
    benchmark.pedantic(run_fast, rounds=5, warmup_rounds=1)
    ratio = statistics.median(t_exact) / statistics.median(t_fast)
    benchmark.extra_info.update({"exact_s": statistics.median(t_exact),
                                 "fast_s": statistics.median(t_fast), "ratio": ratio})
    print(f"{convention}: exact {statistics.median(t_exact):.3f} s, fast "
          f"{statistics.median(t_fast) * 1e3:.1f} ms per position, ratio {ratio:.1f}x")
    assert ratio >= 40.0
