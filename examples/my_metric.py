"""A metric family: how evenly a method spreads its relevance over the microphones."""

import numpy as np

from ssl_xai_bench.metrics.spec import Family, MetricSpec, NoSettings, Scores


def mic_entropy(relevance: np.ndarray) -> np.ndarray:
    """Per window ``(N, M, T) -> (N,)``: entropy of the relevance energy per microphone over
    log M (1 = spread evenly, 0 = on one microphone); NaN for an all-zero window."""
    energy = np.square(relevance, dtype=np.float64).sum(axis=2)
    total = energy.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = energy / total
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return np.where(total[:, 0] > 0, h / np.log(relevance.shape[1]), np.nan)


FAMILY = Family(
    name="mic_spread",
    metrics=(MetricSpec("mic_entropy", "complexity", "up", "ratio",
                        "entropy of relevance energy over microphones / log M"),),
    settings=NoSettings,
    score=lambda cell: Scores(values={"mic_entropy": mic_entropy(cell.relevance)}),
)
