"""RIR speed: ``fast`` vs ``exact`` per source position at T60 = 0.6 s (paper room and array).

Both modes run side by side in one test, for each convention: after a warm-up, rounds alternate
one ``exact`` position with several ``fast`` ones, so a load change on the machine hits both;
the ratio of the medians is asserted (>= 40x, issue 3), stored in the benchmark's ``extra_info``
and written to the ``rir`` section of ``docs/PERFORMANCE.md``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from ssl_xai_bench.acoustics import rir
from ssl_xai_bench.acoustics.scene import SceneConfig

from .conftest import markdown_table, rounds

pytestmark = pytest.mark.benchmark_suite

FAST_PER_ROUND = 3
_ROWS: dict[str, list[object]] = {}


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@pytest.mark.parametrize("convention", ["gpurir", "pyroomacoustics"])
def test_fast_is_40x_faster_than_exact_at_t60_06(benchmark, perf_report, convention):
    scene = SceneConfig.paper(t60=0.6, rir_convention=convention)
    position = np.array([[1.48125, 5.375, 1.33693965]])
    exact = SceneConfig.from_dict({**scene.to_dict(), "rir_mode": "exact"})
    fast = SceneConfig.from_dict({**scene.to_dict(), "rir_mode": "fast"})

    def run_exact():
        return rir.compute_rirs(exact, position)

    def run_fast():
        return rir.compute_rirs(fast, position)

    run_exact(), run_fast()  # warm-up (imports, caches)
    t_exact, t_fast = [], []
    for _ in range(rounds()):
        t_exact.append(_seconds(run_exact))
        t_fast.extend(_seconds(run_fast) for _ in range(FAST_PER_ROUND))
    benchmark.pedantic(run_fast, rounds=5, warmup_rounds=1)
    ratio = statistics.median(t_exact) / statistics.median(t_fast)
    benchmark.extra_info.update({"exact_s": statistics.median(t_exact),
                                 "fast_s": statistics.median(t_fast), "ratio": ratio})
    print(f"{convention}: exact {statistics.median(t_exact):.3f} s, fast "
          f"{statistics.median(t_fast) * 1e3:.1f} ms per position, ratio {ratio:.1f}x")
    _ROWS[convention] = [convention, f"{statistics.median(t_exact):.3f}",
                         f"{statistics.median(t_fast) * 1e3:.1f}", f"{ratio:.0f}"]
    perf_report.add("rir", [
        "One source position, 16 microphones, paper room, T60 0.6 s; `exact` = pyroomacoustics",
        "full image sources, `fast` = our mode (docs/design.md). Medians of "
        f"{len(t_exact)} exact and {len(t_fast)} fast positions, interleaved "
        "(`tests/benchmarks/test_rir_speed.py`). Target: >= 40x.",
        "",
        *markdown_table(["convention", "exact s / position", "fast ms / position",
                         "speed-up (x)"], list(_ROWS.values())),
    ])
    assert ratio >= 40.0
