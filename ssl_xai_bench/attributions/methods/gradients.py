"""Gradient and perturbation baselines, computed with Captum (Kokhlikyan et al., 2020).

Every method explains ``f(x) = <model(x), w>`` per window (``w`` (B, 3) from
:func:`ssl_xai_bench.attributions.target.output_weights`) and returns a signed ``(B, M, T)`` map:

- ``gradient``: ``df/dx`` (Captum ``Saliency`` with ``abs=False``); one forward + one backward.
- ``gradient_x_input``: ``x * df/dx`` (Captum ``InputXGradient``); same cost.
- ``integrated_gradients``: ``(x - x0) * mean_a df/dx(x0 + a (x - x0))`` (Sundararajan et al., 2017;
  Captum ``IntegratedGradients``, Gauss-Legendre by default); baseline ``x0`` zeros or a constant;
  cost ``n_steps`` forward+backward passes (default 32), run ``internal_batch_size`` (default 32)
  path points at a time.
- ``occlusion``: ``f(x) - f(x with a window set to 0)``, averaged over the windows covering each
  sample (Zeiler & Fergus, 2014; Captum ``Occlusion``); windows of ``window`` samples every
  ``stride`` samples, spanning all microphones (``mode="all_mics"``, about ``T / stride`` forwards)
  or one microphone (``"per_mic"``, about ``M T / stride`` forwards). Defaults 256 / 256 /
  ``all_mics``: 20 forwards per window at T = 5120, cheap enough for a CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from captum.attr import InputXGradient, IntegratedGradients, Occlusion, Saliency
from torch import nn

from ssl_xai_bench.attributions.registry import register_method


def _scalar_fn(model: nn.Module):
    """``forward(x, w) -> (B,)`` explained scalar, in the form Captum calls it."""

    def forward(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return (model(x) * weights.to(dtype=x.dtype)).sum(dim=1)

    return forward


def _leaf(inputs: torch.Tensor) -> torch.Tensor:
    """A fresh leaf copy of ``inputs`` that requires grad (the caller's tensor is untouched)."""
    return inputs.detach().clone().requires_grad_(True)


@register_method(
    "gradient",
    family="gradient",
    description="signed gradient of the explained scalar (Captum Saliency, abs=False)",
)
def gradient(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Signed gradient ``df/dx``."""
    return Saliency(_scalar_fn(model)).attribute(
        _leaf(inputs), abs=False, additional_forward_args=(target,)
    )


@register_method(
    "gradient_x_input",
    family="gradient",
    description="input times gradient of the explained scalar (Captum InputXGradient)",
)
def gradient_x_input(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``x * df/dx``."""
    return InputXGradient(_scalar_fn(model)).attribute(
        _leaf(inputs), additional_forward_args=(target,)
    )


IG_METHODS = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right",
              "riemann_middle")


def _check_ig(params: Mapping[str, Any], input_shape: tuple[int, ...] | None) -> None:
    n_steps = params["n_steps"]
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps: must be a positive int, got {n_steps!r}")
    baseline = params["baseline"]
    is_number = isinstance(baseline, int | float) and not isinstance(baseline, bool)
    if baseline != "zeros" and not is_number:
        raise ValueError(f"baseline: must be 'zeros' or a number, got {baseline!r}")
    if params["method"] not in IG_METHODS:
        raise ValueError(f"method: must be one of {list(IG_METHODS)}, got {params['method']!r}")
    ibs = params["internal_batch_size"]
    if ibs is not None and (isinstance(ibs, bool) or not isinstance(ibs, int) or ibs < 1):
        raise ValueError(f"internal_batch_size: must be a positive int or None, got {ibs!r}")


@register_method(
    "integrated_gradients",
    family="gradient",
    defaults={"n_steps": 32, "baseline": "zeros", "method": "gausslegendre",
              "internal_batch_size": 32},
    description="integrated gradients from a constant baseline (Captum)",
    validator=_check_ig,
)
def integrated_gradients(
    model: nn.Module,
    inputs: torch.Tensor,
    target: torch.Tensor,
    *,
    n_steps: int,
    baseline: str | float,
    method: str,
    internal_batch_size: int | None,
) -> torch.Tensor:
    """Integrated gradients; completeness: ``sum(R) ~ f(x) - f(x0)``.

    ``internal_batch_size`` is the number of path points (windows x steps) per forward-backward
    pass; it is raised to the number of windows when smaller (Captum's minimum). None runs all
    ``n_steps x B`` at once: for SampleCNN at B = 16 that is 7 GB and 3x slower on a CPU than
    chunks of 32, which stay in cache.
    """
    x0 = 0.0 if baseline == "zeros" else float(baseline)
    if internal_batch_size is not None:
        internal_batch_size = max(internal_batch_size, int(inputs.shape[0]))
    return IntegratedGradients(_scalar_fn(model)).attribute(
        _leaf(inputs),
        baselines=x0,
        additional_forward_args=(target,),
        n_steps=n_steps,
        method=method,
        internal_batch_size=internal_batch_size,
    )


OCCLUSION_MODES = ("all_mics", "per_mic")


def _check_occlusion(params: Mapping[str, Any], input_shape: tuple[int, ...] | None) -> None:
    for key in ("window", "stride", "perturbations_per_eval"):
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key}: must be a positive int, got {value!r}")
    if params["stride"] > params["window"]:
        raise ValueError(
            f"stride: must be <= window ({params['window']}) so every sample is occluded, "
            f"got {params['stride']}"
        )
    if params["mode"] not in OCCLUSION_MODES:
        raise ValueError(f"mode: must be one of {list(OCCLUSION_MODES)}, got {params['mode']!r}")
    if input_shape is not None and params["window"] > input_shape[-1]:
        raise ValueError(
            f"window: must be <= the window length T = {input_shape[-1]}, got {params['window']}"
        )


@register_method(
    "occlusion",
    family="perturbation",
    defaults={"window": 256, "stride": 256, "mode": "all_mics", "perturbations_per_eval": 8},
    description="drop in the explained scalar when a window of samples is set to zero (Captum)",
    validator=_check_occlusion,
)
def occlusion(
    model: nn.Module,
    inputs: torch.Tensor,
    target: torch.Tensor,
    *,
    window: int,
    stride: int,
    mode: str,
    perturbations_per_eval: int,
) -> torch.Tensor:
    """Occlusion with zero baseline; window and stride in samples."""
    rows = inputs.shape[1] if mode == "all_mics" else 1
    with torch.no_grad():
        return Occlusion(_scalar_fn(model)).attribute(
            inputs,
            sliding_window_shapes=(rows, window),
            strides=(rows, stride),
            baselines=0.0,
            additional_forward_args=(target,),
            perturbations_per_eval=perturbations_per_eval,
        )


__all__ = ["gradient", "gradient_x_input", "integrated_gradients", "occlusion"]
