"""A metric: how evenly a method spreads its relevance over the microphones."""

import numpy as np

from ssl_xai_bench.metrics import Headline, register_metric


@register_metric(
    "mic_entropy", category="complexity", direction="up", unit="ratio", margin=0.02,
    description="entropy of relevance energy over microphones / log M",
    headline=Headline("Microphone spread", "Spread", reference="the controls"),
)
def mic_entropy(cell, *, mic_entropy_floor=0.0):
    """Per window: the entropy of the relevance energy per microphone over log M (1 = spread
    evenly, 0 = on one microphone); NaN where the energy is not above the floor."""
    energy = np.square(cell.relevance, dtype=np.float64).sum(axis=2)
    total = energy.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = energy / total
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return np.where(total[:, 0] > mic_entropy_floor, h / np.log(energy.shape[1]), np.nan)
