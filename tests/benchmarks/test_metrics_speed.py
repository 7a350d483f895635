"""Speed of the metric suite: batched GCC-PHAT vs a per-window loop, and the cost of every
perturbation metric against its number of model forwards.

Run with the benchmark command (``pytest tests/benchmarks -m benchmark_suite``). Timings are
medians after a warm-up, compared as ratios within the same run.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import torch
from torch import nn

from bench.metrics import manipulation as mp
from bench.metrics import quantus_suite as qs
from bench.metrics import tdoa

pytestmark = pytest.mark.benchmark_suite

#: Measured ~3x on 2 shared CPU cores; see docs/metrics.md ("Speed") for why the issue's 20x
#: target is out of reach for full-lag GCC-PHAT (the loop is FFT-bound, not Python-bound).
GCC_MIN_SPEEDUP = 2.0
COST_BOUND = 1.25


def _median_time(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_batched_gcc_phat_vs_per_window_loop(benchmark):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 16, 5120)).astype(np.float32)
    pairs = tdoa.mic_pairs(16)

    def loop():
        return np.array(
            [[tdoa.gcc_phat_reference(w[j], w[i]) for i, j in pairs] for w in x], dtype=float
        )

    def batched():
        return tdoa.gcc_phat_lags(x, pairs)

    np.testing.assert_array_equal(batched(), loop())
    t_loop = _median_time(loop)
    t_batched = _median_time(batched)
    bound = tdoa.max_lags(np.c_[0.15 * np.arange(16), np.zeros((16, 2))], pairs, 16000, 343)
    t_bounded = _median_time(lambda: tdoa.gcc_phat_lags(x, pairs, max_lag=bound))
    ratio = t_loop / t_batched
    benchmark.extra_info.update(
        loop_s=t_loop, batched_s=t_batched, bounded_s=t_bounded, speedup=ratio,
        speedup_bounded=t_loop / t_bounded,
    )
    benchmark.pedantic(batched, rounds=1, iterations=1)
    print(f"GCC-PHAT 6 windows x 120 pairs: loop {t_loop:.3f}s, batched {t_batched:.3f}s "
          f"({ratio:.1f}x), bounded {t_bounded:.3f}s ({t_loop / t_bounded:.1f}x)")
    assert ratio >= GCC_MIN_SPEEDUP


class _Counting(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.windows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.windows += int(x.shape[0])
        return self.inner(x)


PERTURBATION_METRICS = {
    "faithfulness_correlation": {"nr_runs": 10, "subset_size": 512},
    "faithfulness_estimate": {"features_in_step": 5120},
    "pixel_flipping": {"features_in_step": 5120},
    "monotonicity_correlation": {"features_in_step": 5120, "nr_samples": 1},
    "region_perturbation": {"patch_size": 16, "regions_evaluation": 10},
}


def test_perturbation_metrics_cost_at_most_their_forwards(benchmark):
    from ssl_models.registry import build_model

    torch.manual_seed(0)
    torch.set_num_threads(1)
    n, batch = 16, 16
    model = build_model("loccnn").eval()
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((n, 16, 5120))).astype(np.float32)
    pos = rng.uniform(1.0, 6.0, (n, 3))
    rel = rng.standard_normal(x.shape).astype(np.float32)
    xt = torch.from_numpy(x[:batch])

    def forward_batch():
        with torch.no_grad():
            model(xt)

    per_window = _median_time(forward_batch, repeats=5) / batch
    ratios = {}
    for name, params in PERTURBATION_METRICS.items():
        counting = _Counting(model)

        def run(name=name, params=params, counting=counting):
            qs.run_quantus_metric(name, counting, x, pos, rel, params=params, batch_size=batch)

        run()
        forwards = counting.windows
        assert forwards == n * qs.forwards_per_window(name, qs.metric_params(name, params),
                                                      16, 5120)
        ratios[name] = _median_time(run, repeats=3) / (forwards * per_window)
    counting = _Counting(model)

    def manip():
        mp.manipulation_errors(counting, x, pos, rel, mp.PAPER_FRACTIONS, batch_size=batch)

    manip()
    forwards = counting.windows
    assert forwards == n * (1 + 3 * 7)
    ratios["manipulation"] = _median_time(manip, repeats=3) / (forwards * per_window)
    benchmark.extra_info.update(per_window_forward_s=per_window, **ratios)
    benchmark.pedantic(forward_batch, rounds=1, iterations=1)
    print("cost / (forwards x batched per-window forward):",
          {k: round(v, 3) for k, v in ratios.items()})
    assert all(r <= COST_BOUND for r in ratios.values()), ratios
