"""One call for every attribution method: ``attribute(method, model, inputs, target, **params)``.

``inputs`` are raw windows ``(B, M, T)`` (M microphones, T samples), ``target`` the ground-truth
positions ``(B, 3)`` in metres; both are cast to the model's dtype (float32 for the localizers).
The result is a relevance map ``(B, M, T)``, float32, signed, on
the CPU, explaining the scalar of :mod:`ssl_xai_bench.attributions.target` (``target_mode`` picks
it; default the study's ``<y_hat(x), p_gt>``). The model is evaluated in eval mode (its previous
mode is restored).

``attribute`` splits the inputs into chunks of ``batch_size`` windows, calls the method on each
chunk (on the model's device) and checks every result: a method that raises, returns a non-tensor,
the wrong shape, a non-floating dtype or NaN/inf raises :class:`AttributionError` with the reason.
Unknown methods or parameters raise ``ValueError`` naming the field, before any compute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ssl_xai_bench.attributions.errors import AttributionError
from ssl_xai_bench.attributions.registry import MethodSpec, get_method
from ssl_xai_bench.attributions.target import check_target_mode, output_weights

COMMON_PARAMS: Mapping[str, Any] = {"target_mode": "position"}


def resolve_params(
    method: str | MethodSpec, params: Mapping[str, Any], input_shape: tuple[int, ...] | None = None
) -> dict[str, Any]:
    """Merge ``params`` over a method's defaults and validate them (no compute).

    Parameters
    ----------
    method : str or MethodSpec
        Registered method name or its spec.
    params : Mapping
        User parameters; ``target_mode`` is accepted for every method.
    input_shape : tuple, optional
        ``(B, M, T)`` when known, passed to the method's validator.

    Returns
    -------
    dict
        The method's parameters (defaults filled in), without ``target_mode``.

    Raises
    ------
    ValueError
        Unknown method, unknown parameter name, or a value the method's validator rejects.
    """
    spec = method if isinstance(method, MethodSpec) else get_method(method)
    allowed = set(spec.defaults) | set(COMMON_PARAMS)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"params: method {spec.name!r} does not accept {unknown}; allowed: {sorted(allowed)}"
        )
    check_target_mode(params.get("target_mode", COMMON_PARAMS["target_mode"]))
    merged = {**spec.defaults, **{k: v for k, v in params.items() if k in spec.defaults}}
    if spec.validator is not None:
        spec.validator(merged, input_shape)
    return merged


def _check_inputs(inputs: Any, target: Any, batch_size: Any) -> None:
    if not isinstance(inputs, torch.Tensor):
        raise ValueError(f"inputs: must be a torch.Tensor, got {type(inputs).__name__}")
    if inputs.ndim != 3 or 0 in inputs.shape:
        raise ValueError(f"inputs: must have shape (B, M, T) with B, M, T > 0, got "
                         f"{tuple(inputs.shape)}")
    if not inputs.is_floating_point():
        raise ValueError(f"inputs: must be floating point, got {inputs.dtype}")
    if not isinstance(target, torch.Tensor):
        raise ValueError(f"target: must be a torch.Tensor, got {type(target).__name__}")
    if target.shape != (inputs.shape[0], 3):
        raise ValueError(
            f"target: must have shape (B, 3) = ({inputs.shape[0]}, 3), got {tuple(target.shape)}"
        )
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"batch_size: must be a positive int or None, got {batch_size!r}")


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of the model's first parameter (CPU float32 if none)."""
    for tensor in model.parameters():
        dtype = tensor.dtype if tensor.is_floating_point() else torch.float32
        return tensor.device, dtype
    return torch.device("cpu"), torch.float32


def _check_output(name: str, result: Any, expected: torch.Size) -> torch.Tensor:
    if not isinstance(result, torch.Tensor):
        raise AttributionError(name, f"returned {type(result).__name__}, expected a torch.Tensor")
    if result.shape != expected:
        raise AttributionError(
            name, f"returned shape {tuple(result.shape)}, expected {tuple(expected)}"
        )
    if not result.is_floating_point():
        raise AttributionError(name, f"returned dtype {result.dtype}, expected floating point")
    result = result.detach().to(device="cpu", dtype=torch.float32)
    bad = ~torch.isfinite(result)
    if bad.any():
        n_nan = int(torch.isnan(result).sum())
        raise AttributionError(
            name, f"returned {int(bad.sum())} non-finite values ({n_nan} NaN) of {result.numel()}"
        )
    return result


def attribute(
    method: str,
    model: nn.Module,
    inputs: torch.Tensor,
    target: torch.Tensor,
    *,
    batch_size: int | None = None,
    **params: Any,
) -> torch.Tensor:
    """Relevance of every input sample for the explained scalar.

    Parameters
    ----------
    method : str
        A registered method (:func:`ssl_xai_bench.attributions.list_methods`).
    model : nn.Module
        Localizer ``(B, M, T) -> (B, 3)``; used in eval mode, mode restored afterwards.
    inputs : Tensor (B, M, T)
        Raw windows.
    target : Tensor (B, 3)
        Ground-truth positions in metres.
    batch_size : int, optional
        Windows per call of the method (default: all at once).
    **params
        Method parameters (see ``MethodSpec.defaults``) and ``target_mode``
        (``"position"`` | ``"x"`` | ``"y"`` | ``"z"``).

    Returns
    -------
    Tensor (B, M, T)
        float32, signed, on the CPU.

    Raises
    ------
    ValueError
        Bad method name, parameter, input shape or batch size (before any compute).
    AttributionError
        The method raised, or returned a wrong shape/dtype or non-finite values.
    """
    spec = get_method(method)
    _check_inputs(inputs, target, batch_size)
    method_params = resolve_params(spec, params, tuple(inputs.shape))
    mode = params.get("target_mode", COMMON_PARAMS["target_mode"])

    device, dtype = _model_device_dtype(model)
    weights = output_weights(target.detach().to(dtype), mode)
    step = batch_size or inputs.shape[0]
    was_training = model.training
    model.eval()
    chunks = []
    try:
        for start in range(0, inputs.shape[0], step):
            x = inputs[start:start + step].detach().to(device=device, dtype=dtype)
            chunks.append(_run(spec, model, x, weights[start:start + step].to(device),
                               method_params))
    finally:
        model.train(was_training)
    return torch.cat(chunks, dim=0)


def _run(spec: Any, model: nn.Module, x: torch.Tensor, w: torch.Tensor,
         params: dict[str, Any]) -> torch.Tensor:
    """The method on one chunk, its output checked; any failure is an ``AttributionError``."""
    try:
        result = spec.fn(model, x, w, **params)
    except AttributionError:
        raise
    except Exception as exc:
        raise AttributionError(spec.name, f"{type(exc).__name__}: {exc}") from exc
    return _check_output(spec.name, result, x.shape)


__all__ = ["COMMON_PARAMS", "attribute", "resolve_params"]
