"""The explained quantity: one scalar per window, shared by every attribution method and metric.

The study (Comanducci et al., EUSIPCO 2024; ``../shared/spec/PAPER.md``) explains a localizer's
``(B, 3)`` position output in metres through the scalar ``<y_hat(x), p_gt>``: the output feeds the
ground-truth position as its relevance / gradient. Every method here explains the same quantity:

- ``"position"`` (default): ``f(x) = <y_hat(x), p_gt>``, units m^2;
- ``"x"``, ``"y"``, ``"z"``: one coordinate, ``f(x) = y_hat_k(x) * p_gt_k`` (the one-hot output
  relevance times that coordinate's ground truth; divide by ``p_gt_k`` for ``y_hat_k`` itself).

All modes are the dot product ``<y_hat(x), w>`` with a weight vector ``w = output_weights(target,
mode)`` of shape ``(B, 3)``; the methods only ever see ``w`` (their ``target`` argument), so they
need not know the mode. :class:`ScalarModel` wraps a localizer as a one-output model (what Quantus
expects, with ``softmax=False``), and :func:`conservation_ratio` compares a relevance map's sum with
the explained scalar (the LRP conservation property).
"""

from __future__ import annotations

import torch
from torch import nn

TARGET_MODES: tuple[str, ...] = ("position", "x", "y", "z")
_COORDINATE = {"x": 0, "y": 1, "z": 2}


def check_target_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`TARGET_MODES`, else raise ``ValueError``."""
    if mode not in TARGET_MODES:
        raise ValueError(f"target_mode: must be one of {list(TARGET_MODES)}, got {mode!r}")
    return mode


def output_weights(target: torch.Tensor, mode: str = "position") -> torch.Tensor:
    """Weights ``w`` (B, 3) such that the explained scalar is ``<y_hat, w>``.

    Parameters
    ----------
    target : Tensor (B, 3)
        Ground-truth positions in metres.
    mode : str
        One of :data:`TARGET_MODES`.

    Returns
    -------
    Tensor (B, 3)
        ``target`` itself for ``"position"``; ``target`` masked to one coordinate otherwise.
    """
    check_target_mode(mode)
    if target.ndim != 2 or target.shape[1] != 3:
        raise ValueError(f"target: must have shape (B, 3), got {tuple(target.shape)}")
    if mode == "position":
        return target
    mask = torch.zeros(3, dtype=target.dtype, device=target.device)
    mask[_COORDINATE[mode]] = 1.0
    return target * mask


def explained_scalar(
    output: torch.Tensor, target: torch.Tensor, mode: str = "position"
) -> torch.Tensor:
    """The explained scalar per window.

    Parameters
    ----------
    output : Tensor (B, 3)
        Model output ``y_hat`` in metres.
    target : Tensor (B, 3)
        Ground-truth positions in metres.
    mode : str
        ``"position"`` for ``<y_hat, p_gt>``; ``"x"``/``"y"``/``"z"`` for ``y_hat_k * p_gt_k``.

    Returns
    -------
    Tensor (B,)
        Differentiable with respect to ``output``.
    """
    if output.shape != target.shape:
        raise ValueError(
            f"target: shape {tuple(target.shape)} does not match the output {tuple(output.shape)}"
        )
    weights = output_weights(target, mode).to(dtype=output.dtype, device=output.device)
    return (output * weights).sum(dim=1)


class ScalarModel(nn.Module):
    """A localizer seen as a one-output model: ``forward(x) -> (B, 1)`` explained scalar.

    Parameters
    ----------
    model : nn.Module
        The localizer, ``(B, M, T) -> (B, 3)``.
    target : Tensor (B, 3) or (3,)
        Ground-truth positions; row ``i`` belongs to batch row ``i`` of every call. A single row
        (or a ``(3,)`` vector) is broadcast to any batch. Replace it with :meth:`set_target` when
        the batch changes (e.g. call Quantus one batch at a time).
    mode : str
        One of :data:`TARGET_MODES`.
    """

    def __init__(self, model: nn.Module, target: torch.Tensor, mode: str = "position") -> None:
        super().__init__()
        self.model = model
        self.mode = check_target_mode(mode)
        self.register_buffer("target", self._as_rows(target), persistent=False)

    @staticmethod
    def _as_rows(target: torch.Tensor) -> torch.Tensor:
        target = torch.as_tensor(target, dtype=torch.float32)
        if target.ndim == 1:
            target = target[None, :]
        if target.ndim != 2 or target.shape[1] != 3:
            raise ValueError(f"target: must have shape (B, 3) or (3,), got {tuple(target.shape)}")
        return target

    def set_target(self, target: torch.Tensor) -> None:
        """Replace the target rows (kept on the buffer's device)."""
        self.target = self._as_rows(target).to(self.target.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self.model(x)
        target = self.target.to(dtype=output.dtype, device=output.device)
        if target.shape[0] == 1:
            target = target.expand(output.shape[0], 3)
        elif target.shape[0] != output.shape[0]:
            raise ValueError(
                f"target: has {target.shape[0]} rows but the batch has {output.shape[0]} windows; "
                "set_target() with the rows of this batch"
            )
        return explained_scalar(output, target, self.mode)[:, None]


@torch.no_grad()
def conservation_ratio(
    relevance: torch.Tensor,
    model: nn.Module,
    inputs: torch.Tensor,
    target: torch.Tensor,
    target_mode: str = "position",
) -> torch.Tensor:
    """LRP conservation: ``sum(relevance) / explained scalar`` per window.

    1 means all of the explained scalar reached the input; LRP rules whose denominators include
    biases (Epsilon, Gamma, merged BatchNorm) let some of it be absorbed; the ratio says how much.

    Parameters
    ----------
    relevance : Tensor (B, M, T)
    model : nn.Module
        The localizer (evaluated in eval mode; its mode is restored afterwards).
    inputs : Tensor (B, M, T)
    target : Tensor (B, 3)
    target_mode : str
        Mode the relevance was computed with.

    Returns
    -------
    Tensor (B,)
        float64 on CPU; ``nan``/``inf`` where the explained scalar is 0.
    """
    if relevance.shape != inputs.shape:
        raise ValueError(
            f"relevance: shape {tuple(relevance.shape)} differs from inputs {tuple(inputs.shape)}"
        )
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters())
        dtype = param.dtype if param.is_floating_point() else torch.float32
        output = model(inputs.to(device=param.device, dtype=dtype))
        scalar = explained_scalar(
            output, target.to(device=output.device, dtype=output.dtype), target_mode
        )
    finally:
        model.train(was_training)
    total = relevance.detach().to(torch.float64).flatten(1).sum(dim=1).cpu()
    return total / scalar.detach().to(torch.float64).cpu()


__all__ = [
    "TARGET_MODES",
    "ScalarModel",
    "check_target_mode",
    "conservation_ratio",
    "explained_scalar",
    "output_weights",
]
