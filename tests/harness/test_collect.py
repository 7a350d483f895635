"""The collector: a metric that fails inside a cell is a failed row, not a lost cell."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ssl_xai_bench import cli
from ssl_xai_bench.metrics import quantus_suite

#: The smoke preset made tiny (every stage still runs), in this process so that a patch applies.
TINY = [
    "run", "--preset", "smoke", "--mode", "inprocess", "--no-report",
    "--set", "runner.progress=false",
    "--set", "scene.sources.n_train=20", "--set", "scene.sources.n_val=5",
    "--set", "scene.sources.n_test=6", "--set", "attribution.n_test_windows=8",
    "--set", "training.max_epochs=2", "--set", "metrics.n_bootstrap=50",
    "--set", "metrics.tdoa_pairs=[[7,8],[0,15]]",
]


@pytest.mark.slow
def test_a_failing_metric_is_a_failed_row_in_an_ok_cell_and_exits_1(tmp_path, monkeypatch,
                                                                    capsys):
    real = quantus_suite.run_quantus_metric

    def sparseness_fails(name, *args, **kwargs):
        if name == "sparseness":
            raise AssertionError("refused by the test")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(quantus_suite, "run_quantus_metric", sparseness_fails)
    monkeypatch.chdir(tmp_path)
    code = cli.main([*TINY, "--store", str(tmp_path / "store"), "--results-dir",
                     str(tmp_path / "results")])
    assert code == cli.EXIT_FAILED_CELLS
    err = capsys.readouterr().err
    assert "2 metric(s) failed in cells whose other metrics stand" in err
    assert "sparseness [loccnn lrp T60=0.3s SNR=20dB paper_line]: AssertionError: refused" in err

    out = tmp_path / "results" / "smoke"
    board = pd.read_csv(out / "leaderboard.csv", keep_default_na=False)
    cells = board[board["method"].isin(["lrp", "gradient"])]
    failed = cells[cells["status"] == "failed"]
    assert set(failed["metric"]) == {"sparseness"} and len(failed) == 2
    assert (failed["reason"] == "AssertionError: refused by the test").all()
    ok = cells[cells["status"] == "ok"]
    for metric in ("manipulation_gap_at_10", "tdoa_paper_anomaly_rate", "complexity"):
        assert len(ok[ok["metric"] == metric]) == 2, metric
    # Model skill: the paired gain over the trivial predictor is the difference of the two MAEs
    # (same windows), and zero for the trivial predictor itself.
    skill = pd.read_csv(out / "model_skill.csv").set_index("predictor")
    assert skill.loc["trivial", "gain_vs_trivial"] == 0.0
    gain = skill.loc["trivial", "mae"] - skill.loc["loccnn", "mae"]
    assert abs(skill.loc["loccnn", "gain_vs_trivial"] - gain) < 1e-9
    lo, hi = skill.loc["loccnn", ["gain_ci_low", "gain_ci_high"]]
    assert lo <= skill.loc["loccnn", "gain_vs_trivial"] <= hi
    # every row names its method's family; the signal rows are the baselines
    fam = board.drop_duplicates("method").set_index("method")["family"].to_dict()
    assert fam == {"lrp": "lrp", "gradient": "gradient", "microphones": "baseline",
                   "constant": "baseline", "direct_path": "baseline"}
    # all ordered pairs: each method as the reference; the lrp rows are paired_tests.csv's
    pairs = pd.read_csv(out / "paired_tests.csv")
    every = pd.read_csv(out / "paired_tests_all.csv")
    assert list(every.columns) == list(pairs.columns) and len(pairs) > 0
    pd.testing.assert_frame_equal(
        every[every["reference"] == "lrp"].reset_index(drop=True), pairs)
    flipped = every[every["reference"] == "gradient"].set_index("metric")
    direct = pairs.set_index("metric").loc[flipped.index]
    assert (flipped["method"] == "lrp").all() and len(flipped) == len(pairs)
    assert ((flipped["mean_diff"] + direct["mean_diff"]).abs() < 1e-12).all()
    assert ((flipped["p_value"] - direct["p_value"]).abs().fillna(0) < 1e-12).all()
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["failed"] == []
    assert sorted(f["label"] for f in summary["failed_metrics"]) == [
        "loccnn gradient T60=0.3s SNR=20dB paper_line", "loccnn lrp T60=0.3s SNR=20dB paper_line"]
