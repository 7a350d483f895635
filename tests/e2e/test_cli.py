"""End-to-end: the real CLI on the smoke preset, asserting on the produced tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssl_xai_bench.harness.collect import LEADERBOARD_COLUMNS
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.harness.presets import PRESETS
from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["list", "--help"],
                                  ["report", "--help"], ["cache", "--help"],
                                  ["show-config", "--help"]])
def test_help_describes_every_option(args, tmp_path):
    proc = run_cli(*args, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    if args == ["run", "--help"]:
        for option in ("--preset", "--config", "--t60", "--snr", "--geometries", "--models",
                       "--methods", "--weights", "--methods-from", "--metrics-from",
                       "--models-from", "--scheduler", "--store",
                       "--set", "--seed"):
            assert option in proc.stdout


def test_list_names_presets_methods_models(tmp_path):
    proc = run_cli("list", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in (*PRESETS, "loccnn", "samplecnn", "lrp", "gradient", "integrated_gradients",
                 "occlusion", "random", "energy", "paper_line", "circle8"):
        assert name in proc.stdout, name


def test_bad_option_is_refused_before_compute(tmp_path):
    proc = run_cli("run", "--preset", "smoke", "--t60", "-1", "--store", str(tmp_path / "s"),
                   cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "matrix.t60" in proc.stderr
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def test_smoke_leaderboard(smoke_run):
    work, _ = smoke_run
    cfg = load_config("smoke")
    board = pd.read_csv(work / "results" / "smoke" / "leaderboard.csv")
    assert list(board.columns[: len(LEADERBOARD_COLUMNS)]) == LEADERBOARD_COLUMNS
    assert (board["status"] == "ok").all(), board[board["status"] != "ok"]
    methods = board[board["method"].isin(cfg.matrix.methods)]
    keys = methods[["model", "condition", "method", "metric"]]
    assert not keys.duplicated().any()
    n_metrics = methods["metric"].nunique()
    assert len(methods) == len(cfg.matrix.models) * len(cfg.matrix.methods) * n_metrics
    quantus = methods[methods["category"] == "faithfulness"]
    assert len(quantus) >= len(cfg.matrix.methods) and np.isfinite(quantus["mean"]).all()
    anomaly = methods[methods["metric"].str.contains("anomaly")]
    assert len(anomaly) >= len(cfg.matrix.methods) and np.isfinite(anomaly["mean"]).all()
    lrp = methods[methods["method"] == "lrp"].set_index("metric")["mean"]
    grad = methods[methods["method"] == "gradient"].set_index("metric")["mean"]
    assert not np.allclose(lrp.sort_index().to_numpy(), grad.sort_index().to_numpy(),
                           equal_nan=True)
    assert list((work / "results" / "smoke").glob("**/*.png")), "no figure written"


def test_rerun_recomputes_nothing(smoke_run):
    work, _ = smoke_run
    proc = run_cli("run", "--preset", "smoke", "--results-dir", str(work / "results"),
                   "--store", str(work / "store"), "--no-report", cwd=work)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((work / "results" / "smoke" / "run_summary.json").read_text())
    assert summary["computed"] == {}
    assert summary["failed"] == []
    assert sum(summary["stored"].values()) > 0
    # the plan made before the run is recorded beside the measured time: everything stored, so
    # it predicts no stage work
    plan = summary["plan"]
    assert plan["stored_nodes"] == sum(summary["stored"].values())
    assert sum(plan["stage_seconds"].values()) == 0 and plan["wall_seconds"] > 0


def test_added_method_computes_only_its_own_cells(smoke_run):
    """docs/adding-a-method.md: load the how-to example and rerun; nothing else is recomputed."""
    work, _ = smoke_run
    example = Path(__file__).resolve().parents[2] / "examples" / "my_method.py"
    proc = run_cli("run", "--preset", "smoke", "--results-dir", str(work / "added"),
                   "--store", str(work / "store"), "--methods", "lrp,gradient,smoothgrad",
                   "--methods-from", str(example), "--no-report", cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((work / "added" / "smoke" / "run_summary.json").read_text())
    assert summary["computed"] == {"attribution": 1, "metrics": 1}
    board = pd.read_csv(work / "added" / "smoke" / "leaderboard.csv")
    mine = board[board["method"] == "smoothgrad"]
    assert len(mine) > 10 and (mine["status"] == "ok").all()
    # the other methods' rows are exactly those of the run without the new method
    before = pd.read_csv(work / "results" / "smoke" / "leaderboard.csv")
    after = board[board["method"] != "smoothgrad"].reset_index(drop=True)
    pd.testing.assert_frame_equal(after, before)


def test_other_array_geometries_run_end_to_end_from_config(tmp_path):
    """Issue 3: an 8-mic circle (radius 0.1 m) and an 8-mic line run through every stage."""
    proc = run_cli("run", "--preset", "smoke", "--geometries", "circle8,line8",
                   "--methods", "gradient", "--mode", "inprocess", "--no-report",
                   "--results-dir", str(tmp_path / "r"), "--store", str(tmp_path / "s"),
                   "--set", "scene.sources.n_train=12", "--set", "scene.sources.n_val=4",
                   "--set", "scene.sources.n_test=4", "--set", "training.max_epochs=1",
                   "--set", "attribution.n_test_windows=4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    board = pd.read_csv(tmp_path / "r" / "smoke" / "leaderboard.csv")
    assert set(board["geometry"]) == {"circle8", "line8"}
    # nothing failed; with 4 windows a metric may have no finite value (e.g. a TDoA MAE over
    # non-anomalous pairs when every pair is anomalous): undefined, with its reason
    assert set(board["status"]) <= {"ok", "undefined"}
    undefined = board[board["status"] == "undefined"]
    assert undefined["reason"].str.len().gt(0).all() and undefined["mean"].isna().all()
    tdoa = pd.read_csv(tmp_path / "r" / "smoke" / "tdoa.csv")
    pairs = tdoa[(tdoa["variant"] == "bounded") & tdoa["pair"].str.contains("-")]
    # 8 microphones: 28 pairs per geometry and estimator, the paper pair is the central (3, 4)
    assert pairs.groupby(["geometry", "method"])["pair"].nunique().eq(28).all()
    assert set(tdoa[tdoa["variant"] == "paper"]["pair"]) == {"3-4"}
