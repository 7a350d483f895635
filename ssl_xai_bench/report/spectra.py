"""The spectral view in the report: which frequency bands each model's relevance uses.

Reads ``spectra.csv`` of a results folder (written by ``collect`` from the metrics and signals
stages, :mod:`ssl_xai_bench.metrics.spectrum`): per ``model, condition, method`` and band the mean
share of the relevance's power, with the reference rows ``microphones``, ``direct_path`` and
``phat`` (the flat PHAT weighting of GCC-PHAT, as band shares of the frequency bins).

- :func:`band_profiles`: a model's mean band shares (over the chosen methods and its conditions,
  each (method, condition) weighted equally), the microphones' and PHAT's;
- :func:`band_sentences`: one sentence per model: the fewest bands that hold at least half of its
  relevance power, their share for the microphones and for PHAT, and whether the profile is closer
  to the microphone spectrum or to PHAT (total variation distance, half the L1 distance of the
  band shares: 0 identical, 1 disjoint);
- :func:`spectra_html`: the figures (one per model) and per cell a folded table of the shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssl_xai_bench.report.figures.spectrum import REFERENCES, plot_band_spectra
from ssl_xai_bench.report.page import PageContext, e, html_table, read_csv
from ssl_xai_bench.report.tables import iter_cells

SPECTRA_FILE = "spectra.csv"
NOT_METHODS = (*REFERENCES, "phat")


@dataclass(frozen=True)
class BandProfile:
    """Mean band shares ``(B,)`` of one model: its relevance, the microphones, PHAT."""

    model: str
    bands: pd.DataFrame  # band, f_low_hz, f_high_hz (by frequency)
    relevance: np.ndarray
    microphones: np.ndarray
    phat: np.ndarray
    n_methods: int
    n_conditions: int


def _mean_profile(rows: pd.DataFrame) -> np.ndarray:
    table = rows.pivot_table(index=["method", "condition"], columns="f_low_hz",
                             values="power_fraction", aggfunc="mean")
    return table.sort_index(axis=1).mean(axis=0).to_numpy(dtype=float)


def band_profiles(spectra: pd.DataFrame,
                  methods: Sequence[str] | None = None) -> list[BandProfile]:
    """Each model's :class:`BandProfile` over ``methods`` (default: every non-reference row)."""
    out = []
    for model, rows in spectra.groupby("model", sort=False):
        chosen = [m for m in dict.fromkeys(rows["method"]) if m not in NOT_METHODS
                  and (methods is None or m in methods)]
        mine = rows[rows["method"].isin(chosen)]
        refs = {name: rows[rows["method"] == name] for name in ("microphones", "phat")}
        if mine.empty or any(r.empty for r in refs.values()):
            continue
        bands = (refs["phat"].drop_duplicates("f_low_hz").sort_values("f_low_hz")
                 [["band", "f_low_hz", "f_high_hz"]].reset_index(drop=True))
        out.append(BandProfile(str(model), bands, _mean_profile(mine),
                               _mean_profile(refs["microphones"]), _mean_profile(refs["phat"]),
                               len(chosen), mine["condition"].nunique()))
    return out


def _hz(f: float) -> str:
    return f"{f / 1000:g} kHz" if f >= 1000 else f"{f:g} Hz"


def _bands_text(bands: pd.DataFrame, chosen: np.ndarray) -> str:
    chosen = np.sort(chosen)
    if np.all(np.diff(chosen) == 1):
        return f"{_hz(bands['f_low_hz'][chosen[0]])}-{_hz(bands['f_high_hz'][chosen[-1]])}"
    return " and ".join(f"{_hz(bands['f_low_hz'][i])}-{_hz(bands['f_high_hz'][i])}"
                        for i in chosen)


def band_sentence(p: BandProfile) -> str:
    """One sentence on the bands of ``p`` (see the module docstring)."""
    order = np.argsort(-p.relevance, kind="stable")
    chosen = order[: int(np.searchsorted(np.cumsum(p.relevance[order]), 0.5)) + 1]
    tv_mic = 0.5 * float(np.abs(p.relevance - p.microphones).sum())
    tv_phat = 0.5 * float(np.abs(p.relevance - p.phat).sum())
    closer = ("the microphone spectrum than to the PHAT weighting" if tv_mic <= tv_phat
              else "the PHAT weighting than to the microphone spectrum")
    return (f"{p.model}: its relevance puts {100 * p.relevance[chosen].sum():.0f} % of its power "
            f"in {_bands_text(p.bands, chosen)} (microphones "
            f"{100 * p.microphones[chosen].sum():.0f} %, PHAT's flat weighting "
            f"{100 * p.phat[chosen].sum():.0f} %; mean of {p.n_methods} method(s) over "
            f"{p.n_conditions} condition(s)), closer to {closer} (total variation "
            f"{min(tv_mic, tv_phat):.2f} vs {max(tv_mic, tv_phat):.2f}).")


def band_sentences(spectra: pd.DataFrame | None,
                   methods: Sequence[str] | None = None) -> list[str]:
    """One sentence per model saying which bands its relevance uses ([] without spectra)."""
    if spectra is None or spectra.empty:
        return []
    return [band_sentence(p) for p in band_profiles(spectra, methods)]


def _cell_table(cell: pd.DataFrame) -> str:
    wide = cell.pivot_table(index="method", columns="f_low_hz", values="power_fraction",
                            sort=False).sort_index(axis=1)
    bands = cell.drop_duplicates("f_low_hz").sort_values("f_low_hz")["band"].tolist()
    rows = [[e(m)] + [f"{100 * v:.1f}" for v in wide.loc[m]] for m in wide.index]
    classes = ["baseline" if m in NOT_METHODS else "" for m in wide.index]
    return html_table(["method"] + [e(b) for b in bands], rows, classes, cls="plain")


def spectra_html(ctx: PageContext) -> str:
    """The spectral view's figures and tables ("" when the run has no ``spectra.csv``)."""
    spectra = read_csv(ctx.results / SPECTRA_FILE)
    if spectra is None or spectra.empty:
        return ""
    parts = ['<h3 id="fig-spectra">Relevance spectra</h3>']
    for model in dict.fromkeys(spectra["model"]):
        parts.append(ctx.figs.add(lambda m=model: plot_band_spectra(spectra, m),
                                  f"spectra_{model}"))
    parts.append('<ul class="note">' + "".join(f"<li>{e(s)}</li>"
                                               for s in band_sentences(spectra)) + "</ul>")
    for model, cond in iter_cells(spectra):
        cell = spectra[(spectra["model"] == model) & (spectra["condition"] == cond)]
        parts.append(f"<details><summary>{e(model)}, {e(cond)}: power per band (%)</summary>"
                     + _cell_table(cell) + "</details>")
    parts.append('<p class="note">Share of each row\'s power per band (%), mean over the test '
                 "windows; CIs in spectra.csv of the results folder.</p>")
    return "".join(parts)


__all__ = ["BandProfile", "SPECTRA_FILE", "band_profiles", "band_sentence", "band_sentences",
           "spectra_html"]
