"""An array described only in a configuration file runs end to end with no code change."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "circle6.toml"
SMALL = ["--set", "scene.sources.n_train=16", "--set", "scene.sources.n_val=4",
         "--set", "scene.sources.n_test=4", "--set", "training.max_epochs=1",
         "--set", "attribution.n_test_windows=6", "--set", "metrics.n_bootstrap=50",
         "--mode", "inprocess"]


@pytest.mark.slow
def test_a_six_mic_circle_from_a_config_file_runs_end_to_end(tmp_path):
    proc = run_cli("run", "--config", str(EXAMPLE), *SMALL, "--no-report", "--store",
                   str(tmp_path / "store"), "--results-dir", str(tmp_path / "results"),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "results" / "circle6"
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["geometry"]) == {"circle6"}
    # nothing failed; a metric with no finite window on these few windows is undefined
    assert set(board["status"]) <= {"ok", "undefined"}
    assert board.loc[board["status"] == "undefined", "reason"].str.len().gt(0).all()
    assert set(board["method"]) >= {"lrp", "gradient", "microphones", "constant"}
    tdoa = pd.read_csv(out / "tdoa.csv")
    pairs = set(tdoa.loc[tdoa["pair"].str.contains("-"), "pair"])
    assert "2-3" in pairs  # the paper variant's central pair of a 6-microphone array
    assert len(pairs) == 6 * 5 // 2  # every pair of the bounded variant
    skill = pd.read_csv(out / "model_skill.csv")
    assert set(skill["predictor"]) >= {"loccnn", "trivial", "srp_phat"}
    provenance = json.loads((out / "provenance.json").read_text())
    geometry = provenance["config"]["geometries"]["circle6"]
    assert (geometry["kind"], geometry["n_mics"], geometry["radius"]) == ("circle", 6, 0.12)
