"""Channel-identity diagnostic: are a method's per-microphone relevance maps copies of one map?

A relevance that is one time-aligned map copied to every microphone (what the paper's first-layer
WSquare / Flat rules produce, ``PAPER.md`` pitfalls) cannot carry an inter-microphone delay; GCC
on it returns lag 0 whatever the source position. Per window we compute, for microphone pairs,
the peak of the normalised cross-correlation ``|corr(r_i, r_j)|`` within ``|lag| <= max_lag`` and
the lag of that peak, and average over pairs:

- ``identity`` in [0, 1]: 1 = the maps are (scaled, shifted) copies of each other;
- ``identity_zero_lag_frac``: fraction of pairs whose peak is at lag 0 (copies without delay).

A map copied across microphones scores identity 1 with every peak at lag 0. Microphone signals
of a real scene score below 1 (different reverberation, noise) with non-zero lags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssl_xai_bench import validate as check
from ssl_xai_bench.metrics.gcc_phat import mic_pairs
from ssl_xai_bench.metrics.spec import Family, MethodCell, MetricSpec, Scores, SignalCell
from ssl_xai_bench.metrics.tdoa import max_lags
from ssl_xai_bench.metrics.xcorr import pairwise_peak_xcorr


def channel_identity(
    signals: np.ndarray, pairs: np.ndarray, max_lag: int
) -> dict[str, np.ndarray]:
    """Per-window channel-identity figures.

    Parameters
    ----------
    signals : array (N, M, T)
    pairs : array (P, 2)
    max_lag : int
        Lags searched, samples (e.g. the array's maximum physical TDoA).

    Returns
    -------
    dict of (N,) arrays
        ``identity`` (mean peak), ``identity_zero_lag_frac`` (fraction of pairs peaking at lag 0),
        ``identity_abs_lag`` (mean |lag| of the peaks); NaN where no pair has energy.
    """
    peak, lag = pairwise_peak_xcorr(signals, pairs, max_lag=max_lag, absolute=True)
    ok = np.isfinite(peak)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        identity = np.where(ok, peak, 0.0).sum(axis=1) / count
        zero = np.where(ok, lag == 0, False).sum(axis=1) / count
        abs_lag = np.where(ok, np.abs(lag), 0.0).sum(axis=1) / count
    for arr in (identity, zero, abs_lag):
        arr[count == 0] = np.nan
    return {
        "identity": identity,
        "identity_zero_lag_frac": zero.astype(np.float64),
        "identity_abs_lag": abs_lag,
    }


@dataclass(frozen=True)
class IdentitySettings:
    """``[metrics]`` key of the family: ``identity_max_lag``, the lag range (samples; -1: the
    array's largest physical TDoA)."""

    identity_max_lag: int = -1

    def validate(self) -> None:
        check.as_int(self.identity_max_lag, "metrics.identity_max_lag", minimum=-1)

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        check.as_int(self.identity_max_lag, "metrics.identity_max_lag", maximum=n_samples - 1)


def _scores(cell: SignalCell, signals: np.ndarray) -> Scores:
    max_lag = cell.config.identity.identity_max_lag
    pairs = mic_pairs(signals.shape[1])
    if max_lag < 0:
        mics = np.asarray(cell.data.mic_positions, dtype=np.float64)
        max_lag = int(max_lags(mics, pairs, cell.data.fs, cell.data.speed_of_sound).max())
    ident = channel_identity(signals, pairs, max_lag)
    return Scores(values={"channel_identity": ident["identity"],
                          "channel_identity_zero_lag_frac": ident["identity_zero_lag_frac"]})


def _score(cell: MethodCell) -> Scores:
    return _scores(cell, np.asarray(cell.relevance, np.float32))


def _score_signals(cell: SignalCell) -> dict[str, Scores]:
    return {"microphones": _scores(cell, cell.x)}


FAMILY = Family(
    name="identity",
    metrics=(
        MetricSpec("channel_identity", "channel_identity", "down", "corr",
                   "mean over mic pairs of peak |normalised xcorr| (1 = copied map)", margin=0.05),
        MetricSpec("channel_identity_zero_lag_frac", "channel_identity", "down", "fraction",
                   "fraction of mic pairs whose correlation peaks at lag 0", margin=0.05),
    ),
    settings=IdentitySettings,
    score=_score,
    score_signals=_score_signals,
)


__all__ = ["FAMILY", "IdentitySettings", "channel_identity"]
