"""Zennit canonizers that make SampleCNN LRP-ready (Anders et al., zennit 0.5).

A canonizer temporarily rewrites a model into an equivalent form whose layers LRP rules can see;
removing it restores the original exactly (parameters, buffers and methods). As in the study's
authors' ``lrp_utils.py`` (XAISrcLoc):

- BatchNorm merged into the preceding layer (eval mode only): ``BasicBlock.conv -> BasicBlock.bn``,
  ``ReSE2Block.conv1 -> ReSE2Block.bn1`` and ``dense1 -> bn1`` (zennit ``NamedMergeBatchNorm`` with
  the pairs listed explicitly, so the result does not depend on module registration order);
- the residual ``x + SE(x)`` (``ReSE2Block.residual``) computed by a ``zennit.layer.Sum``
  module over ``stack([x, se], -1)``, so a Norm rule can split relevance between the two terms;
- the SE product ``x * s`` (``SEBlock.scale``) computed by an autograd gate whose backward sends the
  relevance to one factor only. ``se_relevance="gate"`` (the authors' code: their ``SignalOnlyGate``
  is called as ``(x, s)`` so everything goes to ``s``, none directly to ``x``; relevance then
  reaches ``x`` through the SE branch's pooling) or ``"signal"`` (everything to ``x``, as in the
  canonizer of Pahde et al. it was adapted from).
"""

from __future__ import annotations

import torch
from torch import nn
from zennit.canonizers import AttributeCanonizer, Canonizer, NamedMergeBatchNorm
from zennit.layer import Sum

from ssl_xai_bench.models.samplecnn.network import BasicBlock, ReSE2Block, SampleCNN, SEBlock

SE_RELEVANCE: tuple[str, ...] = ("gate", "signal")


class _RoutedProduct(torch.autograd.Function):
    """``x * s`` whose backward sends the whole incoming signal to one factor (the subclass
    says which)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        ctx.gate_shape = gate.shape
        return x * gate


class _GateOnly(_RoutedProduct):
    """``x * s`` whose backward sends the whole incoming signal to ``s``, nothing to ``x``."""

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return torch.zeros_like(grad_output), grad_output.sum_to_size(ctx.gate_shape)


class _SignalOnly(_RoutedProduct):
    """``x * s`` whose backward sends the whole incoming signal to ``x``, nothing to ``s``."""

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return grad_output, grad_output.new_zeros(ctx.gate_shape)


def se_gate_canonizer(se_relevance: str = "gate") -> AttributeCanonizer:
    """Canonizer replacing ``SEBlock.scale`` by the relevance-routing gate.

    Parameters
    ----------
    se_relevance : str
        ``"gate"``: relevance of ``x * s`` goes to ``s`` only; ``"signal"``: to ``x`` only.
    """
    if se_relevance not in SE_RELEVANCE:
        raise ValueError(f"se_relevance: must be one of {list(SE_RELEVANCE)}, got {se_relevance!r}")
    function = _GateOnly if se_relevance == "gate" else _SignalOnly

    def scale(x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        return function.apply(x, gate)

    def attribute_map(name: str, module: nn.Module) -> dict | None:
        return {"scale": scale} if isinstance(module, SEBlock) else None

    return AttributeCanonizer(attribute_map)


def _residual_sum(self: ReSE2Block, x: torch.Tensor, se: torch.Tensor) -> torch.Tensor:
    return self.canonizer_sum(torch.stack([x, se], dim=-1))


def residual_sum_canonizer() -> AttributeCanonizer:
    """Canonizer computing ``ReSE2Block.residual`` with a ``zennit.layer.Sum`` module."""

    def attribute_map(name: str, module: nn.Module) -> dict | None:
        if isinstance(module, ReSE2Block):
            return {"residual": _residual_sum.__get__(module), "canonizer_sum": Sum(dim=-1)}
        return None

    return AttributeCanonizer(attribute_map)


def samplecnn_batchnorm_pairs(model: SampleCNN) -> list[tuple[tuple[str], str]]:
    """``(linear names, batch-norm name)`` pairs to merge (zennit ``NamedMergeBatchNorm`` form)."""
    pairs: list[tuple[tuple[str], str]] = []
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(module, BasicBlock):
            pairs.append(((f"{prefix}conv",), f"{prefix}bn"))
        elif isinstance(module, ReSE2Block):
            pairs.append(((f"{prefix}conv1",), f"{prefix}bn1"))
        elif isinstance(module, SampleCNN):
            pairs.append(((f"{prefix}dense1",), f"{prefix}bn1"))
    return pairs


def canonizers(model: SampleCNN, *, se_relevance: str = "gate") -> list[Canonizer]:
    """The canonizers of ``model`` (fresh instances; a composite applies and removes them).

    Parameters
    ----------
    model : SampleCNN
    se_relevance : str
        The SE routing, see :func:`se_gate_canonizer`.
    """
    return [
        NamedMergeBatchNorm(samplecnn_batchnorm_pairs(model)),
        residual_sum_canonizer(),
        se_gate_canonizer(se_relevance),
    ]


__all__ = [
    "SE_RELEVANCE",
    "canonizers",
    "residual_sum_canonizer",
    "samplecnn_batchnorm_pairs",
    "se_gate_canonizer",
]
