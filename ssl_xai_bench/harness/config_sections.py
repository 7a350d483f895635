"""The sections of a benchmark configuration other than the scene and metrics, typed.

Each ``[section]`` of the TOML document has a frozen dataclass here and a parser that checks
every field with :mod:`ssl_xai_bench.validate` (``ConfigError`` naming ``section.field``);
:func:`ssl_xai_bench.harness.config.config_from_dict` assembles them into a ``BenchConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ssl_xai_bench import validate as check
from ssl_xai_bench.acoustics.geometry import ArrayConfig
from ssl_xai_bench.attributions import TARGET_MODES, list_methods
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.models.device import resolve_precision
from ssl_xai_bench.models.registry import model_arch, model_names
from ssl_xai_bench.models.train_config import TrainConfig

RUNNER_MODES = ("local", "inprocess", "scheduler")


@dataclass(frozen=True)
class MatrixConfig:
    """The matrix axes: every combination is one cell."""

    t60: tuple[float, ...] = (0.3,)
    snr_db: tuple[float, ...] = (20.0,)
    geometries: tuple[str, ...] = ("paper_line",)
    models: tuple[str, ...] = ("loccnn",)
    methods: tuple[str, ...] = ("lrp", "gradient")
    conditions: tuple[tuple[float, float], ...] = ()  # paired (T60, SNR); replaces the product

    def t60_snr_pairs(self) -> list[tuple[float, float]]:
        """The (T60 s, SNR dB) conditions: ``conditions`` if given, else the product."""
        if self.conditions:
            return [(float(t), float(s)) for t, s in self.conditions]
        return [(t, s) for t in self.t60 for s in self.snr_db]


@dataclass(frozen=True)
class TrainingConfig:
    """The training budget: one :class:`TrainConfig` for every model, overridden per model, and
    the training *scope*.

    ``scope = "condition"`` (the study's): one model per (condition, model entry), trained on that
    condition's windows. ``scope = "geometry"``: one model per (array geometry, model entry)
    trained on the mixture of that geometry's conditions, then per condition fine-tuned for
    ``finetune_epochs`` epochs (0: evaluated as it is). ``scope = "curriculum"``: per (array
    geometry, model entry), the first condition of the matrix is trained from scratch and each
    later one starts from the previous condition's model and trains ``finetune_epochs`` epochs
    (e.g. (0.6 s, 10 dB) from (0.15 s, 25 dB)), at ``finetune_lr_scale`` times the model's
    learning rate (1: the from-scratch rate, whose one-cycle schedule climbs back to its peak
    and can spend the warm start). Warm-started and fine-tuned models keep their
    output layer (no ``init_output_bias``, no ``zero_output_weights``). Every cell still reports
    its own model's skill on its own test set. A ``[training.per_model.ARCH]`` table may set its
    own ``scope``, ``finetune_epochs`` and ``finetune_lr_scale`` (``per_model_scope``); the
    fields it leaves out are the section's.
    """

    defaults: TrainConfig = field(default_factory=TrainConfig)
    per_model: dict[str, TrainConfig] = field(default_factory=dict)
    scope: str = "condition"
    finetune_epochs: int = 0
    finetune_lr_scale: float = 1.0
    per_model_scope: dict[str, TrainingScope] = field(default_factory=dict)

    def for_model(self, model: str) -> TrainConfig:
        """The resolved training configuration of a model entry (``ARCH`` or ``ARCH@LABEL``)."""
        return self.per_model.get(model.partition("@")[0], self.defaults)

    def scope_for(self, model: str) -> TrainingScope:
        """The training scope of a model entry (``ARCH`` or ``ARCH@LABEL``)."""
        own = self.per_model_scope.get(model.partition("@")[0])
        return own or TrainingScope(self.scope, self.finetune_epochs, self.finetune_lr_scale)


@dataclass(frozen=True)
class TrainingScope:
    """Which models one model entry trains and from where (:class:`TrainingConfig`)."""

    scope: str = "condition"
    finetune_epochs: int = 0
    finetune_lr_scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "finetune_epochs": self.finetune_epochs,
                "finetune_lr_scale": self.finetune_lr_scale}


@dataclass(frozen=True)
class AttributionConfig:
    """How relevance is computed: batch size, test-window subsample, explained target, params."""

    batch_size: int = 16
    n_test_windows: int | None = None
    target_mode: str = "position"
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunnerConfig:
    """Where the stage graph runs (``local``: embedded Dask LocalCluster; ``inprocess``: no Dask;
    ``scheduler``: a remote Dask scheduler)."""

    mode: str = "local"
    scheduler: str | None = None
    n_workers: int | None = None
    threads_per_worker: int = 1
    progress: bool = True


@dataclass(frozen=True)
class OutputConfig:
    """Where results and the artifact store live (relative paths: from the current directory,
    or from the configuration file's folder when a file gives them). The default results folder,
    ``runs``, is ignored by git: a run never writes into the committed reference ``results/``
    unless asked (``--update-reference``)."""

    results_dir: str = "runs"
    store_dir: str = ".ssl-xai-bench-cache"


def parse_matrix(d: Any, geometries: dict[str, ArrayConfig]) -> MatrixConfig:
    check.check_keys(d, ["t60", "snr_db", "conditions", "geometries", "models", "methods"],
                     "matrix")
    default = MatrixConfig()
    conditions = []
    for i, pair in enumerate(check.as_list(d.get("conditions", []), "matrix.conditions")):
        f = f"matrix.conditions[{i}]"
        pair = check.as_list(pair, f, min_length=2, max_length=2)
        conditions.append((_t60(pair[0], f), _snr(pair[1], f)))
    check.unique(conditions, "matrix.conditions")
    if conditions and ("t60" in d or "snr_db" in d):
        raise ConfigError("matrix.conditions",
                          "give either paired conditions or the t60 and snr_db axes, not both")
    if conditions:
        t60 = sorted({c[0] for c in conditions})
        snr = sorted({c[1] for c in conditions})
    else:
        t60 = [_t60(x, "matrix.t60") for x in check.as_list(
            d.get("t60", list(default.t60)), "matrix.t60", min_length=1)]
        snr = [_snr(x, "matrix.snr_db") for x in check.as_list(
            d.get("snr_db", list(default.snr_db)), "matrix.snr_db", min_length=1)]
    check.unique(t60, "matrix.t60")
    check.unique(snr, "matrix.snr_db")
    geoms = check.unique(check.as_list(d.get("geometries", list(default.geometries)),
                                       "matrix.geometries", min_length=1), "matrix.geometries")
    for g in geoms:
        check.as_str(g, "matrix.geometries", choices=list(geometries))
    models = check.unique(check.as_list(d.get("models", list(default.models)), "matrix.models",
                                        min_length=1), "matrix.models")
    for m in models:
        model_arch(check.as_str(m, "matrix.models"), "matrix.models")
    methods = check.unique(check.as_list(d.get("methods", list(default.methods)),
                                         "matrix.methods", min_length=1), "matrix.methods")
    known = sorted(spec.name for spec in list_methods())
    for m in methods:
        if check.as_str(m, "matrix.methods") not in known:
            raise ConfigError("matrix.methods", f"unknown method {m!r}; available: "
                              f"{', '.join(known)} (add one with --methods-from FILE)")
    return MatrixConfig(tuple(t60), tuple(snr), tuple(geoms), tuple(models), tuple(methods),
                        tuple(conditions))


def _t60(value: Any, f: str) -> float:
    return check.as_float(value, f, minimum=0.0, exclusive_minimum=True, maximum=5.0)


def _snr(value: Any, f: str) -> float:
    return check.as_float(value, f, minimum=-30.0, maximum=120.0)


TRAINING_SCOPES = ("condition", "geometry", "curriculum")
#: The ``[training]`` keys that are not :class:`TrainConfig` fields.
_SCOPE_FIELDS = ("per_model", "scope", "finetune_epochs", "finetune_lr_scale")


def parse_training(d: Any) -> TrainingConfig:
    check.check_keys(d, [*TrainConfig.field_names(), *_SCOPE_FIELDS], "training")
    section = _parse_scope(d, "training", TrainingScope())
    base = {k: v for k, v in d.items() if k not in _SCOPE_FIELDS}
    defaults = TrainConfig.from_dict(base, "training")
    per_model, per_model_scope = {}, {}
    overrides = d.get("per_model", {})
    check.check_keys(overrides, model_names(), "training.per_model")
    own_scope = [k for k in _SCOPE_FIELDS if k != "per_model"]
    for model, table in overrides.items():
        f = f"training.per_model.{model}"
        check.check_keys(table, [*TrainConfig.field_names(), *own_scope], f)
        per_model[model] = TrainConfig.from_dict(
            {**base, **{k: v for k, v in table.items() if k not in own_scope}}, f)
        if any(k in table for k in own_scope):
            per_model_scope[model] = _parse_scope(table, f, section)
    return TrainingConfig(_concrete(defaults), {m: _concrete(t) for m, t in per_model.items()},
                          section.scope, section.finetune_epochs, section.finetune_lr_scale,
                          per_model_scope)


def _parse_scope(d: Any, f: str, inherited: TrainingScope) -> TrainingScope:
    """The scope fields of ``[training]`` or of a ``[training.per_model.ARCH]`` table (the
    fields it leaves out are ``inherited``), checked together."""
    scope = check.as_str(d.get("scope", inherited.scope), f"{f}.scope", choices=TRAINING_SCOPES)
    finetune = check.as_int(d.get("finetune_epochs", inherited.finetune_epochs),
                            f"{f}.finetune_epochs", minimum=0, maximum=100_000)
    if finetune and scope == "condition":
        raise ConfigError(f"{f}.finetune_epochs", "fine-tuning applies to scope = "
                          "'geometry' (a mixture model per geometry, fine-tuned per condition) "
                          "or 'curriculum' (each condition from the previous one); set 0 with "
                          "scope = 'condition'")
    if scope == "curriculum" and not finetune:
        raise ConfigError(f"{f}.finetune_epochs", "scope = 'curriculum' needs >= 1 "
                          "(the epochs of each warm-started condition)")
    lr_scale = check.as_float(d.get("finetune_lr_scale", inherited.finetune_lr_scale),
                              f"{f}.finetune_lr_scale", minimum=0.0, exclusive_minimum=True,
                              maximum=1.0)
    if lr_scale != 1.0 and not finetune:
        raise ConfigError(f"{f}.finetune_lr_scale", "applies to fine-tuned models only: "
                          "set finetune_epochs >= 1 (scope 'geometry' or 'curriculum')")
    return TrainingScope(scope, finetune, lr_scale)


def _concrete(tc: TrainConfig) -> TrainConfig:
    """``precision = "auto"`` resolved on this machine: the cache key and the provenance record
    the precision the models are trained with, not the request."""
    return replace(tc, precision=resolve_precision(tc.precision, tc.device))


def parse_attribution(d: Any) -> AttributionConfig:
    check.check_keys(d, ["batch_size", "n_test_windows", "target_mode", "params"], "attribution")
    kwargs: dict[str, Any] = {}
    if "batch_size" in d:
        kwargs["batch_size"] = check.as_int(d["batch_size"], "attribution.batch_size",
                                            minimum=1, maximum=4096)
    if "n_test_windows" in d:
        kwargs["n_test_windows"] = check.as_int(d["n_test_windows"],
                                                "attribution.n_test_windows", minimum=1,
                                                allow_none=True)
    if "target_mode" in d:
        kwargs["target_mode"] = check.as_str(d["target_mode"], "attribution.target_mode",
                                             choices=TARGET_MODES)
    params = d.get("params", {})
    check.check_keys(params, list(params) if isinstance(params, dict) else [],
                     "attribution.params")
    for method, table in params.items():
        if not isinstance(table, dict):
            raise ConfigError(f"attribution.params.{method}", "must be a table of parameters")
    kwargs["params"] = {k: dict(val) for k, val in params.items()}
    return AttributionConfig(**kwargs)


def parse_weights(d: Any) -> dict[str, str | dict[str, str]]:
    if not isinstance(d, dict):
        raise ConfigError("weights", 'must be a table {MODEL = path or {"T60/SNR" = path}}')
    out: dict[str, Any] = {}
    for model, spec in d.items():
        f = f"weights.{model}"
        model_arch(model, f)
        if isinstance(spec, str):
            out[model] = spec
        elif isinstance(spec, dict):
            for cond, path in spec.items():
                check.as_str(path, f"{f}.{cond}")
                parse_condition_key(cond, f"{f}.{cond}")
            out[model] = dict(spec)
        else:
            raise ConfigError(f, 'must be a path or a table {"T60/SNR" = path}')
    return out


def parse_condition_key(text: str, field: str) -> tuple[float, float, str | None]:
    """``"0.15/25"`` -> (0.15, 25.0, None), ``"0.15/25/line8"`` -> (0.15, 25.0, "line8"): the
    condition (and optionally the array geometry) a weights file was trained on."""
    try:
        t60, snr, *rest = text.split("/")
        if len(rest) > 1 or (rest and not rest[0]):
            raise ValueError(text)
        return float(t60), float(snr), rest[0] if rest else None
    except ValueError:
        raise ConfigError(field, "condition keys are 'T60/SNR' or 'T60/SNR/GEOMETRY' such as "
                          f"'0.15/25' or '0.15/25/line8', got {text!r}") from None


def parse_runner(d: Any) -> RunnerConfig:
    check.check_keys(d, ["mode", "scheduler", "n_workers", "threads_per_worker", "progress"],
                     "runner")
    kwargs: dict[str, Any] = {}
    if "mode" in d:
        kwargs["mode"] = check.as_str(d["mode"], "runner.mode", choices=RUNNER_MODES)
    if d.get("scheduler") is not None:
        kwargs["scheduler"] = check.as_str(d["scheduler"], "runner.scheduler")
        kwargs.setdefault("mode", "scheduler")
    if "n_workers" in d:
        kwargs["n_workers"] = check.as_int(d["n_workers"], "runner.n_workers", minimum=1,
                                           maximum=1024, allow_none=True)
    if "threads_per_worker" in d:
        kwargs["threads_per_worker"] = check.as_int(
            d["threads_per_worker"], "runner.threads_per_worker", minimum=1, maximum=256)
    if "progress" in d:
        kwargs["progress"] = check.as_bool(d["progress"], "runner.progress")
    cfg = RunnerConfig(**kwargs)
    if cfg.scheduler and cfg.mode != "scheduler":
        raise ConfigError("runner.mode", f"a scheduler address ({cfg.scheduler}) is given but "
                          f"mode is {cfg.mode!r}; use mode 'scheduler' (or drop the address)")
    if cfg.mode == "scheduler" and not cfg.scheduler:
        raise ConfigError("runner.scheduler",
                          "mode 'scheduler' needs a scheduler address (tcp://HOST:PORT)")
    return cfg


def parse_output(d: Any) -> OutputConfig:
    check.check_keys(d, ["results_dir", "store_dir"], "output")
    return OutputConfig(**{k: check.as_str(d[k], f"output.{k}")
                           for k in ("results_dir", "store_dir") if k in d})


__all__ = ["RUNNER_MODES", "TRAINING_SCOPES", "AttributionConfig", "MatrixConfig",
           "OutputConfig", "RunnerConfig", "TrainingConfig", "parse_attribution",
           "parse_condition_key", "parse_matrix", "parse_output", "parse_runner", "parse_training",
           "parse_weights"]
