"""Figures: axis labels with units, legends where several series, captions, and the data drawn."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

from ssl_xai_bench.report.figures import (
    gcc_phat,
    load_inspection,
    minmax_unit,
    plot_inspection,
    plot_manipulation_curves,
    plot_metric_heatmaps,
    plot_model_skill,
    plot_tdoa_summary,
    plot_tdoa_vs_spacing,
    save_figure,
)
from ssl_xai_bench.report.figures.masks import mask_codes, plot_masks
from ssl_xai_bench.report.figures.spectrum import plot_band_spectra
from ssl_xai_bench.report.tables import format_number
from tests.report.report_fixture import (
    FAILED,
    METHODS,
    SPECTRA_SHARES,
    TRUE_DELAY,
    write_results,
)

UNIT = re.compile(r"\(.+\)|\[.+\]")
MODEL, COND = "samplecnn", "t60_0.6_snr_10"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = write_results(tmp_path_factory.mktemp("results"), seed=7)
    return {name: pd.read_csv(root / f"{name}.csv")
            for name in ("leaderboard", "model_skill", "curves", "tdoa")} | {"root": root}


def _is_numeric(labels) -> bool:
    texts = [t.get_text().replace("−", "-") for t in labels if t.get_text()]
    try:
        [float(t) for t in texts]
    except ValueError:
        return False
    return True


def check_figure(fig, caption: str) -> None:
    """Labels with units on numeric axes, legends on multi-series axes, a caption."""
    assert isinstance(caption, str) and len(caption) > 20
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes
    for ax in axes:
        for label, ticks in ((ax.get_xlabel(), ax.get_xticklabels()),
                             (ax.get_ylabel(), ax.get_yticklabels())):
            assert label.strip(), f"empty axis label in {ax.get_title()!r}"
            if _is_numeric(ticks):
                assert UNIT.search(label), f"no unit in axis label {label!r}"
        series = [ln for ln in ax.lines if not ln.get_label().startswith("_")]
        series += [c for c in ax.containers if isinstance(c, BarContainer)]
        if len(series) > 1:
            assert ax.get_legend() is not None, f"no legend in {ax.get_title()!r}"
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            assert UNIT.search(ax.get_ylabel()), f"colour bar without unit: {ax.get_ylabel()!r}"


def test_manipulation_curves_styles_and_data(results):
    curves = results["curves"]
    fig, caption = plot_manipulation_curves(curves, MODEL, COND)
    check_figure(fig, caption)
    ax = next(a for a in fig.axes if a.get_title() == METHODS[1])
    styles = {ln.get_label(): ln.get_linestyle() for ln in ax.lines}
    assert styles == {"relevance": "-", "random": "--", "energy": ":"}
    rel = next(ln for ln in ax.lines if ln.get_label() == "relevance")
    rows = curves[(curves.model == MODEL) & (curves.condition == COND)
                  & (curves.method == METHODS[1]) & (curves.ranking == "relevance")]
    rows = rows.sort_values("fraction")
    np.testing.assert_allclose(rel.get_xdata(), 100 * rows["fraction"])
    np.testing.assert_allclose(rel.get_ydata(), rows["mae"])


def test_metric_heatmaps_annotations(results):
    tidy = results["leaderboard"]
    fig, caption = plot_metric_heatmaps(tidy, MODEL)
    check_figure(fig, caption)
    metric = FAILED[3]
    ax = next(a for a in fig.axes if a.get_title().startswith(metric + " "))
    texts = [t.get_text() for t in ax.texts]
    rows = tidy[(tidy.model == MODEL) & (tidy.metric == metric)]
    conds = list(dict.fromkeys(rows.condition))
    expected = []
    for m in dict.fromkeys(rows.method):
        for c in conds:
            r = rows[(rows.method == m) & (rows.condition == c)].iloc[0]
            expected.append("failed" if r.status == "failed" else format_number(r["mean"]))
    assert texts == expected and "failed" in texts


def test_tdoa_figures_show_baselines_and_data(results):
    tdoa = results["tdoa"]
    fig, caption = plot_tdoa_summary(tdoa, MODEL, COND)
    check_figure(fig, caption)
    ax = fig.axes[0]
    rows = tdoa[(tdoa.model == MODEL) & (tdoa.condition == COND) & (tdoa.pair == "7-8")
                & (tdoa.variant == "paper")].set_index("method")
    order = ["microphones", "constant", *METHODS]
    heights = [b.get_height() for b in ax.containers[0]]
    np.testing.assert_allclose(heights, 100 * rows.loc[order, "anomaly_rate"])
    assert [t.get_text() for t in ax.get_xticklabels()] == order
    const = next(ln for ln in ax.lines if ln.get_label() == "constant-lag estimator (paper)")
    assert const.get_ydata()[0] == pytest.approx(100 * rows.loc["constant", "anomaly_rate"])

    fig, caption = plot_tdoa_vs_spacing(tdoa, MODEL, COND, "bounded")
    check_figure(fig, caption)
    labels = [ln.get_label() for ln in fig.axes[0].lines]
    assert labels == order
    # the constant estimator has no correlation: no line in the Pearson panel
    assert "constant" not in [ln.get_label() for ln in fig.axes[2].lines]
    with pytest.raises(ValueError, match="tdoa.variant"):
        plot_tdoa_vs_spacing(tdoa, MODEL, COND, "nonsense")


def test_model_skill_bars_equal_csv(results):
    skill = results["model_skill"]
    fig, caption = plot_model_skill(skill)
    check_figure(fig, caption)
    ax = fig.axes[1]
    assert ax.get_title() == "samplecnn"
    trivial = next(c for c in ax.containers if isinstance(c, BarContainer)
                   and c.get_label() == "trivial")
    rows = skill[(skill.model == "samplecnn") & (skill.predictor == "trivial")]
    np.testing.assert_allclose([b.get_height() for b in trivial], rows["mae"])


def test_inspection_figure(results):
    rec = load_inspection(results["root"] / "inspection" / f"{MODEL}_{COND}_worst.npz")
    fig, caption = plot_inspection(rec)
    check_figure(fig, caption)
    gcc_axes = [a for a in fig.axes if a.get_title(loc="left").startswith("GCC-PHAT")]
    assert len(gcc_axes) == 1 + len(METHODS)
    mic = gcc_axes[0]
    labels = [ln.get_label() for ln in mic.lines]
    assert f"true delay ({TRUE_DELAY:g} samples)" in labels
    assert f"estimate ({TRUE_DELAY} samples)" in labels
    # the all-zero relevance of the last method: no curve, an explicit note instead
    assert any("undefined" in t.get_text() for t in gcc_axes[-1].texts)


def test_gcc_phat_sign_and_zero_signal():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(1200)
    a, b = s[10:1010], s[5:1005]  # b[n] = a[n - 5]: b lags a by 5 samples
    lags, cc = gcc_phat(a, b)
    assert lags[np.argmax(cc)] == 5
    assert np.isnan(gcc_phat(a, np.zeros_like(b))[1]).all()
    np.testing.assert_array_equal(minmax_unit(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    assert not minmax_unit(np.zeros(4)).any()


def test_save_figure_writes_png_and_pdf(results, tmp_path):
    fig, _ = plot_model_skill(results["model_skill"])
    png, pdf = save_figure(fig, tmp_path / "sub" / "skill")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_mask_figure_draws_the_records_masks(results):
    rec = load_inspection(results["root"] / "inspection" / f"loccnn_{COND}_best.npz")
    assert set(rec.masks) == {"direct", "onset"}
    fig, caption = plot_masks(rec)
    check_figure(fig, caption)
    image = [a for a in fig.axes if a.get_ylabel().startswith("microphone")][0].images[0]
    np.testing.assert_array_equal(image.get_array(),
                                  mask_codes(rec.masks["direct"], rec.masks["onset"]))
    assert f"onsets ({100 * rec.masks['onset'].mean():.0f} %)" in caption
    no_masks = load_inspection(results["root"] / "inspection" / f"{MODEL}_{COND}_best.npz")
    with pytest.raises(ValueError, match="no ground-truth masks"):
        plot_masks(no_masks)


def test_band_spectra_figure_is_relative_to_phat(results):
    spectra = pd.read_csv(results["root"] / "spectra.csv")
    fig, caption = plot_band_spectra(spectra, MODEL)
    check_figure(fig, caption)
    ax = fig.axes[0]
    line = next(ln for ln in ax.lines if ln.get_label() == METHODS[0])
    expected = 10 * np.log10(np.array(SPECTRA_SHARES[METHODS[0]]) / SPECTRA_SHARES["phat"])
    np.testing.assert_allclose(line.get_ydata(), expected)
    assert {"microphones", "direct path", "PHAT (flat)"} <= {ln.get_label() for ln in ax.lines}
