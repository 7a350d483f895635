"""Stage ``controls``: the method-independent manipulation curves of one model (energy, random),
under every removal baseline.

Computed once per (model, condition) and shared by every method's ``metrics`` stage (the same
windows, so every method's gap to the random control is paired with the same draw, and the same
removal seed, so the baselines' noise and donors are those of the methods' curves). Artifact:
``curves.npz`` (``index`` and one ``(N, F, 3)`` array of model outputs per curve, named
``<ranking><baseline suffix>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.stages.attribution import explained_windows
from ssl_xai_bench.harness.stages.base import Writer, key_dict
from ssl_xai_bench.hashing import derive_seed
from ssl_xai_bench.metrics.evaluate import evaluate_controls
from ssl_xai_bench.metrics.manipulation import ManipulationSettings

STAGE = "controls"


@dataclass(frozen=True)
class Config:
    seed: int
    n_test_windows: int | None
    manipulation: ManipulationSettings

    def key_dict(self) -> dict[str, Any]:
        return key_dict(self)


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    test = windows_stage.load(upstream["windows"], "test")
    idx = explained_windows(config, test)
    model = model_stage.load(upstream["model"], *test.windows.shape[1:])
    curves = evaluate_controls(model, test.subset(idx), config.manipulation,
                               seed=derive_seed(config.seed, "controls"),
                               removal_seed=derive_seed(config.seed, "removal"))

    def write(folder: Path) -> dict[str, Any]:
        np.savez(folder / "curves.npz", index=idx, **curves)
        return {"rankings": sorted(curves)}

    return write


def load(art: Any, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Control curves of a ``controls`` artifact, checked to be for the windows ``idx``."""
    with np.load(art.file("curves.npz")) as data:
        if not np.array_equal(data["index"], idx):
            raise RuntimeError("controls: computed on other test windows than the attribution")
        return {k: data[k] for k in data.files if k != "index"}
