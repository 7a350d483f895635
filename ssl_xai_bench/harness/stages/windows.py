"""Stage ``windows``: speech x RIRs + noise at an SNR -> the windows of every split.

Artifact: ``train.npz``, ``val.npz``, ``test.npz`` (:class:`WindowSet`); the direct-path windows
and the ground-truth masks (``(N, M, T)`` bool, bit-packed: :mod:`ssl_xai_bench.acoustics.masks`,
settings ``scene.masks``) are stored for the test split only (the training splits never use
them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssl_xai_bench.acoustics.geometry import SPLITS
from ssl_xai_bench.acoustics.scene import SceneConfig
from ssl_xai_bench.acoustics.windows import WindowSet, render_windows
from ssl_xai_bench.harness.stages import rirs as rirs_stage
from ssl_xai_bench.harness.stages.base import Writer
from ssl_xai_bench.hashing import derive_seed

STAGE = "windows"


@dataclass(frozen=True)
class Config:
    scene: SceneConfig
    snr_db: float
    seed: int

    def key_dict(self) -> dict[str, Any]:
        return {"scene": self.scene.to_dict(), "snr_db": self.snr_db, "seed": self.seed}


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    rirs, positions = rirs_stage.load(upstream["rirs"])
    sets = {}
    for i, split in enumerate(SPLITS):
        if len(positions[split]) == 0:
            continue
        seed = derive_seed(config.seed, "windows", split) + i
        sets[split] = render_windows(config.scene, rirs[split], positions[split], config.snr_db,
                                     seed, with_direct=split == "test")

    def write(folder: Path) -> dict[str, Any]:
        for split, ws in sets.items():
            ws.save(folder / f"{split}.npz")
        return {"n_windows": {s: int(len(ws.windows)) for s, ws in sets.items()}}

    return write


def load(art: Any, split: str) -> WindowSet:
    """One split of a ``windows`` artifact."""
    return WindowSet.load(art.file(f"{split}.npz"))
