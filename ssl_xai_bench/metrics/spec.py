"""The shapes every metric family shares: a metric's spec, a family, a cell and its scores.

A *family* is one module of this package that reports a few related metrics: it declares their
:class:`MetricSpec` (name, category, direction, unit), its settings (a frozen dataclass whose
fields are keys of the configuration's ``[metrics]`` table, with their defaults and checks) and
the functions that score a method's relevance (:class:`MethodCell` -> :class:`Scores`) and,
optionally, the method-independent signals (:class:`SignalCell` -> scores per estimator). The
catalogue (:mod:`ssl_xai_bench.metrics.catalogue`) lists the families; evaluation iterates over
it. Shapes: windows and relevance ``(N, M, T)``, positions ``(N, 3)`` m, per-window scores
``(N,)`` (NaN allowed: counted, never averaged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

DIRECTIONS = ("up", "down")
#: Keys of the ``[metrics]`` table that belong to no family (shared by every metric).
SHARED_KEYS = ("n_bootstrap", "ci_level", "target_mode")


@dataclass(frozen=True)
class Headline:
    """A metric's column in the headline tables (``ssl_xai_bench.report.headline``).

    ``label`` and ``short`` head the column (``short`` in Markdown and LaTeX: a few characters).
    A method *beats the reference* of the column when each metric of ``floors`` has its 95 % CI
    on the good side of 0 (by its direction: a gain over a reference names itself) and it is
    significantly better than every control present; ``reference`` says what that means, in
    words ("no method beats <reference>"). ``fallbacks``: ``(metric, reference)`` shown instead,
    in order, when a run lacks this metric (a floor equal to this metric follows the one shown).
    ``order`` places the column (the built-ins take 1 to 7; plug-ins come after them unless they
    say otherwise).
    """

    label: str
    short: str
    floors: tuple[str, ...] = ()
    reference: str = "the controls"
    fallbacks: tuple[tuple[str, str], ...] = ()
    order: float = 100.0


@dataclass(frozen=True)
class MetricSpec:
    """A reported metric: how to read it in a table and how to compare methods on it.

    ``direction`` is ``up`` (higher is better) or ``down``; ``unit`` is printed in headers.
    ``margin`` is the equivalence margin in ``unit``: a difference between two methods smaller
    than it is of no practical consequence (stated before any data, with its reason in
    ``docs/metrics.md``; None: equivalence is not tested). ``paired`` is False for a metric
    whose per-window value exists only on a method-dependent subset of the windows (e.g. a TDoA
    error over the windows that are not anomalous for that method): two methods' values are then
    over different windows, so they get no paired test. ``headline``: the metric's column in the
    headline tables, or None (not a headline metric).
    """

    name: str
    category: str
    direction: str
    unit: str
    description: str
    margin: float | None = None
    paired: bool = True
    headline: Headline | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction: must be one of {DIRECTIONS}, got {self.direction!r}")
        if self.margin is not None and not self.margin > 0:
            raise ValueError(f"margin: must be a positive number or None, got {self.margin!r}")


@dataclass
class Scores:
    """What a family computed for one cell.

    Attributes
    ----------
    values : dict
        Metric name -> per-window scores ``(N,)``, or ``(len(rows[name]),)`` for a subset.
    rows : dict
        Metric name -> indices of the windows scored, for metrics scored on a subset.
    failed : dict
        Metric name -> reason, for metrics that failed in this cell (the others stand).
    undefined : dict
        Metric name -> why some windows have no value (e.g. Quantus refuses a constant
        relevance); the reason of the row when no window has one.
    tables : dict
        Extra tables for the results folder (``"curves"``, ``"tdoa"``).
    """

    values: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class SignalCell:
    """The test windows of one condition (``data``: a WindowSet-like object with ``windows``,
    ``direct``, ``positions``, ``source_ids``, ``corr_time``, ``mic_positions``, ``fs``,
    ``speed_of_sound`` and optionally ``masks``) and the metric settings."""

    data: Any
    config: Any  # MetricsConfig

    @property
    def x(self) -> np.ndarray:
        """Windows ``(N, M, T)`` float32."""
        return np.asarray(self.data.windows, dtype=np.float32)

    @property
    def direct(self) -> np.ndarray | None:
        """Direct-path windows ``(N, M, T)``, or None."""
        direct = getattr(self.data, "direct", None)
        return None if direct is None else np.asarray(direct)

    @property
    def positions(self) -> np.ndarray:
        return np.asarray(self.data.positions, dtype=np.float64)

    @property
    def masks(self) -> dict[str, np.ndarray] | None:
        """The ground-truth masks ``name -> (N, M, T)`` bool (``direct``, ``onset``, ``rest``)
        of ``data.masks`` (an object with ``as_dict()``), or None when the data has none."""
        masks = getattr(self.data, "masks", None)
        return None if masks is None else {k: np.asarray(v, dtype=bool)
                                           for k, v in masks.as_dict().items()}


@dataclass
class MethodCell(SignalCell):
    """One (model, method) cell: the signals, the model, the method's relevance, and the model's
    predictions ``(N, 3)`` on the unmodified windows (computed once, shared by the families).

    ``removal_seed`` draws the removal baselines' noise and donors (the same for every method of
    a model and for its controls); ``shared_model`` is the model behind a store of the outputs of
    inputs already run (:mod:`ssl_xai_bench.metrics.forward_cache`), for forward-only metrics.
    """

    model: nn.Module = None
    relevance: np.ndarray = None
    prediction: np.ndarray = None
    method: str = ""
    seed: int = 0
    explain_fn: Callable[..., Any] | None = None
    controls: dict[str, np.ndarray] | None = None
    removal_seed: int = 0
    shared_model: nn.Module | None = None


@dataclass(frozen=True)
class Family:
    """One family of metrics (see the module docstring).

    ``score(cell)`` scores a :class:`MethodCell`; ``score_signals(cell)`` (optional) scores the
    method-independent estimators of a :class:`SignalCell` and returns estimator -> scores.
    ``settings`` is the family's settings dataclass; its fields are ``[metrics]`` keys.
    ``source`` and ``source_hash``: where the family was registered from and the hash of its
    code (:mod:`ssl_xai_bench.metrics.registry`; the built-ins are keyed by the stages' own
    import closures instead).
    """

    name: str
    metrics: tuple[MetricSpec, ...]
    settings: type
    score: Callable[[MethodCell], Scores]
    score_signals: Callable[[SignalCell], dict[str, Scores]] | None = None
    source: str = "builtin"
    source_hash: str = ""


def with_headlines(specs: tuple[MetricSpec, ...],
                   headlines: dict[str, Headline]) -> tuple[MetricSpec, ...]:
    """``specs`` with the headline declarations of ``headlines`` (metric name -> Headline)."""
    unknown = set(headlines) - {s.name for s in specs}
    if unknown:
        raise ValueError(f"headlines: no metric named {sorted(unknown)}")
    return tuple(replace(s, headline=headlines[s.name]) if s.name in headlines else s
                 for s in specs)


@dataclass(frozen=True)
class NoSettings:
    """Settings of a family that has none."""

    def validate(self) -> None:
        """Nothing to check."""

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Nothing to check."""


__all__ = ["DIRECTIONS", "SHARED_KEYS", "Family", "Headline", "MethodCell", "MetricSpec",
           "NoSettings", "Scores", "SignalCell", "with_headlines"]
