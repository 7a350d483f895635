"""Removal curves: which samples each curve of the manipulation experiment removes, and the
model's outputs once they are removed.

A curve removes, at each fraction ``P`` of a window's samples, the first ``P`` of a ranking
(:class:`CurveKind`): by the method's signed relevance, most relevant first (MoRF) or least
relevant first (LeRF); by energy ``|x|``; or at random (seeded). Its *layout* is either
``sample``: every ``(microphone, sample)`` ranked on its own (``round(P M T)`` samples removed),
or ``time``: time samples ranked by the relevance summed over the microphones and removed on all
microphones at once (``round(P T)`` time samples, ``M`` times as many samples). Removing by
``time`` keeps the inter-channel delays of what is left; removing by ``sample`` can take a
sample on one microphone and keep it on another. The removed samples are replaced by a removal
baseline (:mod:`ssl_xai_bench.metrics.removal`), and the localizer is re-run on all windows of
one fraction in batched forwards: outputs ``(N, F, 3)`` metres per curve.

The ranked sets are found without sorting: one ``np.partition`` per ranking places the ``k``-th
key of every fraction; a sample is removed if its key is below that threshold, plus the first (in
memory order) of those equal to it until ``k`` are removed: exactly the first ``k`` entries of
the stable sort (``tests/metrics/reference.py`` keeps that sort as the reference). Ties keep
memory order; NaN relevance ranks last in either order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ssl_xai_bench.metrics.removal import Removal

RANKINGS: tuple[str, ...] = ("relevance", "energy", "random")
PAPER_FRACTIONS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
LAYOUTS: tuple[str, ...] = ("sample", "time")


@dataclass(frozen=True)
class CurveKind:
    """A relevance curve: its name in ``curves.csv`` (``ranking`` column), order and layout."""

    name: str
    order: str  # "morf" (most relevant first) or "lerf" (least relevant first)
    layout: str  # "sample" or "time"


#: ``[metrics] manipulation_curves`` value -> the relevance curve it adds.
RELEVANCE_CURVES: dict[str, CurveKind] = {
    "morf": CurveKind("relevance", "morf", "sample"),
    "lerf": CurveKind("relevance_lerf", "lerf", "sample"),
    "time_morf": CurveKind("relevance_time", "morf", "time"),
    "time_lerf": CurveKind("relevance_time_lerf", "lerf", "time"),
}


def top_k_masks(key: np.ndarray, ks: Sequence[int]) -> list[np.ndarray]:
    """Masks ``(N, F)`` bool of the ``k`` smallest keys per row, for every ``k`` in ``ks``.

    Equal to marking ``np.argsort(key, axis=1, kind="stable")[:, :k]``: ties at the threshold go
    to the earliest positions. NaN keys count as larger than every number.
    """
    key = np.asarray(key)
    if np.isnan(key).any():
        key = np.where(np.isnan(key), np.inf, key)
    n_feat = key.shape[1]
    inner = sorted({k for k in ks if 0 < k < n_feat})
    kth = np.partition(key, [k - 1 for k in inner], axis=1) if inner else key
    masks = []
    for k in ks:
        if k <= 0 or k >= n_feat:
            masks.append(np.full(key.shape, k > 0))
            continue
        threshold = kth[:, k - 1 : k]
        mask = key < threshold
        ties = key == threshold
        need = k - mask.sum(axis=1)
        n_ties = ties.sum(axis=1)
        exact = n_ties == need  # the usual case: only the threshold itself ties
        mask[exact] |= ties[exact]
        for row in np.flatnonzero(~exact):
            mask[row, np.flatnonzero(ties[row])[: need[row]]] = True
        masks.append(mask)
    return masks


def batched_predict(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    windows: np.ndarray,
    batch_size: int,
) -> np.ndarray:
    """Model outputs ``(N, 3)`` float64 for ``windows`` (N, M, T), no gradients."""
    outs = []
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    device = params[0].device if params else torch.device("cpu")
    with torch.no_grad():
        for start in range(0, windows.shape[0], batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(windows[start : start + batch_size]))
            out = model(batch.to(device=device, dtype=torch.float32))
            outs.append(out.detach().to(torch.float64).cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 3))


def relevance_key(relevance: np.ndarray, kind: CurveKind) -> np.ndarray:
    """Ranking key of a relevance curve, smallest removed first: ``(N, M*T)`` for the ``sample``
    layout, ``(N, T)`` (relevance summed over the microphones) for ``time``."""
    rel = np.asarray(relevance, dtype=np.float64)
    if kind.layout == "time":
        rel = rel.sum(axis=1)
    flat = rel.reshape(rel.shape[0], -1)
    return -flat if kind.order == "morf" else flat


def control_key(ranking: str, windows: np.ndarray, seed: int) -> np.ndarray:
    """Ranking key ``(N, M*T)`` of a control: ``energy`` (-|x|) or ``random`` (seeded uniform
    draws: the ``k`` smallest are the first ``k`` of the argsort of the same draws)."""
    x = np.asarray(windows)
    if ranking == "energy":
        return -np.abs(x.reshape(x.shape[0], -1))
    if ranking == "random":
        return np.random.default_rng(seed).random((x.shape[0], x[0].size))
    raise ValueError(f"ranking: no control {ranking!r}; controls: energy, random")


def removal_masks(key: np.ndarray, layout: str, fractions: Sequence[float],
                  shape: tuple[int, int, int]) -> list[np.ndarray]:
    """Removed samples ``(N, M, T)`` bool at each fraction: the ``round(P K)`` smallest keys of
    each row of ``key`` ``(N, K)``, time samples broadcast over the microphones (``time``)."""
    n_win, n_mics, n_t = shape
    ks = [int(round(f * key.shape[1])) for f in fractions]
    masks = top_k_masks(key, ks)
    if layout == "time":
        return [np.broadcast_to(m[:, None, :], shape) for m in masks]
    return [m.reshape(n_win, n_mics, n_t) for m in masks]


def curve_predictions(
    model: nn.Module,
    removal: Removal,
    keys: Mapping[str, tuple[np.ndarray, str]],
    fractions: Sequence[float],
    batch_size: int,
    base: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Outputs ``(N, F, 3)`` of each curve ``name -> (key, layout)`` at every fraction.

    Wherever nothing is removed (``P = 0``) the outputs are ``base`` ``(N, 3)``, the outputs on
    the unmodified windows (computed once here when not given).
    """
    shape = removal.windows.shape
    out = {}
    for name, (key, layout) in keys.items():
        preds = np.empty((shape[0], len(fractions), 3))
        for f, mask in enumerate(removal_masks(key, layout, fractions, shape)):
            if mask.any():
                preds[:, f] = batched_predict(model, removal.apply(mask), batch_size)
                continue
            if base is None:
                base = batched_predict(model, removal.windows, batch_size)
            preds[:, f] = base
        out[name] = preds
    return out


def curve_area(curve: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """Trapezoid area under each row of ``curve`` (N, F) over ``fractions`` (fraction units)."""
    return np.trapezoid(np.asarray(curve, float), x=np.asarray(fractions, float), axis=-1)


__all__ = [
    "CurveKind",
    "LAYOUTS",
    "PAPER_FRACTIONS",
    "RANKINGS",
    "RELEVANCE_CURVES",
    "batched_predict",
    "control_key",
    "curve_area",
    "curve_predictions",
    "relevance_key",
    "removal_masks",
    "top_k_masks",
]
