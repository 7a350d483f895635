"""``ssl-xai-bench train``: only the models are trained, their checkpoints are exported with their
provenance, and ``weights.toml`` reuses them in a run as ``ARCH@LABEL`` entries that predict
exactly what the trained models predict, after the folder was moved and from another current
directory (``weights.toml`` names its checkpoints relative to itself: issue 33, case 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from ssl_xai_bench.harness.config import load_config
from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.slow

TINY = ["--preset", "smoke", "--mode", "inprocess", "--set", "scene.sources.n_train=10",
        "--set", "scene.sources.n_val=4", "--set", "scene.sources.n_test=4",
        "--set", "training.max_epochs=1", "--set", "attribution.n_test_windows=4",
        "--set", "runner.progress=false"]


@pytest.mark.slow
def test_train_exports_checkpoints_that_a_run_reuses(tmp_path):
    store, out = tmp_path / "store", tmp_path / "ckpt"
    proc = run_cli("train", *TINY, "--store", str(store), "--out", str(out), "--label", "mine",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (ckpt,) = sorted(out.glob("*.pt"))
    assert ckpt.name == "loccnn_T60=0.3_SNR=20_paper_line.pt"
    state = torch.load(ckpt, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    meta = json.loads(ckpt.with_name(ckpt.name + ".json").read_text())
    assert meta["training"]["max_epochs"] == 1 and meta["config_hash"]
    assert {"metrics", "attribution"}.isdisjoint(p.name for p in store.iterdir())
    assert str(tmp_path) not in (out / "weights.toml").read_text()  # no absolute path
    moved = tmp_path / "elsewhere" / "ckpt-copy"
    moved.parent.mkdir()
    shutil.move(out, moved)  # as if copied to another machine
    elsewhere = tmp_path / "another-cwd"
    elsewhere.mkdir()
    cfg = load_config(None, moved / "weights.toml", [{"output": {"store_dir": str(store)}}])
    assert cfg.matrix.models == ("loccnn", "loccnn@mine")
    assert all(Path(p).parent == moved for p in cfg.weights["loccnn@mine"].values())
    # the exported weights, reused in a run, predict exactly what the trained model predicts
    run = run_cli("run", "--config", str(moved / "weights.toml"), *TINY[2:], "--store",
                  str(store), "--results-dir", str(tmp_path / "results"), "--no-report",
                  "--methods", "gradient", cwd=elsewhere)
    assert run.returncode == 0, run.stdout + run.stderr
    skill = pd.read_csv(tmp_path / "results" / "smoke" / "model_skill.csv").set_index(
        ["model", "predictor"])
    trained = skill.loc[("loccnn", "loccnn"), "mae"]
    assert skill.loc[("loccnn@mine", "loccnn@mine (external)"), "mae"] == trained
    assert trained == pytest.approx(meta["test_mae_m"])
