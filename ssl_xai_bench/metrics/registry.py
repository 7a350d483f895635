"""The metric registry: the built-in families, entry points and user files, by family name.

A metric belongs to a family (:class:`~ssl_xai_bench.metrics.spec.Family`: its metrics' specs,
its settings, the function that scores a cell). The built-in families are listed in
:mod:`~ssl_xai_bench.metrics.catalogue`; more come in the three ways attribution methods do
(:mod:`ssl_xai_bench.plugins`):

- ``@register_metric(name, category=..., direction=..., unit=..., ...)`` on a function
  ``fn(cell, *, param=default, ...)`` returning per-window scores ``(N,)``: a family of one
  metric, named after it, whose parameters (read from the signature, each with a default: a
  number, a bool or a string) are keys of the ``[metrics]`` table; ``register_family(family)`` for
  a family of several metrics with its own settings;
- the entry-point group ``ssl_xai_bench.metrics``: a module (importing it registers its
  families) or a :class:`Family` (registered as it is);
- a user file: :func:`load_metrics_from` (``--metrics-from FILE``).

Evaluation runs :func:`families` in order: the built-ins, then the plug-ins in the order they
were registered. A metric's spec declares its category, direction, unit, equivalence margin and
headline column (:class:`~ssl_xai_bench.metrics.spec.Headline`); the results folder's
``metrics.json`` carries them to the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench import plugins
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics import catalogue
from ssl_xai_bench.metrics.spec import SHARED_KEYS, Family, Headline, MethodCell, MetricSpec, Scores

ENTRY_POINT_GROUP = "ssl_xai_bench.metrics"
#: Types a parameter of a ``register_metric`` function may have (its default's): TOML values.
PARAMETER_TYPES = (bool, int, float, str)


def _load_builtins() -> None:
    for family in catalogue.FAMILIES:
        REGISTRY.add(family.name, family)


def _adopt(obj: Any) -> bool:
    if isinstance(obj, Family):
        register_family(obj)
        return True
    return False


REGISTRY: plugins.Registry[Family] = plugins.Registry(
    "metric", ENTRY_POINT_GROUP, "ssl_xai_bench.metrics", load_builtins=_load_builtins,
    adopt=_adopt, how_to="decorate a function with @ssl_xai_bench.metrics.register_metric(name, "
    "...) or call ssl_xai_bench.metrics.register_family(family)")
"""Metric families by name: the catalogue's, then the plug-ins."""


def _clashes(family: Family) -> list[str]:
    """What ``family`` would share with the other registered families: metric names and
    ``[metrics]`` keys."""
    others = [f for f in REGISTRY.items.values() if f.name != family.name]
    names = {m.name for f in others for m in f.metrics}
    keys = set(SHARED_KEYS) | {k.name for f in others for k in fields(f.settings)}
    out = [f"metric {m.name!r}" for m in family.metrics if m.name in names]
    return out + [f"[metrics] key {k.name!r}" for k in fields(family.settings) if k.name in keys]


def register_family(family: Family, code: Callable[..., Any] | None = None) -> Family:
    """Register a metric family and return it with its ``source`` and ``source_hash`` set.

    Parameters
    ----------
    family : Family
        Its name must be a lower-case identifier; its metric names and settings fields must not
        be another family's.
    code : callable, optional
        The function whose defining file (and that file's import closure) is the family's code,
        hashed into the cache keys of the nodes that compute it (default ``family.score``).
    """
    plugins.check_name(family.name, "family")
    if not family.metrics:
        raise ValueError(f"family {family.name!r}: declares no metric")
    fn = code or family.score
    ensure_loaded()
    family = replace(family, source=REGISTRY.current_source(fn.__module__),
                     source_hash=plugins.code_hash(fn))
    clashes = _clashes(family)
    if clashes:
        raise plugins.PluginLoadError(f"family {family.name!r}: {', '.join(clashes)} already "
                                      "belong to another family")
    return REGISTRY.add(family.name, family)


def _check_types(settings: Any) -> None:
    """The values of a ``register_metric`` family's settings have their defaults' types."""
    for f in fields(settings):
        value, kind = getattr(settings, f.name), type(f.default)
        ok = (isinstance(value, bool) if kind is bool else isinstance(value, str) if kind is str
              else isinstance(value, int | float) and not isinstance(value, bool)
              and (kind is float or isinstance(value, int)))
        if not ok:
            raise ConfigError(f"metrics.{f.name}",
                              f"must be {kind.__name__} (default {f.default!r}), got {value!r}")


def _settings_of(name: str, fn: Callable[..., Any]) -> type:
    """A frozen dataclass of ``fn``'s parameters after ``cell`` (``[metrics]`` keys)."""
    defaults = plugins.signature_defaults(fn, skip=1)
    for key, value in defaults.items():
        if not isinstance(value, PARAMETER_TYPES):
            raise ValueError(f"metric {name!r}: the default of parameter {key!r} must be a "
                             f"number, a bool or a string (a [metrics] value), got {value!r}")
    return make_dataclass(
        f"{name}_settings", [(k, type(v), field(default=v)) for k, v in defaults.items()],
        frozen=True, namespace={"validate": _check_types,
                                "validate_for": lambda self, n_mics, n_samples: None})


@dataclass(frozen=True)
class _OneMetric:
    """The ``score`` of a ``register_metric`` family: its function on the cell and the run's
    values of its parameters."""

    metric: str
    fn: Callable[..., Any]
    settings: type

    def __call__(self, cell: MethodCell) -> Scores:
        params = cell.config.settings.get(self.metric) or self.settings()
        values = np.asarray(self.fn(cell, **asdict(params)), dtype=np.float64)
        n = np.shape(cell.relevance)[0]
        if values.shape != (n,):
            raise ValueError(f"metric {self.metric!r}: expected one score per window, shape "
                             f"({n},), got {values.shape}")
        return Scores(values={self.metric: values})


def register_metric(name: str, *, category: str, direction: str, unit: str,
                    description: str = "", margin: float | None = None, paired: bool = True,
                    headline: Headline | None = None) -> Callable[[Callable], Callable]:
    """Decorator registering ``fn(cell, *, param=default, ...) -> (N,)`` as metric ``name``.

    ``cell`` is a :class:`~ssl_xai_bench.metrics.spec.MethodCell` (windows, relevance, model,
    predictions, masks, ...); the result holds one score per window (NaN allowed: counted, never
    averaged). The other arguments are those of :class:`~ssl_xai_bench.metrics.spec.MetricSpec`.
    The function's parameters become ``[metrics]`` keys. Returns ``fn`` unchanged, with
    ``fn.family`` set to its registered family (named ``name``).
    """
    spec = MetricSpec(name, category, direction, unit, description, margin, paired, headline)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        settings = _settings_of(name, fn)
        family = Family(name=name, metrics=(spec,), settings=settings,
                        score=_OneMetric(name, fn, settings))
        fn.family = register_family(family, code=fn)  # type: ignore[attr-defined]
        return fn

    return decorator


def unregister_family(name: str) -> None:
    """Remove family ``name`` (no error if absent)."""
    REGISTRY.remove(name)


def ensure_loaded() -> None:
    """Register the built-ins and the entry points (once)."""
    REGISTRY.ensure_loaded()


def families() -> tuple[Family, ...]:
    """Every registered family, in evaluation order (built-ins first)."""
    ensure_loaded()
    return tuple(REGISTRY.items.values())


def plugin_families() -> tuple[Family, ...]:
    """The registered families that are not built-in."""
    return tuple(f for f in families() if f.source != "builtin")


def metric_specs() -> dict[str, MetricSpec]:
    """Metric name -> spec, of every registered family."""
    return {spec.name: spec for family in families() for spec in family.metrics}


def family_of(metric: str) -> Family | None:
    """The family that reports ``metric``, or None."""
    return next((f for f in families() if any(m.name == metric for m in f.metrics)), None)


def load_metrics_from(path: str | Path) -> list[Family]:
    """Execute a user ``.py`` file as a module and return the metric families it registered
    (``FileNotFoundError``, or :class:`~ssl_xai_bench.errors.PluginLoadError` naming the file
    when it is no ``.py`` file, fails to execute or registers no metric)."""
    return REGISTRY.load_file(path)


__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "family_of", "families", "load_metrics_from",
           "metric_specs", "plugin_families", "register_family", "register_metric",
           "unregister_family"]
