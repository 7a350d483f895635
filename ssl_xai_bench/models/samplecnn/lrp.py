"""The study's LRP rules for SampleCNN (Comanducci et al., EUSIPCO 2024; authors' ``lrp_utils.py``).

First conv the first-layer rule; other convs Gamma(0.25); linears (SE included) Epsilon(1e-6);
average pools (the SE squeeze included) and the residual Sum Norm; activations and BatchNorm
Pass; max-pools keep the gradient (as in the authors' code; equal to Norm up to its stabilizer);
with the canonizers of :mod:`ssl_xai_bench.models.samplecnn.canonizers`.
"""

from __future__ import annotations

import torch
from zennit.canonizers import Canonizer
from zennit.composites import NameLayerMapComposite
from zennit.core import Composite, Hook
from zennit.layer import Sum
from zennit.rules import Epsilon, Gamma, Norm, Pass
from zennit.types import Activation, AvgPool, BatchNorm, Convolution

from ssl_xai_bench.models.samplecnn.canonizers import canonizers

GAMMA = 0.25
EPSILON = 1e-6


def composite(first: Hook, canonizers: list[Canonizer] | None = None) -> Composite:
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


__all__ = ["canonizers", "composite"]
