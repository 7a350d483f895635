"""Speed of the metric suite: batched GCC-PHAT vs a per-window loop, and the cost of every
perturbation metric against its number of model forwards.

Run with the benchmark command (``pytest tests/benchmarks -m benchmark_suite``). Timings are
medians after a warm-up, compared as ratios within the same run.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from ssl_xai_bench.metrics import gcc_phat, manipulation, quantus_params, quantus_suite, tdoa
from ssl_xai_bench.metrics.removal import make_removal
from tests.metrics import reference
from tests.metrics.conftest import CountingModel

from .conftest import interleaved_medians, markdown_table

pytestmark = pytest.mark.benchmark_suite

#: Batched GCC-PHAT vs the authors' per-window loop (6 windows x 120 pairs, 16 x 5120, one
#: thread each). Measured 5-9x on 2 shared CPU cores; see docs/metrics.md ("Speed") for why the
#: issue's 20x is out of reach: both sides are bound by the 16384-point FFTs (the loop runs 3 per
#: pair, the batched path still needs 1 inverse FFT per pair) and PHAT forbids a shorter length.
GCC_MIN_SPEEDUP = 4.0
COST_BOUND = 1.25


def test_batched_gcc_phat_vs_per_window_loop(benchmark, perf_report):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 16, 5120)).astype(np.float32)
    pairs = gcc_phat.mic_pairs(16)
    bound = tdoa.max_lags(np.c_[0.15 * np.arange(16), np.zeros((16, 2))], pairs, 16000, 343)

    def loop(max_lag=None):
        return np.array(
            [
                [
                    reference.gcc_phat_reference(
                        w[j], w[i], None if max_lag is None else int(max_lag[p])
                    )
                    for p, (i, j) in enumerate(pairs)
                ]
                for w in x
            ],
            dtype=float,
        )

    def batched(max_lag=None, workers=1):
        return gcc_phat.gcc_phat_lags(x, pairs, max_lag=max_lag, workers=workers)

    np.testing.assert_array_equal(batched(), loop())
    np.testing.assert_array_equal(batched(bound), loop(bound))
    cores = os.cpu_count() or 1
    t = interleaved_medians(
        {
            "loop": loop,
            "batched": batched,
            "bounded": lambda: batched(bound),
            "batched_all_cores": lambda: batched(workers=cores),
        }
    )
    ratio = t["loop"] / t["batched"]
    benchmark.extra_info.update(
        loop_s=t["loop"],
        batched_s=t["batched"],
        bounded_s=t["bounded"],
        batched_all_cores_s=t["batched_all_cores"],
        cores=cores,
        speedup=ratio,
        speedup_bounded=t["loop"] / t["bounded"],
        speedup_all_cores=t["loop"] / t["batched_all_cores"],
    )
    benchmark.pedantic(batched, rounds=1, iterations=1)
    print(
        f"GCC-PHAT 6 windows x 120 pairs: loop {t['loop']:.3f}s, batched {t['batched']:.4f}s "
        f"({ratio:.1f}x), bounded {t['bounded']:.4f}s ({t['loop'] / t['bounded']:.1f}x), "
        f"{cores} threads {t['batched_all_cores']:.4f}s "
        f"({t['loop'] / t['batched_all_cores']:.1f}x)"
    )
    perf_report.add(
        "gcc-phat",
        [
            "TDoA of 6 windows x 120 microphone pairs (16 x 5120 samples, FFT length 16384): the",
            "authors' per-window, per-pair loop over numpy FFTs (`tests/metrics/reference.py`)",
            "against `gcc_phat.gcc_phat_lags` (one FFT per channel, batched inverse FFTs); results",
            "asserted equal",
            "(`tests/benchmarks/test_metrics_speed.py`). Target: >= 20x. Why it is not reached:",
            'docs/metrics.md, "Speed".',
            "",
            *markdown_table(
                ["variant", "threads", "seconds", "speed-up vs loop (x)"],
                [
                    ["loop (reference)", 1, f"{t['loop']:.3f}", "1.0"],
                    ["batched, all lags", 1, f"{t['batched']:.4f}", f"{ratio:.1f}"],
                    [
                        "batched, bounded lags",
                        1,
                        f"{t['bounded']:.4f}",
                        f"{t['loop'] / t['bounded']:.1f}",
                    ],
                    [
                        "batched, all lags",
                        cores,
                        f"{t['batched_all_cores']:.4f}",
                        f"{t['loop'] / t['batched_all_cores']:.1f}",
                    ],
                ],
            ),
        ],
    )
    assert ratio >= GCC_MIN_SPEEDUP


PERTURBATION_METRICS = {
    "faithfulness_correlation": {"nr_runs": 10, "subset_size": 512},
    "faithfulness_estimate": {"features_in_step": 5120},
    "pixel_flipping": {"features_in_step": 5120},
    "monotonicity_correlation": {"features_in_step": 5120, "nr_samples": 1},
    "region_perturbation": {"patch_size": 16, "regions_evaluation": 10},
}


#: The removal baselines timed: ``zero`` (the study's) and ``noisy_linear``, whose imputation is
#: numpy work proportional to the removed samples (the line through their kept neighbours and the
#: local standard deviation, ``metrics/removal.py``): it is not bookkeeping but the baseline's
#: own cost, up to about a third of a LocCNN forward per window once most samples are removed
#: (PixelFlipping's last steps), so it has its own bound.
BASELINE_BOUNDS = {"zero": COST_BOUND, "noisy_linear": 1.5}


def _perturbation_runs(model, x, pos, rel, batch):
    """name -> (callable, forwards it makes) for every metric under every timed baseline."""
    runs = {}
    for baseline in BASELINE_BOUNDS:
        removal = make_removal(baseline, x, np.arange(len(x)), seed=0)
        for name, params in PERTURBATION_METRICS.items():
            counting = CountingModel(model)

            def run(name=name, params=params, counting=counting, removal=removal):
                quantus_suite.run_quantus_metric(name, counting, x, pos, rel, params=params,
                                                 batch_size=batch, removal=removal)

            run()
            assert counting.windows == len(x) * quantus_params.forwards_per_window(
                name, quantus_params.metric_params(name, params), 16, 5120)
            runs[f"{name} ({baseline})"] = (run, counting.windows)
        counting = CountingModel(model)

        def manip(counting=counting, removal=removal):
            reference.manipulation_errors(counting, x, pos, rel, manipulation.PAPER_FRACTIONS,
                                             batch_size=batch, removal=removal)

        manip()
        assert counting.windows == len(x) * (1 + 3 * 7)
        runs[f"manipulation ({baseline})"] = (manip, counting.windows)
    return runs


def test_perturbation_metrics_cost_at_most_their_forwards(benchmark, perf_report):
    from ssl_xai_bench.models.registry import build_model

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

    runs = _perturbation_runs(model, x, pos, rel, batch)
    forwards = {k: f for k, (_, f) in runs.items()}
    # The bound's forward is timed in every round, next to the metrics.
    t = interleaved_medians({"forward": forward_batch, **{k: r for k, (r, _) in runs.items()}},
                            warmup=False)
    per_window = t["forward"] / batch
    ratios = {k: t[k] / (forwards[k] * per_window) for k in runs}
    benchmark.extra_info.update(per_window_forward_s=per_window, **ratios)
    benchmark.pedantic(forward_batch, rounds=1, iterations=1)
    print("cost / (forwards x batched per-window forward):",
          {k: round(v, 3) for k, v in ratios.items()})
    perf_report.add(
        "perturbation-metrics",
        [
            f"LocCNN, {n} windows of 16 x 5120, batches of {batch}, 1 thread. Bound = the metric's",
            "model forwards (counted) x the batched per-window forward time measured in the same",
            "rounds (`tests/benchmarks/test_metrics_speed.py`). Target: <= 1.25 with the `zero`",
            "removal, <= 1.5 with `noisy_linear` (its imputation's own numpy work).",
            "",
            *markdown_table(
                ["metric (removal)", "forwards / window", "seconds", "cost / bound"],
                [[k, forwards[k] // n, f"{t[k]:.2f}", f"{ratios[k]:.2f}"] for k in runs],
            ),
            "",
            f"Batched forward: {1e3 * per_window:.2f} ms per window.",
        ],
    )
    for name, ratio in ratios.items():
        baseline = name.rsplit("(", 1)[1].rstrip(")")
        assert ratio <= BASELINE_BOUNDS[baseline], (name, ratio)
