"""Cost of every built-in attribution method per window, as a multiple of one forward pass.

For each localizer in the paper configuration (16 mics x 5120 samples) and each built-in method
with its default parameters, the time of ``attribute(method, ...)`` on a batch is divided by the
time of one batched forward pass of the same model on the same batch (medians of interleaved
repetitions after a warm-up, same run). The table is written to ``docs/PERFORMANCE.md`` between
``<!-- attribution-cost:start -->`` and ``<!-- attribution-cost:end -->`` (file created if absent,
the rest of it left alone). Sanity properties asserted: the controls cost less than a gradient,
integrated gradients (32 steps) cost several gradients.
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

import pytest
import torch

from attributions import attribute, get_method
from ssl_models.registry import build_model

METHODS = (
    "lrp", "lrp_epsilon_first", "lrp_zbox_first", "lrp_epsilon_plus_flat", "gradient",
    "gradient_x_input", "integrated_gradients", "occlusion", "random", "energy",
)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
PERFORMANCE = Path(__file__).resolve().parents[2] / "docs" / "PERFORMANCE.md"
START, END = "<!-- attribution-cost:start -->", "<!-- attribution-cost:end -->"


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


def write_section(rows: list[dict], path: Path = PERFORMANCE) -> None:
    """Replace the attribution-cost section of ``path`` (create the file/section if absent)."""
    lines = [
        START,
        "## Attribution cost per window",
        "",
        "Cost of each built-in method (default parameters) as a multiple of one batched forward",
        "pass of the same model on the same batch (16 mics x 5120 samples; medians after warm-up,",
        "same run; `tests/benchmarks/test_attribution_cost.py`). ms/window is machine-specific.",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s).",
        "",
        "| model | device | batch | method | family | cost (x forward, down = better) "
        "| ms / window (down = better) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['device']} | {row['batch']} | {row['method']} | "
            f"{row['family']} | {row['ratio']:.1f} | {row['ms_per_window']:.2f} |"
        )
    lines.append(END)
    section = "\n".join(lines)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def cost_rows():
    rows: list[dict] = []
    yield rows
    if rows:
        order = {name: i for i, name in enumerate(METHODS)}
        write_section(sorted(rows, key=lambda r: (r["model"], r["device"], order[r["method"]])))


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
        rounds = 3 if method in ("integrated_gradients", "occlusion") else 5
        fwd, cost = [], []
        for _ in range(rounds):  # interleaved, so load changes hit both alike
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
