"""De-reverberation evidence: is a method's relevance closer to the direct path than the input?

The study claims the localizers "denoise and de-reverberate" their input (``PAPER.md``). With the
direct-path component ``d_m`` of every microphone (the scene stage renders it: no reflections, no
noise) this is measured directly:

- ``direct_similarity(s, d)`` per window: for each microphone the peak of the normalised
  cross-correlation ``|corr(s_m, d_m)|`` within ``|lag| <= max_lag`` samples, averaged over the
  microphones with non-zero energy. It is 1 iff every channel is a scaled, shifted copy of its
  direct path, and it is scale-free (relevance units are arbitrary). Equivalently, with the
  optimal scaling ``alpha = <s, d>/||d||^2`` at the best lag, the direct-to-residual energy ratio
  is ``rho^2 / (1 - rho^2)``, a monotone function of the same peak ``rho``. The small lag range
  tolerates the few-sample shifts a first-layer kernel can introduce and ignores polarity.
- the evidence is the per-window gain ``similarity(relevance) - similarity(microphones)``
  (up = better: the relevance is more direct-path-like than what the model was given).
- ``srp_errors``: SRP-PHAT localization run on the relevance signals versus on the microphone
  signals (``ssl_models.baselines.srp_phat_localize``), error = mean |x|, |y| error in metres on
  a horizontal grid.
"""

from __future__ import annotations

import numpy as np

from bench.metrics.xcorr import peak_xcorr


def direct_similarity(signals: np.ndarray, direct: np.ndarray, max_lag: int = 8) -> np.ndarray:
    """Per-window mean over microphones of the peak ``|normalised xcorr|`` with the direct path.

    Parameters
    ----------
    signals : array (N, M, T)
        Relevance maps or microphone signals.
    direct : array (N, M, T)
        Direct-path component of each microphone.
    max_lag : int
        Lag range searched, samples.

    Returns
    -------
    array (N,)
        In [0, 1]; NaN where no channel has energy in both.
    """
    peak, _ = peak_xcorr(direct, signals, max_lag=max_lag, absolute=True)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(peak)
        count = ok.sum(axis=1)
        mean = np.where(ok, peak, 0.0).sum(axis=1) / np.maximum(count, 1)
    mean[count == 0] = np.nan
    return mean


def srp_grid(positions: np.ndarray, step: float = 0.1, margin: float = 0.5) -> np.ndarray:
    """Horizontal search grid ``(G, 3)``: the positions' x-y bounding box plus ``margin`` metres,
    at their mean height. The same grid serves relevance and microphones."""
    from ssl_models.baselines import xy_grid

    pos = np.asarray(positions, dtype=np.float64)
    lo, hi = pos[:, :2].min(axis=0) - margin, pos[:, :2].max(axis=0) + margin
    return xy_grid((lo[0], hi[0]), (lo[1], hi[1]), float(pos[:, 2].mean()), step)


def srp_errors(
    signals: np.ndarray,
    positions: np.ndarray,
    mic_positions: np.ndarray,
    fs: float,
    c: float,
    grid: np.ndarray,
) -> np.ndarray:
    """Per-window SRP-PHAT error (mean of |x| and |y| errors, m); NaN for silent windows."""
    from ssl_models.baselines import srp_phat_localize

    est = srp_phat_localize(np.asarray(signals, np.float32), mic_positions, grid, fs, c)
    return np.abs(est[:, :2] - np.asarray(positions, np.float64)[:, :2]).mean(axis=1)


__all__ = ["direct_similarity", "srp_errors", "srp_grid"]
