"""Training throughput: an epoch of ``train_model`` against the bare forward + backward + step of
the same batches (same model, batch size and number of windows).

Target (issue 4): ``train_model`` runs at >= 80 % of the bare cost's throughput, i.e. sampling,
gathering, loss bookkeeping and the per-epoch validation/best-state copy add <= 25 %. Timings are
medians of interleaved repetitions after a warm-up, compared as a ratio within the same run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional

from ssl_xai_bench.models.registry import build_model
from ssl_xai_bench.models.train_config import TrainConfig
from ssl_xai_bench.models.training import train_model

from .conftest import interleaved_medians, markdown_table

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
_ROWS: dict[tuple[str, str], list[object]] = {}


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


@pytest.mark.benchmark_suite
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", ["loccnn", "samplecnn"])
def test_train_model_throughput_vs_bare_steps(benchmark, perf_report, arch, device):
    if not torch.cuda.is_available():
        torch.set_num_threads(1)  # steadier timings on a shared CPU
    on_gpu = device == "cuda"
    m, t_len = 16, (5120 if on_gpu else 1215)
    n, batch = (1000, 100) if on_gpu else (64, 32)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, m, t_len)).astype(np.float32) * 0.05
    pos = rng.uniform([1.4, 5.2, 1.0], [2.0, 5.8, 1.5], (n, 3))
    sid = np.arange(n)
    val = (x[:2], pos[:2], sid[:2])
    cfg = TrainConfig(batch_size=batch, max_epochs=1, device=device, eval_batch_size=batch)
    torch.manual_seed(0)
    model = build_model(arch, n_mics=m, window_length=t_len).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    xb_all = torch.from_numpy(x).to(device)
    yb_all = torch.from_numpy(pos.astype(np.float32)).to(device)

    def bare_epoch() -> None:
        model.train()
        for s in range(0, n, batch):
            opt.zero_grad(set_to_none=True)
            loss = functional.mse_loss(model(xb_all[s : s + batch]), yb_all[s : s + batch])
            loss.backward()
            opt.step()
        _sync(device)

    def train_epoch() -> None:
        train_model(model, (x, pos, sid), val, cfg, seed=0, progress=False)
        _sync(device)

    t = interleaved_medians({"bare": bare_epoch, "train": train_epoch})
    benchmark.pedantic(train_epoch, rounds=1, iterations=1)
    ratio = t["bare"] / t["train"]
    benchmark.extra_info.update(bare_median_s=t["bare"], train_median_s=t["train"],
                                throughput_ratio=ratio)
    print(f"\n{arch} on {device}: bare {t['bare']:.3f} s, train_model "
          f"{t['train']:.3f} s per epoch of {n} windows; ratio {ratio:.3f}")
    _ROWS[(arch, device)] = [arch, device, f"{n} x {m} x {t_len}", batch,
                             f"{n / t['bare']:.1f}", f"{n / t['train']:.1f}", f"{ratio:.3f}"]
    perf_report.add("training", [
        "An epoch of `train_model` (sampling, gathering, loss bookkeeping, validation and",
        "best-state copy included) against the bare forward + backward + Adam step of the same",
        "batches and model (`tests/benchmarks/test_training_speed.py`; CPU: 1 thread). Target:",
        ">= 0.80.",
        "",
        *markdown_table(["model", "device", "windows x M x T", "batch",
                         "bare windows/s", "train_model windows/s", "throughput ratio"],
                        list(_ROWS.values())),
    ])
    assert ratio >= 0.8
