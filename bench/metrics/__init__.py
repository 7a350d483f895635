"""Metrics of the benchmark: Quantus suite, the paper's experiments, de-reverberation evidence.

Entry points (``bench.metrics.evaluate``): :func:`evaluate_method` for one (model, method) cell,
:func:`evaluate_controls` for the manipulation controls shared by the methods of one model,
:func:`evaluate_signals` for the method-independent rows, :class:`MetricsConfig` for settings and
:data:`METRICS` for the registry (category, direction, unit of every reported metric). Every
per-window score is aggregated by :func:`bench.metrics.stats.summarize` (mean with a
cluster-bootstrap CI over sources). See ``docs/metrics.md``.
"""

from bench.metrics.config import MetricsConfig
from bench.metrics.evaluate import (
    METRICS,
    MethodResults,
    MetricSpec,
    evaluate_controls,
    evaluate_method,
    evaluate_signals,
)
from bench.metrics.stats import paired_tests, summarize

__all__ = [
    "METRICS",
    "MethodResults",
    "MetricSpec",
    "MetricsConfig",
    "evaluate_controls",
    "evaluate_method",
    "evaluate_signals",
    "paired_tests",
    "summarize",
]
