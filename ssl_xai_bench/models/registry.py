"""The localizers by name: the built-ins, entry points and user files.

A localizer is an ``nn.Module`` class mapping ``(B, M, T)`` raw samples to ``(B, 3)`` metres; its
constructor takes ``n_mics``, ``window_length`` and ``paper_quirks``, and its class attribute
``arch_name`` is its registry name. Optionally it has LRP rules of its own: a module with
``canonizers(model, *, se_relevance)`` and ``composite(first, canonizers)``, used by the LRP
methods.

The built-ins (:data:`MODELS`) are one folder each, ``ssl_xai_bench/models/<name>/`` with
``network.py`` and ``lrp.py``, named here by module, not imported: a model's code is imported
when the model is built, and the cache key of a stage that uses one model covers that model's
code only (:mod:`ssl_xai_bench.codehash`). More models come in the three ways attribution methods
do (:mod:`ssl_xai_bench.plugins`, ``docs/adding-a-model.md``):

- ``@register_model(name, description=..., lrp=...)`` on the class, in any imported module;
- the entry-point group ``ssl_xai_bench.models``: a module (importing it registers its models)
  or a decorated class;
- a user file: :func:`load_models_from` (``--models-from FILE``).

A plug-in's ``source_hash`` (the import closure of the file defining its class) keys every node
that trains, loads or explains it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from ssl_xai_bench import plugins
from ssl_xai_bench.errors import ConfigError

ENTRY_POINT_GROUP = "ssl_xai_bench.models"


@dataclass(frozen=True)
class ModelSpec:
    """One registered localizer.

    Attributes
    ----------
    name : str
        Registry name (``loccnn``), equal to the network class's ``arch_name``.
    network : str or type
        ``"module:Class"`` of the ``nn.Module`` (imported when first built), or the class.
    lrp : str or None
        Module with ``canonizers(model, *, se_relevance)`` and ``composite(first, canonizers)``
        (the study's LRP composite with rule ``first`` on the first layer); ``None`` when the
        model has no model-specific LRP rules.
    description : str
        One line for listings.
    source : str
        ``builtin``, ``entry_point:<name>``, ``file:<path>`` or ``module:<module>``.
    source_hash : str
        A plug-in's code hash (:func:`ssl_xai_bench.plugins.code_hash`); empty for a built-in,
        whose code is the import closure of :attr:`network_module`.
    """

    name: str
    network: str | type[nn.Module]
    lrp: str | None
    description: str
    source: str = "builtin"
    source_hash: str = ""

    @property
    def network_module(self) -> str:
        """The dotted name of the module that defines the network."""
        if isinstance(self.network, str):
            return self.network.partition(":")[0]
        return self.network.__module__

    def network_class(self) -> type[nn.Module]:
        """The network class (imports its module)."""
        if not isinstance(self.network, str):
            return self.network
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
"""The built-in localizers."""


def _load_builtins() -> None:
    for spec in MODELS.values():
        REGISTRY.add(spec.name, spec)


REGISTRY: plugins.Registry[ModelSpec] = plugins.Registry(
    "model", ENTRY_POINT_GROUP, "ssl_xai_bench.models", load_builtins=_load_builtins,
    adopt=lambda obj: hasattr(obj, "model_spec"),
    how_to="decorate an nn.Module class with @ssl_xai_bench.models.register_model(name, ...)")
"""Every localizer by name: :data:`MODELS`, then the plug-ins."""


def register_model(name: str, *, description: str = "",
                   lrp: str | None = None) -> Any:
    """Class decorator registering an ``nn.Module`` localizer as model ``name``.

    Parameters
    ----------
    name : str
        Lower-case identifier, unique across sources; set as the class's ``arch_name``.
    description : str
        One line for listings.
    lrp : str, optional
        Dotted name of the module of the model's LRP rules (see the module docstring);
        without it, the LRP variants that need the study's composite refuse the model and
        ``lrp_epsilon_plus_flat`` uses zennit's generic rules.

    Returns
    -------
    callable
        The decorator; it returns the class (with ``arch_name`` and ``model_spec`` set).
    """
    plugins.check_name(name)

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise TypeError(f"register_model({name!r}): expected an nn.Module class, got {cls!r}")
        cls.arch_name = name  # type: ignore[attr-defined]
        spec = ModelSpec(name, cls, lrp, description,
                         source=REGISTRY.current_source(cls.__module__),
                         source_hash=plugins.code_hash(cls))
        REGISTRY.ensure_loaded()
        cls.model_spec = REGISTRY.add(name, spec)  # type: ignore[attr-defined]
        return cls

    return decorator


def unregister_model(name: str) -> None:
    """Remove model ``name`` (no error if absent)."""
    REGISTRY.remove(name)


def load_models_from(path: str | Path) -> list[ModelSpec]:
    """Execute a user ``.py`` file as a module and return the models it registered
    (``FileNotFoundError``, or :class:`~ssl_xai_bench.errors.PluginLoadError` naming the file
    when it is no ``.py`` file, fails to execute or registers no model)."""
    return REGISTRY.load_file(path)


def model_names() -> tuple[str, ...]:
    """Every registered model name (built-ins first)."""
    REGISTRY.ensure_loaded()
    return tuple(REGISTRY.items)


def get_model_spec(name: str, field: str = "model") -> ModelSpec:
    """The spec of model ``name``; ``ConfigError(field)`` naming the allowed ones if unknown."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise ConfigError(field, f"unknown model {name!r}; allowed: {', '.join(model_names())}")
    return spec


def model_arch(entry: str, field: str = "matrix.models") -> str:
    """The architecture of a matrix model entry: ``"samplecnn"`` or ``"samplecnn@authors"``
    (external weights labelled ``authors``) -> ``"samplecnn"``."""
    arch, sep, label = entry.partition("@")
    if arch not in model_names():
        raise ConfigError(field, f"unknown model {entry!r}; allowed: {', '.join(model_names())}, "
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
        A registered model name (:func:`model_names`).
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
    spec = REGISTRY.get(getattr(model, "arch_name", ""))
    if spec is None or not isinstance(model, spec.network_class()):
        return None
    return spec


__all__ = ["ENTRY_POINT_GROUP", "MODELS", "REGISTRY", "ModelSpec", "build_model", "get_model_spec",
           "load_models_from", "model_arch", "model_names", "register_model", "spec_of",
           "unregister_model"]
