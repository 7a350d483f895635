"""Quantus 0.6.0 metrics adapted to a regression localizer (Hedström et al., JMLR 2023).

Quantus assumes classifiers. The adaptation (see ``docs/metrics.md``):

- the model Quantus sees is ``attributions.target.ScalarModel``: the localizer's explained scalar
  ``<y_hat(x), p_gt>`` as a one-output model, ``y_batch`` all zeros (its only output), and
  ``softmax=False`` on every call;
- attributions are precomputed by our methods, channel-first ``(B, M, T)`` (never
  ``quantus.explain``, which sums the microphone axis away); metrics that recompute explanations
  (MaxSensitivity, EfficientMPRT) call the method's own ``explain_fn(model, inputs, targets)``;
- removal is "set samples to zero" (``perturb_baseline = 0.0``, the paper's removal) unless
  configured otherwise;
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

Every metric carries its category, score direction (``up`` = higher is better) and the number of
model forwards it costs per window (used by the cost benchmark).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import quantus
import torch
from torch import nn

from bench.errors import ConfigError
from bench.metrics import quantus_speed
from bench.metrics.quantus_speed import fast_quantus_asserts, refused_windows

try:  # the shared definition of the explained scalar
    from attributions.target import ScalarModel
except ImportError:  # pragma: no cover - attributions is part of this repository
    ScalarModel = None  # type: ignore[assignment,misc]

ExplainFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], Any]


@dataclass(frozen=True)
class QuantusMetric:
    """One Quantus metric as used here.

    Attributes
    ----------
    name : str
        Our name (snake case), e.g. ``faithfulness_correlation``.
    quantus_class : str
        Class in :mod:`quantus`.
    category : str
        ``faithfulness``, ``robustness``, ``randomisation`` or ``complexity``.
    direction : str
        ``up`` (higher is better) or ``down``.
    defaults : dict
        Our default parameters (override per preset).
    needs_explain : bool
        Recomputes explanations (needs ``explain_fn``).
    description : str
    """

    name: str
    quantus_class: str
    category: str
    direction: str
    defaults: dict[str, Any] = field(default_factory=dict)
    needs_explain: bool = False
    description: str = ""


QUANTUS_METRICS: dict[str, QuantusMetric] = {
    m.name: m
    for m in (
        QuantusMetric(
            "faithfulness_correlation", "FaithfulnessCorrelation", "faithfulness", "up",
            {"nr_runs": 10, "subset_size": 512},
            description="Pearson corr. of relevance sums of random subsets with the scalar drop",
        ),
        QuantusMetric(
            "faithfulness_estimate", "FaithfulnessEstimate", "faithfulness", "up",
            {"features_in_step": "T"},
            description="Pearson corr. of relevance of successive groups with the scalar drop",
        ),
        QuantusMetric(
            "pixel_flipping", "PixelFlipping", "faithfulness", "down",
            {"features_in_step": "T"},
            description="AUC of the explained scalar while zeroing most-relevant samples first",
        ),
        QuantusMetric(
            "monotonicity_correlation", "MonotonicityCorrelation", "faithfulness", "up",
            {"features_in_step": "T", "nr_samples": 1},
            description="Spearman corr. of group relevance with the scalar's squared change",
        ),
        QuantusMetric(
            "region_perturbation", "RegionPerturbation", "faithfulness", "up",
            {"patch_size": 16, "regions_evaluation": 10},
            description="mean scalar drop (AOPC) zeroing most-relevant time regions first",
        ),
        QuantusMetric(
            "max_sensitivity", "MaxSensitivity", "robustness", "down",
            {"nr_samples": 2, "lower_bound": 0.01},
            needs_explain=True,
            description="max relative change of the relevance under uniform input noise",
        ),
        QuantusMetric(
            "efficient_mprt", "EfficientMPRT", "randomisation", "up",
            {},
            needs_explain=True,
            description="relative rise of relevance entropy after randomising all layers",
        ),
        QuantusMetric(
            "sparseness", "Sparseness", "complexity", "up", {},
            description="Gini index of |relevance|",
        ),
        QuantusMetric(
            "complexity", "Complexity", "complexity", "down", {},
            description="entropy of the |relevance| distribution",
        ),
    )
}

_INT_PARAMS = {
    "nr_runs", "subset_size", "features_in_step", "nr_samples", "patch_size",
    "regions_evaluation",
}
_ALLOWED_PARAMS: dict[str, set[str]] = {
    "faithfulness_correlation": {"nr_runs", "subset_size"},
    "faithfulness_estimate": {"features_in_step"},
    "pixel_flipping": {"features_in_step"},
    "monotonicity_correlation": {"features_in_step", "nr_samples"},
    "region_perturbation": {"patch_size", "regions_evaluation"},
    "max_sensitivity": {"nr_samples", "lower_bound"},
    "efficient_mprt": {"layer_order"},
    "sparseness": set(),
    "complexity": set(),
}
PERTURB_BASELINES: tuple[str, ...] = ("zero", "mean", "uniform")


def metric_params(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of ``name`` updated with ``overrides`` (unknown keys raise ``ConfigError``)."""
    if name not in QUANTUS_METRICS:
        raise ConfigError(
            "metrics.quantus_metrics", f"unknown metric {name!r}; allowed: {list(QUANTUS_METRICS)}"
        )
    params = dict(QUANTUS_METRICS[name].defaults)
    for key, value in (overrides or {}).items():
        if key not in _ALLOWED_PARAMS[name]:
            raise ConfigError(
                f"metrics.quantus_params.{name}.{key}",
                f"unknown parameter; allowed: {sorted(_ALLOWED_PARAMS[name])}",
            )
        params[key] = value
    return params


_WINDOW_MULTIPLE = re.compile(r"^([1-9][0-9]*)?T$")


def _window_multiple(value: Any) -> int | None:
    """``k`` of ``features_in_step = "kT"`` (``"T"`` = 1), or None for any other value."""
    match = _WINDOW_MULTIPLE.match(value) if isinstance(value, str) else None
    return None if match is None else int(match.group(1) or 1)


def resolve_params(params: Mapping[str, Any], n_samples: int) -> dict[str, Any]:
    """Replace ``features_in_step = "kT"`` (``k`` window lengths per step; ``"T"``: one) by
    ``k * n_samples``."""
    out = dict(params)
    k = _window_multiple(out.get("features_in_step"))
    if k is not None:
        out["features_in_step"] = k * int(n_samples)
    return out


def validate_params(
    name: str, params: Mapping[str, Any], n_mics: int | None, n_samples: int | None
) -> None:
    """Check ``params`` of metric ``name``; with the input shape ``(M, T)`` also divisibility.

    ``n_mics``/``n_samples`` None checks types and ranges only (configuration load time).

    Raises
    ------
    ConfigError
        Naming ``metrics.quantus_params.<metric>.<parameter>`` and what is allowed.
    """

    def bad(key: str, msg: str) -> ConfigError:
        return ConfigError(f"metrics.quantus_params.{name}.{key}", msg)

    params = dict(params)
    k = _window_multiple(params.get("features_in_step"))
    if k is not None:
        params["features_in_step"] = k * (n_samples if n_samples is not None else 1)
    for key, value in params.items():
        if key in _INT_PARAMS and (isinstance(value, bool) or not isinstance(value, int)):
            extra = ' or "T", "2T", ... (window lengths)' if key == "features_in_step" else ""
            raise bad(key, f"must be an integer{extra}, got {value!r}")
        if key in _INT_PARAMS and value < 1:
            raise bad(key, f"must be >= 1, got {value}")
    if name == "faithfulness_correlation" and params["nr_runs"] < 2:
        raise bad("nr_runs", "must be >= 2 (a correlation needs two runs)")
    if name == "max_sensitivity":
        lb = params["lower_bound"]
        if isinstance(lb, bool) or not isinstance(lb, int | float) or not lb > 0:
            raise bad("lower_bound", f"noise amplitude must be a number > 0, got {lb!r}")
    if name == "efficient_mprt" and params.get("layer_order", "bottom_up") not in (
        "bottom_up", "top_down", "independent",
    ):
        raise bad("layer_order", "must be bottom_up, top_down or independent")
    if n_samples is None:
        return
    fis = params.get("features_in_step")
    if fis is not None and (n_samples % fis if fis <= n_samples else fis % n_samples):
        raise bad(
            "features_in_step",
            f"must divide the window length T={n_samples} or be a multiple of it (Quantus "
            f"steps over the flattened M x T input in groups of this size), got {fis}",
        )
    if fis is not None and n_mics is not None and (n_mics * n_samples) % fis:
        raise bad(
            "features_in_step",
            f"must divide M x T = {n_mics * n_samples} (the flattened input), got {fis}",
        )
    if name == "faithfulness_correlation" and params["subset_size"] >= n_samples:
        raise bad("subset_size", f"must be < T={n_samples}, got {params['subset_size']}")
    if name == "region_perturbation":
        p = params["patch_size"]
        if n_samples % (p * p):
            raise bad(
                "patch_size",
                f"patch_size**2 must divide T={n_samples} (a region is patch_size**2 "
                f"consecutive samples of every microphone), got {p}",
            )
        if params["regions_evaluation"] > n_samples // (p * p):
            raise bad(
                "regions_evaluation",
                f"must be <= the number of regions T/patch_size**2 = {n_samples // (p * p)}",
            )


def forwards_per_window(name: str, params: Mapping[str, Any], n_mics: int, n_samples: int) -> int:
    """Model forwards per window the metric costs (explanation calls not included)."""
    n_feat = n_mics * n_samples
    params = resolve_params(params, n_samples)
    if name == "faithfulness_correlation":
        return 1 + params["nr_runs"]
    if name == "faithfulness_estimate":
        return 1 + math.ceil(n_feat / params["features_in_step"])
    if name == "pixel_flipping":
        return math.ceil(n_feat / params["features_in_step"])
    if name == "monotonicity_correlation":
        return 1 + math.ceil(n_feat / params["features_in_step"]) * params["nr_samples"]
    if name == "region_perturbation":
        return 1 + params["regions_evaluation"]
    if name == "efficient_mprt":
        return 2
    return 0


def explain_calls_per_window(name: str, params: Mapping[str, Any]) -> int:
    """Explanation calls per window the metric makes (each costs a forward and a backward)."""
    if name == "max_sensitivity":
        return int(params["nr_samples"])
    if name == "efficient_mprt":
        return 1  # the randomised model's; the original's is the precomputed relevance
    return 0


def _baseline_value(baseline: str) -> float | str:
    if baseline not in PERTURB_BASELINES:
        raise ConfigError(
            "metrics.perturb_baseline",
            f"must be one of {list(PERTURB_BASELINES)}, got {baseline!r}",
        )
    return 0.0 if baseline == "zero" else baseline


def normalise_per_window(a: np.ndarray, **_: Any) -> np.ndarray:
    """Divide each window's attribution by its max |a| (all-zero windows stay zero)."""
    a = np.asarray(a, dtype=np.float64)
    scale = np.abs(a).reshape(a.shape[0], -1).max(axis=1)
    scale = np.where(scale > 0, scale, 1.0).reshape((-1,) + (1,) * (a.ndim - 1))
    return a / scale


class _Reshaped(nn.Module):
    """Restores ``(B, M, T)`` from the ``(B, M, T/p, p)`` layout Quantus sees."""

    def __init__(self, inner: nn.Module, shape: tuple[int, int]) -> None:
        super().__init__()
        self.inner = inner
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.reshape(x.shape[0], *self.shape))


class _NonNegative(nn.Module):
    """|scalar|: EfficientMPRT computes an entropy of the model outputs (its optional "model
    scores", unused here) and asserts they are non-negative; explanations unwrap to ``inner``."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).abs()


def _explain_adapter(explain_fn: ExplainFn) -> Callable[..., np.ndarray]:
    """Quantus ``explain_func(model, inputs, targets)`` calling our method on a ScalarModel."""

    def explain_func(model: nn.Module, inputs: np.ndarray, targets: Any, **_: Any) -> np.ndarray:
        while not hasattr(model, "target") and hasattr(model, "inner"):
            model = model.inner  # our wrappers (possibly deep-copied by EfficientMPRT)
        if not hasattr(model, "target"):
            raise TypeError("explain_func: expected the ScalarModel built by quantus_suite")
        x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
        rel = explain_fn(model.model, x, model.target.expand(x.shape[0], 3).clone())
        rel = rel.detach().cpu().numpy() if isinstance(rel, torch.Tensor) else np.asarray(rel)
        return rel.astype(np.float32).reshape(x.shape)

    return explain_func


def _reuse_original(
    explain_func: Callable[..., np.ndarray], original: nn.Module, x: np.ndarray, a: np.ndarray
) -> Callable[..., np.ndarray]:
    """``explain_func`` that returns the precomputed ``a`` for the unrandomised model.

    Quantus' EfficientMPRT ignores ``a_batch`` and explains the original model again before
    randomising it; the method has already done exactly that (same model, windows and targets),
    so the second computation only doubles the metric's cost (and, for a stochastic method, would
    score another draw than the one evaluated everywhere else).
    """

    def explain(model: nn.Module, inputs: np.ndarray, targets: Any, **kwargs: Any) -> np.ndarray:
        if model is original and np.shape(inputs) == x.shape and np.array_equal(inputs, x):
            return a.copy()
        return explain_func(model, inputs, targets, **kwargs)

    return explain


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


def _build(name: str, params: Mapping[str, Any], baseline: float | str, seed: int) -> Any:
    cls = getattr(quantus, QUANTUS_METRICS[name].quantus_class)
    if name == "faithfulness_correlation":
        cls = quantus_speed.FaithfulnessCorrelation  # direct subset draws (see there)
    common: dict[str, Any] = {"disable_warnings": True, "display_progressbar": False}
    if name == "efficient_mprt":
        return cls(seed=seed, **params, **common)
    common.update(normalise=True, normalise_func=normalise_per_window)
    if name in ("faithfulness_correlation", "faithfulness_estimate", "pixel_flipping",
                "monotonicity_correlation", "region_perturbation"):
        common["perturb_baseline"] = baseline
    if name == "faithfulness_correlation":
        common["return_aggregate"] = False
    if name == "pixel_flipping":
        common["return_auc_per_sample"] = True
    if name == "region_perturbation":
        common["order"] = "morf"
    if name == "max_sensitivity":
        params = dict(params)
        common["lower_bound"] = float(params.pop("lower_bound"))
    return cls(**params, **common)


def run_quantus_metric(
    name: str,
    model: nn.Module,
    windows: np.ndarray,
    targets: np.ndarray,
    relevance: np.ndarray,
    *,
    explain_fn: ExplainFn | None = None,
    params: Mapping[str, Any] | None = None,
    perturb_baseline: str = "zero",
    batch_size: int = 16,
    seed: int = 0,
    target_mode: str = "position",
) -> np.ndarray:
    """Per-window scores of one Quantus metric.

    Parameters
    ----------
    name : str
        A key of :data:`QUANTUS_METRICS`.
    model : nn.Module
        Localizer in eval mode, ``(B, M, T) -> (B, 3)``.
    windows : array (N, M, T)
    targets : array (N, 3)
        Ground-truth positions (the explained scalar's weights).
    relevance : array (N, M, T)
        Precomputed attributions of the method under test.
    explain_fn : callable, optional
        ``explain_fn(model, inputs, targets) -> relevance``; required by metrics that recompute
        explanations.
    params : mapping, optional
        Overrides of the metric's defaults (validated against ``(M, T)``).
    perturb_baseline : str
        ``zero`` (the paper's removal), ``mean`` or ``uniform`` (Quantus baselines).
    batch_size : int
        Windows per Quantus call (each call sees only its own windows and targets).
    seed : int
        Seed of the metric's random draws.
    target_mode : str
        Explained scalar (see ``attributions.target``).

    Returns
    -------
    array (N,) float64
        NaN for windows whose relevance Quantus refuses (all zero, a single value, all
        negative: :func:`bench.metrics.quantus_speed.refused_windows`) and wherever Quantus
        returns a non-finite value.
    """
    x = np.asarray(windows, dtype=np.float32)
    a = np.asarray(relevance, dtype=np.float32)
    t = np.asarray(targets, dtype=np.float32)
    if x.ndim != 3 or a.shape != x.shape:
        raise ValueError(f"relevance: shape {a.shape} must equal windows shape {x.shape} (N, M, T)")
    if t.shape != (x.shape[0], 3):
        raise ValueError(f"targets: expected shape ({x.shape[0]}, 3), got {t.shape}")
    if batch_size < 1:
        raise ConfigError("metrics.quantus_batch_size", f"must be >= 1, got {batch_size}")
    info = QUANTUS_METRICS.get(name)
    _, n_mics, n_t = x.shape
    p = metric_params(name, params)
    validate_params(name, p, n_mics, n_t)
    p = resolve_params(p, n_t)
    baseline = _baseline_value(perturb_baseline)
    if info is not None and info.needs_explain and explain_fn is None:
        raise ValueError(f"explain_fn: metric {name!r} recomputes explanations and needs one")
    scores = np.full(x.shape[0], np.nan)
    valid = np.flatnonzero(~refused_windows(a))
    explain_func = _explain_adapter(explain_fn) if explain_fn is not None else None
    for c, start in enumerate(range(0, valid.size, batch_size)):
        rows = valid[start : start + batch_size]
        scalar = ScalarModel(model, torch.from_numpy(t[rows]), mode=target_mode).eval()
        xb, ab = x[rows], a[rows].copy()
        qmodel: nn.Module = scalar
        if name == "region_perturbation":
            patch = p["patch_size"]
            xb = xb.reshape(len(rows), n_mics, n_t // patch, patch)
            ab = ab.reshape(xb.shape)
            qmodel = _Reshaped(scalar, (n_mics, n_t)).eval()
        elif p.get("features_in_step", 0) > n_t:
            # Quantus wants the step to divide the last axis; k window lengths per step are the
            # same flattened order seen as (B, M/k, k T).
            k = p["features_in_step"] // n_t
            xb = xb.reshape(len(rows), n_mics // k, k * n_t)
            ab = ab.reshape(xb.shape)
            qmodel = _Reshaped(scalar, (n_mics, n_t)).eval()
        elif name == "efficient_mprt":
            qmodel = _NonNegative(scalar).eval()
        call_explain = explain_func
        if name == "efficient_mprt" and explain_func is not None:
            call_explain = _reuse_original(explain_func, qmodel, xb, ab)
        with _seeded(seed + 7919 * c), fast_quantus_asserts():
            metric = _build(name, p, baseline, seed)
            result = metric(
                model=qmodel,
                x_batch=xb,
                y_batch=np.zeros(len(rows), dtype=np.int64),
                a_batch=ab,
                channel_first=True,
                softmax=False,
                explain_func=call_explain,
                batch_size=len(rows),
            )
        values = np.asarray(result, dtype=np.float64)
        if name == "region_perturbation":
            values = values.reshape(len(rows), -1).mean(axis=1)
        scores[rows] = values.reshape(len(rows))
    scores[~np.isfinite(scores)] = np.nan
    return scores


__all__ = [
    "PERTURB_BASELINES",
    "QUANTUS_METRICS",
    "QuantusMetric",
    "explain_calls_per_window",
    "forwards_per_window",
    "metric_params",
    "normalise_per_window",
    "resolve_params",
    "run_quantus_metric",
    "validate_params",
]
