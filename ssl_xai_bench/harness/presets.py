"""Presets and configuration files: reading TOML defensively and merging layers.

A run's configuration is resolved as preset <- file <- overrides (``--set KEY=VALUE`` and the
CLI's options), each layer merged over the previous one (tables merge, values replace), then
validated once by :func:`ssl_xai_bench.harness.config.config_from_dict`. The presets are TOML files
in ``ssl_xai_bench/harness/presets/`` (their comments say why each setting is what it is).

A relative path in a configuration file (weights, the speech folder, the output folders:
:data:`PATH_FIELDS`) is read from that file's folder, not from the current directory, so a folder
holding a configuration and its files (``train --out``'s ``weights.toml`` and checkpoints) can be
moved or copied to another machine; paths given on the command line are read from the current
directory.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from ssl_xai_bench.errors import ConfigError

PRESETS = ("smoke", "default", "sweep", "paper-lite", "paper", "full")
MAX_CONFIG_BYTES = 1_000_000
MAX_DEPTH = 8


def preset_dict(name: str) -> dict[str, Any]:
    """The raw dictionary of a built-in preset."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    folder = resources.files("ssl_xai_bench.harness").joinpath("presets")
    return tomllib.loads(folder.joinpath(f"{name}.toml").read_text("utf-8"))


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
    return nested(key, value)


def nested(dotted: str, value: Any) -> dict[str, Any]:
    """``nested("a.b", 1)`` -> ``{"a": {"b": 1}}``."""
    out: dict[str, Any] = {}
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


#: The path fields of a configuration (dotted; ``weights`` is every path of the table).
PATH_FIELDS = ("weights", "scene.speech.path", "output.results_dir", "output.store_dir")


def relative_to(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``data`` with every relative path of :data:`PATH_FIELDS` made absolute from ``folder``
    (a configuration file's own folder, so that a file and what it names move together);
    values that are not strings are left for the validators."""

    def absolute(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        path = Path(value).expanduser()
        return value if path.is_absolute() else str(folder.resolve() / path)

    out = copy.deepcopy(data)
    for dotted in PATH_FIELDS:
        *parents, leaf = dotted.split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            continue
        value = node[leaf]
        if isinstance(value, dict):  # weights: MODEL = path or {"T60/SNR" = path}
            node[leaf] = {k: ({c: absolute(p) for c, p in v.items()} if isinstance(v, dict)
                              else absolute(v)) for k, v in value.items()}
        else:
            node[leaf] = absolute(value)
    return out


def resolve_layers(
    preset: str | None, config_file: str | Path | None, overrides: list[dict[str, Any]]
) -> dict[str, Any]:
    """The merged dictionary of preset <- file <- overrides (not yet validated).

    The file may name its own ``preset``; ``preset=None`` with no file's preset means the layers
    must be complete by themselves.
    """
    file_data = {}
    if config_file is not None:
        file_data = relative_to(read_config_file(config_file), Path(config_file).parent)
    base = file_data.get("preset", preset)
    data: dict[str, Any] = {}
    if base is not None:
        if not isinstance(base, str) or base not in PRESETS:
            raise ConfigError("preset", f"must be one of {', '.join(PRESETS)}; got {base!r}")
        data = preset_dict(base)
        data["preset"] = base
    data = deep_merge(data, file_data)
    for override in overrides:
        data = deep_merge(data, override)
    return data


__all__ = ["PATH_FIELDS", "PRESETS", "deep_merge", "nested", "parse_override", "preset_dict",
           "read_config_file", "relative_to", "resolve_layers"]
