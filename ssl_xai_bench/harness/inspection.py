"""The inspection windows of a run: best and worst explained test window of each cell.

Written to ``<results>/inspection/<model>_<condition>_{best,worst}.npz`` with the window, its
direct path, its ground-truth masks (``mask_direct``, ``mask_onset`` ``(M, T)`` bool, when the
windows have them), position, prediction, a microphone pair, its true TDoA and every method's
relevance; the report's inspection and mask figures and audio are drawn from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench.harness.graph import StageGraph
from ssl_xai_bench.harness.stages import attribution as attribution_stage
from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.store import ArtifactStore


def write_inspection(
    store: ArtifactStore, graph: StageGraph, folder: Path
) -> None:
    """Best and worst explained test window of each (model, condition) with all relevances."""
    folder.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for cell in graph.cells:
        groups.setdefault((cell["model"], cell["condition"]), []).append(cell)
    for (model, cond), cells in sorted(groups.items()):
        arts = {c["method"]: store.get("attribution", c["attribution"]) for c in cells}
        arts = {m: a for m, a in arts.items() if a is not None}
        model_art = store.get("model", cells[0]["model_key"])
        win_art = store.get("windows", cells[0]["windows"])
        if not arts or model_art is None or win_art is None:
            continue
        test = windows_stage.load(win_art, "test")
        idx = np.load(next(iter(arts.values())).file("index.npy"))
        pred = model_stage.load_predictions(model_art)
        err = np.linalg.norm(pred[idx] - test.positions[idx], axis=1)
        for which, pos in (("best", int(np.argmin(err))), ("worst", int(np.argmax(err)))):
            w = int(idx[pos])
            payload = {
                "window": test.windows[w],
                "direct": test.direct[w],
                "position": test.positions[w],
                "prediction": pred[w],
                "fs": np.int64(test.fs),
                "pair": np.array([7, 8])
                if test.windows.shape[1] > 8
                else np.array([0, test.windows.shape[1] - 1]),
            }
            if test.masks is not None:
                payload["mask_direct"] = test.masks.direct[w]
                payload["mask_onset"] = test.masks.onset[w]
            mics = test.mic_positions[payload["pair"]]
            d = np.linalg.norm(mics - test.positions[w], axis=1)
            payload["true_tdoa"] = np.float64((d[1] - d[0]) / test.speed_of_sound * test.fs)
            methods = sorted(arts)
            for method in methods:
                payload[f"relevance_{method}"] = attribution_stage.load(arts[method])[1][pos]
            meta = {
                "model": model,
                "condition": cond,
                "which": which,
                "methods": methods,
                "source_id": int(test.source_ids[w]),
                "error_m": float(err[pos]),
            }
            payload["meta"] = np.array(json.dumps(meta))
            safe = f"{model}_{cond}".replace(" ", "_").replace("=", "").replace("/", "-")
            np.savez(folder / f"{safe}_{which}.npz", **payload)


__all__ = ["write_inspection"]
