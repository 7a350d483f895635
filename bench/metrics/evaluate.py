"""One entry point per (model, method) cell and one for the method-independent signal rows.

Inputs are plain arrays on a WindowSet-like object ``data`` with attributes ``windows (N, M, T)``,
``direct (N, M, T)`` (direct-path component, may be None), ``positions (N, 3)`` m,
``source_ids (N,)``, ``corr_time (N,)`` samples, ``mic_positions (M, 3)``, ``fs``,
``speed_of_sound``; the model maps ``(B, M, T) -> (B, 3)`` metres in eval mode.

Output (:class:`MethodResults`):

- ``rows``: one dict per metric with ``metric, category, direction, unit`` and the fields of
  :func:`bench.metrics.stats.summarize` (``n_windows, n_sources, mean, ci_low, ci_high,
  n_nonfinite``): every number with its n and a cluster-bootstrap CI over sources;
- ``curves``: manipulation curves, columns ``ranking, fraction, mae, ci_low, ci_high, n``;
- ``tdoa``: columns of :data:`bench.metrics.tdoa.TDOA_COLUMNS`;
- ``per_window``: metric name -> ``(N,)`` scores (for paired tests across methods,
  :func:`bench.metrics.stats.paired_tests`).

:data:`METRICS` is the registry ``name -> MetricSpec(category, direction, unit, description,
function)``; directions are ``up`` (higher is better) or ``down``. ``docs/metrics.md`` defines
every metric.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from bench.metrics import channel_identity as chid
from bench.metrics import conservation, dereverb, manipulation, quantus_suite, tdoa
from bench.metrics.config import MetricsConfig
from bench.metrics.stats import summarize


@dataclass(frozen=True)
class MetricSpec:
    """A reported metric: how to read it in a table and which function computes it."""

    name: str
    category: str
    direction: str
    unit: str
    description: str
    function: Callable[..., Any] | None = None


def _registry() -> dict[str, MetricSpec]:
    specs = [
        MetricSpec("manipulation_auc_relevance", "manipulation", "up", "m",
                   "area under MAE vs fraction zeroed, most relevant first",
                   manipulation.curve_area),
        MetricSpec("manipulation_auc_energy", "manipulation", "up", "m",
                   "area under MAE vs fraction zeroed, largest |x| first (control)",
                   manipulation.curve_area),
        MetricSpec("manipulation_auc_random", "manipulation", "up", "m",
                   "area under MAE vs fraction zeroed at random (control)",
                   manipulation.curve_area),
        MetricSpec("manipulation_gap_at_10", "manipulation", "up", "m",
                   "MAE(relevance) - MAE(random) with 10 % of samples zeroed", manipulation.gap_at),
        MetricSpec("manipulation_gap_vs_energy_at_10", "manipulation", "up", "m",
                   "MAE(relevance) - MAE(energy) with 10 % of samples zeroed (paired)",
                   manipulation.gap_at),
        MetricSpec("conservation_ratio", "conservation", "up", "ratio",
                   "sum(relevance) / explained scalar (1 = conserved)",
                   conservation.conservation_ratio),
        MetricSpec("conservation_deviation", "conservation", "down", "ratio",
                   "|sum(relevance) / explained scalar - 1|", conservation.conservation_ratio),
        MetricSpec("dereverb_direct_similarity", "dereverberation", "up", "corr",
                   "peak |normalised xcorr| with the direct path, mean over mics",
                   dereverb.direct_similarity),
        MetricSpec("dereverb_gain_vs_microphones", "dereverberation", "up", "corr",
                   "direct-path similarity of relevance minus that of the microphone signals",
                   dereverb.direct_similarity),
        MetricSpec("srp_error", "dereverberation", "down", "m",
                   "SRP-PHAT mean |x|,|y| error from these signals", dereverb.srp_errors),
        MetricSpec("srp_gain_vs_microphones", "dereverberation", "up", "m",
                   "SRP-PHAT error on microphones minus error on relevance", dereverb.srp_errors),
        MetricSpec("channel_identity", "channel_identity", "down", "corr",
                   "mean over mic pairs of peak |normalised xcorr| (1 = copied map)",
                   chid.channel_identity),
        MetricSpec("channel_identity_zero_lag_frac", "channel_identity", "down", "fraction",
                   "fraction of mic pairs whose correlation peaks at lag 0",
                   chid.channel_identity),
    ]
    for variant in tdoa.TDOA_VARIANTS:
        specs += [
            MetricSpec(f"tdoa_{variant}_anomaly_rate", "tdoa", "down", "fraction",
                       f"{variant}: fraction of pairs with |error| > corr_time/2",
                       tdoa.per_window_scores),
            MetricSpec(f"tdoa_{variant}_mae", "tdoa", "down", "samples",
                       f"{variant}: mean |error| over non-anomalous pairs",
                       tdoa.per_window_scores),
            MetricSpec(f"tdoa_{variant}_gain_vs_constant", "tdoa", "up", "fraction",
                       f"{variant}: non-anomalous fraction minus the lag-0 estimator's",
                       tdoa.per_window_scores),
            MetricSpec(f"tdoa_{variant}_gain_vs_microphones", "tdoa", "up", "fraction",
                       f"{variant}: non-anomalous fraction minus the microphone signals'",
                       tdoa.per_window_scores),
        ]
    for q in quantus_suite.QUANTUS_METRICS.values():
        specs.append(MetricSpec(q.name, q.category, q.direction, "score",
                                f"Quantus {q.quantus_class}: {q.description}",
                                quantus_suite.run_quantus_metric))
    return {s.name: s for s in specs}


METRICS: dict[str, MetricSpec] = _registry()


@dataclass
class MethodResults:
    """Results of one cell (or of the signal rows); see the module docstring."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: pd.DataFrame | None = None
    tdoa: pd.DataFrame | None = None
    per_window: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


class _Recorder:
    """Collects per-window arrays and turns them into rows with n and CI."""

    def __init__(self, source_ids: np.ndarray, config: MetricsConfig, seed: int) -> None:
        self.source_ids = np.asarray(source_ids)
        self.config = config
        self.seed = seed
        self.result = MethodResults()

    def add(self, name: str, values: np.ndarray, method: str | None = None,
            rows: np.ndarray | None = None) -> None:
        """Record ``values`` of every window, or of the windows ``rows`` only (the per-window
        array is then NaN elsewhere, and n and the CI are those of ``rows``)."""
        spec = METRICS[name]
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        ids = self.source_ids
        if rows is not None:
            ids = self.source_ids[rows]
        row: dict[str, Any] = {
            "metric": name,
            "category": spec.category,
            "direction": spec.direction,
            "unit": spec.unit,
            **summarize(values, ids, seed=self.seed, n_resamples=self.config.n_bootstrap,
                        level=self.config.ci_level),
        }
        if rows is not None:
            full = np.full(self.source_ids.shape, np.nan)
            full[rows] = values
            values = full
        if method is not None:
            row["method"] = method
            self.result.per_window[f"{method}.{name}"] = values
        else:
            self.result.per_window[name] = values
        self.result.rows.append(row)

    def fail(self, name: str, reason: str, method: str | None = None) -> None:
        """Record metric ``name`` as failed for this cell (a row with status ``failed`` and the
        reason, every window non-finite) without losing the rows recorded before it."""
        spec = METRICS[name]
        row: dict[str, Any] = {
            "metric": name, "category": spec.category, "direction": spec.direction,
            "unit": spec.unit, "n_windows": 0, "n_sources": 0, "mean": float("nan"),
            "ci_low": float("nan"), "ci_high": float("nan"),
            "n_nonfinite": int(self.source_ids.size), "status": "failed", "reason": reason,
        }
        if method is not None:
            row["method"] = method
        self.result.rows.append(row)


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


def _tdoa_setup(config: MetricsConfig, data: Any, variant: str):
    mics = np.asarray(data.mic_positions, dtype=np.float64)
    n_mics = mics.shape[0]
    if variant == "paper":
        pairs = tdoa.mic_pairs(n_mics, [config.paper_pair(n_mics)])
        bound = None
    else:
        pairs = tdoa.mic_pairs(n_mics, None if config.tdoa_pairs == "all" else config.tdoa_pairs)
        bound = tdoa.max_lags(mics, pairs, data.fs, data.speed_of_sound)
    truth = tdoa.true_tdoa(data.positions, mics, pairs, data.fs, data.speed_of_sound, variant)
    return pairs, bound, truth


def _estimate(config: MetricsConfig, signals: np.ndarray, pairs, bound) -> np.ndarray:
    return tdoa.gcc_phat_lags(
        signals, pairs, nfft=config.tdoa_nfft or None, max_lag=bound,
        dtype=np.float32 if config.tdoa_precision == "float32" else np.float64,
    )


def _identity_lag(config: MetricsConfig, data: Any) -> int:
    if config.identity_max_lag >= 0:
        return config.identity_max_lag
    mics = np.asarray(data.mic_positions, dtype=np.float64)
    pairs = tdoa.mic_pairs(mics.shape[0])
    return int(tdoa.max_lags(mics, pairs, data.fs, data.speed_of_sound).max())


def evaluate_signals(data: Any, config: MetricsConfig) -> MethodResults:
    """Method-independent rows: microphone signals, the lag-0 estimator and the direct path.

    Rows carry a ``method`` key (``microphones``, ``constant``, ``direct_path``); the TDoA table
    has the same estimators.
    """
    t0 = time.perf_counter()
    x, _ = _check_data(data)
    config.validate_for(x.shape[1], x.shape[2])
    rec = _Recorder(data.source_ids, config, seed=0)
    tables = []
    for variant in config.tdoa_variants:
        pairs, bound, truth = _tdoa_setup(config, data, variant)
        spacing = tdoa.pair_spacing(data.mic_positions, pairs)
        est = {"microphones": _estimate(config, x, pairs, bound), "constant": np.zeros_like(truth)}
        if getattr(data, "direct", None) is not None:
            est["direct_path"] = _estimate(config, np.asarray(data.direct), pairs, bound)
        tables.append(tdoa.tdoa_table(est, truth, data.corr_time, pairs, spacing, variant))
        for name, e in est.items():
            scores = tdoa.per_window_scores(e, truth, data.corr_time)
            rec.add(f"tdoa_{variant}_anomaly_rate", scores["anomaly_rate"], method=name)
            rec.add(f"tdoa_{variant}_mae", scores["mae_samples"], method=name)
    if getattr(data, "direct", None) is not None:
        sim = dereverb.direct_similarity(x, data.direct, config.dereverb_max_lag)
        rec.add("dereverb_direct_similarity", sim, method="microphones")
    if config.srp_phat:
        grid = dereverb.srp_grid(data.positions, config.srp_grid_step, config.srp_margin)
        err = dereverb.srp_errors(x, data.positions, data.mic_positions, data.fs,
                                  data.speed_of_sound, grid)
        rec.add("srp_error", err, method="microphones")
    pairs = tdoa.mic_pairs(x.shape[1])
    ident = chid.channel_identity(x, pairs, _identity_lag(config, data))
    rec.add("channel_identity", ident["identity"], method="microphones")
    rec.add("channel_identity_zero_lag_frac", ident["identity_zero_lag_frac"],
            method="microphones")
    rec.result.tdoa = pd.concat(tables, ignore_index=True) if tables else None
    rec.result.seconds["signals"] = time.perf_counter() - t0
    return rec.result


def evaluate_controls(
    model: nn.Module, data: Any, config: MetricsConfig, seed: int
) -> dict[str, np.ndarray]:
    """The method-independent manipulation curves (``energy``, ``random``) of one model.

    Every method of a (model, condition) is scored on the same windows, so these curves are
    computed once and shared; the shared ``random`` draw also pairs the relevance-minus-random
    gap of every method with the same control.

    Returns
    -------
    dict ranking -> array (N, F)
        Per-window MAE (m) at each of ``config.manipulation_fractions``, for the rankings of
        ``config.manipulation_rankings`` other than ``relevance``.
    """
    x, pos = _check_data(data)
    config.validate_for(x.shape[1], x.shape[2])
    model.eval()
    rankings = [r for r in config.manipulation_rankings if r != "relevance"]
    if not rankings:
        return {}
    return manipulation.manipulation_errors(
        model, x, pos, np.zeros_like(x), config.manipulation_fractions, seed=seed,
        batch_size=config.manipulation_batch_size, rankings=rankings,
    )


def _check_controls(controls: Any, rankings: list[str], shape: tuple[int, int]) -> None:
    for name in rankings:
        curve = None if controls is None else controls.get(name)
        if curve is None or np.shape(curve) != shape:
            got = None if curve is None else np.shape(curve)
            raise ValueError(f"controls: need the {name!r} curve of shape {shape}, got {got}")


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

    Returns
    -------
    MethodResults
    """
    x, pos = _check_data(data)
    rel = np.asarray(relevance, dtype=np.float32)
    if rel.shape != x.shape:
        raise ValueError(f"relevance: shape {rel.shape} differs from data.windows {x.shape}")
    config.validate_for(x.shape[1], x.shape[2])
    model.eval()
    rec = _Recorder(data.source_ids, config, seed)
    seconds = rec.result.seconds

    # Experiment A (its P = 0 forward also gives the explained scalar for conservation).
    t0 = time.perf_counter()
    pred = manipulation.batched_predict(model, x, config.manipulation_batch_size)
    base_err = np.abs(pred - pos).mean(axis=1)
    fractions = config.manipulation_fractions
    rankings = list(config.manipulation_rankings)
    if controls is not None:
        shared = [r for r in rankings if r != "relevance"]
        _check_controls(controls, shared, (x.shape[0], len(fractions)))
        rankings = [r for r in rankings if r == "relevance"]
    curves = manipulation.manipulation_errors(
        model, x, pos, rel, fractions, seed=seed, batch_size=config.manipulation_batch_size,
        rankings=rankings, baseline_errors=base_err,
    )
    if controls is not None:
        curves.update({r: np.asarray(controls[r], dtype=np.float64) for r in shared})
        curves = {r: curves[r] for r in config.manipulation_rankings}
    curve_rows = []
    for ranking, curve in curves.items():
        rec.add(f"manipulation_auc_{ranking}", manipulation.curve_area(curve, fractions))
        for f, frac in enumerate(fractions):
            s = summarize(curve[:, f], data.source_ids, seed=seed,
                          n_resamples=config.n_bootstrap, level=config.ci_level)
            curve_rows.append({"ranking": ranking, "fraction": frac, "mae": s["mean"],
                               "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                               "n": s["n_windows"]})
    if "relevance" in curves and "random" in curves:
        rec.add("manipulation_gap_at_10", manipulation.gap_at(curves, fractions, 0.1))
    if "relevance" in curves and "energy" in curves:
        rec.add("manipulation_gap_vs_energy_at_10",
                manipulation.gap_at(curves, fractions, 0.1, control="energy"))
    rec.result.curves = pd.DataFrame(
        curve_rows, columns=["ranking", "fraction", "mae", "ci_low", "ci_high", "n"])
    seconds["manipulation"] = time.perf_counter() - t0

    # LRP conservation.
    from attributions.target import output_weights

    weights = output_weights(torch.from_numpy(pos), config.target_mode).numpy()
    ratio = conservation.conservation_ratio(rel, (pred * weights).sum(axis=1))
    rec.add("conservation_ratio", ratio)
    rec.add("conservation_deviation", np.abs(ratio - 1.0))

    # Relevance TDoA (experiment B) with the lag-0 and microphone baselines.
    t0 = time.perf_counter()
    tables = []
    for variant in config.tdoa_variants:
        pairs, bound, truth = _tdoa_setup(config, data, variant)
        spacing = tdoa.pair_spacing(data.mic_positions, pairs)
        est_rel = _estimate(config, rel, pairs, bound)
        est_mic = _estimate(config, x, pairs, bound)
        tables.append(tdoa.tdoa_table({method: est_rel}, truth, data.corr_time, pairs, spacing,
                                      variant))
        s_rel = tdoa.per_window_scores(est_rel, truth, data.corr_time)
        s_mic = tdoa.per_window_scores(est_mic, truth, data.corr_time)
        s_const = tdoa.per_window_scores(np.zeros_like(truth), truth, data.corr_time)
        rec.add(f"tdoa_{variant}_anomaly_rate", s_rel["anomaly_rate"])
        rec.add(f"tdoa_{variant}_mae", s_rel["mae_samples"])
        rec.add(f"tdoa_{variant}_gain_vs_constant", s_rel["ok_rate"] - s_const["ok_rate"])
        rec.add(f"tdoa_{variant}_gain_vs_microphones", s_rel["ok_rate"] - s_mic["ok_rate"])
    rec.result.tdoa = pd.concat(tables, ignore_index=True) if tables else None
    seconds["tdoa"] = time.perf_counter() - t0

    # De-reverberation evidence, SRP-PHAT on relevance, channel identity.
    t0 = time.perf_counter()
    if getattr(data, "direct", None) is not None:
        direct = np.asarray(data.direct)
        sim_rel = dereverb.direct_similarity(rel, direct, config.dereverb_max_lag)
        sim_mic = dereverb.direct_similarity(x, direct, config.dereverb_max_lag)
        rec.add("dereverb_direct_similarity", sim_rel)
        rec.add("dereverb_gain_vs_microphones", sim_rel - sim_mic)
    if config.srp_phat:
        grid = dereverb.srp_grid(pos, config.srp_grid_step, config.srp_margin)
        args = (pos, data.mic_positions, data.fs, data.speed_of_sound, grid)
        err_rel = dereverb.srp_errors(rel, *args)
        rec.add("srp_error", err_rel)
        rec.add("srp_gain_vs_microphones", dereverb.srp_errors(x, *args) - err_rel)
    ident = chid.channel_identity(rel, tdoa.mic_pairs(x.shape[1]), _identity_lag(config, data))
    rec.add("channel_identity", ident["identity"])
    rec.add("channel_identity_zero_lag_frac", ident["identity_zero_lag_frac"])
    seconds["dereverb_identity"] = time.perf_counter() - t0

    # Quantus suite.
    for name in config.quantus_metrics:
        if quantus_suite.QUANTUS_METRICS[name].needs_explain and explain_fn is None:
            continue
        t0 = time.perf_counter()
        rows = None
        if quantus_suite.QUANTUS_METRICS[name].needs_explain and (
            0 < config.explain_windows < x.shape[0]
        ):
            rows = np.arange(config.explain_windows)
        sel = slice(None) if rows is None else rows
        try:
            scores = quantus_suite.run_quantus_metric(
                name, model, x[sel], pos[sel], rel[sel], explain_fn=explain_fn,
                params=config.quantus_params.get(name), perturb_baseline=config.perturb_baseline,
                batch_size=config.quantus_batch_size, seed=seed, target_mode=config.target_mode,
            )
        except Exception as exc:  # one metric's failure must not discard the cell's other rows
            rec.fail(name, f"{type(exc).__name__}: {exc}".strip())
        else:
            rec.add(name, scores, rows=rows)
        seconds[name] = time.perf_counter() - t0
    return rec.result


__all__ = ["METRICS", "MethodResults", "MetricSpec", "MetricsConfig", "evaluate_controls",
           "evaluate_method", "evaluate_signals"]
