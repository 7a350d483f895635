"""LRP conservation: how much of the explained scalar reaches the input (``PAPER.md`` pitfalls).

``ratio = sum(relevance) / f(x)`` per window, with ``f(x) = <y_hat(x), w>`` the explained scalar
(``ssl_xai_bench.attributions.target``). LRP rules that conserve relevance give 1; with BatchNorm
merged and large biases nearly all of it can be absorbed by the biases (ratio << 1). Reported for
every method (meaningful as conservation only for LRP variants). Windows whose scalar is 0 give NaN.
"""

from __future__ import annotations

import numpy as np
import torch

from ssl_xai_bench.attributions.target import output_weights
from ssl_xai_bench.metrics.spec import Family, MethodCell, MetricSpec, NoSettings, Scores


def conservation_ratio(relevance: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """``sum(relevance[i]) / scalar[i]`` per window, float64; NaN where the scalar is 0.

    Parameters
    ----------
    relevance : array (N, M, T)
    scalar : array (N,)
        The explained scalar of each window (the model's output dotted with the target weights).
    """
    rel = np.asarray(relevance)
    s = np.asarray(scalar, dtype=np.float64).reshape(-1)
    if s.shape[0] != rel.shape[0]:
        raise ValueError(f"scalar: expected {rel.shape[0]} values, got {s.shape[0]}")
    total = rel.reshape(rel.shape[0], -1).astype(np.float64).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = total / s
    out[s == 0] = np.nan
    return out


def _score(cell: MethodCell) -> Scores:
    weights = output_weights(torch.from_numpy(cell.positions), cell.config.target_mode).numpy()
    ratio = conservation_ratio(np.asarray(cell.relevance, np.float32),
                               (cell.prediction * weights).sum(axis=1))
    return Scores(values={"conservation_ratio": ratio,
                          "conservation_deviation": np.abs(ratio - 1.0)})


FAMILY = Family(
    name="conservation",
    metrics=(
        MetricSpec("conservation_ratio", "conservation", "up", "ratio",
                   "sum(relevance) / explained scalar (1 = conserved)"),
        MetricSpec("conservation_deviation", "conservation", "down", "ratio",
                   "|sum(relevance) / explained scalar - 1|"),
    ),
    settings=NoSettings,
    score=_score,
)


__all__ = ["FAMILY", "conservation_ratio"]
