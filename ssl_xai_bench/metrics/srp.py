"""SRP-PHAT on relevance: does a method's relevance localise the source as well as the input?

SRP-PHAT localization (``ssl_xai_bench.models.baselines.srp_phat_localize``) is run on the
relevance signals and on the microphone signals over the same horizontal grid (the test
positions' bounding box plus a margin, at their mean height); the error is the mean of the |x|
and |y| errors in metres. A method whose relevance keeps the inter-microphone delays localises
like the microphones; one that copies a map to every microphone cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ssl_xai_bench import validate as check
from ssl_xai_bench.metrics.spec import Family, MethodCell, MetricSpec, Scores, SignalCell
from ssl_xai_bench.models.baselines import srp_phat_localize, xy_grid


def srp_grid(positions: np.ndarray, step: float = 0.1, margin: float = 0.5) -> np.ndarray:
    """Horizontal search grid ``(G, 3)``: the positions' x-y bounding box plus ``margin`` metres,
    at their mean height. The same grid serves relevance and microphones."""
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
    est = srp_phat_localize(np.asarray(signals, np.float32), mic_positions, grid, fs, c)
    return np.abs(est[:, :2] - np.asarray(positions, np.float64)[:, :2]).mean(axis=1)


@dataclass(frozen=True)
class SrpSettings:
    """``[metrics]`` keys of the family: ``srp_phat`` (run it), ``srp_grid_step`` and
    ``srp_margin`` (grid spacing and margin around the test positions, m)."""

    srp_phat: bool = True
    srp_grid_step: float = 0.1
    srp_margin: float = 0.5

    def __post_init__(self) -> None:
        for name in ("srp_grid_step", "srp_margin"):
            value = check.as_float(getattr(self, name), f"metrics.{name}", minimum=0.0,
                                   exclusive_minimum=True)
            object.__setattr__(self, name, value)

    def validate(self) -> None:
        check.as_bool(self.srp_phat, "metrics.srp_phat")

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Nothing depends on the input shape."""


def _errors(cell: SignalCell, signals: np.ndarray) -> np.ndarray:
    s = cell.config.srp
    grid = srp_grid(cell.positions, s.srp_grid_step, s.srp_margin)
    return srp_errors(signals, cell.positions, cell.data.mic_positions, cell.data.fs,
                      cell.data.speed_of_sound, grid)


def _score(cell: MethodCell) -> Scores:
    if not cell.config.srp.srp_phat:
        return Scores()
    err_rel = _errors(cell, np.asarray(cell.relevance, np.float32))
    return Scores(values={"srp_error": err_rel,
                          "srp_gain_vs_microphones": _errors(cell, cell.x) - err_rel})


def _score_signals(cell: SignalCell) -> dict[str, Scores]:
    if not cell.config.srp.srp_phat:
        return {}
    return {"microphones": Scores(values={"srp_error": _errors(cell, cell.x)})}


FAMILY = Family(
    name="srp",
    metrics=(
        MetricSpec("srp_error", "dereverberation", "down", "m",
                   "SRP-PHAT mean |x|,|y| error from these signals", margin=0.005),
        MetricSpec("srp_gain_vs_microphones", "dereverberation", "up", "m",
                   "SRP-PHAT error on microphones minus error on relevance", margin=0.005),
    ),
    settings=SrpSettings,
    score=_score,
    score_signals=_score_signals,
)


__all__ = ["FAMILY", "SrpSettings", "srp_errors", "srp_grid"]
