"""Stage ``signals``: the method-independent rows of a condition.

The microphone signals, the constant lag-0 estimator and the direct path, scored like a method
(TDoA, direct-path similarity, SRP-PHAT, channel identity, ground-truth localisation) and their
spectra. Artifact: ``rows.json``, ``tdoa.csv``, ``spectra.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.stages.attribution import explained_windows
from ssl_xai_bench.harness.stages.base import Writer, result_writer
from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.metrics.evaluate import evaluate_signals

STAGE = "signals"


@dataclass(frozen=True)
class Config:
    seed: int
    n_test_windows: int | None
    metrics: MetricsConfig

    def key_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "n_test_windows": self.n_test_windows,
                "metrics": self.metrics.to_dict()}


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    test = windows_stage.load(upstream["windows"], "test")
    idx = explained_windows(config, test)
    return result_writer(evaluate_signals(test.subset(idx), config.metrics))
