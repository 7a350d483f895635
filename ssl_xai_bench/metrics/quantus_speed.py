"""Faster equivalents of Quantus 0.6.0 internals that cost more than the model forwards.

The cost benchmark (``tests/benchmarks/test_metrics_speed.py``) bounds every perturbation metric
by its number of model forwards; these two pieces of Quantus' bookkeeping exceeded it:

- ``asserts.assert_attributions`` builds a Python set of every attribution value (~30 ms per
  16 x 5120 window, several forwards' worth); :func:`fast_quantus_asserts` swaps in the same
  checks, vectorised, for the duration of a call;
- ``FaithfulnessCorrelation`` draws each run's random subset with the legacy
  ``np.random.choice(n, s, replace=False)``, which permutes all ``n = M x T`` indices (~1.3 ms
  per window and run for 16 x 5120); :class:`FaithfulnessCorrelation` draws the same kind of
  subset (uniform, without replacement) with ``Generator.choice``, which samples ``s`` of
  ``n`` directly. The metric is otherwise Quantus' own: its perturbation, its model interface,
  its similarity function (Pearson), the same number of forwards;
- ``AUC`` (localisation) calls scikit-learn's ``roc_curve`` and ``auc`` once per sample, ~3 ms
  for a 5120-sample row (the localisation family scores thousands of rows per cell): :class:`AUC`
  computes the same area in one vectorised pass, as the Mann-Whitney statistic
  ``(sum of the mask's ranks - n1 (n1 + 1) / 2) / (n1 n0)`` with tied scores given their average
  rank (the trapezoidal ROC area with ties, exactly what ``roc_curve`` + ``auc`` integrate).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import quantus
from quantus.helpers import asserts as quantus_asserts
from scipy.stats import rankdata


def _assert_attributions_fast(x_batch: np.ndarray, a_batch: np.ndarray) -> None:
    """Quantus' ``asserts.assert_attributions``, vectorised, without its all-negative check.

    The original tests ``len(set(a.flatten().tolist())) > 1``; ``np.any(a != a.flat[0])``
    asserts the same. The shape checks are the original's. Quantus also refuses attributions
    that are all below zero, a check written for class scores (the explained class's evidence is
    somewhere positive); a regression scalar's relevance may push it down everywhere, and every
    metric run here is defined for it (correlations, removal orders and AUCs of signed relevance;
    Sparseness and Complexity take ``|a|``), so such windows are scored.
    """
    a = np.asarray(a_batch)
    assert isinstance(a_batch, np.ndarray), "Attributions 'a_batch' should be of type np.ndarray."
    assert np.shape(x_batch)[0] == a.shape[0], "x_batch and a_batch: different numbers of samples"
    assert np.ndim(x_batch) == a.ndim, "x_batch and a_batch: different numbers of dimensions"
    a_shape = [d for d in a.shape[1:] if d != 1]
    x_shape = list(np.shape(x_batch)[1:])
    assert a_shape[0] == x_shape[0] or a_shape[-1] == x_shape[-1], "attribution/input shapes"
    assert all(d in x_shape for d in a_shape), "attribution dimensions not in the input's"
    flat = a.reshape(-1)
    assert not np.all(flat == 0), "The elements in the attribution vector are all equal to zero"
    assert not np.all(flat == 1.0), "The elements in the attribution vector are all equal to one"
    assert np.any(flat != flat[0]), "The attributions are uniformly distributed"


def refused_windows(relevance: np.ndarray) -> np.ndarray:
    """Windows whose attributions Quantus' content checks refuse on their own, ``(N,)`` bool.

    The checks of :func:`_assert_attributions_fast` that look at values (all zero, all one, a
    single value: nothing to rank or correlate) applied to each window of ``(N, ...)`` alone.
    Quantus applies them to the whole batch, so one refused batch would fail every window in it;
    a window that passes them alone can never make a batch of such windows fail. An all-negative
    relevance (a legitimate signed explanation of a regression scalar: every sample pushes it
    down) is scored, not refused.
    """
    flat = np.asarray(relevance).reshape(len(relevance), -1)
    return ~np.any(flat != flat[:, :1], axis=1)  # covers all zero and all one


@contextlib.contextmanager
def fast_quantus_asserts() -> Iterator[None]:
    """Use :func:`_assert_attributions_fast` inside Quantus for the duration of a call."""
    original = quantus_asserts.assert_attributions
    quantus_asserts.assert_attributions = _assert_attributions_fast
    try:
        yield
    finally:
        quantus_asserts.assert_attributions = original


class FaithfulnessCorrelation(quantus.FaithfulnessCorrelation):
    """Quantus' FaithfulnessCorrelation (Bhatt et al., IJCAI 2020) with a direct subset draw.

    Per window and run ``r``: a uniform random subset ``S_r`` of ``subset_size`` of the
    flattened samples is set to the baseline; the score is the Pearson correlation over runs of
    ``sum(a[S_r])`` with ``f(x) - f(x with S_r removed)``. Each run's subsets come from a
    ``numpy.random.Generator`` seeded from numpy's global state (which ``run_quantus_metric``
    seeds per call), so scores are reproducible; they differ from stock Quantus' only in which
    subsets are drawn. Quantus' "perturbation caused no change" warning is skipped (warnings are
    disabled here anyway).
    """

    def evaluate_batch(
        self,
        model: Any,
        x_batch: np.ndarray,
        y_batch: np.ndarray,
        a_batch: np.ndarray,
        **kwargs: Any,
    ) -> list[float]:
        """Scores of one batch (same signature and result as Quantus' method)."""
        if x_batch.shape != a_batch.shape:
            a_batch = np.broadcast_to(a_batch, x_batch.shape)
        batch_size = a_batch.shape[0]
        a_flat = a_batch.reshape(batch_size, -1)
        n_features = a_flat.shape[-1]
        rows = np.arange(batch_size)
        x_input = model.shape_input(x_batch, x_batch.shape, channel_first=True, batched=True)
        y_pred = model.predict(x_input)[rows, y_batch]
        rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))  # noqa: NPY002
        deltas, sums = [], []
        for _ in range(self.nr_runs):
            subsets = np.stack(
                [rng.choice(n_features, self.subset_size, replace=False) for _ in rows]
            )
            perturbed = self.perturb_func(arr=x_batch.reshape(batch_size, -1), indices=subsets)
            x_input = model.shape_input(
                perturbed.reshape(x_batch.shape), x_batch.shape, channel_first=True, batched=True
            )
            deltas.append(y_pred - model.predict(x_input)[rows, y_batch])
            sums.append(a_flat[rows[:, None], subsets].sum(axis=-1))
        similarity = self.similarity_func(
            a=np.stack(sums, axis=1), b=np.stack(deltas, axis=1), batched=True
        )
        return similarity.tolist()


class AUC(quantus.AUC):
    """Quantus' localisation AUC with a vectorised ROC area (see the module docstring)."""

    def evaluate_batch(self, a_batch: np.ndarray, s_batch: np.ndarray,
                       **kwargs: Any) -> np.ndarray:
        """Scores of one batch (Quantus' values; NaN where the mask is empty or full)."""
        a = np.asarray(a_batch, dtype=np.float64).reshape(len(a_batch), -1)
        s = np.asarray(s_batch).astype(bool).reshape(len(a_batch), -1)
        n_in = s.sum(axis=1)
        n_out = s.shape[1] - n_in
        ranks = rankdata(a, method="average", axis=1)
        u = np.where(s, ranks, 0.0).sum(axis=1) - n_in * (n_in + 1) / 2.0
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((n_in > 0) & (n_out > 0), u / (n_in * n_out), np.nan)


__all__ = ["AUC", "FaithfulnessCorrelation", "fast_quantus_asserts"]
