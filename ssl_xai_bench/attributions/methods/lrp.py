"""Layer-wise relevance propagation (Bach et al., 2015) with zennit: the study's composites.

- ``lrp``: the study's composite for the model (Comanducci et al., EUSIPCO 2024; each model's
  rules live beside it, in ``ssl_xai_bench/models/<name>/lrp.py``) with WSquare on the first
  layer; ``lrp_epsilon_first`` and ``lrp_zbox_first`` the same composite with another
  first-layer rule; ``lrp_epsilon_plus_flat`` zennit's EpsilonPlusFlat (Flat first layer, ZPlus
  convolutions, Epsilon dense layers) with the model's canonizers.
- ``output_relevance``: ``"explained"`` (default) starts from ``R_out = w * y_hat``, which sums
  to the explained scalar ``f = <y_hat, w>`` (:mod:`ssl_xai_bench.attributions.target`);
  ``"target"`` feeds ``w`` itself, as the authors' code did.
- ZBox bounds: ``[-max|x|, +max|x|]`` per window by default, or a fixed ``+-zbox_bound``.

Relevance is returned raw and signed. Why the first-layer rule decides whether relevance can
carry an inter-microphone delay, and what each rule costs: ``docs/lrp.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from zennit.canonizers import Canonizer, SequentialMergeBatchNorm
from zennit.composites import EpsilonPlusFlat
from zennit.core import Composite, Hook
from zennit.rules import Epsilon, Flat, WSquare, ZBox

from ssl_xai_bench.attributions.registry import register_method
from ssl_xai_bench.models.registry import spec_of

OUTPUT_RELEVANCE: tuple[str, ...] = ("explained", "target")
SE_RELEVANCE: tuple[str, ...] = ("gate", "signal")
"""SampleCNN's SE routing (``ssl_xai_bench.models.samplecnn.canonizers``); other models ignore
it."""
EPSILON = 1e-6


def _zbox(inputs: torch.Tensor | None, zbox_bound: float | None) -> Hook:
    if zbox_bound is not None:
        return ZBox(low=-float(zbox_bound), high=float(zbox_bound))
    if inputs is None:
        raise ValueError("inputs: the zbox first rule with per-window bounds needs the inputs")
    bound = inputs.detach().abs().amax(dim=(1, 2), keepdim=True)
    return ZBox(low=-bound, high=bound)


#: First-layer rule -> its hook, given the inputs and the fixed ZBox bound (either may be None).
_FIRST_RULES: dict[str, Callable[[torch.Tensor | None, float | None], Hook]] = {
    "wsquare": lambda inputs, bound: WSquare(), "flat": lambda inputs, bound: Flat(),
    "epsilon": lambda inputs, bound: Epsilon(epsilon=EPSILON), "zbox": _zbox}
FIRST_RULES: tuple[str, ...] = tuple(_FIRST_RULES)


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
    if name not in _FIRST_RULES:
        raise ValueError(f"first_rule: must be one of {list(FIRST_RULES)}, got {name!r}")
    return _FIRST_RULES[name](inputs, zbox_bound)



def model_canonizers(model: nn.Module, se_relevance: str = "gate") -> list[Canonizer]:
    """The canonizers of ``model``'s own LRP rules; zennit's ``SequentialMergeBatchNorm`` for a
    model without any."""
    spec = spec_of(model)
    rules = None if spec is None else spec.lrp_rules()
    if rules is None:
        return [SequentialMergeBatchNorm()]
    return rules.canonizers(model, se_relevance=se_relevance)


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
        A registered localizer whose spec names LRP rules (``LocCNN``, ``SampleCNN``).
    first_rule : str
        First-layer rule, one of :data:`FIRST_RULES` (the paper: ``"wsquare"``).
    se_relevance : str
        SampleCNN SE routing (``"gate"`` as the authors, or ``"signal"``).
    inputs, zbox_bound
        See :func:`first_layer_rule`.
    """
    spec = spec_of(model)
    rules = None if spec is None else spec.lrp_rules()
    if rules is None:
        raise ValueError(
            f"model: {type(model).__name__} has no LRP rules of its own (a registered model's "
            "lrp module); use lrp_epsilon_plus_flat for it"
        )
    first = first_layer_rule(first_rule, inputs, zbox_bound)
    return rules.composite(first, rules.canonizers(model, se_relevance=se_relevance))


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
    "SE_RELEVANCE",
    "first_layer_rule",
    "lrp",
    "lrp_epsilon_first",
    "lrp_epsilon_plus_flat",
    "lrp_relevance",
    "lrp_zbox_first",
    "model_canonizers",
    "paper_composite",
]
