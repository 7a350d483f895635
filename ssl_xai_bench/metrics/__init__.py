"""Metrics: how well a relevance map explains a localizer, each number with n and a 95 % CI.

- :mod:`~ssl_xai_bench.metrics.catalogue`: the families, in evaluation order, and every metric's
  spec (category, direction, unit); :mod:`~ssl_xai_bench.metrics.spec` the shapes they share.
- Families, one module each: :mod:`~ssl_xai_bench.metrics.manipulation` (the study's experiment
  A), :mod:`~ssl_xai_bench.metrics.conservation`, :mod:`~ssl_xai_bench.metrics.tdoa` (experiment
  B, GCC-PHAT in :mod:`~ssl_xai_bench.metrics.gcc_phat`), :mod:`~ssl_xai_bench.metrics.dereverb`,
  :mod:`~ssl_xai_bench.metrics.srp`, :mod:`~ssl_xai_bench.metrics.channel_identity`,
  :mod:`~ssl_xai_bench.metrics.quantus_suite` (Quantus 0.6.0 adapted to a regressor; parameters
  in :mod:`~ssl_xai_bench.metrics.quantus_params`).
- :mod:`~ssl_xai_bench.metrics.config`: the ``[metrics]`` settings, one object per family.
- :mod:`~ssl_xai_bench.metrics.evaluate`: one cell (``evaluate_method``), the shared controls
  (``evaluate_controls``) and the method-independent signal rows (``evaluate_signals``).
- :mod:`~ssl_xai_bench.metrics.stats`: cluster-bootstrap CIs over sources, paired tests.

- :mod:`~ssl_xai_bench.metrics.registry`: the built-in families and the plug-ins
  (``register_metric``, ``register_family``, entry points, ``load_metrics_from``), re-exported
  here (imported on first use, so that ``import ssl_xai_bench.metrics.stats`` stays light).

``docs/metrics.md`` defines every metric; ``docs/adding-a-metric.md`` shows how to add one.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Names re-exported from their modules, imported on first access.
_EXPORTS = {
    "Family": "spec", "Headline": "spec", "MethodCell": "spec", "MetricSpec": "spec",
    "NoSettings": "spec", "Scores": "spec", "families": "registry",
    "load_metrics_from": "registry", "metric_specs": "registry", "register_family": "registry",
    "register_metric": "registry", "unregister_family": "registry",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = sorted(_EXPORTS)
