"""Quantus 0.6.0 metrics adapted to a regression localizer (Hedström et al., JMLR 2023).

Quantus assumes classifiers. The adaptation (see ``docs/metrics.md``):

- the model Quantus sees is ``ssl_xai_bench.attributions.target.ScalarModel``: the localizer's
explained scalar ``<y_hat(x), p_gt>`` as a one-output model, ``y_batch`` all zeros (its only
output), and ``softmax=False`` on every call;
- attributions are precomputed by our methods, channel-first ``(B, M, T)`` (never
  ``quantus.explain``, which sums the microphone axis away); metrics that recompute explanations
  (MaxSensitivity, EfficientMPRT) call the method's own ``explain_fn(model, inputs, targets)``;
- removal: the perturbation metrics run once per removal baseline of ``removal_baselines``
  (:mod:`ssl_xai_bench.metrics.removal`; ``zero`` is the paper's), through our ``perturb_func``
  (:mod:`ssl_xai_bench.metrics.quantus_removal`); the names of the non-``zero`` runs carry the
  baseline's suffix (``faithfulness_correlation_noisy_linear``). They run the model through the
  cell's store of forwards (:mod:`ssl_xai_bench.metrics.forward_cache`): the unperturbed windows
  were predicted once per cell, and some metrics repeat each other's inputs;
- target alignment: every metric evaluates a batch with the rows of ``x_batch`` in order and calls
  the model on exactly those rows (read in the 0.6.0 sources: ``evaluate_batch`` of every metric
  used here, ``EfficientMPRT.__call__``). We call Quantus one chunk of windows at a time, with a
  ``ScalarModel`` holding that chunk's targets and ``batch_size = len(chunk)``, so every model
  call sees exactly the rows of its targets; ``ScalarModel`` raises if a batch ever differs;
- attributions are normalised per window (divided by their max |a|) instead of Quantus' default
  normalisation over the whole batch, so a window's score does not depend on its batch-mates;
  windows whose relevance is identically zero get NaN (Quantus cannot score them);
- ``RegionPerturbation`` regions are contiguous time spans over all microphones: the input is shown
  to Quantus as ``(B, M, T / p, p)`` (a model wrapper restores ``(B, M, T)``), so its ``p x p``
  patch covers ``p**2`` consecutive samples of every microphone. Its per-window score is the mean
  drop of the explained scalar over the evaluated regions (AOPC, higher = more faithful).

Each metric is one spec of :mod:`ssl_xai_bench.metrics.quantus_params` (its class, the
arguments it always gets, its parameters and their checks, its layout, its cost); the layouts
(how a chunk is shown to Quantus and its scores read back) are in
:mod:`ssl_xai_bench.metrics.quantus_adapters`. Nothing here depends on a metric's name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl_xai_bench.attributions.target import ScalarModel
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics.quantus_adapters import ExplainFn, explain_adapter, normalise_per_window
from ssl_xai_bench.metrics.quantus_params import (
    QUANTUS_METRICS,
    QuantusMetric,
    QuantusSettings,
    metric_params,
    quantus_metric,
    resolve_params,
    validate_params,
)
from ssl_xai_bench.metrics.quantus_removal import QuantusRemoval
from ssl_xai_bench.metrics.quantus_speed import fast_quantus_asserts, refused_windows
from ssl_xai_bench.metrics.removal import (
    REMOVAL_BASELINES,
    STUDY_BASELINE,
    Removal,
    make_removal,
    suffix,
)
from ssl_xai_bench.metrics.spec import Family, MethodCell, MetricSpec, Scores
from ssl_xai_bench.metrics.stats import spread_over_sources


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed numpy's and torch's global generators (Quantus uses them) and restore them after."""
    np_state = np.random.get_state()  # noqa: NPY002 (Quantus draws from it)
    torch_state = torch.random.get_rng_state()
    np.random.seed(seed % (2**32))  # noqa: NPY002
    torch.manual_seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        torch.random.set_rng_state(torch_state)


def _removal_for(removal: Removal | None, x: np.ndarray, seed: int) -> Removal:
    """``removal`` checked to be of the windows ``x``, or the zero removal of ``x``."""
    if removal is None:
        return make_removal(STUDY_BASELINE, x, np.zeros(x.shape[0]), seed)
    if removal.windows.shape != x.shape:
        raise ValueError(f"removal: made for windows of shape {removal.windows.shape}, "
                         f"not {x.shape}")
    return removal


def run_quantus_metric(
    name: str,
    model: nn.Module,
    windows: np.ndarray,
    targets: np.ndarray,
    relevance: np.ndarray,
    *,
    explain_fn: ExplainFn | None = None,
    params: Mapping[str, Any] | None = None,
    removal: Removal | None = None,
    batch_size: int = 16,
    seed: int = 0,
    target_mode: str = "position",
) -> np.ndarray:
    """Per-window scores of one Quantus metric.

    Parameters
    ----------
    name : str
        A key of :data:`QUANTUS_METRICS`.
    model, windows, targets, relevance
        The localizer in eval mode ``(B, M, T) -> (B, 3)``, the windows ``(N, M, T)``, the
        ground-truth positions ``(N, 3)`` (the explained scalar's weights) and the method's
        precomputed relevance ``(N, M, T)``.
    explain_fn : callable, optional
        ``explain_fn(model, inputs, targets) -> relevance``; required by metrics that recompute
        explanations.
    params : mapping, optional
        Overrides of the metric's defaults (validated against ``(M, T)``).
    removal : Removal, optional
        What removed samples become (:func:`ssl_xai_bench.metrics.removal.make_removal` on these
        ``windows``); default: ``zero``, the paper's removal.
    batch_size, seed, target_mode
        Windows per Quantus call (each call sees only its own windows and targets), the seed
        of the metric's random draws, the explained scalar (``ssl_xai_bench.attributions.target``).

    Returns
    -------
    array (N,) float64
        NaN for windows whose relevance Quantus refuses (all zero, a single value:
        :func:`~ssl_xai_bench.metrics.quantus_speed.refused_windows`) or scores non-finite.
    """
    x, a, t = _checked(windows, relevance, targets, batch_size)
    p, spec = _resolved(name, params, *x.shape[1:]), quantus_metric(name)
    removal = _removal_for(removal, x, seed)
    if spec.needs_explain and explain_fn is None:
        raise ValueError(f"explain_fn: metric {name!r} recomputes explanations and needs one")
    scores = np.full(x.shape[0], np.nan)
    valid = np.flatnonzero(~refused_windows(a))
    explain = explain_adapter(explain_fn) if explain_fn is not None else None
    for c, start in enumerate(range(0, valid.size, batch_size)):
        rows = valid[start : start + batch_size]
        scalar = ScalarModel(model, torch.from_numpy(t[rows]), mode=target_mode).eval()
        scores[rows] = _score_chunk(spec, p, scalar, x[rows], a[rows].copy(), explain,
                                    QuantusRemoval(removal, rows, cumulative=spec.cumulative),
                                    seed, c)
    scores[~np.isfinite(scores)] = np.nan
    return scores


def _score_chunk(spec: QuantusMetric, params: Mapping[str, Any], scalar: nn.Module,
                 x: np.ndarray, a: np.ndarray, explain: Any, perturb: QuantusRemoval,
                 seed: int, chunk: int) -> np.ndarray:
    """One Quantus call on a chunk of windows (its own targets in ``scalar``): the chunk laid
    out by the metric's adapter, Quantus' global generators seeded per chunk."""
    view = spec.adapter.view(scalar, x, a, params, explain)
    with _seeded(seed + 7919 * chunk), fast_quantus_asserts():
        metric = spec.build(params, perturb, seed)
        result = metric(model=view.model, x_batch=view.x, y_batch=np.zeros(len(x), np.int64),
                        a_batch=view.a, channel_first=True, softmax=False,
                        explain_func=view.explain, batch_size=len(x))
    return spec.adapter.scores(np.asarray(result, dtype=np.float64), len(x))


def _resolved(name: str, params: Mapping[str, Any] | None, n_mics: int,
              n_samples: int) -> dict[str, Any]:
    """The metric's defaults with ``params``, checked for the input shape ``(M, T)``, window
    lengths resolved to samples."""
    p = metric_params(name, params)
    validate_params(name, p, n_mics, n_samples)
    return resolve_params(p, n_samples)


def _checked(windows: np.ndarray, relevance: np.ndarray, targets: np.ndarray,
             batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows, relevance ``(N, M, T)`` and targets ``(N, 3)`` as float32, shapes and the batch
    size checked."""
    x = np.asarray(windows, dtype=np.float32)
    a = np.asarray(relevance, dtype=np.float32)
    t = np.asarray(targets, dtype=np.float32)
    if x.ndim != 3 or a.shape != x.shape:
        raise ValueError(f"relevance: shape {a.shape} must equal windows shape {x.shape} (N, M, T)")
    if t.shape != (x.shape[0], 3):
        raise ValueError(f"targets: expected shape ({x.shape[0]}, 3), got {t.shape}")
    if batch_size < 1:
        raise ConfigError("metrics.quantus_batch_size", f"must be >= 1, got {batch_size}")
    return x, a, t


def _runs(cell: MethodCell, name: str,
          removals: Mapping[str, Removal]) -> list[tuple[str, Removal | None, nn.Module]]:
    """(row name, removal, model) of each run of metric ``name`` in a cell: one per removal
    baseline for a perturbation metric (through the cell's store of forwards), else one."""
    if not QUANTUS_METRICS[name].removes:
        return [(name, None, cell.model)]
    model = cell.model if cell.shared_model is None else cell.shared_model
    runs = [(f"{name}{suffix(b)}", removal, model) for b, removal in removals.items()]
    return runs if cell.config.quantus.under_every_baseline(name) else runs[:1]


def _score(cell: MethodCell) -> Scores:
    s = cell.config.quantus
    out = Scores()
    x, pos, rel = cell.x, cell.positions, np.asarray(cell.relevance, np.float32)
    m = cell.config.manipulation
    removals = {}
    if any(QUANTUS_METRICS[name].removes for name in s.quantus_metrics):
        removals = {b: m.removal(b, x, cell.data.source_ids, cell.removal_seed)
                    for b in m.removal_baselines}
    for name in s.quantus_metrics:
        needs_explain = QUANTUS_METRICS[name].needs_explain
        if needs_explain and cell.explain_fn is None:
            continue
        rows = None
        if needs_explain and 0 < s.explain_windows < x.shape[0]:
            rows = spread_over_sources(cell.data.source_ids, s.explain_windows)
        sel = slice(None) if rows is None else rows
        for row_name, removal, model in _runs(cell, name, removals):
            try:
                scores = run_quantus_metric(
                    name, model, x[sel], pos[sel], rel[sel], explain_fn=cell.explain_fn,
                    params=s.quantus_params.get(name), removal=removal,
                    batch_size=s.quantus_batch_size, seed=cell.seed,
                    target_mode=cell.config.target_mode,
                )
            except Exception as exc:  # one metric's failure must not discard the cell's others
                out.failed[row_name] = f"{type(exc).__name__}: {exc}".strip()
            else:
                out.values[row_name] = scores
                if rows is not None:
                    out.rows[row_name] = rows
                refused = int(refused_windows(rel[sel]).sum())
                if refused:
                    out.undefined[row_name] = (f"Quantus refuses {refused} of {len(scores)} "
                                               "windows (constant relevance)")
    return out


def _specs() -> tuple[MetricSpec, ...]:
    specs = []
    q: QuantusMetric
    for q in QUANTUS_METRICS.values():
        for b in REMOVAL_BASELINES if q.removes else (STUDY_BASELINE,):
            extra = "" if b == STUDY_BASELINE else f" ({b} removal)"
            specs.append(MetricSpec(f"{q.name}{suffix(b)}", q.category, q.direction, "score",
                                    f"Quantus {q.quantus_class}: {q.description}{extra}",
                                    margin=q.margin,
                                    headline=q.headline if b == STUDY_BASELINE else None))
    return tuple(specs)


FAMILY = Family(name="quantus", metrics=_specs(), settings=QuantusSettings, score=_score)
"""Quantus' faithfulness, robustness, randomisation and complexity metrics."""


__all__ = ["FAMILY", "normalise_per_window", "run_quantus_metric"]
