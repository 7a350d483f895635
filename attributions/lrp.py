"""Layer-wise relevance propagation (Bach et al., 2015) with zennit: the study's composites.

Composites of Comanducci et al. (EUSIPCO 2024; authors' ``lrp_utils.py``):

- LocCNN (a name map): ``conv1`` WSquare; ``conv2``-``conv5`` Gamma(0.25); the max-pools Norm;
  ``fc1``, ``fc2`` Epsilon(1e-6); ReLUs and dropout Pass.
- SampleCNN: first conv WSquare; other convs Gamma(0.25); linears (SE included) Epsilon(1e-6);
  average pools (the SE squeeze included) and the residual Sum Norm; activations and BatchNorm Pass;
  max-pools keep the gradient (as in the authors' code; equal to Norm up to its stabilizer); with
  the canonizers of :mod:`attributions.canonizers` (BatchNorm merged, residual Sum, SE gate).

Variants: ``lrp_epsilon_first`` and ``lrp_zbox_first`` (the paper composite with another first-layer
rule) and ``lrp_epsilon_plus_flat`` (zennit's standard EpsilonPlusFlat: Flat first layer, ZPlus
convolutions, Epsilon dense layers, with the model's canonizers).

Why the first-layer rule decides whether relevance can carry inter-microphone delays: WSquare and
Flat redistribute the first layer's relevance in proportion to ``w^2`` (or 1), never looking at the
input. Each microphone's relevance is then a fixed short filter (the squared kernel taps of that
input channel) applied to the *same* time-aligned relevance maps of the first layer's outputs, so
every microphone gets a fixed mixture of identical maps and the relevance cannot carry a delay
between microphones larger than the first kernel (7 or 3 samples) allows, whatever the signals'
delay. Rules that weigh by the input (Epsilon, ZBox, Gamma; gradient x input) keep each
microphone's own samples in the relevance, so a delay can survive. ZBox uses the input's bounds:
``[-max|x|, +max|x|]`` per window by default (``zbox_bound=None``), or a fixed ``+-zbox_bound``
(e.g. the data range).

Output relevance (``output_relevance``): ``"explained"`` (default) starts from
``R_out = d f / d y_hat * y_hat = w * y_hat`` so that it sums to the explained scalar
``f = <y_hat, w>`` of :mod:`attributions.target` and :func:`attributions.target.conservation_ratio`
measures what reaches the input; ``"target"`` feeds ``w`` itself (zennit ``grad_output = p_gt``),
which is what the authors' code did (relevance then sums to about ``sum(p_gt)``, not ``f``).
Relevance is returned raw and signed. Cost: one forward and one modified backward pass, but each
rule re-evaluates its layer in the backward (Gamma 5 times), so about 10-20 forward passes per
window on a CPU (``docs/PERFORMANCE.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from zennit.composites import EpsilonPlusFlat, NameLayerMapComposite, NameMapComposite
from zennit.core import Composite, Hook
from zennit.layer import Sum
from zennit.rules import Epsilon, Flat, Gamma, Norm, Pass, WSquare, ZBox
from zennit.types import Activation, AvgPool, BatchNorm, Convolution

from attributions.canonizers import SE_RELEVANCE, model_canonizers
from attributions.registry import register_method
from ssl_models.loccnn import LocCNN
from ssl_models.samplecnn import SampleCNN

FIRST_RULES: tuple[str, ...] = ("wsquare", "flat", "epsilon", "zbox")
OUTPUT_RELEVANCE: tuple[str, ...] = ("explained", "target")
GAMMA = 0.25
EPSILON = 1e-6


def first_layer_rule(name: str, inputs: torch.Tensor | None = None,
                     zbox_bound: float | None = None) -> Hook:
    """The rule for the first layer.

    Parameters
    ----------
    name : str
        One of :data:`FIRST_RULES`.
    inputs : Tensor (B, M, T), optional
        Needed by ``"zbox"`` with ``zbox_bound=None`` (bounds ``+-max|x|`` per window).
    zbox_bound : float, optional
        Fixed ZBox bounds ``[-zbox_bound, +zbox_bound]``.
    """
    if name == "wsquare":
        return WSquare()
    if name == "flat":
        return Flat()
    if name == "epsilon":
        return Epsilon(epsilon=EPSILON)
    if name == "zbox":
        if zbox_bound is not None:
            return ZBox(low=-float(zbox_bound), high=float(zbox_bound))
        if inputs is None:
            raise ValueError("inputs: the zbox first rule with per-window bounds needs the inputs")
        bound = inputs.detach().abs().amax(dim=(1, 2), keepdim=True)
        return ZBox(low=-bound, high=bound)
    raise ValueError(f"first_rule: must be one of {list(FIRST_RULES)}, got {name!r}")


def loccnn_composite(first: Hook, canonizers: list | None = None) -> Composite:
    """The study's LocCNN name map with ``first`` on ``conv1``."""
    name_map = [
        (("conv1",), first),
        (("conv2", "conv3", "conv4", "conv5"), Gamma(gamma=GAMMA)),
        (("pool1", "pool3", "pool4"), Norm()),
        (("fc1", "fc2"), Epsilon(epsilon=EPSILON)),
        (("relu1", "relu2", "relu3", "relu4", "relu5", "relu6", "dropout"), Pass()),
    ]
    return NameMapComposite(name_map=name_map, canonizers=canonizers)


def samplecnn_composite(first: Hook, canonizers: list | None = None) -> Composite:
    """The study's SampleCNN composite with ``first`` on ``BasicBlock1.conv``."""
    layer_map = [
        (Sum, Norm()),
        (AvgPool, Norm()),
        (Convolution, Gamma(gamma=GAMMA)),
        (torch.nn.Linear, Epsilon(epsilon=EPSILON)),
        (Activation, Pass()),
        (BatchNorm, Pass()),
    ]
    return NameLayerMapComposite(
        name_map=[(("BasicBlock1.conv",), first)], layer_map=layer_map, canonizers=canonizers
    )


def paper_composite(
    model: nn.Module,
    first_rule: str = "wsquare",
    *,
    se_relevance: str = "gate",
    inputs: torch.Tensor | None = None,
    zbox_bound: float | None = None,
) -> Composite:
    """The study's composite for ``model`` (LocCNN or SampleCNN), canonizers included.

    Parameters
    ----------
    model : nn.Module
        ``LocCNN`` or ``SampleCNN``.
    first_rule : str
        First-layer rule, one of :data:`FIRST_RULES` (the paper: ``"wsquare"``).
    se_relevance : str
        SampleCNN SE routing (``"gate"`` as the authors, or ``"signal"``).
    inputs, zbox_bound
        See :func:`first_layer_rule`.
    """
    first = first_layer_rule(first_rule, inputs, zbox_bound)
    canonizers = model_canonizers(model, se_relevance)
    if isinstance(model, LocCNN):
        return loccnn_composite(first, canonizers)
    if isinstance(model, SampleCNN):
        return samplecnn_composite(first, canonizers)
    raise ValueError(
        f"model: the paper LRP composites exist for LocCNN and SampleCNN, got "
        f"{type(model).__name__}; use lrp_epsilon_plus_flat for other models"
    )


def lrp_relevance(
    model: nn.Module,
    inputs: torch.Tensor,
    target: torch.Tensor,
    composite: Composite,
    output_relevance: str = "explained",
) -> torch.Tensor:
    """Relevance of ``inputs`` under ``composite``, starting from the output relevance.

    Parameters
    ----------
    model : nn.Module
        Localizer in eval mode.
    inputs : Tensor (B, M, T)
    target : Tensor (B, 3)
        Weights ``w`` of the explained scalar ``<y_hat, w>``.
    composite : zennit Composite
        Registered for the duration of the call; hooks and canonizers are removed afterwards.
    output_relevance : str
        ``"explained"`` (``R_out = w * y_hat``) or ``"target"`` (``R_out = w``).

    Returns
    -------
    Tensor (B, M, T)
        Signed relevance.
    """
    if output_relevance not in OUTPUT_RELEVANCE:
        raise ValueError(
            f"output_relevance: must be one of {list(OUTPUT_RELEVANCE)}, got {output_relevance!r}"
        )
    x = inputs.detach().clone().requires_grad_(True)
    with composite.context(model) as modified:
        output = modified(x)
        weights = target.to(dtype=output.dtype, device=output.device)
        start = weights * output.detach() if output_relevance == "explained" else weights
        (relevance,) = torch.autograd.grad(output, x, grad_outputs=start)
    return relevance


def _check_lrp(params: Mapping[str, Any], input_shape: tuple[int, ...] | None) -> None:
    if params["se_relevance"] not in SE_RELEVANCE:
        raise ValueError(
            f"se_relevance: must be one of {list(SE_RELEVANCE)}, got {params['se_relevance']!r}"
        )
    if params["output_relevance"] not in OUTPUT_RELEVANCE:
        raise ValueError(
            f"output_relevance: must be one of {list(OUTPUT_RELEVANCE)}, "
            f"got {params['output_relevance']!r}"
        )
    bound = params.get("zbox_bound")
    if bound is not None and (
        isinstance(bound, bool) or not isinstance(bound, int | float) or not bound > 0
    ):
        raise ValueError(f"zbox_bound: must be a positive number or None, got {bound!r}")


_LRP_DEFAULTS = {"se_relevance": "gate", "output_relevance": "explained"}


def _paper_lrp(model, inputs, target, first_rule, se_relevance, output_relevance,
               zbox_bound=None) -> torch.Tensor:
    composite = paper_composite(model, first_rule, se_relevance=se_relevance, inputs=inputs,
                                zbox_bound=zbox_bound)
    return lrp_relevance(model, inputs, target, composite, output_relevance)


@register_method(
    "lrp",
    family="lrp",
    defaults=_LRP_DEFAULTS,
    description="LRP, the study's composite (WSquare first, Gamma convs, Epsilon dense)",
    validator=_check_lrp,
)
def lrp(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, *, se_relevance: str,
        output_relevance: str) -> torch.Tensor:
    """LRP with the study's composite."""
    return _paper_lrp(model, inputs, target, "wsquare", se_relevance, output_relevance)


@register_method(
    "lrp_epsilon_first",
    family="lrp",
    defaults=_LRP_DEFAULTS,
    description="LRP, the study's composite with an Epsilon first layer",
    validator=_check_lrp,
)
def lrp_epsilon_first(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, *,
                      se_relevance: str, output_relevance: str) -> torch.Tensor:
    """LRP, paper composite with Epsilon(1e-6) on the first layer."""
    return _paper_lrp(model, inputs, target, "epsilon", se_relevance, output_relevance)


@register_method(
    "lrp_zbox_first",
    family="lrp",
    defaults={**_LRP_DEFAULTS, "zbox_bound": None},
    description="LRP, the study's composite with a ZBox first layer (input bounds)",
    validator=_check_lrp,
)
def lrp_zbox_first(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, *,
                   se_relevance: str, output_relevance: str,
                   zbox_bound: float | None) -> torch.Tensor:
    """LRP, paper composite with ZBox on the first layer (``+-max|x|`` per window by default)."""
    return _paper_lrp(model, inputs, target, "zbox", se_relevance, output_relevance, zbox_bound)


@register_method(
    "lrp_epsilon_plus_flat",
    family="lrp",
    defaults=_LRP_DEFAULTS,
    description="LRP, zennit's EpsilonPlusFlat composite with the model's canonizers",
    validator=_check_lrp,
)
def lrp_epsilon_plus_flat(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, *,
                          se_relevance: str, output_relevance: str) -> torch.Tensor:
    """LRP with zennit's EpsilonPlusFlat (Flat first, ZPlus convs, Epsilon dense)."""
    composite = EpsilonPlusFlat(canonizers=model_canonizers(model, se_relevance))
    return lrp_relevance(model, inputs, target, composite, output_relevance)


__all__ = [
    "FIRST_RULES",
    "OUTPUT_RELEVANCE",
    "first_layer_rule",
    "loccnn_composite",
    "lrp",
    "lrp_epsilon_first",
    "lrp_epsilon_plus_flat",
    "lrp_relevance",
    "lrp_zbox_first",
    "paper_composite",
    "samplecnn_composite",
]
