"""What every stage module shares: the writer type, the test-window subset and result files."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench.metrics.stats import spread_over_sources

Writer = Callable[[Path], dict[str, Any] | None]
"""``write(folder) -> manifest metadata``: fills an artifact's temporary folder."""


def key_dict(config: Any) -> dict[str, Any]:
    """The canonical dictionary of a stage config (dataclasses and tuples made JSON-like)."""
    return json.loads(json.dumps(asdict(config), default=json_default))


def test_subset(source_ids: np.ndarray, n_test_windows: int | None, seed: int,
                preferred: np.ndarray | None = None) -> np.ndarray:
    """Indices of the explained test windows: all, or a seeded sorted subsample that takes one
    window of every source before a second of any (paired tests are over sources, so ``k``
    windows of ``k`` distinct sources give them all the power ``k`` windows can); of a chosen
    source, its ``preferred`` windows first."""
    return spread_over_sources(source_ids, n_test_windows, seed=seed, preferred=preferred)


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars and arrays, and tuples of dataclasses' ``asdict``."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def result_writer(result: Any) -> Writer:
    """Writer of a :class:`ssl_xai_bench.metrics.evaluate.MethodResults`."""

    def write(folder: Path) -> dict[str, Any]:
        (folder / "rows.json").write_text(json.dumps(result.rows, default=json_default), "utf-8")
        if result.curves is not None:
            result.curves.to_csv(folder / "curves.csv", index=False)
        if result.tdoa is not None:
            result.tdoa.to_csv(folder / "tdoa.csv", index=False)
        if result.spectra is not None:
            result.spectra.to_csv(folder / "spectra.csv", index=False)
        if result.per_window:
            np.savez(folder / "per_window.npz", **result.per_window)
        return {}

    return write
