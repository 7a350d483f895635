"""The benchmark configuration, parsed and validated once into typed objects.

A configuration (a preset, a TOML file, overrides; :mod:`ssl_xai_bench.harness.presets`) names
the base scene, the matrix axes (T60 x SNR x array geometry x model x method), the training
budget, the attribution and metric settings, external weights, the runner and the output
folders. :func:`config_from_dict` checks every field before any compute and raises
:class:`ssl_xai_bench.errors.ConfigError` naming the field (dotted path) and what is allowed; the
result, a :class:`BenchConfig`, is what every later step receives (the stage graph builds each
stage's typed config from it; nothing parses the dictionary again).

Sections (all optional except what a preset provides)::

    name = "smoke"            # run name: results go to <output.results_dir>/<name>
    seed = 0                  # global seed; every stage derives its own generator from it
    [scene]                   # base scene (SceneConfig fields except t60 and array)
    [geometries.NAME]         # extra named arrays (ArrayConfig fields)
    [matrix]                  # t60 (s), snr_db (dB) or paired conditions, geometries, models,
                              # methods
    [training]                # TrainConfig fields, per_model overrides
    [attribution]             # batch_size, n_test_windows, target_mode, [attribution.params.M]
    [metrics]                 # MetricsConfig fields
    [weights]                 # external state_dicts: MODEL = path or {"T60/SNR" = path}
    [runner]                  # mode (local|inprocess|scheduler), scheduler, workers, threads
    [output]                  # results_dir, store_dir

Units: T60 in seconds, SNR in dB, lengths in metres.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ssl_xai_bench import validate as check
from ssl_xai_bench.acoustics.geometry import NAMED_ARRAYS, ArrayConfig
from ssl_xai_bench.acoustics.scene import SceneConfig
from ssl_xai_bench.attributions import resolve_params
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config_sections import (
    AttributionConfig,
    MatrixConfig,
    OutputConfig,
    RunnerConfig,
    TrainingConfig,
    parse_attribution,
    parse_condition_key,
    parse_matrix,
    parse_output,
    parse_runner,
    parse_training,
    parse_weights,
)
from ssl_xai_bench.harness.presets import PRESETS, parse_override, preset_dict, resolve_layers
from ssl_xai_bench.hashing import stable_hash
from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.models.checkpoint import CheckpointError, load_state_dict
from ssl_xai_bench.models.registry import build_model, model_arch
from ssl_xai_bench.models.train_config import TrainConfig

MAX_CELLS = 20_000  # (condition, geometry, model, method) cells one configuration may ask for
SECTIONS = ("name", "description", "seed", "preset", "scene", "geometries", "matrix", "training",
            "attribution", "metrics", "weights", "runner", "output")
#: Sections that do not change results (left out of the config hash).
NOT_HASHED = ("runner", "output", "preset", "name", "description")


@dataclass(frozen=True)
class BenchConfig:
    """A validated benchmark configuration (see the module docstring)."""

    name: str
    seed: int
    scene: SceneConfig
    geometries: dict[str, ArrayConfig]
    matrix: MatrixConfig
    training: TrainingConfig
    attribution: AttributionConfig
    metrics: MetricsConfig
    weights: dict[str, str | dict[str, str]]
    runner: RunnerConfig
    output: OutputConfig
    preset: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Canonical, JSON-serialisable form with every default resolved (what ``show-config``
        prints, provenance records and the hash covers); ``config_from_dict`` reads it back."""
        scene = self.scene.to_dict()
        for key in ("t60", "array"):
            scene.pop(key)
        metrics = self.metrics.to_dict()
        metrics.pop("target_mode")  # it is attribution.target_mode
        return {
            "name": self.name, "seed": self.seed, "preset": self.preset,
            "description": self.description, "scene": scene,
            "geometries": {k: a.to_dict() for k, a in self.geometries.items()},
            "matrix": self._matrix_dict(),
            "training": {**_training_fields(self.training.defaults),
                         "per_model": {k: {**_training_fields(t, self.training.defaults),
                                           **self._own_scope(k)}
                                       for k, t in self.training.per_model.items()},
                         "scope": self.training.scope,
                         "finetune_epochs": self.training.finetune_epochs,
                         "finetune_lr_scale": self.training.finetune_lr_scale},
            "attribution": asdict(self.attribution), "metrics": metrics,
            "weights": dict(self.weights), "runner": asdict(self.runner),
            "output": asdict(self.output),
        }

    def _own_scope(self, arch: str) -> dict[str, Any]:
        """A per-model table's scope fields: none when the table sets none of them (so a config
        without per-model scopes keeps the dict, and the hash, it had before they existed)."""
        own = self.training.per_model_scope.get(arch)
        return own.to_dict() if own is not None else {}

    def _matrix_dict(self) -> dict[str, Any]:
        """The matrix as a config gives it: paired conditions, or the T60 and SNR axes."""
        d = {k: [list(x) if isinstance(x, tuple) else x for x in val]
             for k, val in asdict(self.matrix).items()}
        for key in ("t60", "snr_db") if self.matrix.conditions else ("conditions",):
            d.pop(key)
        return d

    def config_hash(self) -> str:
        """Hash of everything that changes results (runner and output folders excluded)."""
        d = self.to_dict()
        return stable_hash({k: v for k, v in d.items() if k not in NOT_HASHED})

    def results_path(self) -> Path:
        """Folder of this run's tables, figures and report."""
        return Path(self.output.results_dir) / self.name

    def store_path(self) -> Path:
        """Folder of the content-addressed artifact store."""
        return Path(self.output.store_dir)

    def scenes(self) -> list[tuple[str, SceneConfig]]:
        """Every scene of the matrix as (geometry name, scene): base scene x T60 x geometry."""
        return [(g, replace(self.scene, t60=t60, array=self.geometries[g]))
                for g in self.matrix.geometries for t60 in self.matrix.t60]

    def weights_for(self, model: str, t60: float, snr: float,
                    geometry: str | None = None) -> str | None:
        """The state_dict configured for (model entry, condition, geometry), if any: a key
        naming the geometry wins over one that does not."""
        spec = self.weights.get(model)
        if spec is None or isinstance(spec, str):
            return spec
        found = None
        for cond, path in spec.items():
            c_t60, c_snr, c_geom = parse_condition_key(cond, f"weights.{model}.{cond}")
            if abs(c_t60 - t60) < 1e-9 and abs(c_snr - snr) < 1e-9:
                if c_geom is not None and c_geom == geometry:
                    return path
                if c_geom is None:
                    found = path
        return found


def _training_fields(tc: TrainConfig, base: TrainConfig | None = None) -> dict[str, Any]:
    """The fields of ``tc`` (those differing from ``base`` when given)."""
    d = tc.to_dict()
    if base is None:
        return d
    b = base.to_dict()
    return {k: v for k, v in d.items() if b[k] != v}


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
    return config_from_dict(resolve_layers(preset, config_file, overrides or []))


def config_from_dict(d: dict[str, Any]) -> BenchConfig:
    """Validate a complete configuration dictionary into a :class:`BenchConfig`."""
    check.check_keys(d, SECTIONS, "")
    name = check.as_str(d.get("name", "run"), "name")
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ConfigError("name", f"use letters, digits, '-', '_' and '.' only, got {name!r}")
    seed = check.as_int(d.get("seed", 0), "seed", minimum=0, maximum=2**32 - 1)
    preset = d.get("preset")
    if preset is not None:
        check.as_str(preset, "preset", choices=PRESETS)
    scene = _scene(d.get("scene", {}))
    geometries = _geometries(d.get("geometries", {}))
    matrix = parse_matrix(d.get("matrix", {}), geometries)
    training = parse_training(d.get("training", {}))
    attribution = parse_attribution(d.get("attribution", {}))
    metrics_d = dict(check.check_keys(d.get("metrics", {}), _metrics_keys(), "metrics"))
    metrics = MetricsConfig.from_dict({**metrics_d, "target_mode": attribution.target_mode})
    cfg = BenchConfig(
        name=name, seed=seed, scene=scene, geometries=geometries, matrix=matrix,
        training=training, attribution=attribution, metrics=metrics,
        weights=parse_weights(d.get("weights", {})), runner=parse_runner(d.get("runner", {})),
        output=parse_output(d.get("output", {})), preset=preset,
        description=check.as_str(d.get("description", ""), "description"),
    )
    _validate_cells(cfg)
    return cfg


def _scene(d: Any) -> SceneConfig:
    """The base scene; its T60 and array are matrix axes, not scene fields."""
    keys = [k for k in SceneConfig.__dataclass_fields__ if k not in ("t60", "array")]
    check.check_keys(d, [*keys, "preset"], "scene")
    return SceneConfig.from_dict(d, "scene")


def _metrics_keys() -> list[str]:
    return [k for k in MetricsConfig.field_names() if k != "target_mode"]


def _geometries(d: Any) -> dict[str, ArrayConfig]:
    check.check_keys(d, list(d) if isinstance(d, dict) else [], "geometries")
    out = dict(NAMED_ARRAYS)
    for name, geom in d.items():
        check.as_name(name, f"geometries.{name}")  # it becomes part of file names
        if not isinstance(geom, dict):
            raise ConfigError(f"geometries.{name}", "must be a table of array fields")
        out[name] = ArrayConfig.from_dict(geom, f"geometries.{name}")
    return out


def _validate_cells(cfg: BenchConfig) -> None:
    """Cross-field checks: cell count, every scene, metric settings per array, method
    parameters, external weights."""
    m = cfg.matrix
    n_cells = len(m.t60_snr_pairs()) * len(m.geometries) * len(m.models) * len(m.methods)
    if n_cells > MAX_CELLS:
        raise ConfigError("matrix", f"{n_cells} cells (conditions x geometries x models x "
                          f"methods); at most {MAX_CELLS} per configuration")
    for geometry, scene in cfg.scenes():
        scene.array.validate(scene.room, f"geometries.{geometry}")
        scene.validate("scene")
        cfg.metrics.validate_for(scene.array.n_mics, scene.window_length)
    for method, params in cfg.attribution.params.items():
        if method not in m.methods:
            raise ConfigError(f"attribution.params.{method}", "parameters for a method not in "
                              f"matrix.methods ({', '.join(m.methods)})")
        try:
            resolve_params(method, {**params, "target_mode": cfg.attribution.target_mode})
        except ValueError as exc:
            raise ConfigError(f"attribution.params.{method}", str(exc)) from None
    _validate_weights(cfg)


def _validate_weights(cfg: BenchConfig) -> None:
    """Every weights entry is a matrix model, covers its conditions, and names a checkpoint of
    its architecture trained with the scene's input scaling."""
    m = cfg.matrix
    for model in cfg.weights:
        if model not in m.models:
            raise ConfigError(f"weights.{model}", f"entry {model!r} is not in matrix.models "
                              f"({', '.join(m.models)}): its weights would never be evaluated; "
                              f"add it (--models {','.join([*m.models, model])}) or drop it")
    for model in m.models:
        if "@" not in model:
            continue
        for (t60, snr), geometry in ((p, g) for p in m.t60_snr_pairs() for g in m.geometries):
            if cfg.weights_for(model, t60, snr, geometry) is None:
                raise ConfigError(f"weights.{model}", f"model entry {model!r} needs weights for "
                                  f"condition '{t60:g}/{snr:g}' (--weights "
                                  f"{model}:{t60:g}/{snr:g}=PATH)")
    scaling = {scene.input_scaling for _, scene in cfg.scenes()}
    for model, spec in cfg.weights.items():
        for path in [spec] if isinstance(spec, str) else list(spec.values()):
            if not Path(path).is_file():
                raise ConfigError(f"weights.{model}", f"file not found: {path}")
            check_checkpoint(path, model, cfg.scene.window_length, f"weights.{model}")
            trained_on = weights_input_scaling(path)
            if scaling != {trained_on}:
                raise ConfigError("scene.input_scaling", f"{sorted(scaling)} differs from the "
                                  f"{trained_on!r} that weights.{model} ({path}) were trained "
                                  "with (read from its .json provenance; none beside it: raw "
                                  "samples, as the authors' weights)")


def check_checkpoint(path: str | Path, model: str, window_length: int, field: str) -> None:
    """Refuse, before any compute, a weights file that is not a state_dict of ``model``'s
    architecture (a text file, a pickled object, another network's weights): its tensors are
    loaded safely (``weights_only``) and its keys compared with the architecture's."""
    stat = Path(path).stat()
    try:
        keys = _checkpoint_keys(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    except CheckpointError as exc:
        raise ConfigError(field, str(exc)) from None
    arch = model_arch(model, field)
    expected = _architecture_keys(arch, window_length)
    if keys != expected:
        missing, extra = sorted(expected - keys), sorted(keys - expected)
        raise ConfigError(field, f"{path} is not a {arch} state_dict (missing {missing[:3]}, "
                          f"unexpected {extra[:3]})")


@functools.lru_cache(maxsize=64)
def _checkpoint_keys(path: str, size: int, mtime_ns: int) -> frozenset[str]:
    return frozenset(load_state_dict(path))


@functools.lru_cache(maxsize=8)
def _architecture_keys(arch: str, window_length: int) -> frozenset[str]:
    return frozenset(build_model(arch, window_length=window_length).state_dict())


def weights_input_scaling(path: str | Path) -> str:
    """The ``scene.input_scaling`` a checkpoint was trained with: from the ``<file>.json``
    provenance that ``ssl-xai-bench train`` writes beside it, ``"none"`` without one."""
    sidecar = Path(f"{path}.json")
    if not sidecar.is_file():
        return "none"
    try:
        meta = json.loads(sidecar.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("weights", f"unreadable provenance {sidecar}: {exc}") from None
    return str(meta.get("input_scaling", "none"))


__all__ = ["AttributionConfig", "BenchConfig", "MatrixConfig", "OutputConfig", "RunnerConfig",
           "TrainingConfig", "config_from_dict", "load_config", "parse_condition_key",
           "parse_override", "preset_dict", "weights_input_scaling"]
