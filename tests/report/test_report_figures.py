"""Report figures are rendered once per content of their inputs, and never trusted half-built."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ssl_xai_bench.report import sections as report
from ssl_xai_bench.report import spectra
from ssl_xai_bench.report.build_figures import MANIFEST, FigureSet
from ssl_xai_bench.report.html import build_report
from tests.report.report_fixture import CONDITIONS, MODELS, write_results

pytestmark = pytest.mark.slow


@pytest.fixture
def results(tmp_path):
    return write_results(tmp_path / "run", seed=3, models=MODELS[:1], conditions=CONDITIONS[1:])


def _count_plots(monkeypatch) -> dict[str, int]:
    """Count every figure the report draws (each plotting function it imports)."""
    calls = {"n": 0}
    plots = [(report, name) for name in (
        "plot_model_skill", "plot_metric_heatmaps", "plot_manipulation_curves",
        "plot_tdoa_summary", "plot_tdoa_vs_spacing", "plot_inspection", "plot_masks")]
    for module, name in [*plots, (spectra, "plot_band_spectra")]:
        real = getattr(module, name)

        def counted(*args, _real=real, **kwargs):
            calls["n"] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return calls


def _figures(index):
    folder = index.parent / "figures"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != MANIFEST}


def test_unchanged_inputs_reuse_every_figure_and_give_the_same_page(results, monkeypatch):
    calls = _count_plots(monkeypatch)
    index = build_report(results)
    first, page = calls["n"], index.read_text("utf-8")
    files = _figures(index)
    assert first > 5 and len(files) == 2 * first  # a PNG and a PDF per figure
    manifest = json.loads((index.parent / "figures" / MANIFEST).read_text("utf-8"))
    assert len(manifest["captions"]) == first

    again = build_report(results)
    assert calls["n"] == first  # nothing drawn the second time
    assert again.read_text("utf-8") == page and _figures(again) == files


def test_changed_table_or_missing_file_renders_again(results, monkeypatch):
    calls = _count_plots(monkeypatch)
    index = build_report(results)
    n = calls["n"]
    board = pd.read_csv(results / "leaderboard.csv")
    board.loc[0, "mean"] = board.loc[0, "mean"] + 1.0
    board.to_csv(results / "leaderboard.csv", index=False)
    build_report(results)
    assert calls["n"] == 2 * n
    next(index.parent.joinpath("figures").glob("*.pdf")).unlink()
    build_report(results)
    assert calls["n"] == 3 * n


def test_a_failed_build_leaves_no_manifest_to_trust(results, monkeypatch):
    index = build_report(results)
    manifest = index.parent / "figures" / MANIFEST
    board = pd.read_csv(results / "leaderboard.csv")
    board.loc[0, "mean"] = board.loc[0, "mean"] + 1.0
    board.to_csv(results / "leaderboard.csv", index=False)

    def broken(*args, **kwargs):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(report, "plot_manipulation_curves", broken)
    with pytest.raises(RuntimeError, match="plot failed"):
        build_report(results)
    assert not manifest.exists()  # some figures were rewritten: none may be reused as they are


def plot_ramp(n: int):
    """A module-level figure (a spawned pool worker imports it by name)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(range(n))
    return fig, f"a ramp of {n} <points>"


def plot_nothing(n: int):
    raise ValueError(f"no figure for {n}")


def test_figures_made_in_the_pool_give_the_blocks_made_here(tmp_path):
    here = FigureSet(tmp_path / "here", digest="d", workers=1)
    pool = FigureSet(tmp_path / "pool", digest="d", workers=2)
    local = here.add(plot_ramp, "ramp", 5)
    sent = pool.add(plot_ramp, "ramp", 5)
    assert "<figure>" in local and "<figure>" not in sent  # a placeholder until the caption
    here.close()
    pool.close()
    assert pool.fill(f"<p>{sent}</p>") == f"<p>{local}</p>"
    assert "a ramp of 5 &lt;points&gt;" in local
    for ext in ("png", "pdf"):
        assert (tmp_path / "pool" / "figures" / f"ramp.{ext}").stat().st_size > 0
    assert json.loads((tmp_path / "pool" / "figures" / MANIFEST).read_text())["captions"] == {
        "ramp": "a ramp of 5 <points>"}


def test_a_figure_failing_in_the_pool_fails_the_set_and_leaves_no_manifest(tmp_path):
    figs = FigureSet(tmp_path, digest="d", workers=2)
    figs.add(plot_ramp, "ramp", 3)
    figs.add(plot_nothing, "nothing", 3)
    with pytest.raises(ValueError, match="no figure for 3"):
        figs.close()
    assert not (tmp_path / "figures" / MANIFEST).exists()
