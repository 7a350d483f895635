"""Cost of every built-in attribution method per window, as a multiple of one forward pass.

For each localizer in the paper configuration (16 mics x 5120 samples) and each built-in method
with its default parameters, the time of ``attribute(method, ...)`` on a batch is divided by the
time of one batched forward pass of the same model on the same batch (medians of interleaved
repetitions after a warm-up, same run). The table is the ``attribution-cost`` section of
``docs/PERFORMANCE.md``. Sanity properties asserted: the controls cost less than a gradient,
integrated gradients (32 steps) cost several gradients.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from ssl_xai_bench.attributions import attribute, get_method
from ssl_xai_bench.models.registry import build_model

from .conftest import markdown_table, rounds

METHODS = (
    "lrp", "lrp_epsilon_first", "lrp_zbox_first", "lrp_epsilon_plus_flat", "gradient",
    "gradient_x_input", "integrated_gradients", "occlusion", "random", "energy",
)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _median_time(fn, device: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@pytest.fixture(scope="module")
def cost_rows(perf_report):
    rows: list[dict] = []
    yield rows
    if rows:
        order = {name: i for i, name in enumerate(METHODS)}
        rows = sorted(rows, key=lambda r: (r["model"], r["device"], order[r["method"]]))
        perf_report.add("attribution-cost", [
            "Cost of each built-in method (default parameters) as a multiple of one batched",
            "forward pass of the same model on the same batch (16 mics x 5120 samples; CPU: 1",
            "thread; `tests/benchmarks/test_attribution_cost.py`). ms/window is machine-specific.",
            "",
            *markdown_table(
                ["model", "device", "batch", "method", "family", "cost (x forward)",
                 "ms / window"],
                [[r["model"], r["device"], r["batch"], r["method"], r["family"],
                  f"{r['ratio']:.1f}", f"{r['ms_per_window']:.2f}"] for r in rows],
            ),
        ])


@pytest.mark.benchmark_suite
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", ["loccnn", "samplecnn"])
def test_attribution_cost_vs_forward(benchmark, cost_rows, arch, device):
    if device == "cpu":
        torch.set_num_threads(1)  # steadier timings on a shared CPU
    batch = 32 if device == "cuda" else 4
    torch.manual_seed(0)
    model = build_model(arch, n_mics=16, window_length=5120).to(device).eval()
    generator = torch.Generator().manual_seed(0)
    x = (0.05 * torch.randn(batch, 16, 5120, generator=generator)).to(device)
    target = torch.tensor([[1.7, 5.5, 1.2]]).repeat(batch, 1).to(device)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    ratios = {}
    for method in METHODS:
        def run(method=method) -> None:
            attribute(method, model, x, target)

        forward(), run()  # warm-up
        fwd, cost = [], []
        for _ in range(rounds()):  # interleaved, so load changes hit both alike
            fwd.append(_median_time(forward, device, 1))
            cost.append(_median_time(run, device, 1))
        ratio = statistics.median(cost) / statistics.median(fwd)
        ratios[method] = ratio
        cost_rows.append({
            "model": arch, "device": device, "batch": batch, "method": method,
            "family": get_method(method).family, "ratio": ratio,
            "ms_per_window": 1e3 * statistics.median(cost) / batch,
        })
        print(f"\n{arch} {device} {method}: {ratio:.1f} x forward")
    benchmark.pedantic(lambda: attribute("lrp", model, x, target), rounds=1, iterations=1)
    benchmark.extra_info.update({f"{m}_x_forward": r for m, r in ratios.items()})
    assert ratios["energy"] < ratios["gradient"]
    assert ratios["random"] < ratios["gradient"]
    assert ratios["integrated_gradients"] > 4 * ratios["gradient"]
