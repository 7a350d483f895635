"""The static HTML report: sections in order, tables present, every file reference resolves, it
renders in Chromium without errors (images decoded, audio loaded), its first screen at 1280 px
shows the summary and the headline table without horizontal scrolling, and the WAV files hold the
scaled signals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import wavfile

from ssl_xai_bench.report.audio import minmax_symmetric, peak_normalize, to_pcm16
from ssl_xai_bench.report.figures import load_inspection
from ssl_xai_bench.report.html import DEFAULT_SECTIONS, Section, build_report
from tests.report.report_fixture import (
    CONDITIONS,
    FAILED,
    METHODS,
    MODELS,
    write_headline_results,
    write_results,
)

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


class _Page(HTMLParser):
    """Collects tags with their attributes, figure captions and the body's data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.captions: list[str] = []
        self.body: dict[str, str] = {}
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "body":
            self.body = a
        if tag == "figcaption":
            self._in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data):
        if self._in_caption:
            self.captions[-1] += data


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    # the condition with the failed cell, both models: 3 leaderboards, 4 inspection windows
    root = write_results(tmp_path_factory.mktemp("results"), seed=11, models=MODELS,
                         conditions=CONDITIONS[1:])
    index = build_report(root)
    return root, index


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _exe() -> str:
    exe = _chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium not found but CI is set: .ci/run must install it "
                        "(apt-get install -y chromium)")
        pytest.skip("chromium not found (apt-get install -y chromium); CI is unset")
    return exe


def _render(index: Path, tmp_path: Path, *extra: str) -> tuple[_Page, str]:
    exe = _exe()
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         *extra, "--virtual-time-budget=5000", "--dump-dom", index.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return _parse(proc.stdout), proc.stderr


def test_default_out_dir_sections_in_order_and_every_table_present(report):
    root, index = report
    assert index == root / "report" / "index.html"
    page = _parse(index.read_text(encoding="utf-8"))
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert sections == ["summary", "headline", "figures", "details", "provenance"]
    ids = [a.get("id", "") for t, a in page.tags if t == "table"]
    n_cells = len(MODELS)
    # overall, one per model (one condition each: no per-cell block)
    assert [i for i in ids if i.startswith("headline-")] == [
        "headline-overall", "headline-model-0", "headline-model-1"]
    assert {"summary-table", "sanity-table", "provenance-table"} <= set(ids)
    assert len([i for i in ids if i.startswith("tdoa-")]) == n_cells
    assert len([i for i in ids if i.startswith("family-")]) == 9 * (1 + n_cells)  # 9 families
    text = index.read_text(encoding="utf-8")
    assert FAILED[4] in text  # the failed cell's reason in a footnote
    assert text.count('<tr class="baseline"><td>constant</td>') == n_cells * 2 * 3
    for method in METHODS:
        assert f"<td>{method.replace('&', '&amp;')}</td>" in text
    assert "0123456789abcdef" in text and "cafe1234" in text  # provenance


def test_every_reference_resolves_inside_the_folder(report):
    _, index = report
    out = index.parent
    page = _parse(index.read_text(encoding="utf-8"))
    refs = [a[k] for t, a in page.tags for k in ("src", "href") if k in a]
    assert refs
    local = [r for r in refs if not r.startswith("#")]
    for ref in local:
        assert "://" not in ref and not ref.startswith("//"), f"external reference {ref}"
        target = (out / ref).resolve()
        assert target.is_file(), f"missing {ref}"
        assert out.resolve() in target.parents
    kinds = {Path(r).suffix for r in local}
    assert {".png", ".pdf", ".wav", ".csv", ".md", ".tex", ".json"} <= kinds
    # every figure has an image and a caption line
    n_img = sum(1 for t, _ in page.tags if t == "img")
    assert n_img == len(page.captions) and all(len(c.strip()) > 20 for c in page.captions)


def test_renders_in_headless_chromium_without_errors(report, tmp_path):
    _, index = report
    page, stderr = _render(index, tmp_path)
    src = _parse(index.read_text(encoding="utf-8"))
    assert page.body.get("data-check") == "ok", page.body
    assert page.body.get("data-errors") == ""
    assert int(page.body["data-images"]) == sum(1 for t, _ in src.tags if t == "img") > 0
    assert int(page.body["data-audios"]) == sum(1 for t, _ in src.tags if t == "audio") > 0
    bad = [ln for ln in stderr.splitlines() if "Uncaught" in ln
           or ("CONSOLE" in ln and "error" in ln.lower())]
    assert not bad, bad
    # every headline table survived rendering
    assert len([a for t, a in page.tags if t == "table"
                and a.get("id", "").startswith("headline-")]) == 1 + len(MODELS)


def test_chromium_check_reports_missing_files(report, tmp_path):
    _, index = report
    broken = tmp_path / "broken"
    shutil.copytree(index.parent, broken)
    png = sorted((broken / "figures").glob("*.png"))[0]
    wav = sorted((broken / "audio").glob("*.wav"))[0]
    png.unlink()
    wav.unlink()
    page, _ = _render(broken / "index.html", tmp_path)
    check = page.body.get("data-check", "")
    assert f"img:figures/{png.name}" in check and f"audio:audio/{wav.name}" in check


def test_wav_files_hold_the_scaled_signals(report):
    root, index = report
    npz = sorted((root / "inspection").glob("*_worst.npz"))[0]
    rec = load_inspection(npz)
    ia, ib = rec.pair
    audio = index.parent / "audio"
    fs, mics = wavfile.read(audio / f"{npz.stem}_microphones.wav")
    assert fs == rec.fs and mics.dtype == np.int16 and mics.shape == (rec.window.shape[1], 2)
    np.testing.assert_array_equal(mics, to_pcm16(peak_normalize(rec.window[[ia, ib]])).T)
    assert np.abs(mics).max() == 32767
    fs, rel = wavfile.read(audio / f"{npz.stem}_relevance0_{METHODS[0]}.wav")
    expected = to_pcm16(minmax_symmetric(rec.relevance[METHODS[0]][[ia, ib]])).T
    np.testing.assert_array_equal(rel, expected)
    assert rel.min() == -32767 and rel.max() == 32767  # min -> -1, max -> +1
    # the all-zero relevance of the last method is silence, not NaN noise
    _, zero = wavfile.read(next(audio.glob(f"{npz.stem}_relevance2_*.wav")))
    assert not zero.any()


def test_tables_and_sidecars_written(report):
    _, index = report
    tables = index.parent / "tables"
    tidy = pd.read_csv(tables / "leaderboard_tidy.csv")
    assert len(tidy) == len(MODELS) * len(METHODS) * 10
    for p in tables.glob("leaderboard_*.*"):
        if p.suffix in (".csv", ".md", ".tex") and not p.name.endswith(".provenance.json"):
            side = json.loads(p.with_name(p.name + ".provenance.json").read_text())
            assert side["provenance"]["seed"] == 1234


def test_missing_leaderboard_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="leaderboard.csv"):
        build_report(tmp_path)


@pytest.fixture(scope="module")
def headline_report(tmp_path_factory):
    root = write_headline_results(tmp_path_factory.mktemp("headline"))
    return build_report(root)


@pytest.mark.slow
def test_first_screen_at_1280_px_shows_summary_and_headline_without_scrolling(
        headline_report, tmp_path):
    width, height = 1280, 800
    page, _ = _render(headline_report, tmp_path, f"--window-size={width},{height}")
    layout = json.loads(page.body["data-layout"])
    assert layout["innerWidth"] == width, layout
    assert layout["scrollWidth"] <= width, layout  # no horizontal scrolling
    top, bottom = layout["summary"]
    assert top < height and bottom <= height, layout  # the whole summary on the first screen
    top, bottom = layout["headline"]
    assert top < height and bottom <= height, layout  # and the whole overall headline table
    shot = tmp_path / "first_screen.png"
    proc = subprocess.run(
        [_exe(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'shot-profile'}",
         "--hide-scrollbars", f"--window-size={width},{height}", "--virtual-time-budget=5000",
         f"--screenshot={shot}", headline_report.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (
        width, height)


COMMITTED_REPORT = Path(__file__).resolve().parents[2] / "results" / "default" / "report"


@pytest.mark.slow
def test_committed_default_report_fits_1280_px(tmp_path):
    """The committed reference report, not only a constructed one: at 1280 px the summary table
    and the overall headline table fit the width (nothing cut, no horizontal scrolling), and the
    summary starts on the first screen."""
    index = COMMITTED_REPORT / "index.html"
    assert index.is_file(), "results/default/report/index.html is committed"
    width, height = 1280, 800
    page, _ = _render(index, tmp_path, f"--window-size={width},{height}")
    layout = json.loads(page.body["data-layout"])
    assert layout["scrollWidth"] <= width, layout
    assert layout["summaryRight"] <= width and layout["headlineRight"] <= width, layout
    assert layout["summary"][0] < height, layout


@pytest.mark.slow
def test_summary_is_generated_from_the_numbers(headline_report):
    text = headline_report.read_text(encoding="utf-8")
    summary = text[text.index('<section id="summary">'):text.index('<section id="headline">')]
    # faithfulness: lrp and integrated_gradients (equivalent) win the one counted cell; cond_b,
    # where the model does not localise, is not counted
    assert "<td>lrp, integrated_gradients (1/1 cells)</td>" in summary
    assert "1 cell(s) where the model does not localise" in summary
    assert "loccnn at cond_b (gain over the trivial predictor 0.01 m" in summary
    assert "Sanity checks: 3 of 12 fail" in summary
    # a control that beats every method is said first; a family nobody wins says so
    assert "<td>energy beats every method in 1/1 cells; no method beats the microphones" \
        in summary
    assert "undefined" in summary and "underpowered" not in summary
    assert "could not have been decided with their sources" in summary


@pytest.mark.slow
def test_a_section_is_added_without_touching_the_others(tmp_path):
    root = write_results(tmp_path / "run", seed=2, models=MODELS[:1], conditions=CONDITIONS[:1])

    def probe(ctx):
        return f"<p id=\"probe-body\">{ctx.results.name}</p>"

    sections = list(DEFAULT_SECTIONS)
    after_figures = [s.anchor for s in sections].index("figures") + 1
    sections.insert(after_figures, Section("probe", "Probe", probe))
    text = build_report(root, sections=sections).read_text(encoding="utf-8")
    order = [text.index(f'<section id="{s}">') for s in
             ("summary", "headline", "figures", "probe", "details", "provenance")]
    assert order == sorted(order) and '<p id="probe-body">run</p>' in text
    assert '<a href="#probe">Probe</a>' in text
