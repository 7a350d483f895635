"""Stage ``rirs``: the RIRs of every source position of a scene (the expensive, cached stage).

Keyed on the scene's room part only (:meth:`SceneConfig.room_part`): changing the speech corpus
or the windowing reuses the RIRs. Artifact: ``rirs.npz`` (:class:`RIRSet` of the train, val and
test positions concatenated in that order) and ``positions.npz`` (one array per split, metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench.acoustics.geometry import SPLITS
from ssl_xai_bench.acoustics.rir import RIRSet, compute_rirs
from ssl_xai_bench.acoustics.scene import SceneConfig, scene_positions
from ssl_xai_bench.harness.stages.base import Writer

STAGE = "rirs"


@dataclass(frozen=True)
class Config:
    """The scene's room part (``SceneConfig.room_part()``)."""

    scene: SceneConfig

    def key_dict(self) -> dict[str, Any]:
        return {"scene": self.scene.to_dict()}


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    positions = scene_positions(config.scene)
    rirs = compute_rirs(config.scene, np.concatenate([positions[s] for s in SPLITS]))

    def write(folder: Path) -> dict[str, Any]:
        rirs.save(folder / "rirs.npz")
        np.savez(folder / "positions.npz", **{s: positions[s] for s in SPLITS})
        return {"n_positions": {s: int(len(positions[s])) for s in SPLITS}}

    return write


def load(art: Any) -> tuple[dict[str, RIRSet], dict[str, np.ndarray]]:
    """The RIRs and positions of a ``rirs`` artifact, per split."""
    from dataclasses import replace

    rirs = RIRSet.load(art.file("rirs.npz"))
    with np.load(art.file("positions.npz")) as z:
        positions = {k: z[k] for k in z.files}
    out, start = {}, 0
    for split in SPLITS:
        sl = slice(start, start + len(positions[split]))
        out[split] = replace(rirs, rirs=rirs.rirs[sl], direct=rirs.direct[sl],
                             positions=rirs.positions[sl])
        start = sl.stop
    return out, positions
