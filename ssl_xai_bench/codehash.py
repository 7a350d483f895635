"""Source hashes of a module's whole import closure, for cache keys that cannot go stale.

A cached result must change its key when any code that computed it changes. The closure of a
module is computed here, not listed by hand: the module's file is parsed (``ast``), every
``import`` and ``from ... import`` in it (at module level or inside functions, relative or
absolute) is resolved to a file, and so on recursively. Followed are:

- modules of this package (``ssl_xai_bench.*``), with the ``__init__.py`` of every package on
  the way (they run on import);
- modules of the same top-level package as the file (a plug-in package's own helpers);
- for a loose file (a user's method file), modules found next to it (its helper modules, which
  :func:`ssl_xai_bench.attributions.load_methods_from` makes importable).

Third-party and standard-library modules are not followed; their versions are part of every
cache key instead (:func:`ssl_xai_bench.harness.store.artifact_key`). Names resolved at run time
from a string (``importlib.import_module``, entry points, the model registry's module names) are
plug-in points: the harness adds the closure of the plug-in actually used to the key of each node
that uses it (a method's module, a model's network and LRP rules).

The hash covers each file's syntax tree without docstrings (``ast.dump``), so an edit of a
comment, a docstring or the layout changes no key, and any edit of code does.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

PACKAGE = "ssl_xai_bench"
PACKAGE_PARENT = Path(__file__).resolve().parents[1]


# Parsing and normalising are memoised on the file's text itself (not its path or mtime): an
# edited file is a new key, so a memo can never hand out the hash of an older version. They are
# most of a graph build's cost, and the closures of one build share most files.
_MEMO_SIZE = 4096


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _normalised(source: str) -> str:
    return ast.dump(_strip_docstrings(ast.parse(source)), include_attributes=False)


def _strip_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalised_source(path: Path) -> str:
    """The file's syntax tree without docstrings, line numbers or comments, as text."""
    return _normalised(_source(path))


def _module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


class _Origin:
    """Where a file's imports are resolved: its module name (None for a loose file) and roots."""

    def __init__(self, path: Path, module: str | None) -> None:
        self.path = path
        self.module = module
        if module is None:
            self.top = None
            self.root = path.parent
        else:
            self.top = module.split(".")[0]
            depth = module.count(".") + (1 if path.name == "__init__.py" else 0)
            self.root = path.parents[depth]

    def package(self) -> str | None:
        if self.module is None:
            return None
        return self.module if self.path.name == "__init__.py" else self.module.rpartition(".")[0]

    def resolve(self, dotted: str) -> tuple[Path, _Origin] | None:
        top = dotted.split(".")[0]
        if top == PACKAGE:
            roots = [PACKAGE_PARENT]
        elif self.top is not None and top == self.top:
            roots = [self.root]
        elif self.top is None:
            roots = [self.root]
        else:
            return None
        for root in roots:
            found = _module_file(root, dotted)
            if found is not None:
                is_package_module = top == PACKAGE or self.top is not None
                return found, _Origin(found, dotted if is_package_module else None)
        return None


def _import_nodes(node: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, except those under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            yield from (n for orelse in child.orelse for n in _import_nodes_of(orelse))
        else:
            yield from _import_nodes(child)


def _import_nodes_of(node: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _imported_names(source: str, package: str | None) -> tuple[str, ...]:
    """Every dotted name the file imports; relative imports resolved against ``package``
    (skipped for a loose file, ``package`` None)."""
    return tuple(_names(ast.parse(source), package))


def _names(tree: ast.Module, package: str | None) -> Iterable[str]:
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if package is None:
                    continue
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            if not base:
                continue
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"  # a submodule, when it is one


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _ancestors(origin: _Origin) -> list[tuple[Path, _Origin]]:
    """The ``__init__.py`` of every package above a package module (they run on import)."""
    if origin.module is None:
        return []
    parts = origin.module.split(".")
    out = []
    for i in range(1, len(parts)):
        found = origin.resolve(".".join(parts[:i]))
        if found is not None:
            out.append(found)
    return out


def closure(path: str | Path, module: str | None = None) -> list[Path]:
    """Every file in the import closure of ``path`` (itself included), sorted.

    Parameters
    ----------
    path : path-like
        A Python file.
    module : str, optional
        Its dotted module name when it belongs to a package (``ssl_xai_bench.acoustics.rir``);
        ``None`` for a loose file (a user's method file).
    """
    start = Path(path).resolve()
    seen: dict[Path, _Origin] = {}
    stack = [(start, _Origin(start, module))]
    while stack:
        file, origin = stack.pop()
        if file in seen:
            continue
        seen[file] = origin
        stack.extend(_ancestors(origin))
        try:
            names = _imported_names(_source(file), origin.package())
        except SyntaxError as err:
            err.filename = str(file)
            raise
        for name in names:
            found = origin.resolve(name)
            if found is not None and found[0] not in seen:
                stack.append(found)
    return sorted(seen)


def module_path(module: str) -> Path:
    """The file of an importable module, without importing it."""
    if module.split(".")[0] == PACKAGE:
        found = _module_file(PACKAGE_PARENT, module)
    else:
        spec = importlib.util.find_spec(module)
        found = Path(spec.origin) if spec is not None and spec.origin else None
    if found is None:
        raise ModuleNotFoundError(f"no source file for module {module!r}")
    return found


def _label(file: Path) -> str:
    try:
        return file.relative_to(PACKAGE_PARENT).as_posix()
    except ValueError:
        return file.name


def files_hash(files: Iterable[Path]) -> str:
    """SHA-256 (hex) over ``(label, normalised source)`` of ``files``, in sorted order."""
    digest = hashlib.sha256()
    for file in sorted(set(files)):
        digest.update(_label(file).encode())
        digest.update(b"\0")
        digest.update(normalised_source(file).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def module_closure_hash(*modules: str) -> str:
    """Hash of the union of the import closures of ``modules`` (dotted names)."""
    files: set[Path] = set()
    for name in modules:
        files.update(closure(module_path(name), name))
    return files_hash(files)


def callable_closure(fn: Callable) -> list[Path]:
    """The import closure of the file that defines ``fn``, a function or a class (a package
    module or a loose file)."""
    module_name = getattr(fn, "__module__", None) or ""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None) or _code_file(fn)
    if not path or not Path(path).is_file():
        raise ValueError(f"no source file for {fn!r}")
    # A module in sys.modules is part of a package; a user's method file is executed without
    # entering sys.modules (load_methods_from) and is a loose file.
    return closure(path, module_name if module is not None else None)


def _code_file(obj: Callable) -> str | None:
    """The file of a function's code, or of the first method of a class."""
    code = getattr(obj, "__code__", None)
    if code is None and isinstance(obj, type):
        code = next((f.__code__ for f in vars(obj).values() if hasattr(f, "__code__")), None)
    return None if code is None else code.co_filename


def callable_closure_hash(fn: Callable) -> str:
    """Hash of :func:`callable_closure`."""
    return files_hash(callable_closure(fn))


__all__ = ["callable_closure", "callable_closure_hash", "closure", "files_hash",
           "module_closure_hash", "module_path", "normalised_source"]
