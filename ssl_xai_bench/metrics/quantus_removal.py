"""Quantus' perturbation metrics with our removal baselines (:mod:`ssl_xai_bench.metrics.removal`).

Quantus 0.6.0's faithfulness metrics used here (FaithfulnessCorrelation, FaithfulnessEstimate,
PixelFlipping, MonotonicityCorrelation, RegionPerturbation) all perturb a whole batch at once,
``perturb_func(arr=(B, F), indices=(B, I), perturb_baseline=...) -> (B, F)`` (read in their
``evaluate_batch``), with ``F = M x T`` the flattened window whatever shape Quantus sees
(``(B, M, T)``, ``(B, M/k, kT)`` or ``(B, M, T/p, p)``: the same memory order).
:class:`QuantusRemoval` is such a ``perturb_func``: it marks the indexed samples as removed and
returns the windows with them replaced by the cell's removal baseline (``zero`` gives exactly
Quantus' own replacement by 0.0). The input it is given must be the cell's windows of its rows
(checked): the imputation reads them from the removal, which holds them.

Two of them remove cumulatively, each call perturbing the previous call's output
(PixelFlipping, RegionPerturbation). With ``cumulative=True`` the function keeps the original
windows and the union of the removed sets and imputes from the original every time, so a sample
removed earlier never serves as a kept neighbour of a later imputation (ROAD's rule: only kept
values enter the imputation); it checks that every call after the first receives its previous
output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ssl_xai_bench.metrics.removal import Removal


class QuantusRemoval:
    """A Quantus batched ``perturb_func`` removing samples with ``removal``.

    Parameters
    ----------
    removal : Removal
        The cell's removal baseline.
    rows : array (B,) int
        The cell's window index of each row of the batches this function will see.
    cumulative : bool
        The metric perturbs its own previous output (see the module docstring).
    """

    def __init__(self, removal: Removal, rows: np.ndarray, cumulative: bool) -> None:
        self.removal = removal
        self.rows = np.asarray(rows)
        self.cumulative = cumulative
        self.shape = (len(self.rows),) + removal.windows.shape[1:]
        self._removed: np.ndarray | None = None
        self._last: np.ndarray | None = None

    def __call__(self, arr: np.ndarray, indices: np.ndarray, **_: Any) -> np.ndarray:
        arr = np.asarray(arr)
        n_rows, n_feat = arr.shape
        if (n_rows,) + (n_feat,) != (self.shape[0], int(np.prod(self.shape[1:]))):
            raise ValueError(f"perturb_func: expected a ({self.shape[0]}, "
                             f"{int(np.prod(self.shape[1:]))}) batch, got {arr.shape}")
        removed = np.zeros(arr.shape, dtype=bool)
        np.put_along_axis(removed, np.asarray(indices), True, axis=1)
        if self.cumulative and self._removed is not None:
            if self._last is None or not np.shares_memory(arr, self._last):
                raise RuntimeError("perturb_func: a cumulative metric passed an input that is "
                                   "not this function's previous output")
            removed |= self._removed
        else:
            self._check_original(arr)
        self._removed = removed
        out = self.removal.apply(removed.reshape(self.shape), self.rows).reshape(arr.shape)
        self._last = out.astype(arr.dtype, copy=False)
        return self._last

    def _check_original(self, arr: np.ndarray) -> None:
        original = self.removal.windows[self.rows].reshape(arr.shape)
        if not np.array_equal(arr, original):
            raise RuntimeError("perturb_func: the first call must receive the cell's windows")


__all__ = ["QuantusRemoval"]
