"""Registry of attribution methods, filled by a decorator, entry points and user files.

A method is a function ``fn(model, inputs, target, **params) -> Tensor`` with ``inputs`` (B, M, T)
float32 on the model's device, ``target`` the (B, 3) weight vector ``w`` of the explained scalar
``<model(inputs), w>`` (see :mod:`ssl_xai_bench.attributions.target`) and the result a (B, M, T)
relevance map. Every parameter the function accepts is declared, with its default, in ``defaults``.

Three ways in:

- ``@register_method(name, family=..., defaults={...}, description=...)`` in any imported module;
- the entry-point group ``ssl_xai_bench.attributions`` (``importlib.metadata``), loaded lazily on
  the first lookup; an entry point's value is a module (importing it registers its methods) or a
  function decorated with ``register_method``. The built-ins
  (:mod:`ssl_xai_bench.attributions.methods`) are entry points of this package, loaded the same
  way (source ``builtin``);
- a user file: :func:`load_methods_from` executes a ``.py`` file as a module
  (``importlib.util.spec_from_file_location``), with its folder importable so it can use helper
  modules beside it.

Each :class:`MethodSpec` records where it came from (``source``) and ``source_hash``, the hash of
the import closure of its module (its helper modules included,
:func:`ssl_xai_bench.plugins.code_hash`), which keys its cached results. The loading machinery is
shared with the metric and model registries (:mod:`ssl_xai_bench.plugins`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssl_xai_bench import plugins
from ssl_xai_bench.attributions.errors import MethodLoadError
from ssl_xai_bench.errors import PluginLoadError

ENTRY_POINT_GROUP = "ssl_xai_bench.attributions"
FAMILIES: tuple[str, ...] = ("lrp", "gradient", "perturbation", "control", "user")

MethodFn = Callable[..., Any]


@dataclass(frozen=True)
class MethodSpec:
    """A registered attribution method.

    Attributes
    ----------
    name : str
        Registry key (lower-case identifier).
    fn : callable
        ``fn(model, inputs, target, **params) -> Tensor (B, M, T)``.
    family : str
        One of :data:`FAMILIES`.
    defaults : Mapping[str, Any]
        Every accepted parameter with its default value.
    description : str
        One line for listings.
    source : str
        ``"builtin"``, ``"entry_point:<name>"``, ``"file:<path>"`` or ``"module:<module>"``.
    source_hash : str
        Hash of the import closure of the module defining ``fn`` (helper modules included).
    validator : callable or None
        Optional ``validator(params, input_shape)`` raising ``ValueError`` on bad parameters;
        ``input_shape`` is ``(B, M, T)`` or ``None`` when unknown.
    """

    name: str
    fn: MethodFn = field(repr=False)
    family: str
    defaults: Mapping[str, Any]
    description: str
    source: str
    source_hash: str
    validator: Callable[[Mapping[str, Any], tuple[int, ...] | None], None] | None = field(
        default=None, repr=False
    )


REGISTRY: plugins.Registry[MethodSpec] = plugins.Registry(
    "method", ENTRY_POINT_GROUP, "ssl_xai_bench.attributions.methods",
    adopt=lambda obj: hasattr(obj, "method_spec"), require_builtin_entry_points=True,
    how_to="decorate a function with @ssl_xai_bench.attributions.register_method(name, ...)")
"""The methods (the built-ins are this package's entry points, loaded on the first lookup)."""


def register_method(
    name: str,
    *,
    family: str = "user",
    defaults: Mapping[str, Any] | None = None,
    description: str = "",
    validator: Callable[[Mapping[str, Any], tuple[int, ...] | None], None] | None = None,
) -> Callable[[MethodFn], MethodFn]:
    """Decorator registering ``fn(model, inputs, target, **params)`` as method ``name``.

    Parameters
    ----------
    name : str
        Lower-case identifier (``[a-z][a-z0-9_]*``), unique across sources.
    family : str
        One of :data:`FAMILIES`.
    defaults : Mapping, optional
        Every parameter the method accepts, with its default;
        :func:`ssl_xai_bench.attributions.attribute` rejects any other parameter name. When
        omitted, read from the function's signature: its parameters after ``(model, inputs,
        target)``, each with a default (:func:`signature_defaults`).
    description : str
        One line for listings.
    validator : callable, optional
        ``validator(params, input_shape)`` raising ``ValueError`` for bad values (run before
        compute).

    Returns
    -------
    callable
        The decorator; it returns ``fn`` unchanged (with ``fn.method_spec`` set).
    """
    plugins.check_name(name)
    if family not in FAMILIES:
        raise ValueError(f"family: must be one of {list(FAMILIES)}, got {family!r}")
    given = None if defaults is None else dict(defaults)
    for key in given or {}:
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"defaults: parameter names must be identifiers, got {key!r}")

    def decorator(fn: MethodFn) -> MethodFn:
        if not callable(fn):
            raise TypeError(f"register_method({name!r}): expected a function, got {fn!r}")
        params = signature_defaults(fn) if given is None else given
        fn.method_spec = _add(MethodSpec(  # type: ignore[attr-defined]
            name=name, fn=fn, family=family, defaults=types.MappingProxyType(params),
            description=description, source=REGISTRY.current_source(fn.__module__),
            source_hash=plugins.code_hash(fn), validator=validator))
        return fn

    return decorator


def _add(spec: MethodSpec) -> MethodSpec:
    try:
        return REGISTRY.add(spec.name, spec)
    except PluginLoadError as exc:
        raise MethodLoadError(str(exc)) from None


def signature_defaults(fn: MethodFn) -> dict[str, Any]:
    """The parameters of ``fn(model, inputs, target, ...)`` after its first three, with their
    defaults; ``ValueError`` naming one without a default (every parameter needs one)."""
    return plugins.signature_defaults(fn, skip=3)


def unregister_method(name: str) -> None:
    """Remove ``name`` from the registry (no error if absent)."""
    REGISTRY.remove(name)


def ensure_loaded() -> None:
    """Register the built-ins and the other entry points (once; later calls are free)."""
    REGISTRY.ensure_loaded()


def get_method(name: str) -> MethodSpec:
    """The spec of method ``name``; ``ValueError`` naming the available ones if unknown."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise ValueError(REGISTRY.unknown(name, "method", "attribution method"))
    return spec


def list_methods() -> list[MethodSpec]:
    """All registered methods, sorted by name (loads built-ins and entry points first)."""
    ensure_loaded()
    return [REGISTRY.items[name] for name in sorted(REGISTRY.items)]


def load_methods_from(path: str | Path) -> list[MethodSpec]:
    """Execute a user ``.py`` file as a module and return the methods it registered.

    Parameters
    ----------
    path : str or Path
        A Python file that decorates at least one function with :func:`register_method`.

    Returns
    -------
    list[MethodSpec]
        The methods defined by the file (source ``"file:<resolved path>"``), by name.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    MethodLoadError
        Not a ``.py`` file, it failed to execute, or it defines no method.
    """
    try:
        return REGISTRY.load_file(path)
    except PluginLoadError as exc:
        raise MethodLoadError(str(exc)) from exc.__cause__


__all__ = [
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "REGISTRY",
    "MethodSpec",
    "ensure_loaded",
    "get_method",
    "list_methods",
    "load_methods_from",
    "register_method",
    "signature_defaults",
    "unregister_method",
]
