"""The Quantus metrics used here, one spec each, and the family's settings.

A spec (:class:`QuantusMetric`) is all the code knows of a metric: its Quantus class (or a faster
equivalent), the constructor arguments it always gets, our default parameters and the ones a
preset may set, the checks of their values (with and without the input shape), how a chunk of
windows is laid out for it (:mod:`ssl_xai_bench.metrics.quantus_adapters`), whether it removes
samples or recomputes explanations, and what it costs: model forwards and explanation calls per
window (:func:`forwards_per_window`, used by the cost benchmark and ``ssl-xai-bench plan``).
``features_in_step`` may be given in window lengths (``"T"``, ``"2T"``, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import quantus

from ssl_xai_bench import validate as check
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics import quantus_speed
from ssl_xai_bench.metrics.quantus_adapters import (
    RANDOMISATION,
    REGIONS,
    SAMPLES,
    Samples,
    normalise_per_window,
)
from ssl_xai_bench.metrics.spec import Headline

#: A check of a metric's parameters: the (parameter, what is wrong) of the first problem, or None.
Check = Callable[[Mapping[str, Any]], "tuple[str, str] | None"]
#: The same with the window length T (checks that need the input shape).
ShapeCheck = Callable[[Mapping[str, Any], int], "tuple[str, str] | None"]
INT_PARAMS = frozenset({"nr_runs", "subset_size", "features_in_step", "nr_samples",
                        "patch_size", "regions_evaluation"})
LAYER_ORDERS = ("bottom_up", "top_down", "independent")
#: Arguments of every Quantus metric object: no warnings, no progress bar.
QUIET = {"disable_warnings": True, "display_progressbar": False}


def _no_cost(params: Mapping[str, Any], *_: int) -> int:
    return 0


@dataclass(frozen=True)
class QuantusMetric:
    """One Quantus metric as used here.

    Attributes
    ----------
    name : str
        Our name (snake case), e.g. ``faithfulness_correlation``.
    quantus_class : str
        Its class in :mod:`quantus`.
    category, direction : str
        ``faithfulness``, ``robustness``, ``randomisation`` or ``complexity``; ``up`` (higher is
        better) or ``down``.
    defaults : dict
        Our default parameters (override per preset); ``allowed``: every parameter a preset
        may set.
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
    fixed : dict
        Constructor arguments it always gets (besides the parameters).
    floats : frozenset
        Parameters passed as floats.
    normalised : bool
        Attributions normalised per window before scoring; False for a metric that takes
        none (EfficientMPRT gets its seed instead).
    implementation : type or None
        A faster equivalent of the Quantus class (``quantus_speed``), or None.
    adapter : Samples
        How a chunk is laid out for it and its scores read back.
    checks, shape_checks : tuple
        Its own checks of the parameters' values (:data:`Check`, :data:`ShapeCheck`).
    forwards : callable
        ``forwards(params, n_features)``: model forwards per window (explanation calls not
        included); ``explain_calls(params)``: explanation calls per window.
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
    allowed: frozenset[str] = frozenset()
    fixed: dict[str, Any] = field(default_factory=dict)
    floats: frozenset[str] = frozenset()
    normalised: bool = True
    implementation: type | None = None
    adapter: Samples = SAMPLES
    checks: tuple[Check, ...] = ()
    shape_checks: tuple[ShapeCheck, ...] = ()
    forwards: Callable[[Mapping[str, Any], int], int] = _no_cost
    explain_calls: Callable[[Mapping[str, Any]], int] = _no_cost

    def build(self, params: Mapping[str, Any], perturb: Callable[..., Any], seed: int) -> Any:
        """The Quantus metric object for ``params`` (resolved), quiet, with our ``perturb``
        function (a removal metric) and per-window normalisation, or ``seed``."""
        cls = self.implementation or getattr(quantus, self.quantus_class)
        kwargs = {k: float(v) if k in self.floats else v for k, v in params.items()}
        if not self.normalised:
            return cls(seed=seed, **kwargs, **QUIET)
        extra = {"perturb_func": perturb} if self.removes else {}
        return cls(**kwargs, **QUIET, normalise=True, normalise_func=normalise_per_window,
                   **extra, **self.fixed)


def _steps(params: Mapping[str, Any], n_features: int) -> int:
    return math.ceil(n_features / params["features_in_step"])


def _two_runs(p: Mapping[str, Any]) -> tuple[str, str] | None:
    return ("nr_runs", "must be >= 2 (a correlation needs two runs)") if p["nr_runs"] < 2 else None


def _subset_in_window(p: Mapping[str, Any], n_samples: int) -> tuple[str, str] | None:
    if p["subset_size"] >= n_samples:
        return "subset_size", f"must be < T={n_samples}, got {p['subset_size']}"
    return None


def _noise_amplitude(p: Mapping[str, Any]) -> tuple[str, str] | None:
    lb = p["lower_bound"]
    if isinstance(lb, bool) or not isinstance(lb, int | float) or not lb > 0:
        return "lower_bound", f"noise amplitude must be a number > 0, got {lb!r}"
    return None


def _layer_order(p: Mapping[str, Any]) -> tuple[str, str] | None:
    if p.get("layer_order", "bottom_up") not in LAYER_ORDERS:
        return "layer_order", "must be bottom_up, top_down or independent"
    return None


def _regions_fit(p: Mapping[str, Any], n_samples: int) -> tuple[str, str] | None:
    patch = p["patch_size"]
    if n_samples % (patch * patch):
        return "patch_size", (f"patch_size**2 must divide T={n_samples} (a region is "
                              f"patch_size**2 consecutive samples of every microphone), got "
                              f"{patch}")
    if p["regions_evaluation"] > n_samples // (patch * patch):
        return "regions_evaluation", ("must be <= the number of regions T/patch_size**2 = "
                                      f"{n_samples // (patch * patch)}")
    return None


QUANTUS_METRICS: dict[str, QuantusMetric] = {m.name: m for m in (
    QuantusMetric(
        "faithfulness_correlation", "FaithfulnessCorrelation", "faithfulness", "up",
        {"nr_runs": 10, "subset_size": 512},
        description="Pearson corr. of relevance sums of random subsets with the scalar drop",
        margin=0.05, removes=True,
        headline=Headline("Faithfulness", "Faithf.", ("faithfulness_correlation",),
                          "zero correlation and the controls", order=1),
        allowed=frozenset({"nr_runs", "subset_size"}), fixed={"return_aggregate": False},
        implementation=quantus_speed.FaithfulnessCorrelation,  # direct subset draws
        checks=(_two_runs,), shape_checks=(_subset_in_window,),
        forwards=lambda p, n: 1 + p["nr_runs"]),
    QuantusMetric(
        "faithfulness_estimate", "FaithfulnessEstimate", "faithfulness", "up",
        {"features_in_step": "T"},
        description="Pearson corr. of relevance of successive groups with the scalar drop",
        margin=0.05, removes=True, allowed=frozenset({"features_in_step"}),
        forwards=lambda p, n: 1 + _steps(p, n)),
    QuantusMetric(
        "pixel_flipping", "PixelFlipping", "faithfulness", "down", {"features_in_step": "T"},
        description="AUC of the explained scalar while removing most-relevant samples first",
        removes=True, cumulative=True, allowed=frozenset({"features_in_step"}),
        fixed={"return_auc_per_sample": True}, forwards=_steps),
    QuantusMetric(
        "monotonicity_correlation", "MonotonicityCorrelation", "faithfulness", "up",
        {"features_in_step": "T", "nr_samples": 1},
        description="Spearman corr. of group relevance with the scalar's squared change",
        margin=0.05, removes=True, allowed=frozenset({"features_in_step", "nr_samples"}),
        forwards=lambda p, n: 1 + _steps(p, n) * p["nr_samples"]),
    QuantusMetric(
        "region_perturbation", "RegionPerturbation", "faithfulness", "up",
        {"patch_size": 16, "regions_evaluation": 10},
        description="mean scalar drop (AOPC) removing most-relevant time regions first",
        removes=True, cumulative=True,
        allowed=frozenset({"patch_size", "regions_evaluation"}), fixed={"order": "morf"},
        adapter=REGIONS, shape_checks=(_regions_fit,),
        forwards=lambda p, n: 1 + p["regions_evaluation"]),
    QuantusMetric(
        "max_sensitivity", "MaxSensitivity", "robustness", "down",
        {"nr_samples": 2, "lower_bound": 0.01}, needs_explain=True,
        description="max relative change of the relevance under uniform input noise",
        margin=0.05, headline=Headline("Robustness", "Robust.", order=3),
        allowed=frozenset({"nr_samples", "lower_bound"}), floats=frozenset({"lower_bound"}),
        checks=(_noise_amplitude,), explain_calls=lambda p: int(p["nr_samples"])),
    QuantusMetric(
        "efficient_mprt", "EfficientMPRT", "randomisation", "up", {}, needs_explain=True,
        description="relative rise of relevance entropy after randomising all layers",
        margin=0.05,
        headline=Headline("Randomisation", "Random.", ("efficient_mprt",),
                          "no change (0) and the controls", order=4),
        allowed=frozenset({"layer_order"}), normalised=False, adapter=RANDOMISATION,
        checks=(_layer_order,), forwards=lambda p, n: 2,
        explain_calls=lambda p: 1),  # the randomised model's; the original's is precomputed
    QuantusMetric(
        "sparseness", "Sparseness", "complexity", "up", {},
        description="Gini index of |relevance|", margin=0.02,
        headline=Headline("Complexity", "Compl.", order=5)),
    QuantusMetric(
        "complexity", "Complexity", "complexity", "down", {},
        description="entropy of the |relevance| distribution", margin=0.05),
)}


def quantus_metric(name: str) -> QuantusMetric:
    """The spec of ``name``; ``ConfigError`` naming the known ones if unknown."""
    if name not in QUANTUS_METRICS:
        raise ConfigError(
            "metrics.quantus_metrics", f"unknown metric {name!r}; allowed: {list(QUANTUS_METRICS)}"
        )
    return QUANTUS_METRICS[name]


def metric_params(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of ``name`` updated with ``overrides`` (unknown keys raise ``ConfigError``)."""
    spec = quantus_metric(name)
    params = dict(spec.defaults)
    for key, value in (overrides or {}).items():
        if key not in spec.allowed:
            raise ConfigError(
                f"metrics.quantus_params.{name}.{key}",
                f"unknown parameter; allowed: {sorted(spec.allowed)}",
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


def _step_problem(step: int | None, n_mics: int | None, n_samples: int) -> tuple[str, str] | None:
    """What is wrong with ``features_in_step`` for the input shape ``(M, T)``, or None."""
    if step is None:
        return None
    if n_samples % step if step <= n_samples else step % n_samples:
        return "features_in_step", (
            f"must divide the window length T={n_samples} or be a multiple of it (Quantus steps "
            f"over the flattened M x T input in groups of this size), got {step}")
    if n_mics is not None and (n_mics * n_samples) % step:
        return "features_in_step", (f"must divide M x T = {n_mics * n_samples} (the flattened "
                                    f"input), got {step}")
    return None


def _problems(spec: QuantusMetric, params: Mapping[str, Any], n_mics: int | None,
              n_samples: int | None) -> Iterator[tuple[str, str] | None]:
    """The problems of ``params``, in checking order, each check run only when all before it
    passed (a later check may rely on an earlier one, e.g. that a value is an integer)."""
    for key, value in params.items():
        if key in INT_PARAMS and (isinstance(value, bool) or not isinstance(value, int)):
            extra = ' or "T", "2T", ... (window lengths)' if key == "features_in_step" else ""
            yield key, f"must be an integer{extra}, got {value!r}"
        elif key in INT_PARAMS and value < 1:
            yield key, f"must be >= 1, got {value}"
    yield from (c(params) for c in spec.checks)
    if n_samples is not None:
        yield _step_problem(params.get("features_in_step"), n_mics, n_samples)
        yield from (c(params, n_samples) for c in spec.shape_checks)


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
    params = dict(params)
    k = _window_multiple(params.get("features_in_step"))
    if k is not None:
        params["features_in_step"] = k * (n_samples if n_samples is not None else 1)
    problems = _problems(quantus_metric(name), params, n_mics, n_samples)
    first = next((p for p in problems if p is not None), None)
    if first is not None:
        raise ConfigError(f"metrics.quantus_params.{name}.{first[0]}", first[1])


def forwards_per_window(name: str, params: Mapping[str, Any], n_mics: int, n_samples: int) -> int:
    """Model forwards per window the metric costs (explanation calls not included)."""
    return quantus_metric(name).forwards(resolve_params(params, n_samples), n_mics * n_samples)


def explain_calls_per_window(name: str, params: Mapping[str, Any]) -> int:
    """Explanation calls per window the metric makes (each costs a forward and a backward)."""
    return quantus_metric(name).explain_calls(params)


@dataclass(frozen=True)
class QuantusSettings:
    """``[metrics]`` keys of the Quantus family.

    ``quantus_metrics``: keys of :data:`QUANTUS_METRICS` to run; ``quantus_params``: per-metric
    parameter overrides; ``quantus_batch_size``: windows per Quantus call; ``explain_windows``:
    the metrics that recompute explanations (MaxSensitivity, EfficientMPRT) run on
    ``explain_windows`` of a cell's explained windows, one per source before a second of any
    (:func:`~ssl_xai_bench.metrics.stats.spread_over_sources`: the same windows for every method,
    so paired tests stay paired, over as many sources as possible; 0 = all). What removed
    samples become is the shared ``removal_baselines`` key
    (:class:`ssl_xai_bench.metrics.manipulation.ManipulationSettings`): a removing metric runs
    under the first baseline listed, and under the others when it is in
    ``quantus_removal_metrics`` (None: every removing metric run; each baseline costs the
    metric's forwards again).
    """

    quantus_metrics: tuple[str, ...] = tuple(QUANTUS_METRICS)
    quantus_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    quantus_batch_size: int = 16
    explain_windows: int = 0
    quantus_removal_metrics: tuple[str, ...] | None = None

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
        if self.quantus_removal_metrics is not None:
            f = "metrics.quantus_removal_metrics"
            removing = [n for n in self.quantus_metrics if QUANTUS_METRICS[n].removes]
            for name in check.unique(check.as_list(self.quantus_removal_metrics, f), f):
                check.as_str(name, f, choices=removing)

    def under_every_baseline(self, name: str) -> bool:
        """Whether removing metric ``name`` runs under every removal baseline, not only the
        first."""
        return self.quantus_removal_metrics is None or name in self.quantus_removal_metrics

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
    "quantus_metric",
    "resolve_params",
    "validate_params",
]
