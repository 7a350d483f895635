"""Relevance TDoA (the paper's experiment B): pairs, ground truth, scores and the family.

Time differences of arrival are in samples, delay at ``j`` minus delay at ``i`` for a pair
``(i, j)``, estimated by GCC-PHAT (:mod:`ssl_xai_bench.metrics.gcc_phat`). Two variants
(``../shared/spec/PAPER.md``, experiment B):

- ``paper``: pair (7, 8) (0-based; the central pair of another array), FFT length
  ``nextpow2(2T + 1)`` (16384 for T = 5120), every lag, argmax of the *signed* correlation;
  ground truth ``int(d_j/c fs) - int(d_i/c fs)`` (integer-truncated propagation delays).
- ``bounded``: any pairs (default all), lags limited to the physical maximum
  ``|tau| <= floor(d_ij/c fs)``, signed argmax; ground truth ``round((d_j - d_i)/c fs)``.

A window is an *anomaly* when ``|error| > corr_time / 2`` (half the correlation time of its dry
utterance, :func:`ssl_xai_bench.acoustics.audio.correlation_time`). The MAE is averaged over the
windows whose error is within the threshold: ``paper`` follows the reference code strictly,
``|error| < corr_time / 2`` (an error exactly at the threshold is neither an anomaly nor in the
MAE); ``bounded`` averages over every non-anomalous window, ``|error| <= corr_time / 2`` (each
window counted once). Undefined estimates (an all-zero channel) are NaN: counted, never used as
numbers (the reference code would take the argmax of a NaN correlation, lag ``-nfft/2``, and
count an anomaly). Every relevance score sits beside the constant
lag-0 estimator and the microphone signals (the pitfalls of ``PAPER.md``); the metric family
that scores them is :mod:`ssl_xai_bench.metrics.tdoa_family`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

TDOA_VARIANTS: tuple[str, ...] = ("paper", "bounded")
#: Which errors enter the MAE: ``below`` (``< threshold``, the reference's) or ``within``
#: (``<= threshold``, every non-anomalous window).
MAE_RULES = {"paper": "below", "bounded": "within"}
PAPER_PAIR: tuple[int, int] = (7, 8)


def pair_spacing(mic_positions: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Distance between the two microphones of each pair, ``(P,)`` metres."""
    mics = np.asarray(mic_positions, dtype=np.float64)
    return np.linalg.norm(mics[pairs[:, 1]] - mics[pairs[:, 0]], axis=1)


def max_lags(mic_positions: np.ndarray, pairs: np.ndarray, fs: float, c: float) -> np.ndarray:
    """Physical maximum |TDoA| per pair, ``floor(d_ij / c * fs)`` samples, ``(P,)`` int."""
    return np.floor(pair_spacing(mic_positions, pairs) / c * fs + 1e-9).astype(np.int64)


def true_tdoa(
    positions: np.ndarray,
    mic_positions: np.ndarray,
    pairs: np.ndarray,
    fs: float,
    c: float,
    variant: str,
) -> np.ndarray:
    """Ground-truth TDoA ``(N, P)`` in samples (delay at ``j`` minus delay at ``i``).

    ``paper``: difference of integer-truncated delays; ``bounded``: rounded exact difference.
    """
    if variant not in TDOA_VARIANTS:
        raise ValueError(f"variant: must be one of {list(TDOA_VARIANTS)}, got {variant!r}")
    pos = np.asarray(positions, dtype=np.float64)
    mics = np.asarray(mic_positions, dtype=np.float64)
    delay = np.linalg.norm(pos[:, None, :] - mics[None, :, :], axis=2) / c * fs  # (N, M)
    if variant == "paper":
        d = np.trunc(delay)
        return d[:, pairs[:, 1]] - d[:, pairs[:, 0]]
    return np.round(delay[:, pairs[:, 1]] - delay[:, pairs[:, 0]])


def tdoa_errors(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Absolute TDoA error in samples (NaN where the estimate is undefined)."""
    return np.abs(np.asarray(estimate, dtype=np.float64) - np.asarray(truth, dtype=np.float64))


def anomalies(error: np.ndarray, corr_time: np.ndarray) -> np.ndarray:
    """Anomaly indicator ``|error| > corr_time/2`` as float (1/0), NaN where error is NaN.

    ``error`` is ``(N,)`` or ``(N, P)``; ``corr_time`` is ``(N,)`` samples.
    """
    err = np.asarray(error, dtype=np.float64)
    thr = np.asarray(corr_time, dtype=np.float64) / 2.0
    thr = thr.reshape(thr.shape + (1,) * (err.ndim - 1))
    out = (err > thr).astype(np.float64)
    out[~np.isfinite(err)] = np.nan
    return out


def _correlation(est: np.ndarray, truth: np.ndarray, kind: str) -> float:
    """Correlation of estimates with truth; 0 for a constant estimate, NaN if undefined truth."""
    ok = np.isfinite(est) & np.isfinite(truth)
    e, t = est[ok], truth[ok]
    if e.size < 2 or np.ptp(t) == 0:
        return float("nan")
    if np.ptp(e) == 0:
        return 0.0  # a constant estimate carries no information about the delay
    if kind == "pearson":
        return float(np.corrcoef(e, t)[0, 1])
    return float(sps.spearmanr(e, t).statistic)


def mae_mask(error: np.ndarray, corr_time: np.ndarray, rule: str) -> np.ndarray:
    """The errors that enter the MAE under ``rule`` (:data:`MAE_RULES`); False where undefined."""
    if rule not in ("below", "within"):
        raise ValueError(f"rule: must be 'below' or 'within', got {rule!r}")
    err = np.asarray(error, dtype=np.float64)
    thr = np.asarray(corr_time, dtype=np.float64) / 2.0
    thr = thr.reshape(thr.shape + (1,) * (err.ndim - 1))
    with np.errstate(invalid="ignore"):
        return np.isfinite(err) & ((err < thr) if rule == "below" else (err <= thr))


def score_estimates(
    estimate: np.ndarray, truth: np.ndarray, corr_time: np.ndarray, rule: str = "within"
) -> dict[str, float | int]:
    """Scores of one estimator over windows (and pairs, pooled): see the module docstring.

    Parameters
    ----------
    estimate, truth : arrays (N,) or (N, P)
    corr_time : array (N,)
    rule : str
        Which errors the MAE averages (:func:`mae_mask`).

    Returns
    -------
    dict
        ``anomaly_rate`` (fraction), ``mae_samples`` (over the errors of ``rule``), ``pearson``,
        ``spearman``, ``frac_zero_lag``, ``n_windows`` (finite estimates), ``n_nonfinite``.
    """
    est = np.asarray(estimate, dtype=np.float64)
    err = tdoa_errors(est, truth)
    anom = anomalies(err, corr_time)
    finite = np.isfinite(err)
    good = mae_mask(err, corr_time, rule)
    e_flat, t_flat = est.ravel(), np.broadcast_to(truth, est.shape).ravel()
    return {
        "anomaly_rate": float(anom[finite].mean()) if finite.any() else float("nan"),
        "mae_samples": float(err[good].mean()) if good.any() else float("nan"),
        "pearson": _correlation(e_flat, t_flat, "pearson"),
        "spearman": _correlation(e_flat, t_flat, "spearman"),
        "frac_zero_lag": float((est[finite] == 0).mean()) if finite.any() else float("nan"),
        "n_windows": int(finite.sum()),
        "n_nonfinite": int((~finite).sum()),
    }


TDOA_COLUMNS: tuple[str, ...] = (
    "variant",
    "pair",
    "spacing_m",
    "estimator",
    "anomaly_rate",
    "mae_samples",
    "pearson",
    "spearman",
    "frac_zero_lag",
    "n_windows",
    "n_nonfinite",
)


def tdoa_table(
    estimates: dict[str, np.ndarray],
    truth: np.ndarray,
    corr_time: np.ndarray,
    pairs: np.ndarray,
    spacing: np.ndarray,
    variant: str,
) -> pd.DataFrame:
    """Tidy TDoA results: one row per estimator and pair, plus one per spacing group.

    Pair rows have ``pair = "i-j"``; spacing-group rows pool the pairs of one spacing
    (``pair = "spacing"``); a last ``pair = "all"`` row pools every pair.

    Parameters
    ----------
    estimates : mapping estimator name -> (N, P) lags
    truth : (N, P) true lags
    corr_time : (N,) samples
    pairs : (P, 2)
    spacing : (P,) metres
    variant : str
        Its MAE rule is :data:`MAE_RULES` ``[variant]``.
    """
    rule = MAE_RULES[variant]
    rows = []
    groups = np.round(spacing, 3)
    for name, est in estimates.items():
        for p, (i, j) in enumerate(pairs):
            rows.append(
                {
                    "variant": variant,
                    "pair": f"{i}-{j}",
                    "spacing_m": float(groups[p]),
                    "estimator": name,
                    **score_estimates(est[:, p], truth[:, p], corr_time, rule),
                }
            )
        if pairs.shape[0] > 1:
            for g in np.unique(groups):
                sel = groups == g
                rows.append(
                    {
                        "variant": variant,
                        "pair": "spacing",
                        "spacing_m": float(g),
                        "estimator": name,
                        **score_estimates(est[:, sel], truth[:, sel], corr_time, rule),
                    }
                )
            rows.append(
                {
                    "variant": variant,
                    "pair": "all",
                    "spacing_m": float("nan"),
                    "estimator": name,
                    **score_estimates(est, truth, corr_time, rule),
                }
            )
    return pd.DataFrame(rows, columns=list(TDOA_COLUMNS))


def per_window_scores(
    estimate: np.ndarray, truth: np.ndarray, corr_time: np.ndarray, rule: str = "within"
) -> dict[str, np.ndarray]:
    """Per-window figures over the pairs of one variant (for CIs over sources).

    Returns
    -------
    dict of (N,) arrays
        ``anomaly_rate`` (fraction of the window's pairs that are anomalous), ``ok_rate``
        (1 - anomaly_rate), ``mae_samples`` (mean |error| over its pairs selected by ``rule``,
        :func:`mae_mask`; NaN if none), all NaN where every estimate of the window is undefined.
    """
    err = tdoa_errors(estimate, truth)
    anom = anomalies(err, corr_time)
    finite = np.isfinite(anom)
    n_finite = finite.sum(axis=1)
    good = mae_mask(err, corr_time, rule)
    n_good = good.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(finite, anom, 0.0).sum(axis=1) / n_finite
        mae = np.where(good, err, 0.0).sum(axis=1) / n_good
    rate[n_finite == 0] = np.nan
    mae[n_good == 0] = np.nan
    return {"anomaly_rate": rate, "ok_rate": 1.0 - rate, "mae_samples": mae}


__all__ = [
    "MAE_RULES",
    "PAPER_PAIR",
    "TDOA_COLUMNS",
    "TDOA_VARIANTS",
    "anomalies",
    "mae_mask",
    "max_lags",
    "pair_spacing",
    "per_window_scores",
    "score_estimates",
    "tdoa_errors",
    "true_tdoa",
]
