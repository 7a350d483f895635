"""The study's LRP rules for LocCNN (Comanducci et al., EUSIPCO 2024; authors' ``lrp_utils.py``).

A name map: ``conv1`` the first-layer rule; ``conv2``-``conv5`` Gamma(0.25); the max-pools Norm;
``fc1``, ``fc2`` Epsilon(1e-6); ReLUs and dropout Pass. LocCNN has nothing to canonize.
"""

from __future__ import annotations

from torch import nn
from zennit.canonizers import Canonizer
from zennit.composites import NameMapComposite
from zennit.core import Composite, Hook
from zennit.rules import Epsilon, Gamma, Norm, Pass

GAMMA = 0.25
EPSILON = 1e-6


def canonizers(model: nn.Module, *, se_relevance: str = "gate") -> list[Canonizer]:
    """None: LocCNN's layers are all visible to LRP rules as they are."""
    return []


def composite(first: Hook, canonizers: list[Canonizer] | None = None) -> Composite:
    """The study's LocCNN name map with ``first`` on ``conv1``."""
    name_map = [
        (("conv1",), first),
        (("conv2", "conv3", "conv4", "conv5"), Gamma(gamma=GAMMA)),
        (("pool1", "pool3", "pool4"), Norm()),
        (("fc1", "fc2"), Epsilon(epsilon=EPSILON)),
        (("relu1", "relu2", "relu3", "relu4", "relu5", "relu6", "dropout"), Pass()),
    ]
    return NameMapComposite(name_map=name_map, canonizers=canonizers)
