"""The localizers by name: the package's one list of model names.

A model is a folder ``ssl_xai_bench/models/<name>/`` holding ``network.py`` (an ``nn.Module``
mapping ``(B, M, T)`` raw samples to ``(B, 3)`` metres; its constructor takes ``n_mics``,
``window_length`` and ``paper_quirks``, and its class attribute ``arch_name`` is the registry
name) and, optionally, ``lrp.py`` (its LRP composite and canonizers, used by the LRP methods).
Adding a model is adding such a folder and one line to :data:`MODELS`
(``docs/adding-a-model.md``).

Modules are named here, not imported: a model's code is imported when the model is built, so
the cache key of a stage that uses one model covers that model's code only
(:mod:`ssl_xai_bench.harness.codehash`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from torch import nn

from ssl_xai_bench.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """One registered localizer.

    Attributes
    ----------
    name : str
        Registry name (``loccnn``), equal to the network class's ``arch_name``.
    network : str
        ``"module:Class"`` of the ``nn.Module``.
    lrp : str or None
        Module with ``canonizers(model, *, se_relevance)`` and ``composite(first, canonizers)``
        (the study's LRP composite with rule ``first`` on the first layer); ``None`` when the
        model has no model-specific LRP rules.
    description : str
        One line for listings.
    """

    name: str
    network: str
    lrp: str | None
    description: str

    @property
    def network_module(self) -> str:
        """The dotted name of the module that defines the network."""
        return self.network.partition(":")[0]

    def network_class(self) -> type[nn.Module]:
        """The network class (imports its module)."""
        module, _, attr = self.network.partition(":")
        return getattr(importlib.import_module(module), attr)

    def lrp_rules(self) -> ModuleType | None:
        """The module of the model's LRP rules (imported), or ``None``."""
        return None if self.lrp is None else importlib.import_module(self.lrp)


MODELS: dict[str, ModelSpec] = {
    "loccnn": ModelSpec(
        "loccnn", "ssl_xai_bench.models.loccnn.network:LocCNN", "ssl_xai_bench.models.loccnn.lrp",
        "LocCNN (Vera-Diaz et al., Sensors 2018): 5 convolutions, 2 dense layers",
    ),
    "samplecnn": ModelSpec(
        "samplecnn", "ssl_xai_bench.models.samplecnn.network:SampleCNN",
        "ssl_xai_bench.models.samplecnn.lrp",
        "SampleCNN localizer (Sundar et al., ICASSP 2020) with ReSE-2 blocks",
    ),
}


def model_names() -> tuple[str, ...]:
    """Every registered model name."""
    return tuple(MODELS)


def get_model_spec(name: str, field: str = "model") -> ModelSpec:
    """The spec of model ``name``; ``ConfigError(field)`` naming the allowed ones if unknown."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(field, f"unknown model {name!r}; allowed: "
                          f"{', '.join(MODELS)}") from None


def model_arch(entry: str, field: str = "matrix.models") -> str:
    """The architecture of a matrix model entry: ``"samplecnn"`` or ``"samplecnn@authors"``
    (external weights labelled ``authors``) -> ``"samplecnn"``."""
    arch, sep, label = entry.partition("@")
    if arch not in MODELS:
        raise ConfigError(field, f"unknown model {entry!r}; allowed: {', '.join(MODELS)}, "
                          "optionally ARCH@LABEL for external weights labelled LABEL")
    if sep and (not label or not all(c.isalnum() or c in "-_" for c in label)):
        raise ConfigError(field, f"model entry {entry!r}: LABEL after '@' must be letters, "
                          "digits, '-' or '_'")
    return arch


def build_model(
    name: str, n_mics: int = 16, window_length: int = 5120, paper_quirks: bool = True
) -> nn.Module:
    """Instantiate a registered localizer.

    Parameters
    ----------
    name : str
        A name of :data:`MODELS`.
    n_mics, window_length : int
        Input shape ``(M, T)``.
    paper_quirks : bool
        Keep the study's quirks (see the network modules).
    """
    spec = get_model_spec(name)
    return spec.network_class()(n_mics=n_mics, window_length=window_length,
                                paper_quirks=paper_quirks)


def spec_of(model: nn.Module) -> ModelSpec | None:
    """The registered spec of a built model (by its ``arch_name``), or ``None``."""
    spec = MODELS.get(getattr(model, "arch_name", ""))
    if spec is None or not isinstance(model, spec.network_class()):
        return None
    return spec


__all__ = ["MODELS", "ModelSpec", "build_model", "get_model_spec", "model_arch", "model_names",
           "spec_of"]
