"""How well each predictor of a condition localises, beside the trivial predictor.

:func:`predictor_skill` takes the predictions ``(N, 3)`` m of several predictors on the same test
windows (a model, ``trivial``: the training-set mean position, ``srp_phat``) and returns one row
each: the paper's MAE and the other error summaries
(:func:`ssl_xai_bench.models.evaluation.localization_errors`), the 95 % cluster-bootstrap CI of
the per-window error over test sources (:func:`~ssl_xai_bench.metrics.stats.summarize`), the
paired gain over the trivial predictor (its per-window error minus ours, on the same windows) with
its CI, and whether the predictor's MAE is below the trivial one's. A predictor's windows with a
non-finite position are left out of its row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ssl_xai_bench.metrics.stats import summarize
from ssl_xai_bench.models.evaluation import localization_errors, per_window_abs_error

#: The predictor every other is compared with (``ssl_xai_bench.models.baselines``).
TRIVIAL = "trivial"


def predictor_skill(predictions: Mapping[str, np.ndarray], positions: np.ndarray,
                    source_ids: np.ndarray) -> list[dict[str, Any]]:
    """One row per predictor, by name (see the module docstring).

    Parameters
    ----------
    predictions : mapping
        Predictor name -> predicted positions ``(N, 3)`` m on the test windows.
    positions : array (N, 3)
        The true positions, m.
    source_ids : array (N,)
        The test source of each window (the bootstrap's clusters).
    """
    trivial = predictions.get(TRIVIAL)
    trivial_err = None if trivial is None else per_window_abs_error(trivial, positions)
    rows = []
    for predictor, pred in sorted(predictions.items()):
        ok = np.all(np.isfinite(pred), axis=1)
        per_window = per_window_abs_error(pred[ok], positions[ok])
        stats = summarize(per_window, source_ids[ok], seed=0)
        gain = {"mean": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        if trivial_err is not None:  # paired: the same windows, trivial error minus ours
            gain = summarize(trivial_err[ok] - per_window, source_ids[ok], seed=0)
        rows.append({"predictor": predictor, **localization_errors(pred[ok], positions[ok]),
                     "ci_low": stats["ci_low"], "ci_high": stats["ci_high"],
                     "n_windows": stats["n_windows"], "n_sources": stats["n_sources"],
                     "gain_vs_trivial": gain["mean"], "gain_ci_low": gain["ci_low"],
                     "gain_ci_high": gain["ci_high"]})
    trivial_mae = next((r["mae"] for r in rows if r["predictor"] == TRIVIAL), None)
    for row in rows:
        row["beats_trivial"] = bool(trivial_mae is not None and row["mae"] < trivial_mae)
    return rows


__all__ = ["TRIVIAL", "predictor_skill"]
