"""The paper's input-manipulation experiment (experiment A of ``../shared/spec/PAPER.md``).

For each fraction ``P`` (default 0, 0.1, ..., 0.7), every test window (flattened over
``M x T``) has its top ``P`` of samples set to zero, ranked three ways:

- ``relevance``: the method's relevance, signed, largest first;
- ``energy``: ``|x|``, largest first;
- ``random``: a seeded random permutation per window.

The localizer is re-run on the manipulated windows (all windows of one fraction in batched
forwards) and the localization error is the per-coordinate absolute error averaged over
``x, y, z`` (metres; its mean over windows is the paper's MAE). Summaries per window:
the area under the MAE-vs-fraction curve (trapezoid, fraction units, so a flat curve at
``e`` metres over ``[0, 0.7]`` has area ``0.7 e``) and the relevance-minus-random error gap at
the fraction 0.1.

The number of removed samples is ``round(P * M * T)``; ties in the ranking keep the flattened
sample order (a stable sort), so all-zero relevance removes the first samples in memory order.
NaN relevance ranks last (as in a sort).

Speed: the removed sets are found without sorting. One ``np.partition`` per ranking places the
``k``-th key of every fraction; a sample is removed if its key is below that threshold, plus the
first (in memory order) of those equal to it until ``k`` are removed: exactly the first ``k``
entries of the stable sort (:func:`ranking_order`, kept as the reference the tests compare with).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ssl_xai_bench import validate as check
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics.spec import Family, MethodCell, MetricSpec, Scores
from ssl_xai_bench.metrics.stats import summarize

RANKINGS: tuple[str, ...] = ("relevance", "energy", "random")
PAPER_FRACTIONS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def ranking_order(
    scores: np.ndarray, *, descending: bool = True
) -> np.ndarray:
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


def top_k_masks(key: np.ndarray, ks: Sequence[int]) -> list[np.ndarray]:
    """Masks ``(N, F)`` bool of the ``k`` smallest keys per row, for every ``k`` in ``ks``.

    Equal to marking ``np.argsort(key, axis=1, kind="stable")[:, :k]``: ties at the threshold go
    to the earliest positions. NaN keys count as larger than every number.
    """
    key = np.asarray(key)
    if np.isnan(key).any():
        key = np.where(np.isnan(key), np.inf, key)
    n_rows, n_feat = key.shape
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
) -> dict[str, np.ndarray]:
    """Per-window localization error after zeroing the top fraction of samples.

    Parameters
    ----------
    model : nn.Module
        Localizer in eval mode, ``(B, M, T) -> (B, 3)`` metres.
    windows : array (N, M, T)
    positions : array (N, 3)
        True positions in metres.
    relevance : array (N, M, T)
        The method's signed relevance.
    fractions : sequence of float in [0, 1)
        Fractions ``P`` of the ``M*T`` samples to zero.
    seed : int
        Seed of the ``random`` ranking.
    batch_size : int
        Windows per forward.
    rankings : sequence of str
        Subset of :data:`RANKINGS`.
    baseline_errors : array (N,), optional
        Errors of the unmanipulated windows if already known (saves the ``P = 0`` forward).

    Returns
    -------
    dict ranking -> array (N, F)
        Mean absolute error over x, y, z (m) per window and fraction.
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
    n_win = x.shape[0]
    n_feat = int(np.prod(x.shape[1:]))

    def errors(manipulated: np.ndarray) -> np.ndarray:
        return np.abs(batched_predict(model, manipulated, batch_size) - pos).mean(axis=1)

    base = None
    if np.any(fr == 0):
        base = errors(x) if baseline_errors is None else np.asarray(baseline_errors, float)
    ks = [int(round(frac * n_feat)) for frac in fr]
    flat = x.reshape(n_win, n_feat)
    out = {}
    for name in rankings:
        if name == "relevance":
            key = -rel.reshape(n_win, n_feat)
        elif name == "energy":
            key = -np.abs(flat)
        else:  # the same draws as random_order: the k smallest uniforms are its first k
            key = np.random.default_rng(seed).random((n_win, n_feat))
        curve = np.empty((n_win, fr.size))
        for f, (k, mask) in enumerate(zip(ks, top_k_masks(key, ks), strict=True)):
            if k == 0 and base is not None:
                curve[:, f] = base
            else:
                curve[:, f] = errors(np.where(mask, np.float32(0.0), flat).reshape(x.shape))
        out[name] = curve
    return out


def curve_area(curve: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """Trapezoid area under each row of ``curve`` (N, F) over ``fractions`` (fraction units)."""
    return np.trapezoid(np.asarray(curve, float), x=np.asarray(fractions, float), axis=-1)


def gap_at(
    curves: dict[str, np.ndarray], fractions: Sequence[float], at: float = 0.1,
    control: str = "random",
) -> np.ndarray:
    """Per-window ``relevance - control`` error at fraction ``at`` (m); larger = more faithful.

    Both curves are of the same windows, so the gap is a paired difference (its CI is that of a
    paired comparison, narrower than two overlapping curve CIs would suggest).
    """
    fr = np.asarray(fractions, dtype=np.float64)
    hit = np.flatnonzero(np.isclose(fr, at))
    if hit.size == 0:
        raise ValueError(f"fractions: {at} is needed for the gap, got {fr.tolist()}")
    if control not in curves:
        raise ValueError(f"control: no {control!r} curve, have {sorted(curves)}")
    return curves["relevance"][:, hit[0]] - curves[control][:, hit[0]]


@dataclass(frozen=True)
class ManipulationSettings:
    """``[metrics]`` keys of the manipulation family.

    ``manipulation_fractions``: fractions of samples zeroed (must contain 0.1, where the gaps are
    taken); ``manipulation_rankings``: subset of :data:`RANKINGS`; ``manipulation_batch_size``:
    windows per forward.
    """

    manipulation_fractions: tuple[float, ...] = PAPER_FRACTIONS
    manipulation_rankings: tuple[str, ...] = RANKINGS
    manipulation_batch_size: int = 64

    def validate(self) -> None:
        f = "metrics.manipulation_fractions"
        fr = check.as_list(self.manipulation_fractions, f, min_length=1)
        for x in fr:
            check.as_float(x, f, minimum=0.0)
            if not x < 1:
                raise ConfigError(f, f"must be numbers in [0, 1), got {x}")
        if sorted(fr) != list(fr) or len(set(fr)) != len(fr):
            raise ConfigError(f, "must be strictly increasing")
        if not any(abs(x - 0.1) < 1e-9 for x in fr):
            raise ConfigError(f, "must contain 0.1 (the gap is taken there)")
        check.unique(check.as_list(self.manipulation_rankings, "metrics.manipulation_rankings"),
                     "metrics.manipulation_rankings")
        for r in self.manipulation_rankings:
            check.as_str(r, "metrics.manipulation_rankings", choices=RANKINGS)
        check.as_int(self.manipulation_batch_size, "metrics.manipulation_batch_size", minimum=1)

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Nothing depends on the input shape."""

    @property
    def controls(self) -> list[str]:
        """The method-independent rankings (computed once per model by the controls stage)."""
        return [r for r in self.manipulation_rankings if r != "relevance"]


def control_curves(model: nn.Module, x: np.ndarray, positions: np.ndarray,
                   settings: ManipulationSettings, seed: int) -> dict[str, np.ndarray]:
    """The ``energy`` and ``random`` curves of one model: ranking -> per-window MAE ``(N, F)``."""
    if not settings.controls:
        return {}
    return manipulation_errors(model, x, positions, np.zeros_like(x),
                               settings.manipulation_fractions, seed=seed,
                               batch_size=settings.manipulation_batch_size,
                               rankings=settings.controls)


def _score(cell: MethodCell) -> Scores:
    s = cell.config.manipulation
    x, pos = cell.x, cell.positions
    fractions = s.manipulation_fractions
    rankings = list(s.manipulation_rankings)
    shared = s.controls if cell.controls is not None else []
    for name in shared:
        curve = cell.controls.get(name)
        if curve is None or np.shape(curve) != (x.shape[0], len(fractions)):
            got = None if curve is None else np.shape(curve)
            raise ValueError(f"controls: need the {name!r} curve of shape "
                             f"{(x.shape[0], len(fractions))}, got {got}")
    base_err = np.abs(cell.prediction - pos).mean(axis=1)
    curves = manipulation_errors(
        cell.model, x, pos, np.asarray(cell.relevance, np.float32), fractions, seed=cell.seed,
        batch_size=s.manipulation_batch_size,
        rankings=[r for r in rankings if r not in shared], baseline_errors=base_err,
    )
    curves.update({r: np.asarray(cell.controls[r], dtype=np.float64) for r in shared})
    curves = {r: curves[r] for r in rankings}
    out = Scores()
    rows = []
    for ranking, curve in curves.items():
        out.values[f"manipulation_auc_{ranking}"] = curve_area(curve, fractions)
        for i, frac in enumerate(fractions):
            stat = summarize(curve[:, i], cell.data.source_ids, seed=cell.seed,
                             n_resamples=cell.config.n_bootstrap, level=cell.config.ci_level)
            rows.append({"ranking": ranking, "fraction": frac, "mae": stat["mean"],
                         "ci_low": stat["ci_low"], "ci_high": stat["ci_high"],
                         "n": stat["n_windows"]})
    if "relevance" in curves and "random" in curves:
        out.values["manipulation_gap_at_10"] = gap_at(curves, fractions, 0.1)
    if "relevance" in curves and "energy" in curves:
        out.values["manipulation_gap_vs_energy_at_10"] = gap_at(curves, fractions, 0.1,
                                                                control="energy")
    out.tables["curves"] = pd.DataFrame(
        rows, columns=["ranking", "fraction", "mae", "ci_low", "ci_high", "n"])
    return out


#: Equivalence margin of the manipulation errors (m): 5 mm, a twentieth of the models' MAE and
#: a tenth of the study's relevance-vs-random jump at 10 % (docs/metrics.md).
MANIPULATION_MARGIN_M = 0.005
#: ... and of the areas (m x fraction): that margin over the paper's fractions [0, 0.7].
AUC_MARGIN = 0.7 * MANIPULATION_MARGIN_M


def _spec(name: str, description: str, margin: float = MANIPULATION_MARGIN_M) -> MetricSpec:
    return MetricSpec(name, "manipulation", "up", "m", description, margin=margin)


FAMILY = Family(
    name="manipulation",
    metrics=(
        _spec("manipulation_auc_relevance",
              "area under MAE vs fraction zeroed, most relevant first", AUC_MARGIN),
        _spec("manipulation_auc_energy",
              "area under MAE vs fraction zeroed, largest |x| first (control)", AUC_MARGIN),
        _spec("manipulation_auc_random", "area under MAE vs fraction zeroed at random (control)",
              AUC_MARGIN),
        _spec("manipulation_gap_at_10",
              "MAE(relevance) - MAE(random) with 10 % of samples zeroed"),
        _spec("manipulation_gap_vs_energy_at_10",
              "MAE(relevance) - MAE(energy) with 10 % of samples zeroed (paired)"),
    ),
    settings=ManipulationSettings,
    score=_score,
)
"""Experiment A of the study: relevance-ranked removal against the energy and random controls."""


__all__ = [
    "FAMILY",
    "PAPER_FRACTIONS",
    "ManipulationSettings",
    "RANKINGS",
    "batched_predict",
    "control_curves",
    "curve_area",
    "gap_at",
    "manipulation_errors",
    "random_order",
    "ranking_order",
    "top_k_masks",
    "zero_top",
]
