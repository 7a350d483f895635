"""Plug-in registries: what the package ships, entry points of installed packages, user files.

The three extension points (attribution methods, metrics, localizers; ``docs/adding-a-*.md``)
share this machinery. An item (a method, a metric family, a model) is registered under a unique
name, and records where it came from (its ``source``):

- ``builtin``: shipped with the package;
- ``entry_point:<name>``: an entry point of an installed distribution in the extension point's
  group (``importlib.metadata``), loaded on the first lookup; its value is a module (importing it
  registers its items) or an object the registry adopts. One that fails to load only warns;
- ``file:<path>``: a user's ``.py`` file executed as a module (``--methods-from``,
  ``--metrics-from``, ``--models-from``), with its folder importable so it may import helper
  modules beside it;
- ``module:<name>``: registered by code imported some other way.

Every item also carries ``source_hash``, the hash of the import closure of the code that defines
it (:func:`code_hash`), which the harness adds to the cache key of every node that uses the item:
an edit of a plug-in or of one of its helper modules recomputes exactly those nodes.
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
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from ssl_xai_bench.codehash import callable_closure_hash
from ssl_xai_bench.errors import PluginLoadError

DISTRIBUTION = "ssl-xai-bench"
"""The distribution whose entry points are built-ins (source ``builtin``)."""
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""What a plug-in's name must look like (a lower-case identifier)."""


class _Sourced(Protocol):
    source: str


T = TypeVar("T", bound=_Sourced)


def check_name(name: Any, field: str = "name") -> str:
    """``name`` if it is a lower-case identifier, else ``ValueError`` naming ``field``."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"{field}: must match {NAME.pattern}, got {name!r}")
    return name


def code_hash(obj: Any) -> str:
    """Hash of the import closure of the file that defines ``obj`` (a function or a class);
    the hash of its source text (or bytecode) when it has no file."""
    try:
        return callable_closure_hash(obj)
    except (ValueError, OSError, SyntaxError):
        try:
            text = inspect.getsource(obj)
        except (OSError, TypeError):
            text = getattr(getattr(obj, "__code__", None), "co_code", b"").hex()
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signature_defaults(fn: Callable[..., Any], skip: int) -> dict[str, Any]:
    """The parameters of ``fn`` after its first ``skip`` ones, with their defaults (``*args``
    and ``**kwargs`` left out); ``ValueError`` naming one without a default."""
    out = {}
    for p in list(inspect.signature(fn).parameters.values())[skip:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            raise ValueError(f"defaults: parameter {p.name!r} of {fn.__name__} has no default; "
                             "give it one or pass defaults={...}")
        out[p.name] = p.default
    return out


class Registry(Generic[T]):
    """Items of one extension point by name (see the module docstring).

    Parameters
    ----------
    kind : str
        What an item is, for messages (``"method"``, ``"metric"``, ``"model"``).
    group : str
        The entry-point group.
    builtin_module : str
        Items defined under this module prefix, outside any loading, are ``builtin``.
    load_builtins : callable, optional
        Registers the built-ins (called once, before the entry points).
    adopt : callable, optional
        ``adopt(obj)`` for an entry point's value that is not a module: registers it if needed
        and returns whether it is an acceptable item.
    how_to : str
        How a file defines an item (said when one defines none).
    require_builtin_entry_points : bool
        The built-ins are entry points of :data:`DISTRIBUTION`; finding none is an error.
    """

    def __init__(self, kind: str, group: str, builtin_module: str, *,
                 load_builtins: Callable[[], None] | None = None,
                 adopt: Callable[[Any], bool] | None = None, how_to: str = "",
                 require_builtin_entry_points: bool = False) -> None:
        self.kind = kind
        self.group = group
        self.builtin_module = builtin_module
        self.items: dict[str, T] = {}
        self.errors: dict[str, str] = {}
        self.loaded = False
        self._load_builtins = load_builtins
        self._adopt = adopt or (lambda obj: False)
        self._how_to = how_to
        self._require_builtin = require_builtin_entry_points
        self._stack: list[str] = []

    @contextlib.contextmanager
    def loading(self, source: str) -> Iterator[None]:
        """Items registered inside the block get ``source``."""
        self._stack.append(source)
        try:
            yield
        finally:
            self._stack.pop()

    def current_source(self, module: str) -> str:
        """The source of an item defined in ``module`` now."""
        if self._stack:
            return self._stack[-1]
        if module == self.builtin_module or module.startswith(self.builtin_module + "."):
            return "builtin"
        return f"module:{module}"

    def add(self, name: str, item: T) -> T:
        """Register ``item`` as ``name``; another source may not take a registered name."""
        existing = self.items.get(name)
        if existing is not None and existing.source != item.source:
            raise PluginLoadError(f"{self.kind} {name!r}: already registered from "
                                  f"{existing.source}; cannot register it again from "
                                  f"{item.source}")
        self.items[name] = item
        return item

    def remove(self, name: str) -> None:
        """Remove ``name`` (no error if absent)."""
        self.items.pop(name, None)

    def ensure_loaded(self) -> None:
        """The built-ins, then the entry points (once; later calls are free)."""
        if self.loaded:
            return
        self.loaded = True
        if self._load_builtins is not None:
            self._load_builtins()
        self._load_entry_points()

    def get(self, name: str) -> T | None:
        """The item ``name``, or None."""
        self.ensure_loaded()
        return self.items.get(name)

    def unknown(self, name: str, field: str, what: str | None = None) -> str:
        """The message for an unknown ``name`` (a ``what``, default the kind): the available
        ones and the entry points that failed to load."""
        hint = f"; entry points that failed to load: {self.errors}" if self.errors else ""
        return (f"{field}: unknown {what or self.kind} {name!r}; available: "
                f"{sorted(self.items)}{hint}")

    def _load_entry_points(self) -> None:
        found = list(entry_points(group=self.group))
        if self._require_builtin and not any(_is_builtin(ep) for ep in found):
            raise PluginLoadError(
                f"the built-in {self.kind}s are entry points of the {DISTRIBUTION!r} "
                "distribution and none was found: install the package (pip install -e .)")
        for ep in sorted(found, key=lambda e: (not _is_builtin(e), e.name)):
            try:
                with self.loading("builtin" if _is_builtin(ep) else f"entry_point:{ep.name}"):
                    loaded = ep.load()
                    if not isinstance(loaded, types.ModuleType) and not self._adopt(loaded):
                        raise PluginLoadError(f"{ep.value} is neither a module nor a "
                                              f"registered {self.kind}")
            except Exception as exc:  # a broken plug-in must not take the built-ins down
                self.errors[ep.name] = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"{self.kind} entry point {ep.name!r} ({ep.value}) failed to "
                              f"load: {exc}", RuntimeWarning, stacklevel=3)

    def load_file(self, path: str | Path) -> list[T]:
        """Execute a user ``.py`` file as a module and return the items it registered.

        Raises
        ------
        FileNotFoundError
            ``path`` does not exist.
        PluginLoadError
            Not a ``.py`` file, it failed to execute (or called ``sys.exit``), or it registers
            nothing.
        """
        self.ensure_loaded()
        what = f"{self.kind}s file: {str(path)!r}"
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise FileNotFoundError(f"{what} does not exist")
        if file.suffix != ".py":
            raise PluginLoadError(f"{what} is not a .py file")
        source = f"file:{file}"
        digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
        stem = re.sub(r"\W", "_", file.stem)
        name = f"ssl_xai_bench_user_{self.kind}s.{stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise PluginLoadError(f"{what}: cannot load it as a Python module")
        module = importlib.util.module_from_spec(spec)
        for old in [n for n, item in self.items.items() if item.source == source]:
            self.remove(old)  # re-loading a file replaces what it registered before
        # The module is executed without entering sys.modules: items are looked up by name in
        # the registry, never imported again by module name. Its folder is importable (as a
        # script's is), so it may import helper modules beside it.
        if str(file.parent) not in sys.path:
            sys.path.append(str(file.parent))
        try:
            with self.loading(source):
                spec.loader.exec_module(module)
        except SystemExit as exc:  # the file's own sys.exit() must not end the caller silently
            raise PluginLoadError(f"{what} failed to execute: it called sys.exit({exc.code!r})"
                                  ) from None
        except Exception as exc:
            raise PluginLoadError(f"{what} failed to execute: {type(exc).__name__}: {exc}"
                                  ) from exc
        defined = sorted(n for n, item in self.items.items() if item.source == source)
        if not defined:
            raise PluginLoadError(f"{what} defines no {self.kind}; {self._how_to}")
        return [self.items[n] for n in defined]


def _is_builtin(ep: Any) -> bool:
    dist = getattr(ep, "dist", None)
    return dist is not None and dist.name == DISTRIBUTION


__all__ = ["DISTRIBUTION", "NAME", "Registry", "check_name", "code_hash", "signature_defaults"]
