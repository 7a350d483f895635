"""Sweep analysis on a constructed leaderboard with known rankings."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from ssl_xai_bench.report.figures.sweep import plot_metric_vs_factor, plot_rank_bumps
from ssl_xai_bench.report.headline import HEADLINE
from ssl_xai_bench.report.sweep import (
    best_per_condition,
    is_sweep,
    localising_cells,
    metric_sources,
    rank_agreement,
    ranks,
    scope_text,
    training_scope,
)
from ssl_xai_bench.report.sweep_section import sweep_section

METHODS = ("lrp", "gradient", "integrated_gradients", "occlusion")


def _board() -> pd.DataFrame:
    """faithfulness_correlation (up): at T60 0.15 the order is lrp > gradient > ig > occlusion;
    at T60 0.6 it is reversed. SNR and geometry change nothing. Controls and baselines present."""
    rows = []
    for t60, snr, geometry, model in itertools.product((0.15, 0.6), (25.0, 10.0),
                                                       ("paper_line", "circle8"), ("loccnn",)):
        order = METHODS if t60 == 0.15 else METHODS[::-1]
        means = {m: 0.8 - 0.1 * order.index(m) for m in METHODS}
        means.update(random=0.0, energy=0.1, microphones=0.9)
        for method, mean in means.items():
            rows.append({"model": model, "condition": f"{t60} {snr} {geometry}", "t60": t60,
                         "snr_db": snr, "geometry": geometry, "method": method,
                         "metric": "faithfulness_correlation", "category": "faithfulness",
                         "direction": "up", "unit": "score", "mean": mean,
                         "ci_low": mean - 0.05, "ci_high": mean + 0.05, "status": "ok",
                         # the explained windows' sources (fewer where some have no value)
                         "n_windows": 24, "n_sources": 24 if geometry == "paper_line" else 22})
    return pd.DataFrame(rows)


def test_ranks_leave_out_controls_and_baselines():
    ranked = ranks(_board(), "faithfulness_correlation")
    assert set(ranked["method"]) == set(METHODS)
    first = ranked[(ranked["t60"] == 0.15)].groupby("method")["rank"].unique()
    assert first["lrp"].tolist() == [1.0] and first["occlusion"].tolist() == [4.0]


def test_agreement_sees_a_reversal_by_t60_and_none_by_snr_or_geometry():
    agree = rank_agreement(ranks(_board(), "faithfulness_correlation")).set_index("factor")
    assert agree.loc["t60", "kendall_tau"] == pytest.approx(-1.0)
    assert agree.loc["t60", "same_best"] == 0.0
    for factor in ("snr_db", "geometry"):
        assert agree.loc[factor, "kendall_tau"] == pytest.approx(1.0)
        assert agree.loc[factor, "same_best"] == 1.0
    assert agree.loc["t60", "pairs"] == 4  # one pair of T60 levels per (SNR, geometry)


def test_best_per_condition_and_a_run_without_a_sweep():
    best = best_per_condition(ranks(_board(), "faithfulness_correlation"))
    assert set(best.loc[best["t60"] == 0.15, "best"]) == {"lrp"}
    assert set(best.loc[best["t60"] == 0.6, "best"]) == {"occlusion"}
    single = _board()
    single = single[(single["t60"] == 0.15) & (single["snr_db"] == 25.0)
                    & (single["geometry"] == "paper_line")]
    assert is_sweep(_board()) and not is_sweep(single)


def test_figures_and_section_render(tmp_path):
    board = _board()
    board.to_csv(tmp_path / "leaderboard.csv", index=False)
    for factor in ("t60", "snr_db", "geometry"):
        fig, caption = plot_metric_vs_factor(board, "faithfulness_correlation", factor)
        assert len(fig.axes) == 1 and "not a pooled CI" in caption
        lines = fig.axes[0].get_lines()
        assert lines  # one line per method and control
    fig, caption = plot_rank_bumps(board, "faithfulness_correlation")
    ys = {line.get_label(): line.get_ydata() for line in fig.axes[0].get_lines()}
    np.testing.assert_array_equal(ys["lrp"], [1, 1, 4, 4, 1, 1, 4, 4])  # circle8 first


def test_the_report_gains_a_sweep_section_only_for_a_sweep(tmp_path):
    from types import SimpleNamespace

    added = []
    figs = SimpleNamespace(
        add=lambda make, stem, *args: added.append((stem, make(*args)[1])) or stem)
    citable = SimpleNamespace(specs=HEADLINE)  # the run's headline columns
    html = sweep_section(SimpleNamespace(tidy=_board(), figs=figs, skill=None, prov=None,
                                         citable=citable))
    assert "Kendall" in html and "faithfulness_correlation" in html
    # the metric against each varied factor, and the ranks per condition
    assert [stem for stem, _ in added] == [
        "sweep_faithfulness_correlation_t60", "sweep_faithfulness_correlation_snr_db",
        "sweep_faithfulness_correlation_geometry", "sweep_ranks_faithfulness_correlation"]
    single = _board()
    single = single[(single["t60"] == 0.15) & (single["snr_db"] == 25.0)
                    & (single["geometry"] == "paper_line")]
    assert sweep_section(SimpleNamespace(tidy=single, figs=figs, skill=None, prov=None,
                                         citable=citable)) == ""


def _skill(board: pd.DataFrame, localises) -> pd.DataFrame:
    """model_skill.csv rows: the model's paired gain CI above 0 where ``localises(cell)``."""
    cells = board.drop_duplicates(["model", "condition"])
    rows = []
    for r in cells.itertuples():
        low = 0.01 if localises(r) else -0.01
        rows += [{"model": r.model, "condition": r.condition, "predictor": r.model,
                  "gain_vs_trivial": low + 0.01, "gain_ci_low": low, "gain_ci_high": 0.03},
                 {"model": r.model, "condition": r.condition, "predictor": "trivial",
                  "gain_vs_trivial": 0.0, "gain_ci_low": 0.0, "gain_ci_high": 0.0}]
    return pd.DataFrame(rows)


def test_sweep_statistics_ignore_cells_where_the_model_does_not_localise():
    board = _board()
    # the model localises only at T60 0.15 s on the paper line: the reversal at 0.6 s is made
    # by a model that has not learnt, so it must not enter any statistic
    skill = _skill(board, lambda r: r.t60 == 0.15 and r.geometry == "paper_line")
    keep = localising_cells(skill)
    assert keep == {("loccnn", "0.15 25.0 paper_line"), ("loccnn", "0.15 10.0 paper_line")}
    ranked = ranks(board, "faithfulness_correlation", keep)
    assert set(zip(ranked["model"], ranked["t60"], ranked["geometry"], strict=True)) == {
        ("loccnn", 0.15, "paper_line")}
    assert metric_sources(board, "faithfulness_correlation") == 24
    agree = rank_agreement(ranked, scope="geometry", n_sources=24).set_index("factor")
    assert list(agree.index) == ["snr_db"]  # no pair of T60 or geometry levels both localise
    row = agree.loc["snr_db"]
    assert row["kendall_tau"] == pytest.approx(1.0) and row["pairs"] == 1
    # two cells, one trained start (a mixture model per array), 24 sources behind a value
    assert (row["cells"], row["trained_models"], row["sources_per_cell"]) == (2, 1, 24)
    per_cell = rank_agreement(ranked, scope="condition").set_index("factor")
    assert per_cell.loc["snr_db", "trained_models"] == 2
    # every cell counted when the skill is unknown: the reversal by T60 shows again
    assert rank_agreement(ranks(board, "faithfulness_correlation")).set_index(
        "factor").loc["t60", "kendall_tau"] == pytest.approx(-1.0)


def test_the_training_scope_comes_from_the_runs_provenance():
    board = _board()
    keep = localising_cells(_skill(board, lambda r: r.t60 == 0.15 and r.geometry == "paper_line"))
    ranked = ranks(board, "faithfulness_correlation", keep)
    # a mixture model per array (scope "geometry") is one trained start behind both SNR cells;
    # a run that does not record its scope counts every cell as its own model
    mixture = training_scope({"config": {"training": {"scope": "geometry"}}})
    assert mixture == "geometry"
    assert training_scope({"config": {"training": {}}}) is None and training_scope(None) is None
    units = {scope: rank_agreement(ranked, scope=scope).set_index("factor").loc[
        "snr_db", "trained_models"] for scope in (mixture, None)}
    assert units == {"geometry": 1, None: 2}
    # a per-model table with its own scope: that model's cells count as its scope says
    mixed = training_scope({"config": {"training": {"scope": "condition", "per_model": {
        "loccnn": {"scope": "geometry"}, "samplecnn": {"lr": 0.003}}}}})
    assert mixed == {"loccnn": "geometry", "*": "condition"}
    units = rank_agreement(ranked, scope=mixed).set_index("factor").loc["snr_db"]
    assert units["model"] == "loccnn" and units["trained_models"] == 1
    other = training_scope({"config": {"training": {"scope": "condition", "per_model": {
        "samplecnn": {"scope": "geometry"}}}}})
    assert rank_agreement(ranked, scope=other).set_index("factor").loc[
        "snr_db", "trained_models"] == 2  # loccnn has the section's scope
    assert scope_text(mixed) == "loccnn: geometry, others: condition"
