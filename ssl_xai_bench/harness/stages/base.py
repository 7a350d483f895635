"""What every stage module shares: the writer type, the test-window subset and result files."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

Writer = Callable[[Path], dict[str, Any] | None]
"""``write(folder) -> manifest metadata``: fills an artifact's temporary folder."""


def key_dict(config: Any) -> dict[str, Any]:
    """The canonical dictionary of a stage config (dataclasses and tuples made JSON-like)."""
    return json.loads(json.dumps(asdict(config), default=json_default))


def test_subset(n: int, n_test_windows: int | None, seed: int) -> np.ndarray:
    """Indices of the ``n`` test windows explained: all, or a seeded sorted subsample."""
    if n_test_windows is None or n_test_windows >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=n_test_windows, replace=False))


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
