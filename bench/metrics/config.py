"""Configuration of the metric suite (the ``[metrics]`` section of a benchmark config).

:class:`MetricsConfig` holds which Quantus metrics run and with which parameters, the
manipulation fractions, the TDoA variants and pairs, the de-reverberation and channel-identity lag
ranges, SRP-PHAT on relevance, and the bootstrap settings. ``from_dict`` validates every field and
raises :class:`bench.errors.ConfigError` naming it; fields that depend on the input shape
(``features_in_step`` dividing ``T``, pair indices below ``M``) are checked by
:meth:`MetricsConfig.validate_for` before any compute of a cell. Each benchmark preset
(``bench/presets/*.toml``) carries its own ``[metrics]`` section (``smoke`` is tiny, for tests).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from bench.errors import ConfigError
from bench.metrics.manipulation import PAPER_FRACTIONS, RANKINGS
from bench.metrics.quantus_suite import (
    PERTURB_BASELINES,
    QUANTUS_METRICS,
    metric_params,
    validate_params,
)
from bench.metrics.tdoa import PAPER_PAIR, TDOA_VARIANTS, mic_pairs

TARGET_MODES = ("position", "x", "y", "z")


@dataclass(frozen=True)
class MetricsConfig:
    """Settings of the metric suite; see ``docs/metrics.md`` for every metric.

    Attributes
    ----------
    quantus_metrics : tuple of str
        Keys of :data:`bench.metrics.quantus_suite.QUANTUS_METRICS` to run.
    quantus_params : dict
        Per-metric parameter overrides, e.g. ``{"pixel_flipping": {"features_in_step": 1280}}``.
    quantus_batch_size : int
        Windows per Quantus call.
    explain_windows : int
        Windows on which the metrics that recompute explanations (MaxSensitivity,
        EfficientMPRT) run: the first ``explain_windows`` of the cell's test windows, the same
        for every method (so paired tests stay paired); 0 = all. They cost one or more
        explanations per window, i.e. ``n_steps`` backward passes each for integrated gradients.
    perturb_baseline : str
        Value removed samples take: ``zero`` (the paper's removal), ``mean`` or ``uniform``.
    manipulation_fractions : tuple of float
        Fractions of samples zeroed in experiment A (must contain 0.1 for the gap).
    manipulation_rankings : tuple of str
        Subset of ``relevance``, ``energy``, ``random``.
    manipulation_batch_size : int
        Windows per forward in experiment A.
    tdoa_variants : tuple of str
        ``paper`` and/or ``bounded``.
    tdoa_paper_pair : tuple of int or None
        The pair of the ``paper`` variant (0-based); ``None`` (default) = the two central
        microphones, which is the study's (7, 8) on its 16-mic array.
    tdoa_pairs : str or tuple of pairs
        Pairs of the ``bounded`` variant: ``"all"`` or a list of ``[i, j]``.
    tdoa_nfft : int
        GCC-PHAT FFT length; 0 = ``nextpow2(2T + 1)`` (16384 for T = 5120, the authors').
    tdoa_precision : str
        ``float32`` or ``float64`` FFTs.
    dereverb_max_lag : int
        Lag range (samples) of the direct-path similarity.
    identity_max_lag : int
        Lag range of the channel-identity diagnostic; -1 = the array's maximum physical TDoA.
    srp_phat : bool
        Run SRP-PHAT on relevance and microphone signals.
    srp_grid_step, srp_margin : float
        SRP-PHAT grid spacing and margin around the test positions (m).
    n_bootstrap : int
        Bootstrap resamples of every CI.
    ci_level : float
        Confidence level.
    target_mode : str
        Explained scalar (must match the attribution stage's ``target_mode``).
    """

    quantus_metrics: tuple[str, ...] = tuple(QUANTUS_METRICS)
    quantus_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    quantus_batch_size: int = 16
    explain_windows: int = 0
    perturb_baseline: str = "zero"
    manipulation_fractions: tuple[float, ...] = PAPER_FRACTIONS
    manipulation_rankings: tuple[str, ...] = RANKINGS
    manipulation_batch_size: int = 64
    tdoa_variants: tuple[str, ...] = TDOA_VARIANTS
    tdoa_paper_pair: tuple[int, int] | None = None
    tdoa_pairs: str | tuple[tuple[int, int], ...] = "all"
    tdoa_nfft: int = 0
    tdoa_precision: str = "float32"
    dereverb_max_lag: int = 8
    identity_max_lag: int = -1
    srp_phat: bool = True
    srp_grid_step: float = 0.1
    srp_margin: float = 0.5
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    target_mode: str = "position"

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Names of the configurable fields (the allowed keys of ``[metrics]``)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, d: Any, field_prefix: str = "metrics") -> MetricsConfig:
        """Build and validate from a mapping (TOML table); unknown keys are refused.

        Raises
        ------
        ConfigError
            Naming ``<field_prefix>.<field>`` and what is allowed.
        """
        p = field_prefix

        def err(name: str, msg: str) -> ConfigError:
            return ConfigError(f"{p}.{name}", msg)

        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise ConfigError(p, f"must be a table (mapping), got {type(d).__name__}")
        allowed = cls.field_names()
        for key in d:
            if key not in allowed:
                raise err(str(key), f"unknown key; allowed keys here: {', '.join(allowed)}")
        kw: dict[str, Any] = {}

        def as_int(name: str, lo: int) -> None:
            if name in d:
                val = d[name]
                if isinstance(val, bool) or not isinstance(val, int) or val < lo:
                    raise err(name, f"must be an integer >= {lo}, got {val!r}")
                kw[name] = val

        def as_choices(name: str, choices: tuple[str, ...], single: bool = False) -> None:
            if name not in d:
                return
            val = d[name]
            vals = [val] if single else val
            if not isinstance(vals, list | tuple) or not all(isinstance(x, str) for x in vals):
                raise err(name, f"must be {'a string' if single else 'a list of strings'}")
            for x in vals:
                if x not in choices:
                    raise err(name, f"unknown value {x!r}; allowed: {list(choices)}")
            if not single and len(set(vals)) != len(vals):
                raise err(name, "values must be unique")
            kw[name] = val if single else tuple(vals)

        as_choices("quantus_metrics", tuple(QUANTUS_METRICS))
        if "quantus_params" in d:
            qp = d["quantus_params"]
            if not isinstance(qp, dict):
                raise err("quantus_params", "must be a table of tables (metric -> parameters)")
            clean = {}
            for name, params in qp.items():
                if name not in QUANTUS_METRICS:
                    raise err(f"quantus_params.{name}", f"unknown metric; allowed: "
                              f"{list(QUANTUS_METRICS)}")
                if not isinstance(params, dict):
                    raise err(f"quantus_params.{name}", "must be a table of parameters")
                clean[name] = dict(params)
                full = metric_params(name, params)  # refuses unknown parameter names
                validate_params(name, full, n_mics=None, n_samples=None)
            kw["quantus_params"] = clean
        as_int("quantus_batch_size", 1)
        as_int("explain_windows", 0)
        as_choices("perturb_baseline", PERTURB_BASELINES, single=True)
        if "manipulation_fractions" in d:
            fr = d["manipulation_fractions"]
            if not isinstance(fr, list | tuple) or not fr or not all(
                isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x < 1 for x in fr
            ):
                raise err("manipulation_fractions", "must be a non-empty list of numbers in [0, 1)")
            if sorted(fr) != list(fr) or len(set(fr)) != len(fr):
                raise err("manipulation_fractions", "must be strictly increasing")
            if not any(abs(x - 0.1) < 1e-9 for x in fr):
                raise err("manipulation_fractions", "must contain 0.1 (the gap is taken there)")
            kw["manipulation_fractions"] = tuple(float(x) for x in fr)
        as_choices("manipulation_rankings", RANKINGS)
        as_int("manipulation_batch_size", 1)
        as_choices("tdoa_variants", TDOA_VARIANTS)
        if d.get("tdoa_paper_pair") is not None:
            kw["tdoa_paper_pair"] = _pair(d["tdoa_paper_pair"], f"{p}.tdoa_paper_pair")
        if "tdoa_pairs" in d:
            tp = d["tdoa_pairs"]
            if tp == "all":
                kw["tdoa_pairs"] = "all"
            elif isinstance(tp, list | tuple) and tp:
                kw["tdoa_pairs"] = tuple(_pair(x, f"{p}.tdoa_pairs") for x in tp)
            else:
                raise err("tdoa_pairs", 'must be "all" or a non-empty list of [i, j] pairs')
        as_int("tdoa_nfft", 0)
        as_choices("tdoa_precision", ("float32", "float64"), single=True)
        as_int("dereverb_max_lag", 0)
        as_int("identity_max_lag", -1)
        if "srp_phat" in d:
            if not isinstance(d["srp_phat"], bool):
                raise err("srp_phat", f"must be true or false, got {d['srp_phat']!r}")
            kw["srp_phat"] = d["srp_phat"]
        for name in ("srp_grid_step", "srp_margin"):
            if name in d:
                val = d[name]
                if isinstance(val, bool) or not isinstance(val, int | float) or not val > 0:
                    raise err(name, f"must be a number > 0 (metres), got {val!r}")
                kw[name] = float(val)
        as_int("n_bootstrap", 10)
        if "ci_level" in d:
            val = d["ci_level"]
            if isinstance(val, bool) or not isinstance(val, int | float) or not 0.5 <= val < 1:
                raise err("ci_level", f"must be a number in [0.5, 1), got {val!r}")
            kw["ci_level"] = float(val)
        as_choices("target_mode", TARGET_MODES, single=True)
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """Plain (TOML/JSON-friendly) dictionary; ``from_dict(to_dict())`` round-trips."""
        out = asdict(self)
        for key, val in out.items():
            if isinstance(val, tuple):
                out[key] = [list(x) if isinstance(x, tuple) else x for x in val]
        return out

    @classmethod
    def preset(cls, name: str) -> MetricsConfig:
        """The ``[metrics]`` section of a benchmark preset (``bench/presets/NAME.toml``)."""
        from bench.config import preset_dict

        return cls.from_dict(preset_dict(name).get("metrics", {}))

    def paper_pair(self, n_mics: int) -> tuple[int, int]:
        """The ``paper`` variant's pair: as configured, else the central pair (16 mics: (7, 8))."""
        if self.tdoa_paper_pair is not None:
            return self.tdoa_paper_pair
        return (n_mics // 2 - 1, n_mics // 2) if n_mics >= 2 else PAPER_PAIR

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Checks that need the input shape ``(M, T)``; raise ``ConfigError`` before compute."""
        for name in self.quantus_metrics:
            params = metric_params(name, self.quantus_params.get(name))
            validate_params(name, params, n_mics, n_samples)
        try:
            mic_pairs(n_mics, [self.paper_pair(n_mics)])
        except ValueError as exc:
            raise ConfigError("metrics.tdoa_paper_pair", str(exc)) from None
        if self.tdoa_pairs != "all":
            try:
                mic_pairs(n_mics, self.tdoa_pairs)
            except ValueError as exc:
                raise ConfigError("metrics.tdoa_pairs", str(exc)) from None
        if self.tdoa_nfft and (self.tdoa_nfft < n_samples or self.tdoa_nfft % 2):
            raise ConfigError("metrics.tdoa_nfft", f"must be 0 or an even length >= T={n_samples}")
        if self.dereverb_max_lag >= n_samples or self.identity_max_lag >= n_samples:
            raise ConfigError("metrics.dereverb_max_lag", f"lag ranges must be < T={n_samples}")


def _pair(value: Any, field_name: str) -> tuple[int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in value)
        or value[0] == value[1]
    ):
        raise ConfigError(field_name, f"a pair is [i, j] with distinct indices >= 0, got {value!r}")
    return int(value[0]), int(value[1])


__all__ = ["MetricsConfig"]
