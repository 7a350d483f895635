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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssl_xai_bench import validate as check
from ssl_xai_bench.metrics.spec import Family, MethodCell, MetricSpec, Scores, SignalCell
from ssl_xai_bench.metrics.xcorr import peak_xcorr


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


@dataclass(frozen=True)
class DereverbSettings:
    """``[metrics]`` key of the family: ``dereverb_max_lag``, the lag range (samples)."""

    dereverb_max_lag: int = 8

    def validate(self) -> None:
        check.as_int(self.dereverb_max_lag, "metrics.dereverb_max_lag", minimum=0)

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        check.as_int(self.dereverb_max_lag, "metrics.dereverb_max_lag", maximum=n_samples - 1)


def _score(cell: MethodCell) -> Scores:
    if cell.direct is None:
        return Scores()
    lag = cell.config.dereverb.dereverb_max_lag
    sim_rel = direct_similarity(np.asarray(cell.relevance, np.float32), cell.direct, lag)
    sim_mic = direct_similarity(cell.x, cell.direct, lag)
    return Scores(values={"dereverb_direct_similarity": sim_rel,
                          "dereverb_gain_vs_microphones": sim_rel - sim_mic})


def _score_signals(cell: SignalCell) -> dict[str, Scores]:
    if cell.direct is None:
        return {}
    sim = direct_similarity(cell.x, cell.direct, cell.config.dereverb.dereverb_max_lag)
    return {"microphones": Scores(values={"dereverb_direct_similarity": sim})}


FAMILY = Family(
    name="dereverb",
    metrics=(
        MetricSpec("dereverb_direct_similarity", "dereverberation", "up", "corr",
                   "peak |normalised xcorr| with the direct path, mean over mics", margin=0.05),
        MetricSpec("dereverb_gain_vs_microphones", "dereverberation", "up", "corr",
                   "direct-path similarity of relevance minus that of the microphone signals",
                   margin=0.05),
    ),
    settings=DereverbSettings,
    score=_score,
    score_signals=_score_signals,
)


__all__ = ["FAMILY", "DereverbSettings", "direct_similarity"]
