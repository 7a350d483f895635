"""Stage ``metrics``: every metric of one (model, method) cell.

Artifact: ``rows.json`` (one row per metric: mean, CI, n), ``curves.csv`` (manipulation
curves), ``tdoa.csv`` (relevance TDoA per variant and pair), ``spectra.csv`` (relevance power per
frequency band) and ``per_window.npz`` (per-window scores, for paired tests across methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ssl_xai_bench.harness.stages import attribution as attribution_stage
from ssl_xai_bench.harness.stages import controls as controls_stage
from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.stages.base import Writer, result_writer
from ssl_xai_bench.hashing import derive_seed
from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.metrics.evaluate import evaluate_method

STAGE = "metrics"


@dataclass(frozen=True)
class Config:
    attribution: attribution_stage.Config
    metrics: MetricsConfig

    def key_dict(self) -> dict[str, Any]:
        return {**self.attribution.key_dict(), "metrics": self.metrics.to_dict()}


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    test = windows_stage.load(upstream["windows"], "test")
    idx, relevance = attribution_stage.load(upstream["attribution"])
    model = model_stage.load(upstream["model"], *test.windows.shape[1:])
    controls = controls_stage.load(upstream["controls"], idx) if "controls" in upstream else None
    method = config.attribution.method
    result = evaluate_method(
        model, test.subset(idx), relevance, method=method,
        explain_fn=config.attribution.explain, config=config.metrics,
        seed=derive_seed(config.attribution.seed, "metrics", method), controls=controls,
        removal_seed=derive_seed(config.attribution.seed, "removal"),
    )
    return result_writer(result)
