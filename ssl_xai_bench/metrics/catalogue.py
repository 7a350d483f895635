"""The metric catalogue: every family, in the order evaluation runs them, and every metric.

Adding a metric is adding it to its family's module (its :class:`MetricSpec` and the line that
computes it); adding a family is one module (``docs/adding-a-metric.md``) and one entry in
:data:`FAMILIES`. Tables, figures and the report read names, categories, directions and units
from :data:`METRICS`.
"""

from __future__ import annotations

from ssl_xai_bench.metrics import (
    channel_identity,
    conservation,
    dereverb,
    localisation,
    manipulation,
    quantus_suite,
    spectrum,
    srp,
    tdoa_family,
)
from ssl_xai_bench.metrics.removal import removal_variants
from ssl_xai_bench.metrics.spec import Family, MetricSpec

FAMILIES: tuple[Family, ...] = (
    manipulation.FAMILY,
    conservation.FAMILY,
    tdoa_family.FAMILY,
    dereverb.FAMILY,
    srp.FAMILY,
    channel_identity.FAMILY,
    quantus_suite.FAMILY,
    localisation.FAMILY,
    spectrum.FAMILY,
)

METRICS: dict[str, MetricSpec] = {spec.name: spec for f in FAMILIES for spec in f.metrics}
"""Metric name -> spec (category, direction, unit, description)."""

REMOVAL_VARIANTS: dict[str, tuple[str, str]] = removal_variants(
    [*manipulation.METRIC_NAMES,
     *(q.name for q in quantus_suite.QUANTUS_METRICS.values() if q.removes)])
"""Name of every perturbation metric under every removal baseline -> (metric, baseline)."""

__all__ = ["FAMILIES", "METRICS", "REMOVAL_VARIANTS"]
