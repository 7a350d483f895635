"""How a Quantus metric sees one chunk of windows: the inputs' layout, the model, the
explanations and the scores read back (``docs/metrics.md``).

Quantus metrics are written for images; ours see ``(B, M, T)`` windows (M microphones, T
samples) through a one-output model (``ssl_xai_bench.attributions.target.ScalarModel``). Each
metric's spec (:mod:`ssl_xai_bench.metrics.quantus_params`) names its adapter:

- :data:`SAMPLES` (the default): the windows as they are, except that a ``features_in_step`` of
  k window lengths (``"2T"``) is shown as ``(B, M / k, k T)``: Quantus wants the step to divide
  the last axis, and the flattened order is the same;
- :data:`REGIONS` (RegionPerturbation): ``(B, M, T / p, p)``, so that its ``p x p`` patch covers
  ``p**2`` consecutive samples of every microphone; a window's score is the mean drop of the
  explained scalar over the evaluated regions (AOPC);
- :data:`RANDOMISATION` (EfficientMPRT): the model's ``|scalar|`` (EfficientMPRT asserts
  non-negative outputs) and the precomputed relevance reused for the unrandomised model.

Attributions are normalised per window (:func:`normalise_per_window`), and an explanation that a
metric recomputes calls the method's own ``explain_fn`` (:func:`explain_adapter`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

ExplainFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], Any]


def normalise_per_window(a: np.ndarray, **_: Any) -> np.ndarray:
    """Divide each window's attribution by its max |a| (all-zero windows stay zero)."""
    a = np.asarray(a, dtype=np.float64)
    scale = np.abs(a).reshape(a.shape[0], -1).max(axis=1)
    scale = np.where(scale > 0, scale, 1.0).reshape((-1,) + (1,) * (a.ndim - 1))
    return a / scale


class _Reshaped(nn.Module):
    """Restores ``(B, M, T)`` from the layout Quantus sees."""

    def __init__(self, inner: nn.Module, shape: tuple[int, int]) -> None:
        super().__init__()
        self.inner = inner
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.reshape(x.shape[0], *self.shape))


class _NonNegative(nn.Module):
    """|scalar|: EfficientMPRT computes an entropy of the model outputs (its optional "model
    scores", unused here) and asserts they are non-negative; explanations unwrap to ``inner``."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).abs()


def explain_adapter(explain_fn: ExplainFn) -> Callable[..., np.ndarray]:
    """Quantus ``explain_func(model, inputs, targets)`` calling our method on a ScalarModel."""

    def explain_func(model: nn.Module, inputs: np.ndarray, targets: Any, **_: Any) -> np.ndarray:
        while not hasattr(model, "target") and hasattr(model, "inner"):
            model = model.inner  # our wrappers (possibly deep-copied by EfficientMPRT)
        if not hasattr(model, "target"):
            raise TypeError("explain_func: expected the ScalarModel built by quantus_suite")
        x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
        rel = explain_fn(model.model, x, model.target.expand(x.shape[0], 3).clone())
        rel = rel.detach().cpu().numpy() if isinstance(rel, torch.Tensor) else np.asarray(rel)
        return rel.astype(np.float32).reshape(x.shape)

    return explain_func


def _reuse_original(
    explain_func: Callable[..., np.ndarray], original: nn.Module, x: np.ndarray, a: np.ndarray
) -> Callable[..., np.ndarray]:
    """``explain_func`` that returns the precomputed ``a`` for the unrandomised model.

    Quantus' EfficientMPRT ignores ``a_batch`` and explains the original model again before
    randomising it; the method has already done exactly that (same model, windows and targets),
    so the second computation only doubles the metric's cost (and, for a stochastic method, would
    score another draw than the one evaluated everywhere else).
    """

    def explain(model: nn.Module, inputs: np.ndarray, targets: Any, **kwargs: Any) -> np.ndarray:
        if model is original and np.shape(inputs) == x.shape and np.array_equal(inputs, x):
            return a.copy()
        return explain_func(model, inputs, targets, **kwargs)

    return explain


@dataclass(frozen=True)
class View:
    """A chunk as one Quantus call sees it: inputs, attributions, model, ``explain_func``."""

    x: np.ndarray
    a: np.ndarray
    model: nn.Module
    explain: Callable[..., np.ndarray] | None


class Samples:
    """Windows as they are (steps of several window lengths regrouped); one score a window."""

    def view(self, scalar: nn.Module, x: np.ndarray, a: np.ndarray, params: Mapping[str, Any],
             explain: Callable[..., np.ndarray] | None) -> View:
        """The chunk ``x``, ``a`` ``(B, M, T)`` laid out for the metric (see the module)."""
        n, n_mics, n_t = x.shape
        step = params.get("features_in_step", 0)
        if step > n_t:
            k = step // n_t
            grouped = x.reshape(n, n_mics // k, k * n_t)
            return View(grouped, a.reshape(grouped.shape),
                        _Reshaped(scalar, (n_mics, n_t)).eval(), explain)
        return View(x, a, scalar, explain)

    def scores(self, values: np.ndarray, n: int) -> np.ndarray:
        """The ``n`` windows' scores from what the metric returned."""
        return values.reshape(n)


class Regions(Samples):
    """Contiguous time regions over all microphones; a window's score is the mean over its
    evaluated regions."""

    def view(self, scalar: nn.Module, x: np.ndarray, a: np.ndarray, params: Mapping[str, Any],
             explain: Callable[..., np.ndarray] | None) -> View:
        n, n_mics, n_t = x.shape
        patch = params["patch_size"]
        patches = x.reshape(n, n_mics, n_t // patch, patch)
        return View(patches, a.reshape(patches.shape),
                    _Reshaped(scalar, (n_mics, n_t)).eval(), explain)

    def scores(self, values: np.ndarray, n: int) -> np.ndarray:
        return values.reshape(n, -1).mean(axis=1)


class Randomisation(Samples):
    """A non-negative model, and the precomputed relevance for the unrandomised model."""

    def view(self, scalar: nn.Module, x: np.ndarray, a: np.ndarray, params: Mapping[str, Any],
             explain: Callable[..., np.ndarray] | None) -> View:
        model = _NonNegative(scalar).eval()
        return View(x, a, model, None if explain is None else _reuse_original(explain, model,
                                                                                x, a))


SAMPLES, REGIONS, RANDOMISATION = Samples(), Regions(), Randomisation()

__all__ = ["RANDOMISATION", "REGIONS", "SAMPLES", "ExplainFn", "Randomisation", "Regions",
           "Samples", "View", "explain_adapter", "normalise_per_window"]
