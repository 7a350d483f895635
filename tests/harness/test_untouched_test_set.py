"""The test split is never read by training or model selection (issue #29).

The model stage trains on the train and validation splits of its windows input; the test split
is only predicted after training. Two windows artifacts that agree on train and validation but
whose test windows differ (one of them poisoned with NaN and absurd positions) must give the same
trained weights and the same selection (best epoch, validation loss): if any recipe or selection
choice read the test split, they would differ.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ssl_xai_bench.acoustics.windows import WindowSet
from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.models.checkpoint import load_checkpoint
from ssl_xai_bench.models.registry import build_model
from ssl_xai_bench.models.train_config import TrainConfig

M, T = 4, 5120


def _split(n_sources: int, per_source: int, seed: int) -> WindowSet:
    rng = np.random.default_rng(seed)
    n = n_sources * per_source
    pos = np.repeat(rng.uniform([1.4, 5.2, 1.0], [2.0, 5.8, 1.5], (n_sources, 3)), per_source, 0)
    return WindowSet(windows=rng.standard_normal((n, M, T)).astype(np.float32),
                     direct=np.zeros((n, M, T), np.float32), positions=pos,
                     source_ids=np.repeat(np.arange(n_sources), per_source),
                     corr_time=np.full(n, 20.0), mic_positions=np.zeros((M, 3)), fs=16000,
                     speed_of_sound=343.0)


def _artifact(folder: Path, test: WindowSet) -> SimpleNamespace:
    folder.mkdir()
    _split(12, 2, seed=1).save(folder / "train.npz")
    _split(4, 2, seed=2).save(folder / "val.npz")
    test.save(folder / "test.npz")
    return SimpleNamespace(file=lambda name: folder / name, key=folder.name)


def _train(folder: Path, windows: SimpleNamespace) -> tuple[dict, dict]:
    config = model_stage.Config(
        model="loccnn", seed=3,
        training=TrainConfig(batch_size=8, max_epochs=2, patience=10, device="cpu",
                             keep="best", init_output_bias=True))
    write = model_stage.compute(config, {"windows": windows}, {})
    folder.mkdir()
    meta = write(folder)
    net = build_model("loccnn", n_mics=M, window_length=T)
    load_checkpoint(folder / "model.pt", net)
    return net.state_dict(), meta


def test_training_and_selection_never_read_the_test_split(tmp_path):
    clean = _split(6, 2, seed=4)
    poisoned = _split(6, 2, seed=5)
    poisoned.windows[:] = np.nan
    poisoned.positions[:] = 1e6
    torch.set_num_threads(1)
    a, meta_a = _train(tmp_path / "a", _artifact(tmp_path / "wa", clean))
    b, meta_b = _train(tmp_path / "b", _artifact(tmp_path / "wb", poisoned))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    for key in ("best_epoch", "best_val_loss", "epochs", "stopped_reason"):
        assert meta_a[key] == meta_b[key], key
    # the poisoned test split was really used afterwards: its predictions are NaN
    with np.load(tmp_path / "b" / "predictions.npz") as z:
        assert np.isnan(z["test"]).all()
