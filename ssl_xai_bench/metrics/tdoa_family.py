"""The TDoA metric family: settings, the relevance's scores, and the signals' reference rows.

The scoring rules are in :mod:`ssl_xai_bench.metrics.tdoa` (variants, ground truth, anomalies,
the MAE rule of each variant, the table); GCC-PHAT is :mod:`ssl_xai_bench.metrics.gcc_phat`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench import validate as check
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics.gcc_phat import gcc_phat_lags, mic_pairs
from ssl_xai_bench.metrics.spec import (
    Family,
    Headline,
    MethodCell,
    MetricSpec,
    Scores,
    SignalCell,
    with_headlines,
)
from ssl_xai_bench.metrics.tdoa import (
    MAE_RULES,
    PAPER_PAIR,
    TDOA_VARIANTS,
    max_lags,
    pair_spacing,
    per_window_scores,
    tdoa_table,
    true_tdoa,
)


def _pair(value: Any, field: str) -> tuple[int, int]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in value)
            or value[0] == value[1]):
        raise ConfigError(field, f"a pair is [i, j] with distinct indices >= 0, got {value!r}")
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class TdoaSettings:
    """``[metrics]`` keys of the TDoA family.

    ``tdoa_variants``: ``paper`` and/or ``bounded``; ``tdoa_paper_pair``: the ``paper``
    variant's pair (``None``: the two central microphones, the study's (7, 8) on its 16-mic
    array); ``tdoa_pairs``: the ``bounded`` variant's pairs, ``"all"`` or ``[[i, j], ...]``;
    ``tdoa_nfft``: FFT length (0: ``nextpow2(2T + 1)``, the authors'); ``tdoa_precision``:
    ``float32`` or ``float64`` FFTs.
    """

    tdoa_variants: tuple[str, ...] = TDOA_VARIANTS
    tdoa_paper_pair: tuple[int, int] | None = None
    tdoa_pairs: str | tuple[tuple[int, int], ...] = "all"
    tdoa_nfft: int = 0
    tdoa_precision: str = "float32"

    def __post_init__(self) -> None:  # TOML lists -> tuples (hashable, canonical)
        if self.tdoa_paper_pair is not None:
            object.__setattr__(self, "tdoa_paper_pair",
                               _pair(self.tdoa_paper_pair, "metrics.tdoa_paper_pair"))
        if self.tdoa_pairs != "all":
            pairs = self.tdoa_pairs
            if not isinstance(pairs, list | tuple) or not pairs:
                raise ConfigError("metrics.tdoa_pairs",
                                  'must be "all" or a non-empty list of [i, j] pairs')
            object.__setattr__(self, "tdoa_pairs",
                               tuple(_pair(p, "metrics.tdoa_pairs") for p in pairs))

    def validate(self) -> None:
        f = "metrics.tdoa_variants"
        for v in check.unique(check.as_list(self.tdoa_variants, f), f):
            check.as_str(v, f, choices=TDOA_VARIANTS)
        check.as_int(self.tdoa_nfft, "metrics.tdoa_nfft", minimum=0)
        check.as_str(self.tdoa_precision, "metrics.tdoa_precision",
                     choices=("float32", "float64"))

    def paper_pair(self, n_mics: int) -> tuple[int, int]:
        """The ``paper`` variant's pair: as configured, else the central pair (16 mics: (7, 8))."""
        if self.tdoa_paper_pair is not None:
            return self.tdoa_paper_pair
        return (n_mics // 2 - 1, n_mics // 2) if n_mics >= 2 else PAPER_PAIR

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Pair indices below ``M``; an FFT length of at least ``T``."""
        try:
            mic_pairs(n_mics, [self.paper_pair(n_mics)])
        except ValueError as exc:
            raise ConfigError("metrics.tdoa_paper_pair", str(exc)) from None
        if self.tdoa_pairs != "all":
            try:
                mic_pairs(n_mics, self.tdoa_pairs)
            except ValueError as exc:
                raise ConfigError("metrics.tdoa_pairs", str(exc)) from None
        if self.tdoa_nfft and (self.tdoa_nfft < n_samples or self.tdoa_nfft % 2):
            raise ConfigError("metrics.tdoa_nfft", f"must be 0 or an even length >= T={n_samples}")

    def setup(self, data: Any, variant: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """``(pairs (P, 2), lag bounds (P,) or None, true TDoA (N, P))`` of ``variant``."""
        mics = np.asarray(data.mic_positions, dtype=np.float64)
        n_mics = mics.shape[0]
        if variant == "paper":
            pairs = mic_pairs(n_mics, [self.paper_pair(n_mics)])
            bound = None
        else:
            pairs = mic_pairs(n_mics, None if self.tdoa_pairs == "all" else self.tdoa_pairs)
            bound = max_lags(mics, pairs, data.fs, data.speed_of_sound)
        truth = true_tdoa(data.positions, mics, pairs, data.fs, data.speed_of_sound, variant)
        return pairs, bound, truth

    def estimate(self, signals: np.ndarray, pairs: np.ndarray,
                 bound: np.ndarray | None) -> np.ndarray:
        """GCC-PHAT lags ``(N, P)`` of ``signals`` with these settings."""
        return gcc_phat_lags(signals, pairs, nfft=self.tdoa_nfft or None, max_lag=bound,
                             dtype=np.float32 if self.tdoa_precision == "float32" else np.float64)


def _score(cell: MethodCell) -> Scores:
    s = cell.config.tdoa
    out = Scores()
    tables = []
    rel = np.asarray(cell.relevance, np.float32)
    for variant in s.tdoa_variants:
        pairs, bound, truth = s.setup(cell.data, variant)
        spacing = pair_spacing(cell.data.mic_positions, pairs)
        est_rel = s.estimate(rel, pairs, bound)
        est_mic = s.estimate(cell.x, pairs, bound)
        tables.append(tdoa_table({cell.method: est_rel}, truth, cell.data.corr_time, pairs,
                                 spacing, variant))
        rule = MAE_RULES[variant]
        s_rel = per_window_scores(est_rel, truth, cell.data.corr_time, rule)
        s_mic = per_window_scores(est_mic, truth, cell.data.corr_time, rule)
        s_const = per_window_scores(np.zeros_like(truth), truth, cell.data.corr_time, rule)
        out.values[f"tdoa_{variant}_anomaly_rate"] = s_rel["anomaly_rate"]
        out.values[f"tdoa_{variant}_mae"] = s_rel["mae_samples"]
        out.values[f"tdoa_{variant}_gain_vs_constant"] = s_rel["ok_rate"] - s_const["ok_rate"]
        out.values[f"tdoa_{variant}_gain_vs_microphones"] = s_rel["ok_rate"] - s_mic["ok_rate"]
    if tables:
        out.tables["tdoa"] = pd.concat(tables, ignore_index=True)
    return out


def _score_signals(cell: SignalCell) -> dict[str, Scores]:
    """The microphones, the constant lag-0 estimator and (when known) the direct path."""
    s = cell.config.tdoa
    out: dict[str, Scores] = {}
    tables = []
    for variant in s.tdoa_variants:
        pairs, bound, truth = s.setup(cell.data, variant)
        spacing = pair_spacing(cell.data.mic_positions, pairs)
        est = {"microphones": s.estimate(cell.x, pairs, bound), "constant": np.zeros_like(truth)}
        if cell.direct is not None:
            est["direct_path"] = s.estimate(cell.direct, pairs, bound)
        tables.append(tdoa_table(est, truth, cell.data.corr_time, pairs, spacing, variant))
        for name, e in est.items():
            scores = per_window_scores(e, truth, cell.data.corr_time, MAE_RULES[variant])
            values = out.setdefault(name, Scores()).values
            values[f"tdoa_{variant}_anomaly_rate"] = scores["anomaly_rate"]
            values[f"tdoa_{variant}_mae"] = scores["mae_samples"]
    if tables:
        out.setdefault("microphones", Scores()).tables["tdoa"] = pd.concat(tables,
                                                                           ignore_index=True)
    return out


def _specs() -> tuple[MetricSpec, ...]:
    specs = []
    for v in TDOA_VARIANTS:
        specs += [
            MetricSpec(f"tdoa_{v}_anomaly_rate", "tdoa", "down", "fraction",
                       f"{v}: fraction of pairs with |error| > corr_time/2", margin=0.05),
            MetricSpec(f"tdoa_{v}_mae", "tdoa", "down", "samples",
                       f"{v}: mean |error| over pairs with |error| "
                       f"{'<' if MAE_RULES[v] == 'below' else '<='} corr_time/2",
                       margin=0.1, paired=False),
            MetricSpec(f"tdoa_{v}_gain_vs_constant", "tdoa", "up", "fraction",
                       f"{v}: non-anomalous fraction minus the lag-0 estimator's", margin=0.05),
            MetricSpec(f"tdoa_{v}_gain_vs_microphones", "tdoa", "up", "fraction",
                       f"{v}: non-anomalous fraction minus the microphone signals'",
                       margin=0.05),
        ]
    return tuple(specs)


HEADLINES = {"tdoa_bounded_gain_vs_constant": Headline(
    "TDoA", "TDoA", ("tdoa_bounded_gain_vs_constant", "tdoa_bounded_gain_vs_microphones"),
    "the microphones, the constant lag-0 estimator and the controls", order=6)}

FAMILY = Family(name="tdoa", metrics=with_headlines(_specs(), HEADLINES), settings=TdoaSettings,
                score=_score, score_signals=_score_signals)
"""Experiment B of the study, with the constant and microphone baselines beside it."""


__all__ = ["FAMILY", "TdoaSettings"]
