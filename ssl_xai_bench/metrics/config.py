"""Configuration of the metric suite: the ``[metrics]`` table, one settings object per family.

The table is flat (``tdoa_nfft = 0``, ``manipulation_fractions = [...]``); each key belongs to
exactly one family's settings dataclass (fields, defaults and checks live in the family's
module, :mod:`ssl_xai_bench.metrics.registry` lists the families: the built-ins and the
plug-ins registered before the configuration is read), plus the shared
``n_bootstrap``, ``ci_level`` and ``target_mode``. A family's settings are read as an attribute
named after the family: ``config.tdoa.tdoa_nfft``. :meth:`MetricsConfig.from_dict` refuses unknown
keys and bad values with :class:`ssl_xai_bench.errors.ConfigError` naming ``metrics.<key>``;
:meth:`MetricsConfig.validate_for` checks what depends on the input shape ``(M, T)`` before any
compute of a cell. ``docs/metrics.md`` defines every metric.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ssl_xai_bench import validate as check
from ssl_xai_bench.attributions.target import TARGET_MODES
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics.registry import families
from ssl_xai_bench.metrics.spec import SHARED_KEYS, Family


def _default_settings() -> dict[str, Any]:
    return {f.name: f.settings() for f in families()}


@dataclass(frozen=True)
class MetricsConfig:
    """Settings of the metric suite.

    Attributes
    ----------
    n_bootstrap : int
        Bootstrap resamples of every CI.
    ci_level : float
        Confidence level of every CI.
    target_mode : str
        The explained scalar (the attribution stage's ``target_mode``).
    settings : dict
        Family name -> its settings object, also readable as ``config.<family name>``.
    """

    n_bootstrap: int = 1000
    ci_level: float = 0.95
    target_mode: str = "position"
    settings: dict[str, Any] = field(default_factory=_default_settings)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "settings":
            raise AttributeError(name)
        try:
            return self.settings[name]
        except KeyError:
            raise AttributeError(f"MetricsConfig has no family or field {name!r}") from None

    def of(self, family: Family) -> Any:
        """The settings of ``family``: this configuration's, or the family's defaults when the
        configuration does not know it (a family outside the catalogue)."""
        return self.settings.get(family.name) or family.settings()

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Every key of the ``[metrics]`` table."""
        return SHARED_KEYS + tuple(f.name for fam in families() for f in fields(fam.settings))

    @classmethod
    def from_dict(cls, d: Any, field_prefix: str = "metrics") -> MetricsConfig:
        """Build and validate from the flat ``[metrics]`` table; unknown keys are refused."""
        d = check.check_mapping({} if d is None else d, cls.field_names(), field_prefix)
        kw: dict[str, Any] = {}
        if "n_bootstrap" in d:
            kw["n_bootstrap"] = check.as_int(d["n_bootstrap"], f"{field_prefix}.n_bootstrap",
                                             minimum=10)
        if "ci_level" in d:
            level = check.as_float(d["ci_level"], f"{field_prefix}.ci_level", minimum=0.5)
            if not level < 1:
                raise ConfigError(f"{field_prefix}.ci_level", f"must be in [0.5, 1), got {level}")
            kw["ci_level"] = level
        if "target_mode" in d:
            kw["target_mode"] = check.as_str(d["target_mode"], f"{field_prefix}.target_mode",
                                             choices=TARGET_MODES)
        settings = {}
        for family in families():
            own = {f.name: _tupled(d[f.name]) for f in fields(family.settings) if f.name in d}
            settings[family.name] = family.settings(**own)
            settings[family.name].validate()
        return cls(**kw, settings=settings)

    def to_dict(self) -> dict[str, Any]:
        """The flat table (TOML/JSON-friendly); ``from_dict(to_dict())`` round-trips."""
        out: dict[str, Any] = {k: getattr(self, k) for k in SHARED_KEYS}
        for family in families():
            out.update({k: _listed(v) for k, v in asdict(self.of(family)).items()})
        return out

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Checks that need the input shape ``(M, T)``; raise ``ConfigError`` before compute."""
        for family in families():
            self.of(family).validate_for(n_mics, n_samples)


def _tupled(value: Any) -> Any:
    """TOML lists -> tuples (hashable, canonical); tables stay dicts."""
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    return value


def _listed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value


__all__ = ["MetricsConfig", "SHARED_KEYS"]
