"""Name -> class registry of the localizers (``loccnn``, ``samplecnn``)."""

from __future__ import annotations

from torch import nn

from ssl_models.loccnn import LocCNN
from ssl_models.samplecnn import SampleCNN

MODELS: dict[str, type[nn.Module]] = {"loccnn": LocCNN, "samplecnn": SampleCNN}


def build_model(
    name: str, n_mics: int = 16, window_length: int = 5120, paper_quirks: bool = True
) -> nn.Module:
    """Instantiate a localizer by name.

    Parameters
    ----------
    name : str
        One of ``MODELS`` (``loccnn``, ``samplecnn``).
    n_mics, window_length : int
        Input shape ``(M, T)``.
    paper_quirks : bool
        Keep the study's quirks (see the model modules).
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"model: unknown model {name!r}; allowed: {sorted(MODELS)}") from None
    return cls(n_mics=n_mics, window_length=window_length, paper_quirks=paper_quirks)
