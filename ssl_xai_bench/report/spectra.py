"""The spectral view in the report: which frequency bands each model's relevance uses.

Reads ``spectra.csv`` of a results folder (written by ``collect`` from the metrics and signals
stages, :mod:`ssl_xai_bench.metrics.spectrum`): per ``model, condition, method`` and band the mean
share of the relevance's power, with the reference rows ``microphones``, ``direct_path`` and
``phat`` (the flat PHAT weighting of GCC-PHAT, as band shares of the frequency bins).

- :func:`band_profiles`: a model's band shares per method (mean over its conditions), the
  microphones' and PHAT's;
- :func:`band_sentences`: one sentence per model: the band holding the largest share of each
  method's relevance power (methods grouped by band), the microphones' and PHAT's peak bands, and
  whether the methods' mean profile is closer to the microphone spectrum or to PHAT's weighting
  (total variation distance, half the L1 distance of the band shares: 0 identical, 1 disjoint);
- :func:`spectra_html`: the figures (one per model) and per cell a folded table of the shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssl_xai_bench.report.figures.spectrum import REFERENCES, plot_band_spectra
from ssl_xai_bench.report.headline import BASELINE, CONTROL, method_families
from ssl_xai_bench.report.page import PageContext, e, read_csv
from ssl_xai_bench.report.render import html_table
from ssl_xai_bench.report.tables import iter_cells

SPECTRA_FILE = "spectra.csv"
NOT_METHODS = (*REFERENCES, "phat")


@dataclass(frozen=True)
class BandProfile:
    """Band shares ``(B,)`` of one model, each the mean over its conditions: every method's,
    the microphones' and PHAT's."""

    model: str
    bands: pd.DataFrame  # band, f_low_hz, f_high_hz (by frequency)
    methods: dict[str, np.ndarray]
    microphones: np.ndarray
    phat: np.ndarray
    n_conditions: int

    @property
    def relevance(self) -> np.ndarray:
        """The methods' mean band shares (each method weighted equally)."""
        return np.mean(list(self.methods.values()), axis=0)


def _profile(rows: pd.DataFrame) -> np.ndarray:
    table = rows.pivot_table(index="condition", columns="f_low_hz", values="power_fraction",
                             aggfunc="mean")
    return table.sort_index(axis=1).mean(axis=0).to_numpy(dtype=float)


def band_profiles(spectra: pd.DataFrame,
                  methods: Sequence[str] | None = None) -> list[BandProfile]:
    """Each model's :class:`BandProfile` over ``methods`` (default: every non-reference row)."""
    out = []
    for model, rows in spectra.groupby("model", sort=False):
        chosen = [m for m in dict.fromkeys(rows["method"]) if m not in NOT_METHODS
                  and (methods is None or m in methods)]
        refs = {name: rows[rows["method"] == name] for name in ("microphones", "phat")}
        if not chosen or any(r.empty for r in refs.values()):
            continue
        bands = (refs["phat"].drop_duplicates("f_low_hz").sort_values("f_low_hz")
                 [["band", "f_low_hz", "f_high_hz"]].reset_index(drop=True))
        out.append(BandProfile(
            str(model), bands, {m: _profile(rows[rows["method"] == m]) for m in chosen},
            _profile(refs["microphones"]), _profile(refs["phat"]),
            rows[rows["method"].isin(chosen)]["condition"].nunique()))
    return out


def _hz(f: float) -> str:
    return f"{f / 1000:g} kHz" if f >= 1000 else f"{f:g} Hz"


def _band(p: BandProfile, index: int) -> str:
    return f"{_hz(p.bands['f_low_hz'][index])}-{_hz(p.bands['f_high_hz'][index])}"


def _peak(p: BandProfile, shares: np.ndarray) -> str:
    top = int(np.argmax(shares))
    return f"{_band(p, top)} ({100 * shares[top]:.0f} %)"


def band_sentence(p: BandProfile) -> str:
    """One sentence on the bands of ``p`` (see the module docstring)."""
    groups: dict[int, list[str]] = {}
    for method, shares in p.methods.items():
        top = int(np.argmax(shares))
        groups.setdefault(top, []).append(f"{method} ({100 * shares[top]:.0f} %)")
    per_band = ", ".join(f"in {_band(p, b)} for {' and '.join(names)}"
                         for b, names in sorted(groups.items()))
    tv_mic = 0.5 * float(np.abs(p.relevance - p.microphones).sum())
    tv_phat = 0.5 * float(np.abs(p.relevance - p.phat).sum())
    closer = ("the microphones' than to PHAT's" if tv_mic <= tv_phat
              else "PHAT's than to the microphones'")
    return (f"{p.model}: the largest share of the relevance power lies {per_band}; the "
            f"microphones peak in {_peak(p, p.microphones)}, PHAT's flat weighting in "
            f"{_peak(p, p.phat)}; over these {len(p.methods)} method(s) and {p.n_conditions} "
            f"condition(s) the band profile is closer to {closer} (total variation "
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
        parts.append(ctx.figs.add(plot_band_spectra, f"spectra_{model}", spectra, model))
    attribution = [m for m, fam in method_families(ctx.tidy).items()
                   if fam not in (CONTROL, BASELINE)]
    parts.append('<ul class="note">' + "".join(
        f"<li>{e(s)}</li>" for s in band_sentences(spectra, attribution)) + "</ul>")
    for model, cond in iter_cells(spectra):
        cell = spectra[(spectra["model"] == model) & (spectra["condition"] == cond)]
        parts.append(f"<details><summary>{e(model)}, {e(cond)}: power per band (%)</summary>"
                     + _cell_table(cell) + "</details>")
    parts.append('<p class="note">Share of each row\'s power per band (%), mean over the test '
                 "windows; CIs in spectra.csv of the results folder.</p>")
    return "".join(parts)


__all__ = ["BandProfile", "SPECTRA_FILE", "band_profiles", "band_sentence", "band_sentences",
           "spectra_html"]
