"""Model forwards per explained window of a cell's metrics and of a model's controls.

A metric alone costs :func:`ssl_xai_bench.metrics.quantus_params.forwards_per_window` forwards
(its bound in the cost benchmark). In a cell the perturbation metrics share the forwards of equal
inputs (:mod:`ssl_xai_bench.metrics.forward_cache`); counted here, where the sharing follows from
the metrics' definitions:

- the unperturbed windows are predicted once per cell (every Quantus faithfulness metric but
  PixelFlipping predicts them first);
- PixelFlipping's first step removes FaithfulnessEstimate's first group (the
  ``features_in_step`` most relevant samples, signed) when both use the same step;
- MonotonicityCorrelation removes each of its groups ``nr_samples`` times: a removal baseline is
  deterministic, so only the first is a new input. (Its groups are those of ``|relevance|``,
  Quantus' default ``abs=True``: they equal FaithfulnessEstimate's only for a relevance without
  negative values, and are counted as new.)
- each removal baseline is a separate input.

The store may find more repeats than these (a manipulation fraction that is a whole number of
PixelFlipping steps removes the same set; removing every sample gives 0 under ``zero`` and
``noisy_linear`` alike); they are not counted, so the counts here are upper bounds of what a cell
runs.
"""

from __future__ import annotations

import math
from typing import Any

from ssl_xai_bench.metrics.quantus_params import (
    QUANTUS_METRICS,
    explain_calls_per_window,
    forwards_per_window,
    resolve_params,
)


def manipulation_forwards(settings: Any) -> int:
    """Forwards per window of the relevance curves of one method (``ManipulationSettings``)."""
    if "relevance" not in settings.manipulation_rankings:
        return 0
    removing = sum(f > 0 for f in settings.manipulation_fractions)
    return len(settings.manipulation_curves) * len(settings.removal_baselines) * removing


def control_forwards(settings: Any) -> int:
    """Forwards per window of a model's ``controls`` stage: the unperturbed windows once, then
    every control curve under every baseline."""
    if not settings.controls:
        return 0
    removing = sum(f > 0 for f in settings.manipulation_fractions)
    return 1 + len(settings.controls) * len(settings.removal_baselines) * removing


#: Forwards of the unperturbed windows each removing metric makes (shared with the cell's).
UNPERTURBED_FORWARDS: dict[str, int] = {
    "faithfulness_correlation": 1, "faithfulness_estimate": 1, "pixel_flipping": 0,
    "monotonicity_correlation": 1, "region_perturbation": 1,
}
#: metric -> the metric whose first input it repeats when both use the same ``features_in_step``.
REPEATS_FIRST: dict[str, str] = {"pixel_flipping": "faithfulness_estimate"}


def _step(quantus: Any, name: str, n_samples: int) -> int | None:
    if name not in quantus.quantus_metrics:
        return None
    return resolve_params(quantus.params(name), n_samples).get("features_in_step")


def quantus_forwards(config: Any, n_mics: int, n_samples: int) -> float:
    """New forwards per window of a cell's Quantus metrics (``MetricsConfig``), explanation calls
    excluded, the unperturbed prediction not counted (the cell makes it once)."""
    q = config.quantus
    baselines = len(config.manipulation.removal_baselines)
    total = 0.0
    for name in q.quantus_metrics:
        n = forwards_per_window(name, q.params(name), n_mics, n_samples)
        if not QUANTUS_METRICS[name].removes:
            total += n
            continue
        n -= UNPERTURBED_FORWARDS[name]
        step = _step(q, name, n_samples)
        steps = math.ceil(n_mics * n_samples / step) if step else 0
        n = min(n, steps) if steps else n  # repeated draws of a deterministic removal are free
        runs = baselines if q.under_every_baseline(name) else 1
        other = REPEATS_FIRST.get(name)
        if other and step is not None and _step(q, other, n_samples) == step:
            shared = runs if q.under_every_baseline(other) else 1  # baselines both run under
            total += n * runs - shared
            continue
        total += n * runs
    return total


def explain_calls(config: Any) -> float:
    """Explanation calls per window of a cell's Quantus metrics."""
    q = config.quantus
    return float(sum(explain_calls_per_window(name, q.params(name)) for name in q.quantus_metrics))


def cell_forwards(config: Any, n_mics: int, n_samples: int) -> float:
    """Forwards per window of one method's metrics: the unperturbed prediction, the relevance
    curves and the Quantus metrics (explanation calls not included)."""
    return (1 + manipulation_forwards(config.manipulation)
            + quantus_forwards(config, n_mics, n_samples))


__all__ = ["cell_forwards", "control_forwards", "explain_calls", "manipulation_forwards",
           "quantus_forwards"]
