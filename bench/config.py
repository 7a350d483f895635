"""The benchmark configuration: one TOML document (or a preset) describing the whole matrix.

A configuration names the base scene, the matrix axes (T60 x SNR x array geometry x model x
method), the training budget, the attribution and metric settings, the runner and the output
folders. :func:`load_config` validates every field before any compute and raises
:class:`bench.errors.ConfigError` naming the field (dotted path) and what is allowed.

Sections (all optional except what a preset provides)::

    name = "smoke"            # run name: results go to <output.results_dir>/<name>
    seed = 0                  # global seed; every stage derives its own generator from it
    [scene]                   # base scene (bench.scenes.SceneConfig fields)
    [geometries.NAME]         # extra named array geometries (bench.scenes array fields)
    [matrix]                  # t60 (s), snr_db (dB), geometries, models, methods
    [training]                # budget (max_epochs, patience, ...), per-model overrides
    [attribution]             # batch_size, n_test_windows, target_mode, [attribution.params.METHOD]
    [metrics]                 # bench.metrics.MetricsConfig fields
    [weights]                 # external state_dicts: MODEL = {"T60/SNR" = "path.pth"} or a path
    [runner]                  # mode (local|inprocess|scheduler), scheduler address, workers
    [output]                  # results_dir, store_dir

Units: T60 in seconds, SNR in dB, lengths in metres.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bench import validate as v
from bench.errors import ConfigError

PRESETS = ("smoke", "default", "paper-lite", "paper", "full")
MODEL_NAMES = ("loccnn", "samplecnn")
MAX_CONFIG_BYTES = 1_000_000
MAX_DEPTH = 8
MAX_CELLS = 20_000  # (condition, geometry, model, method) cells one configuration may ask for

#: Array geometries available by name in ``matrix.geometries`` (fields of the scene's ``array``).
BUILTIN_GEOMETRIES: dict[str, dict[str, Any]] = {
    "paper_line": {"kind": "line", "n_mics": 16, "spacing": 0.15, "center": [1.7, 7.0, 1.2]},
    "line8": {"kind": "line", "n_mics": 8, "spacing": 0.15, "center": [1.7, 7.0, 1.2]},
    "circle8": {"kind": "circle", "n_mics": 8, "radius": 0.1, "center": [1.7, 7.0, 1.2]},
}


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
            return [tuple(c) for c in self.conditions]
        return [(t, s) for t in self.t60 for s in self.snr_db]


@dataclass(frozen=True)
class TrainingConfig:
    """Training budget shared by all models (``per_model`` overrides any field by model name)."""

    max_epochs: int = 1000
    patience: int = 200
    lr_patience: int = 100
    lr_factor: float = 0.2
    batch_size: int = 100
    windows_per_source: int = 1
    init_output_bias: bool = False
    per_model: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_model(self, model: str) -> dict[str, Any]:
        """The resolved training fields for one model (learning rate from ``per_model``)."""
        base = {k: val for k, val in asdict(self).items() if k != "per_model"}
        base.update(self.per_model.get(model.partition("@")[0], {}))
        return base


@dataclass(frozen=True)
class AttributionConfig:
    """How relevance is computed: batch size, test-window subsample, explained target, params."""

    batch_size: int = 16
    n_test_windows: int | None = None
    target_mode: str = "position"
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunnerConfig:
    """Where the stage graph runs."""

    mode: str = "local"  # local: embedded Dask LocalCluster; inprocess: no Dask; scheduler: remote
    scheduler: str | None = None
    n_workers: int | None = None
    threads_per_worker: int = 1
    progress: bool = True


@dataclass(frozen=True)
class OutputConfig:
    """Where results and the artifact store live (relative paths are resolved against the CWD)."""

    results_dir: str = "results"
    store_dir: str = ".ssl-xai-bench-cache"


@dataclass(frozen=True)
class BenchConfig:
    """A validated benchmark configuration (see the module docstring)."""

    name: str
    seed: int
    scene: dict[str, Any]
    geometries: dict[str, dict[str, Any]]
    matrix: MatrixConfig
    training: TrainingConfig
    attribution: AttributionConfig
    metrics: dict[str, Any]
    weights: dict[str, Any]
    runner: RunnerConfig
    output: OutputConfig
    preset: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Canonical, JSON-serialisable form (what ``show-config`` prints and hashes cover)."""
        d = asdict(self)
        d["matrix"] = {k: list(val) for k, val in d["matrix"].items()}
        return d

    def config_hash(self) -> str:
        """Hash of everything that changes results (runner and output folders excluded)."""
        d = self.to_dict()
        for key in ("runner", "output", "preset", "name", "description"):
            d.pop(key, None)
        return stable_hash(d)

    def results_path(self) -> Path:
        """Folder of this run's tables, figures and report."""
        return Path(self.output.results_dir) / self.name

    def store_path(self) -> Path:
        """Folder of the content-addressed artifact store."""
        return Path(self.output.store_dir)


def stable_hash(obj: Any, length: int = 16) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys), hex, truncated."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# ---------------------------------------------------------------------------------------------
# Loading


def preset_dict(name: str) -> dict[str, Any]:
    """The raw dictionary of a built-in preset."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    text = resources.files("bench").joinpath("presets", f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML file defensively: size, encoding, syntax and nesting depth are checked."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config", f"file not found: {path}")
    raw = path.read_bytes()
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("config", f"file is {len(raw)} bytes; at most {MAX_CONFIG_BYTES} allowed")
    if b"\x00" in raw:
        raise ConfigError("config", f"{path} is binary, not a UTF-8 TOML text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("config", f"{path} is not UTF-8 text ({exc.reason})") from None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError("config", f"{path} is not valid TOML: {exc}") from None
    _check_depth(data, "config", 0)
    return data


def _check_depth(obj: Any, field: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ConfigError(field, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(obj, dict):
        for key, val in obj.items():
            _check_depth(val, f"{field}.{key}", depth + 1)
    elif isinstance(obj, list):
        for val in obj:
            _check_depth(val, field, depth + 1)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (tables merge, values replace)."""
    out = copy.deepcopy(base)
    for key, val in override.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def parse_override(text: str) -> dict[str, Any]:
    """``"training.max_epochs=5"`` -> ``{"training": {"max_epochs": 5}}`` (value parsed as TOML)."""
    if "=" not in text:
        raise ConfigError("--set", f"expected KEY=VALUE with a dotted key, got {text!r}")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError("--set", f"invalid dotted key {key!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # a bare word is a string
    out: dict[str, Any] = {}
    node = out
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def load_config(
    preset: str | None = "smoke",
    config_file: str | Path | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> BenchConfig:
    """Resolve preset <- file <- overrides and validate the result.

    Parameters
    ----------
    preset : str or None
        Built-in preset to start from (``None``: the file must be complete).
    config_file : path, optional
        A TOML file merged over the preset; it may name its own ``preset``.
    overrides : list of dict
        Further tables merged last (the CLI's options and ``--set``).
    """
    data: dict[str, Any] = {}
    file_data = read_config_file(config_file) if config_file is not None else {}
    base = file_data.get("preset", preset)
    if base is not None:
        v.as_str(base, "preset", choices=PRESETS)
        data = preset_dict(base)
        data["preset"] = base
    data = deep_merge(data, file_data)
    for override in overrides or []:
        data = deep_merge(data, override)
    return config_from_dict(data)


def config_from_dict(d: dict[str, Any]) -> BenchConfig:
    """Validate a complete configuration dictionary."""
    v.check_keys(
        d,
        [
            "name",
            "description",
            "seed",
            "preset",
            "scene",
            "geometries",
            "matrix",
            "training",
            "attribution",
            "metrics",
            "weights",
            "runner",
            "output",
        ],
        "",
    )
    name = v.as_str(d.get("name", "run"), "name")
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ConfigError("name", f"use letters, digits, '-', '_' and '.' only, got {name!r}")
    seed = v.as_int(d.get("seed", 0), "seed", minimum=0, maximum=2**32 - 1)
    preset = d.get("preset")
    scene = dict(v.check_keys(d.get("scene", {}), _scene_keys(), "scene"))
    geometries = _geometries(d.get("geometries", {}))
    matrix = _matrix(d.get("matrix", {}), geometries)
    training = _training(d.get("training", {}))
    attribution = _attribution(d.get("attribution", {}))
    metrics = dict(v.check_keys(d.get("metrics", {}), _metrics_keys(), "metrics"))
    weights = _weights(d.get("weights", {}))
    runner = _runner(d.get("runner", {}))
    output = _output(d.get("output", {}))
    cfg = BenchConfig(
        name=name,
        seed=seed,
        scene=scene,
        geometries=geometries,
        matrix=matrix,
        training=training,
        attribution=attribution,
        metrics=metrics,
        weights=weights,
        runner=runner,
        output=output,
        preset=preset,
        description=v.as_str(d.get("description", ""), "description"),
    )
    validate_deep(cfg)
    return cfg


def _scene_keys() -> list[str]:
    """Scene fields a config may set (T60 and the array are matrix axes, not scene fields)."""
    from bench.scenes import SceneConfig

    return [*(k for k in SceneConfig.__dataclass_fields__ if k not in ("t60", "array")), "preset"]


def _metrics_keys() -> list[str]:
    from bench.metrics.config import MetricsConfig

    return [k for k in MetricsConfig.field_names() if k != "target_mode"]


def _geometries(d: Any) -> dict[str, dict[str, Any]]:
    v.check_keys(d, list(d) if isinstance(d, dict) else [], "geometries")
    out = {k: dict(val) for k, val in BUILTIN_GEOMETRIES.items()}
    for name, geom in d.items():
        if not isinstance(geom, dict):
            raise ConfigError(f"geometries.{name}", "must be a table of array fields")
        from bench.geometry import ArrayConfig

        ArrayConfig.from_dict(geom, f"geometries.{name}")
        out[name] = dict(geom)
    return out


def _matrix(d: Any, geometries: dict[str, dict[str, Any]]) -> MatrixConfig:
    v.check_keys(d, ["t60", "snr_db", "conditions", "geometries", "models", "methods"], "matrix")
    default = MatrixConfig()
    conditions = []
    for i, pair in enumerate(v.as_list(d.get("conditions", []), "matrix.conditions")):
        f = f"matrix.conditions[{i}]"
        pair = v.as_list(pair, f, min_length=2, max_length=2)
        conditions.append(
            (
                v.as_float(pair[0], f, minimum=0.0, exclusive_minimum=True, maximum=5.0),
                v.as_float(pair[1], f, minimum=-30.0, maximum=120.0),
            )
        )
    v.unique(conditions, "matrix.conditions")
    if conditions and ("t60" in d or "snr_db" in d):
        raise ConfigError(
            "matrix.conditions",
            "give either paired conditions or the t60 and snr_db axes, not both",
        )
    if conditions:
        d = {
            **d,
            "t60": sorted({c[0] for c in conditions}),
            "snr_db": sorted({c[1] for c in conditions}),
        }
    t60 = v.unique(
        v.as_list(d.get("t60", list(default.t60)), "matrix.t60", min_length=1), "matrix.t60"
    )
    t60 = [
        v.as_float(x, "matrix.t60", minimum=0.0, exclusive_minimum=True, maximum=5.0) for x in t60
    ]
    snr = v.as_list(d.get("snr_db", list(default.snr_db)), "matrix.snr_db", min_length=1)
    snr = v.unique(
        [v.as_float(x, "matrix.snr_db", minimum=-30.0, maximum=120.0) for x in snr], "matrix.snr_db"
    )
    geoms = v.as_list(
        d.get("geometries", list(default.geometries)), "matrix.geometries", min_length=1
    )
    for g in v.unique(geoms, "matrix.geometries"):
        v.as_str(g, "matrix.geometries", choices=list(geometries))
    models = v.as_list(d.get("models", list(default.models)), "matrix.models", min_length=1)
    for m in v.unique(models, "matrix.models"):
        model_arch(v.as_str(m, "matrix.models"), "matrix.models")
    methods = v.as_list(d.get("methods", list(default.methods)), "matrix.methods", min_length=1)
    for m in v.unique(methods, "matrix.methods"):
        v.as_str(m, "matrix.methods")
    return MatrixConfig(
        tuple(t60), tuple(snr), tuple(geoms), tuple(models), tuple(methods), tuple(conditions)
    )


_TRAINING_LIMITS = {
    "max_epochs": (1, 100_000),
    "patience": (1, 100_000),
    "lr_patience": (1, 100_000),
    "batch_size": (1, 65_536),
    "windows_per_source": (1, 1000),
}


def _training(d: Any) -> TrainingConfig:
    keys = [*_TRAINING_LIMITS, "lr_factor", "init_output_bias", "per_model"]
    v.check_keys(d, keys, "training")
    kwargs: dict[str, Any] = {}
    for key, (lo, hi) in _TRAINING_LIMITS.items():
        if key in d:
            kwargs[key] = v.as_int(d[key], f"training.{key}", minimum=lo, maximum=hi)
    if "lr_factor" in d:
        kwargs["lr_factor"] = v.as_float(
            d["lr_factor"], "training.lr_factor", minimum=0.0, exclusive_minimum=True, maximum=1.0
        )
    if "init_output_bias" in d:
        kwargs["init_output_bias"] = v.as_bool(d["init_output_bias"], "training.init_output_bias")
    per_model = {}
    v.check_keys(d.get("per_model", {}), MODEL_NAMES, "training.per_model")
    for model, table in d.get("per_model", {}).items():
        f = f"training.per_model.{model}"
        v.check_keys(table, [*keys[:-1], "lr"], f)
        out = {}
        for key, val in table.items():
            if key == "lr":
                out[key] = v.as_float(
                    val, f"{f}.lr", minimum=0.0, exclusive_minimum=True, maximum=10.0
                )
            elif key == "lr_factor":
                out[key] = v.as_float(
                    val, f"{f}.lr_factor", minimum=0.0, exclusive_minimum=True, maximum=1.0
                )
            elif key == "init_output_bias":
                out[key] = v.as_bool(val, f"{f}.init_output_bias")
            else:
                lo, hi = _TRAINING_LIMITS[key]
                out[key] = v.as_int(val, f"{f}.{key}", minimum=lo, maximum=hi)
        per_model[model] = out
    return TrainingConfig(**kwargs, per_model=per_model)


def _attribution(d: Any) -> AttributionConfig:
    v.check_keys(d, ["batch_size", "n_test_windows", "target_mode", "params"], "attribution")
    kwargs: dict[str, Any] = {}
    if "batch_size" in d:
        kwargs["batch_size"] = v.as_int(
            d["batch_size"], "attribution.batch_size", minimum=1, maximum=4096
        )
    if "n_test_windows" in d:
        kwargs["n_test_windows"] = v.as_int(
            d["n_test_windows"], "attribution.n_test_windows", minimum=1
        )
    if "target_mode" in d:
        kwargs["target_mode"] = v.as_str(
            d["target_mode"], "attribution.target_mode", choices=["position", "x", "y", "z"]
        )
    params = d.get("params", {})
    v.check_keys(params, list(params) if isinstance(params, dict) else [], "attribution.params")
    for method, table in params.items():
        if not isinstance(table, dict):
            raise ConfigError(f"attribution.params.{method}", "must be a table of parameters")
    kwargs["params"] = {k: dict(val) for k, val in params.items()}
    return AttributionConfig(**kwargs)


def model_arch(entry: str, field: str = "matrix.models") -> str:
    """The architecture of a model entry: ``"samplecnn"`` or ``"samplecnn@authors"`` (external
    weights named ``authors``) -> ``"samplecnn"``."""
    arch, sep, label = entry.partition("@")
    if arch not in MODEL_NAMES:
        raise ConfigError(
            field,
            f"unknown model {entry!r}; allowed: {', '.join(MODEL_NAMES)}, "
            "optionally ARCH@LABEL for external weights named LABEL",
        )
    if sep and (not label or not all(c.isalnum() or c in "-_" for c in label)):
        raise ConfigError(
            field, f"model entry {entry!r}: LABEL after '@' must be letters, digits, '-' or '_'"
        )
    return arch


def _weights(d: Any) -> dict[str, Any]:
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
                v.as_str(path, f"{f}.{cond}")
                _parse_condition_key(cond, f"{f}.{cond}")
            out[model] = dict(spec)
        else:
            raise ConfigError(f, 'must be a path or a table {"T60/SNR" = path}')
    return out


def _weights_for(weights: dict[str, Any], model: str, t60: float, snr: float) -> str | None:
    """The state_dict configured for (model entry, condition), if any."""
    spec = weights.get(model)
    if spec is None or isinstance(spec, str):
        return spec
    for cond, path in spec.items():
        c_t60, c_snr = _parse_condition_key(cond, f"weights.{model}.{cond}")
        if abs(c_t60 - t60) < 1e-9 and abs(c_snr - snr) < 1e-9:
            return path
    return None


def _parse_condition_key(text: str, field: str) -> tuple[float, float]:
    """``"0.15/25"`` -> (0.15, 25.0): the condition a weights file was trained on."""
    try:
        t60, snr = text.split("/")
        return float(t60), float(snr)
    except ValueError:
        raise ConfigError(
            field, f"condition keys are 'T60/SNR' such as '0.15/25', got {text!r}"
        ) from None


def _runner(d: Any) -> RunnerConfig:
    v.check_keys(d, ["mode", "scheduler", "n_workers", "threads_per_worker", "progress"], "runner")
    kwargs: dict[str, Any] = {}
    if "mode" in d:
        kwargs["mode"] = v.as_str(
            d["mode"], "runner.mode", choices=["local", "inprocess", "scheduler"]
        )
    if d.get("scheduler") is not None:
        kwargs["scheduler"] = v.as_str(d["scheduler"], "runner.scheduler")
        kwargs.setdefault("mode", "scheduler")
    if "n_workers" in d:
        kwargs["n_workers"] = v.as_int(d["n_workers"], "runner.n_workers", minimum=1, maximum=1024)
    if "threads_per_worker" in d:
        kwargs["threads_per_worker"] = v.as_int(
            d["threads_per_worker"], "runner.threads_per_worker", minimum=1, maximum=256
        )
    if "progress" in d:
        kwargs["progress"] = v.as_bool(d["progress"], "runner.progress")
    cfg = RunnerConfig(**kwargs)
    if cfg.scheduler and cfg.mode != "scheduler":
        raise ConfigError(
            "runner.mode",
            f"a scheduler address ({cfg.scheduler}) is given but mode is {cfg.mode!r}; use mode "
            "'scheduler' (or drop the address)",
        )
    if cfg.mode == "scheduler" and not cfg.scheduler:
        raise ConfigError(
            "runner.scheduler", "mode 'scheduler' needs a scheduler address (tcp://HOST:PORT)"
        )
    return cfg


def _output(d: Any) -> OutputConfig:
    v.check_keys(d, ["results_dir", "store_dir"], "output")
    kwargs = {k: v.as_str(d[k], f"output.{k}") for k in ("results_dir", "store_dir") if k in d}
    return OutputConfig(**kwargs)


def validate_deep(cfg: BenchConfig) -> None:
    """Cross-field checks that need the stage modules: every scene, metric set and method."""
    m = cfg.matrix
    n_cells = (len(m.t60_snr_pairs()) * len(m.geometries) * len(m.models) * len(m.methods))
    if n_cells > MAX_CELLS:
        raise ConfigError("matrix", f"{n_cells} cells (conditions x geometries x models x "
                          f"methods); at most {MAX_CELLS} per configuration")
    from bench.metrics.config import MetricsConfig

    for _, scene in scenes_of(cfg):
        scene.validate()
    metrics = MetricsConfig.from_dict(metrics_dict(cfg), "metrics")
    for _, scene in scenes_of(cfg):
        metrics.validate_for(scene.array.n_mics, scene.window_length)
    known = _known_methods()
    for method in cfg.matrix.methods:
        if known is not None and method not in known:
            raise ConfigError(
                "matrix.methods",
                f"unknown method {method!r}; available: "
                f"{', '.join(sorted(known))} (add one with --methods-from FILE)",
            )
    for method in cfg.attribution.params:
        if method not in cfg.matrix.methods:
            raise ConfigError(
                f"attribution.params.{method}",
                f"parameters for a method not in matrix.methods ({', '.join(cfg.matrix.methods)})",
            )
    for model in cfg.matrix.models:
        if "@" in model:
            for t60, snr in cfg.matrix.t60_snr_pairs():
                if _weights_for(cfg.weights, model, t60, snr) is None:
                    raise ConfigError(
                        f"weights.{model}",
                        f"model entry {model!r} needs weights "
                        f"for condition '{t60:g}/{snr:g}' (--weights "
                        f"{model}:{t60:g}/{snr:g}=PATH)",
                    )
    for model, spec in cfg.weights.items():
        paths = [spec] if isinstance(spec, str) else list(spec.values())
        for p in paths:
            if not Path(p).is_file():
                raise ConfigError(f"weights.{model}", f"file not found: {p}")


def metrics_dict(cfg: BenchConfig) -> dict[str, Any]:
    """The metric settings with the explained target shared with the attribution stage."""
    return {**cfg.metrics, "target_mode": cfg.attribution.target_mode}


def _known_methods() -> set[str] | None:
    from attributions import list_methods

    return {spec.name for spec in list_methods()}


def scenes_of(cfg: BenchConfig) -> list[tuple[str, Any]]:
    """Every scene of the matrix as (geometry name, SceneConfig): base scene x T60 x geometry."""
    from bench.scenes import SceneConfig

    out = []
    for geometry in cfg.matrix.geometries:
        for t60 in cfg.matrix.t60:
            d = {**cfg.scene, "t60": t60, "array": cfg.geometries[geometry]}
            out.append((geometry, SceneConfig.from_dict(d, "scene")))
    return out
