"""Reference implementations the tests compare the package with (and the speed benchmarks time):
the authors' per-window GCC-PHAT loop, the stable-sort sample rankings and zeroing of the
manipulation experiment, and the per-window errors of a manipulation curve computed with them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from ssl_xai_bench.metrics.gcc_phat import nextpow2
from ssl_xai_bench.metrics.manipulation_curves import (
    PAPER_FRACTIONS,
    RANKINGS,
    RELEVANCE_CURVES,
    control_key,
    curve_predictions,
    relevance_key,
)
from ssl_xai_bench.metrics.removal import STUDY_BASELINE, Removal, make_removal


def gcc_phat_reference(sig: np.ndarray, refsig: np.ndarray, max_lag: int | None = None) -> int:
    """The authors' per-window GCC-PHAT lag (numpy FFTs, every lag, signed argmax).

    Mirrors ``utils.gcc_phat`` + ``np.argmax(cc) - len(cc)/2`` of lucacoma/XAISrcLoc, returning
    the integer lag (their ``-len/2`` offset of half a sample cancels against the ground truth
    computed the same way). With ``max_lag`` only lags ``|tau| <= max_lag`` are searched (the
    ``bounded`` variant, same order). Kept as the reference for tests and the speed benchmark.
    """
    n = nextpow2(sig.shape[0] + refsig.shape[0] + 1)
    r = np.fft.rfft(sig, n=n) * np.conj(np.fft.rfft(refsig, n=n))
    cc = np.fft.irfft(r / np.abs(r), n=n)
    half = n // 2
    cc = np.concatenate((cc[-half:], cc[: half + 1]))
    if max_lag is not None:
        return int(np.argmax(cc[half - max_lag : half + max_lag + 1])) - max_lag
    return int(np.argmax(cc)) - half


def ranking_order(scores: np.ndarray, *, descending: bool = True) -> np.ndarray:
    """Per-window order of the flattened samples, most important first, ``(N, M*T)`` int."""
    flat = np.asarray(scores).reshape(scores.shape[0], -1)
    key = -flat if descending else flat
    return np.argsort(key, axis=1, kind="stable")


def random_order(n_windows: int, n_features: int, seed: int) -> np.ndarray:
    """A seeded random permutation of the flattened samples per window, ``(N, M*T)``."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n_windows, n_features)), axis=1)


def zero_top(windows: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    """Copy of ``windows`` (N, M, T) with the first ``k`` samples of each ``order`` row zeroed."""
    out = np.array(windows, dtype=np.float32, copy=True)
    if k > 0:
        flat = out.reshape(out.shape[0], -1)
        np.put_along_axis(flat, order[:, :k], 0.0, axis=1)
    return out


def manipulation_errors(
    model: nn.Module,
    windows: np.ndarray,
    positions: np.ndarray,
    relevance: np.ndarray,
    fractions: Sequence[float] = PAPER_FRACTIONS,
    seed: int = 0,
    batch_size: int = 64,
    rankings: Sequence[str] = RANKINGS,
    baseline_errors: np.ndarray | None = None,
    removal: Removal | None = None,
) -> dict[str, np.ndarray]:
    """Per-window localization error (m) after removing the top fraction of samples (MoRF, per
    sample) of each ranking, ``ranking -> (N, F)``; ``removal`` default: zero on ``windows``.

    ``seed`` draws the ``random`` ranking; ``baseline_errors`` ``(N,)``: the errors of the
    unmanipulated windows if known (saves the ``P = 0`` forward).
    """
    x = np.asarray(windows, dtype=np.float32)
    rel = np.asarray(relevance)
    if rel.shape != x.shape:
        raise ValueError(f"relevance: shape {rel.shape} differs from windows {x.shape}")
    for r in rankings:
        if r not in RANKINGS:
            raise ValueError(f"rankings: unknown ranking {r!r}; allowed: {list(RANKINGS)}")
    fr = np.asarray(fractions, dtype=np.float64)
    if np.any((fr < 0) | (fr >= 1)):
        raise ValueError(f"fractions: must lie in [0, 1), got {fr.tolist()}")
    pos = np.asarray(positions, dtype=np.float64)
    removal = removal or make_removal(STUDY_BASELINE, x, np.zeros(len(x)), seed)
    keys = {r: (relevance_key(rel, RELEVANCE_CURVES["morf"]), "sample") if r == "relevance"
            else (control_key(r, x, seed), "sample") for r in rankings}
    unmodified = np.round(fr * x[0].size) == 0
    base = None if baseline_errors is None else np.full((len(x), 3), np.nan)
    preds = curve_predictions(model, removal, keys, fr, batch_size, base)
    out = {r: np.abs(p - pos[:, None, :]).mean(axis=-1) for r, p in preds.items()}
    if base is not None:
        for curve in out.values():
            curve[:, unmodified] = np.asarray(baseline_errors, float)[:, None]
    return out
