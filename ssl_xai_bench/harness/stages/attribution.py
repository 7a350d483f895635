"""Stage ``attribution``: one method's relevance for the explained test windows of one model.

Artifact: ``relevance.npy`` ``(N, M, T)`` float32 (signed) and ``index.npy`` (the indices of the
``N`` explained test windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssl_xai_bench.acoustics.windows import WindowSet
from ssl_xai_bench.attributions import attribute
from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.stages.base import Writer, key_dict, test_subset
from ssl_xai_bench.hashing import derive_seed

STAGE = "attribution"


@dataclass(frozen=True)
class Config:
    method: str
    params: dict[str, Any]
    seed: int
    target_mode: str
    n_test_windows: int | None
    batch_size: int

    def key_dict(self) -> dict[str, Any]:
        return key_dict(self)

    def explain(self, model: torch.nn.Module, inputs: Any, targets: Any) -> np.ndarray:
        """This method's relevance for ``inputs (B, M, T)`` and positions ``targets (B, 3)``."""
        x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
        t = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
        relevance = attribute(self.method, model, x, t, batch_size=self.batch_size,
                              target_mode=self.target_mode, **self.params)
        return relevance.detach().cpu().numpy()


def explained_windows(config: Any, test: WindowSet) -> np.ndarray:
    """Indices of the explained test windows: the same for every method of a cell.

    :func:`test_subset`'s seeded choice of sources (one window of every source before a second
    of any); of a chosen source, the windows where every ground-truth mask can be scored first
    (:meth:`~ssl_xai_bench.acoustics.masks.GroundTruthMasks.scorable`): a random window holds no
    speech onset one time in four, and at (0.6 s, 10 dB) no direct-path-dominant sample one time
    in three, which left the localisation metrics' paired tests with 9-11 of 16 sources. The
    choice reads only the simulator's masks, never a model or a relevance, so it favours no
    method.
    """
    preferred = None if test.masks is None else test.masks.scorable()
    return test_subset(test.source_ids, config.n_test_windows,
                       derive_seed(config.seed, "subset"), preferred)


def compute(config: Config, upstream: dict, runtime: dict) -> Writer:
    test = windows_stage.load(upstream["windows"], "test")
    idx = explained_windows(config, test)
    model = model_stage.load(upstream["model"], *test.windows.shape[1:])
    relevance = config.explain(model, test.windows[idx], test.positions[idx]).astype(np.float32)

    def write(folder: Path) -> dict[str, Any]:
        np.save(folder / "relevance.npy", relevance)
        np.save(folder / "index.npy", idx)
        return {"method": config.method, "n_windows": int(len(idx))}

    return write


def load(art: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(index (N,), relevance (N, M, T))`` of an ``attribution`` artifact."""
    return np.load(art.file("index.npy")), np.load(art.file("relevance.npy"))
