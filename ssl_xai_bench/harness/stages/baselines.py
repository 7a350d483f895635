"""Stage ``baselines``: the non-neural predictors on the test set (trivial centre, SRP-PHAT).

Artifact: ``predictions.npz`` with ``trivial`` and ``srp_phat`` ``(N_test, 3)`` metres (SRP-PHAT
on a seeded subset of ``n_windows`` test windows, NaN elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.stages.base import Writer, key_dict, test_subset
from ssl_xai_bench.hashing import derive_seed
from ssl_xai_bench.models.baselines import TrivialPredictor, srp_phat_localize, xy_grid

STAGE = "baselines"


@dataclass(frozen=True)
class Config:
    seed: int
    srp_step: float = 0.02  # m, SRP-PHAT grid spacing
    srp_windows: int | None = None  # test windows SRP-PHAT localises (None: all)

    def key_dict(self) -> dict[str, Any]:
        return key_dict(self)


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    train = windows_stage.load(upstream["windows"], "train")
    test = windows_stage.load(upstream["windows"], "test")
    trivial = TrivialPredictor().fit(train.positions).predict(len(test.positions))
    lo, hi = train.positions.min(axis=0), train.positions.max(axis=0)
    grid = xy_grid((lo[0], hi[0]), (lo[1], hi[1]), float(train.positions[:, 2].mean()),
                   config.srp_step)
    idx = test_subset(test.source_ids, config.srp_windows, derive_seed(config.seed, "srp"))
    srp = np.full_like(test.positions, np.nan)
    srp[idx] = srp_phat_localize(test.windows[idx], test.mic_positions, grid, test.fs,
                                 test.speed_of_sound)

    def write(folder: Path) -> dict[str, Any]:
        np.savez(folder / "predictions.npz", trivial=trivial, srp_phat=srp)
        return {}

    return write


def load(art: Any) -> dict[str, np.ndarray]:
    """Predictor name -> test predictions ``(N_test, 3)``."""
    with np.load(art.file("predictions.npz")) as z:
        return {name: z[name] for name in z.files}
