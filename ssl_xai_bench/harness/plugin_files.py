"""The plug-in files of a run: models, attribution methods and metrics from user ``.py`` files.

The command line names them (``--models-from``, ``--methods-from``, ``--metrics-from``); they are
loaded before the configuration is read (its model, method and metric names are checked against
the registries) and again, once, in every worker process that runs a node
(:mod:`ssl_xai_bench.harness.execute`), from the run's ``runtime["plugins"]``: kind -> resolved
paths. Models load first, then methods, then metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ssl_xai_bench.errors import ConfigError


def _loaders() -> dict[str, Callable[[str], Any]]:
    from ssl_xai_bench.attributions import load_methods_from
    from ssl_xai_bench.metrics.registry import load_metrics_from
    from ssl_xai_bench.models.registry import load_models_from

    return {"models": load_models_from, "methods": load_methods_from,
            "metrics": load_metrics_from}


#: Kind -> the command-line option that names its files, in loading order.
OPTIONS: dict[str, str] = {"models": "--models-from", "methods": "--methods-from",
                           "metrics": "--metrics-from"}


def resolved(files: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """``files`` (kind -> paths) with absolute paths, in loading order, empty kinds left out."""
    return {kind: [str(Path(p).resolve()) for p in files[kind]]
            for kind in OPTIONS if files.get(kind)}


def load_plugin_files(files: Mapping[str, Sequence[str]]) -> None:
    """Register the plug-ins of each file (kind -> paths); any failure of a file (missing,
    registers nothing, an exception or ``sys.exit`` while it runs) is a ``ConfigError`` naming
    its option."""
    loaders = _loaders()
    for kind, option in OPTIONS.items():
        for path in files.get(kind, ()):
            try:
                loaders[kind](path)
            except (FileNotFoundError, ValueError, ImportError, SyntaxError) as exc:
                raise ConfigError(option, str(exc)) from None


def load_once(files: Mapping[str, Sequence[str]], done: set[tuple[str, str]]) -> None:
    """Load each (kind, path) of ``files`` not in ``done`` (a worker's record), then record it."""
    loaders = _loaders()
    for kind in OPTIONS:
        for path in files.get(kind, ()):
            if (kind, path) not in done:
                loaders[kind](path)
                done.add((kind, path))


__all__ = ["OPTIONS", "load_once", "load_plugin_files", "resolved"]
