"""The Quantus metrics used here, their parameters, checks and costs, and the family settings.

Every metric carries its category, score direction (``up`` = higher is better), our default
parameters, whether it recomputes explanations, and the number of model forwards it costs per
window (:func:`forwards_per_window`, used by the cost benchmark and ``ssl-xai-bench plan``).
``features_in_step`` may be given in window lengths (``"T"``, ``"2T"``, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ssl_xai_bench import validate as check
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics.spec import Headline


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
    margin : float or None
        Equivalence margin of the score (its unit; ``docs/metrics.md``); None: not tested.
    removes : bool
        Removes input samples (a perturbation metric): run once per removal baseline, with our
        ``perturb_func`` (:mod:`ssl_xai_bench.metrics.quantus_removal`).
    cumulative : bool
        Each removal step perturbs the previous step's output (PixelFlipping,
        RegionPerturbation).
    headline : Headline or None
        The metric's headline column (of its run under the study's removal).
    """

    name: str
    quantus_class: str
    category: str
    direction: str
    defaults: dict[str, Any] = field(default_factory=dict)
    needs_explain: bool = False
    description: str = ""
    margin: float | None = None
    removes: bool = False
    cumulative: bool = False
    headline: Headline | None = None


QUANTUS_METRICS: dict[str, QuantusMetric] = {
    m.name: m
    for m in (
        QuantusMetric(
            "faithfulness_correlation", "FaithfulnessCorrelation", "faithfulness", "up",
            {"nr_runs": 10, "subset_size": 512},
            description="Pearson corr. of relevance sums of random subsets with the scalar drop",
            margin=0.05,
            removes=True,
            headline=Headline("Faithfulness", "Faithf.", ("faithfulness_correlation",),
                              "zero correlation and the controls", order=1),
        ),
        QuantusMetric(
            "faithfulness_estimate", "FaithfulnessEstimate", "faithfulness", "up",
            {"features_in_step": "T"},
            description="Pearson corr. of relevance of successive groups with the scalar drop",
            margin=0.05,
            removes=True,
        ),
        QuantusMetric(
            "pixel_flipping", "PixelFlipping", "faithfulness", "down",
            {"features_in_step": "T"},
            description="AUC of the explained scalar while removing most-relevant samples first",
            removes=True, cumulative=True,
        ),
        QuantusMetric(
            "monotonicity_correlation", "MonotonicityCorrelation", "faithfulness", "up",
            {"features_in_step": "T", "nr_samples": 1},
            description="Spearman corr. of group relevance with the scalar's squared change",
            margin=0.05,
            removes=True,
        ),
        QuantusMetric(
            "region_perturbation", "RegionPerturbation", "faithfulness", "up",
            {"patch_size": 16, "regions_evaluation": 10},
            description="mean scalar drop (AOPC) removing most-relevant time regions first",
            removes=True, cumulative=True,
        ),
        QuantusMetric(
            "max_sensitivity", "MaxSensitivity", "robustness", "down",
            {"nr_samples": 2, "lower_bound": 0.01},
            needs_explain=True,
            description="max relative change of the relevance under uniform input noise",
            margin=0.05,
            headline=Headline("Robustness", "Robust.", order=3),
        ),
        QuantusMetric(
            "efficient_mprt", "EfficientMPRT", "randomisation", "up",
            {},
            needs_explain=True,
            description="relative rise of relevance entropy after randomising all layers",
            margin=0.05,
            headline=Headline("Randomisation", "Random.", ("efficient_mprt",),
                              "no change (0) and the controls", order=4),
        ),
        QuantusMetric(
            "sparseness", "Sparseness", "complexity", "up", {},
            description="Gini index of |relevance|", margin=0.02,
            headline=Headline("Complexity", "Compl.", order=5),
        ),
        QuantusMetric(
            "complexity", "Complexity", "complexity", "down", {},
            description="entropy of the |relevance| distribution", margin=0.05,
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


@dataclass(frozen=True)
class QuantusSettings:
    """``[metrics]`` keys of the Quantus family.

    ``quantus_metrics``: keys of :data:`QUANTUS_METRICS` to run; ``quantus_params``: per-metric
    parameter overrides; ``quantus_batch_size``: windows per Quantus call; ``explain_windows``:
    the metrics that recompute explanations (MaxSensitivity, EfficientMPRT) run on
    ``explain_windows`` of a cell's explained windows, one per source before a second of any
    (:func:`~ssl_xai_bench.metrics.stats.spread_over_sources`: the same windows for every method,
    so paired tests stay paired, over as many sources as possible; 0 = all);
    ``perturb_baseline``: the value removed samples take (``zero``, the
    paper's removal, ``mean`` or ``uniform``).
    the metrics that recompute explanations (MaxSensitivity, EfficientMPRT) run on the first
    ``explain_windows`` test windows of a cell (the same for every method, so paired tests stay
    paired; 0 = all). What removed samples become is the shared ``removal_baselines`` key
    (:class:`ssl_xai_bench.metrics.manipulation.ManipulationSettings`).
    """

    quantus_metrics: tuple[str, ...] = tuple(QUANTUS_METRICS)
    quantus_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    quantus_batch_size: int = 16
    explain_windows: int = 0

    def validate(self) -> None:
        f = "metrics.quantus_metrics"
        for name in check.unique(check.as_list(self.quantus_metrics, f), f):
            check.as_str(name, f, choices=QUANTUS_METRICS)
        check.check_keys(self.quantus_params, QUANTUS_METRICS, "metrics.quantus_params")
        for name, params in self.quantus_params.items():
            if not isinstance(params, Mapping):
                raise ConfigError(f"metrics.quantus_params.{name}", "must be a table of parameters")
            validate_params(name, metric_params(name, params), n_mics=None, n_samples=None)
        check.as_int(self.quantus_batch_size, "metrics.quantus_batch_size", minimum=1)
        check.as_int(self.explain_windows, "metrics.explain_windows", minimum=0)

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Parameters that must divide the input shape ``(M, T)``."""
        for name in self.quantus_metrics:
            validate_params(name, self.params(name), n_mics, n_samples)

    def params(self, name: str) -> dict[str, Any]:
        """Metric ``name``'s parameters: its defaults updated with this run's overrides."""
        return metric_params(name, self.quantus_params.get(name))


__all__ = [
    "QUANTUS_METRICS",
    "QuantusMetric",
    "QuantusSettings",
    "explain_calls_per_window",
    "forwards_per_window",
    "metric_params",
    "resolve_params",
    "validate_params",
]
