"""Evaluation of one cell: every registered metric family, in order, each number with n and a CI.

Inputs are plain arrays on a WindowSet-like object ``data`` with attributes ``windows (N, M, T)``,
``direct (N, M, T)`` (direct-path component, may be None), ``positions (N, 3)`` m,
``source_ids (N,)``, ``corr_time (N,)`` samples, ``mic_positions (M, 3)``, ``fs``,
``speed_of_sound``; the model maps ``(B, M, T) -> (B, 3)`` metres in eval mode.

Output (:class:`MethodResults`):

- ``rows``: one dict per metric with ``metric, category, direction, unit`` and the fields of
  :func:`ssl_xai_bench.metrics.stats.summarize` (``n_windows, n_sources, mean, ci_low, ci_high,
  n_nonfinite``): a cluster-bootstrap CI over sources; a metric that failed in the cell has a row
  with ``status = "failed"`` and its reason; a metric that ran but has no finite value in any
  window (e.g. Quantus refuses every window's relevance) has ``status = "undefined"`` and the
  reason: it is not a score, and tables leave it out of ranks and tie groups;
- ``curves`` (manipulation curves), ``tdoa`` (TDoA per variant and pair) and ``spectra``
  (relevance power per frequency band) tables;
- ``per_window``: metric name -> ``(N,)`` scores (for paired tests across methods).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.metrics.forward_cache import SharedForwards
from ssl_xai_bench.metrics.manipulation import (
    ManipulationSettings,
    batched_predict,
    control_curves,
)
from ssl_xai_bench.metrics.registry import families as registered_families
from ssl_xai_bench.metrics.spec import Family, MethodCell, Scores, SignalCell
from ssl_xai_bench.metrics.stats import summarize


@dataclass
class MethodResults:
    """Results of one cell (or of the signal rows); see the module docstring."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: pd.DataFrame | None = None
    tdoa: pd.DataFrame | None = None
    spectra: pd.DataFrame | None = None
    per_window: dict[str, np.ndarray] = field(default_factory=dict)


class _Recorder:
    """Turns a family's per-window scores into rows with n and CI."""

    def __init__(self, source_ids: np.ndarray, config: MetricsConfig, seed: int,
                 families: Sequence[Family]) -> None:
        self.specs = {spec.name: spec for family in families for spec in family.metrics}
        self.source_ids = np.asarray(source_ids)
        self.config = config
        self.seed = seed
        self.result = MethodResults()
        self.tables: dict[str, list[pd.DataFrame]] = {}

    def add(self, scores: Scores, method: str | None = None) -> None:
        for name, values in scores.values.items():
            self._row(name, values, method, scores.rows.get(name), scores.undefined.get(name))
        for name, reason in scores.failed.items():
            self._failed(name, reason, method)
        for name, table in scores.tables.items():
            self.tables.setdefault(name, []).append(table)

    def _head(self, name: str, method: str | None) -> dict[str, Any]:
        spec = self.specs[name]
        row = {"metric": name, "category": spec.category, "direction": spec.direction,
               "unit": spec.unit}
        return row if method is None else {**row, "method": method}

    def _row(self, name: str, values: np.ndarray, method: str | None,
             rows: np.ndarray | None, why_undefined: str | None = None) -> None:
        """Record ``values`` of every window, or of the windows ``rows`` only (the per-window
        array is then NaN elsewhere, and n and the CI are those of ``rows``). No finite value
        at all: status ``undefined`` with ``why_undefined`` (or a generic reason)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        ids = self.source_ids if rows is None else self.source_ids[rows]
        row = {**self._head(name, method),
               **summarize(values, ids, seed=self.seed, n_resamples=self.config.n_bootstrap,
                           level=self.config.ci_level)}
        if row["n_windows"] == 0:
            row["status"] = "undefined"
            row["reason"] = why_undefined or f"no finite value in its {values.size} windows"
        self.result.rows.append(row)
        if rows is not None:
            full = np.full(self.source_ids.shape, np.nan)
            full[rows] = values
            values = full
        self.result.per_window[name if method is None else f"{method}.{name}"] = values

    def _failed(self, name: str, reason: str, method: str | None) -> None:
        """A failed metric of this cell: a row with status ``failed`` and the reason, every
        window non-finite; the rows recorded before it stand."""
        nan = float("nan")
        self.result.rows.append({
            **self._head(name, method), "n_windows": 0, "n_sources": 0, "mean": nan,
            "ci_low": nan, "ci_high": nan, "n_nonfinite": int(self.source_ids.size),
            "status": "failed", "reason": reason,
        })

    def finish(self) -> MethodResults:
        for name in ("curves", "tdoa", "spectra"):
            if name in self.tables:
                setattr(self.result, name, pd.concat(self.tables[name], ignore_index=True))
        return self.result


def _check_data(data: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(data.windows, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"data.windows: expected (N, M, T), got {x.shape}")
    pos = np.asarray(data.positions, dtype=np.float64)
    if pos.shape != (x.shape[0], 3):
        raise ValueError(f"data.positions: expected ({x.shape[0]}, 3), got {pos.shape}")
    for name in ("source_ids", "corr_time"):
        if np.asarray(getattr(data, name)).shape != (x.shape[0],):
            raise ValueError(f"data.{name}: expected shape ({x.shape[0]},)")
    return x, pos


def evaluate_signals(data: Any, config: MetricsConfig,
                     families: Sequence[Family] | None = None) -> MethodResults:
    """Method-independent rows: microphone signals, the lag-0 estimator and the direct path.

    Rows carry a ``method`` key (``microphones``, ``constant``, ``direct_path``); the TDoA table
    has the same estimators. ``families`` defaults to the registered ones.
    """
    families = registered_families() if families is None else families
    x, _ = _check_data(data)
    config.validate_for(x.shape[1], x.shape[2])
    rec = _Recorder(data.source_ids, config, seed=0, families=families)
    cell = SignalCell(data=data, config=config)
    for family in families:
        if family.score_signals is not None:
            for estimator, scores in family.score_signals(cell).items():
                rec.add(scores, method=estimator)
    return rec.finish()


def evaluate_controls(
    model: nn.Module, data: Any, settings: ManipulationSettings, seed: int,
    removal_seed: int = 0,
) -> dict[str, np.ndarray]:
    """The method-independent manipulation curves (``energy``, ``random``) of one model, under
    every removal baseline of ``settings``.

    Every method of a (model, condition) is scored on the same windows, so these curves are
    computed once and shared; the shared ``random`` draw also pairs the relevance-minus-random
    gap of every method with the same control. ``removal_seed`` must be the one the methods'
    cells use (it draws the baselines' noise and donors).

    Returns
    -------
    dict curve -> array (N, F, 3)
        Model outputs (m) at each of the settings' fractions, for its rankings other than
        ``relevance``; names carry the baseline's suffix (``energy``, ``random_noisy_linear``).
    """
    x, _ = _check_data(data)
    model.eval()
    return control_curves(model, x, data.source_ids, settings, seed, removal_seed)


def evaluate_method(
    model: nn.Module,
    data: Any,
    relevance: np.ndarray,
    *,
    method: str,
    explain_fn: Callable[..., Any] | None,
    config: MetricsConfig,
    seed: int,
    controls: dict[str, np.ndarray] | None = None,
    families: Sequence[Family] | None = None,
    removal_seed: int = 0,
) -> MethodResults:
    """Every metric of one (model, method) cell.

    Parameters
    ----------
    model : nn.Module
        Localizer, eval mode, ``(B, M, T) -> (B, 3)``.
    data : WindowSet-like
        See the module docstring.
    relevance : array (N, M, T)
        The method's relevance for ``data.windows``.
    method : str
        Method name (the TDoA table's estimator name).
    explain_fn : callable or None
        ``explain_fn(model, inputs, targets) -> relevance`` for metrics that recompute
        explanations (MaxSensitivity, EfficientMPRT); those are skipped when None.
    config : MetricsConfig
    seed : int
        Seeds the random ranking, Quantus draws and the bootstrap.
    controls : dict, optional
        The control curves from :func:`evaluate_controls` (same model and windows); when given
        they are used instead of recomputed (``seed`` then no longer draws the random ranking).
    families : sequence of Family
        The metric families to run, in order (default: the registered ones, built-ins first).
    removal_seed : int
        Draws the removal baselines' noise and donors; the same for every method of a model
        and for its controls (:func:`evaluate_controls`).
    """
    families = registered_families() if families is None else families
    x, _ = _check_data(data)
    rel = np.asarray(relevance, dtype=np.float32)
    if rel.shape != x.shape:
        raise ValueError(f"relevance: shape {rel.shape} differs from data.windows {x.shape}")
    config.validate_for(x.shape[1], x.shape[2])
    model.eval()
    rec = _Recorder(data.source_ids, config, seed, families)
    prediction = batched_predict(model, x, config.manipulation.manipulation_batch_size)
    shared = SharedForwards(model).eval()
    shared.remember(x, prediction)
    cell = MethodCell(data=data, config=config, model=model, relevance=rel,
                      prediction=prediction, method=method, seed=seed, explain_fn=explain_fn,
                      controls=controls, removal_seed=removal_seed, shared_model=shared)
    for family in families:
        rec.add(family.score(cell))
    return rec.finish()


__all__ = ["MethodResults", "evaluate_controls", "evaluate_method", "evaluate_signals"]
