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
:func:`ssl_xai_bench.codehash.callable_closure_hash`), which keys its cached results.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import re
import sys
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ssl_xai_bench.attributions.errors import MethodLoadError
from ssl_xai_bench.codehash import callable_closure_hash

ENTRY_POINT_GROUP = "ssl_xai_bench.attributions"
DISTRIBUTION = "ssl-xai-bench"
"""The distribution whose entry points are the built-in methods."""
FAMILIES: tuple[str, ...] = ("lrp", "gradient", "perturbation", "control", "user")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

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


_REGISTRY: dict[str, MethodSpec] = {}
_SOURCE_STACK: list[str] = []
_STATE = {"entry_points": False}
ENTRY_POINT_ERRORS: dict[str, str] = {}


@contextlib.contextmanager
def _source(source: str) -> Iterator[None]:
    _SOURCE_STACK.append(source)
    try:
        yield
    finally:
        _SOURCE_STACK.pop()


def _module_source_hash(fn: MethodFn) -> str:
    """Hash of the import closure of the file defining ``fn`` (its own bytecode if it has none)."""
    try:
        return callable_closure_hash(fn)
    except (ValueError, OSError, SyntaxError):
        try:
            text = inspect.getsource(fn)
        except (OSError, TypeError):
            text = getattr(getattr(fn, "__code__", None), "co_code", b"").hex()
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _current_source(fn: MethodFn) -> str:
    if _SOURCE_STACK:
        return _SOURCE_STACK[-1]
    if fn.__module__.startswith("ssl_xai_bench.attributions.methods."):
        return "builtin"
    return f"module:{fn.__module__}"


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
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name: must match {_NAME.pattern}, got {name!r}")
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
        spec = MethodSpec(
            name=name,
            fn=fn,
            family=family,
            defaults=types.MappingProxyType(params),
            description=description,
            source=_current_source(fn),
            source_hash=_module_source_hash(fn),
            validator=validator,
        )
        existing = _REGISTRY.get(name)
        if existing is not None and existing.source != spec.source:
            raise MethodLoadError(
                f"method {name!r}: already registered from {existing.source}; "
                f"cannot register it again from {spec.source}"
            )
        _REGISTRY[name] = spec
        fn.method_spec = spec  # type: ignore[attr-defined]
        return fn

    return decorator


def signature_defaults(fn: MethodFn) -> dict[str, Any]:
    """The parameters of ``fn(model, inputs, target, ...)`` after its first three, with their
    defaults; ``ValueError`` naming one without a default (every parameter needs one)."""
    params = list(inspect.signature(fn).parameters.values())[3:]
    out = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            raise ValueError(f"defaults: parameter {p.name!r} of {fn.__name__} has no default; "
                             "give it one or pass defaults={...}")
        out[p.name] = p.default
    return out


def unregister_method(name: str) -> None:
    """Remove ``name`` from the registry (no error if absent)."""
    _REGISTRY.pop(name, None)


def _load_entry_points() -> None:
    if _STATE["entry_points"]:
        return
    _STATE["entry_points"] = True
    found = entry_points(group=ENTRY_POINT_GROUP)
    if not any(_is_builtin(ep) for ep in found):
        raise MethodLoadError(
            f"the built-in attribution methods are entry points of the {DISTRIBUTION!r} "
            "distribution and none was found: install the package (pip install -e .)"
        )
    for ep in sorted(found, key=lambda e: (not _is_builtin(e), e.name)):
        try:
            with _source("builtin" if _is_builtin(ep) else f"entry_point:{ep.name}"):
                loaded = ep.load()
            if not isinstance(loaded, types.ModuleType) and not hasattr(loaded, "method_spec"):
                raise MethodLoadError(
                    f"{ep.value} is neither a module nor a function decorated with register_method"
                )
        except Exception as exc:  # a broken plug-in must not take the built-ins down
            ENTRY_POINT_ERRORS[ep.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"attribution entry point {ep.name!r} ({ep.value}) failed to load: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )


def _is_builtin(ep: Any) -> bool:
    dist = getattr(ep, "dist", None)
    return dist is not None and dist.name == DISTRIBUTION


def ensure_loaded() -> None:
    """Register the built-ins and the other entry points (once; later calls are free)."""
    _load_entry_points()


def get_method(name: str) -> MethodSpec:
    """The spec of method ``name``; ``ValueError`` naming the available ones if unknown."""
    ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = ""
        if ENTRY_POINT_ERRORS:
            hint = f"; entry points that failed to load: {ENTRY_POINT_ERRORS}"
        raise ValueError(
            f"method: unknown attribution method {name!r}; available: {sorted(_REGISTRY)}{hint}"
        ) from None


def list_methods() -> list[MethodSpec]:
    """All registered methods, sorted by name (loads built-ins and entry points first)."""
    ensure_loaded()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def load_methods_from(path: str | Path) -> list[MethodSpec]:
    """Execute a user ``.py`` file as a module and return the methods it registered.

    Parameters
    ----------
    path : str or Path
        A Python file that decorates at least one function with :func:`register_method`.

    Returns
    -------
    list[MethodSpec]
        The methods defined by the file (source ``"file:<resolved path>"``).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    MethodLoadError
        Not a ``.py`` file, it failed to execute, or it defines no method.
    """
    ensure_loaded()
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise FileNotFoundError(f"methods file: {str(path)!r} does not exist")
    if file.suffix != ".py":
        raise MethodLoadError(f"methods file: {str(path)!r} is not a .py file")
    source = f"file:{file}"
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
    stem = re.sub(r"\W", "_", file.stem)
    module_name = f"ssl_xai_bench_user_methods.{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise MethodLoadError(f"methods file: cannot load {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    before = {name for name, s in _REGISTRY.items() if s.source == source}
    for name in before:  # re-loading a file replaces what it registered before
        unregister_method(name)
    # The module is executed without being entered in sys.modules: methods are looked up by name
    # in the registry, never imported again by module name. Its folder is importable (as a
    # script's is), so it may import helper modules beside it.
    if str(file.parent) not in sys.path:
        sys.path.append(str(file.parent))
    try:
        with _source(source):
            spec.loader.exec_module(module)
    except SystemExit as exc:  # the file's own sys.exit() must not end the caller silently
        raise MethodLoadError(
            f"methods file: {str(path)!r} failed to execute: it called sys.exit({exc.code!r})"
        ) from None
    except Exception as exc:
        raise MethodLoadError(
            f"methods file: {str(path)!r} failed to execute: {type(exc).__name__}: {exc}"
        ) from exc
    defined = [s for s in _REGISTRY.values() if s.source == source]
    if not defined:
        raise MethodLoadError(
            f"methods file: {str(path)!r} defines no method; decorate a function with "
            "@ssl_xai_bench.attributions.register_method(name, ...)"
        )
    return sorted(defined, key=lambda s: s.name)


__all__ = [
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "MethodSpec",
    "ensure_loaded",
    "get_method",
    "list_methods",
    "load_methods_from",
    "register_method",
    "signature_defaults",
    "unregister_method",
]
