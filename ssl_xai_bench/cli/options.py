"""The configuration options of ``run``, ``plan``, ``train`` and ``show-config``.

Each option mirrors a configuration field (its help names the field); ``--set KEY=VALUE``
reaches any field. :func:`load` resolves preset <- ``--config`` file <- options into a validated
:class:`~ssl_xai_bench.harness.config.BenchConfig`.
"""

from __future__ import annotations

import argparse
from typing import Any

from ssl_xai_bench.errors import ConfigError


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _field_options() -> list[tuple[str, str, dict[str, Any]]]:
    """``(option, config field, argparse keywords)`` of every option that sets one field; the
    choices are the package's own lists."""
    from ssl_xai_bench.acoustics.absorption import ABSORPTIONS
    from ssl_xai_bench.acoustics.fractional_delay import CONVENTIONS
    from ssl_xai_bench.acoustics.image_sources import MODES
    from ssl_xai_bench.acoustics.scene import SPEECH_SOURCES
    from ssl_xai_bench.harness.config_sections import RUNNER_MODES

    floats = {"type": _floats}
    names = {"type": _names, "metavar": "NAME[,..]"}
    return [
        ("--name", "name", {"help": "run name (name); results go to RESULTS_DIR/NAME"}),
        ("--seed", "seed", {"type": int, "help": "global seed (seed)"}),
        ("--t60", "matrix.t60", {**floats, "metavar": "S[,S..]",
                                 "help": "reverberation times, s (matrix.t60)"}),
        ("--snr", "matrix.snr_db", {**floats, "metavar": "DB[,DB..]",
                                    "help": "SNRs, dB (matrix.snr_db)"}),
        ("--geometries", "matrix.geometries",
         {**names, "help": "array geometries (matrix.geometries), see 'list'"}),
        ("--models", "matrix.models", {**names, "help": "localizers (matrix.models)"}),
        ("--methods", "matrix.methods",
         {**names, "help": "attribution methods (matrix.methods), see 'list'"}),
        ("--max-epochs", "training.max_epochs",
         {"type": int, "help": "training budget (training.max_epochs)"}),
        ("--rir-mode", "scene.rir_mode",
         {"choices": MODES, "help": "RIR simulation (scene.rir_mode)"}),
        ("--rir-convention", "scene.rir_convention",
         {"choices": CONVENTIONS, "help": "RIR convention (scene.rir_convention)"}),
        ("--absorption", "scene.absorption", {"choices": ABSORPTIONS, "help": (
            "wall absorption: Sabine's formula (the study's) or calibrated so that the measured "
            "T60 matches the target (scene.absorption)")}),
        ("--speech", "scene.speech.source",
         {"choices": SPEECH_SOURCES, "help": "speech source (scene.speech.source)"}),
        ("--speech-path", "scene.speech.path",
         {"metavar": "DIR", "help": "corpus folder (scene.speech.path)"}),
        ("--results-dir", "output.results_dir",
         {"help": "parent folder of run results (output.results_dir)"}),
        ("--store", "output.store_dir", {"help": "artifact store folder (output.store_dir)"}),
        ("--scheduler", "runner.scheduler", {"metavar": "ADDRESS", "help": (
            "run on an existing Dask scheduler, e.g. tcp://127.0.0.1:8786 (runner.scheduler; "
            "workers need the package and the store path)")}),
        ("--mode", "runner.mode", {"choices": RUNNER_MODES, "help": (
            "local: embedded Dask LocalCluster; inprocess: no Dask (runner.mode)")}),
        ("--workers", "runner.n_workers",
         {"type": int, "help": "LocalCluster worker processes (runner.n_workers)"}),
    ]


def add_config_options(p: argparse.ArgumentParser) -> None:
    """The options that mirror configuration fields, ``--weights``, the plug-in files and
    ``--set``."""
    from ssl_xai_bench.harness.presets import PRESETS

    g = p.add_argument_group("configuration (each mirrors a config field)")
    g.add_argument("--preset", default=None, help=f"built-in preset: {', '.join(PRESETS)} "
                   "(default: 'default', or the config file's own preset)")
    g.add_argument("--config", metavar="FILE", help="TOML config merged over the preset")
    for option, _, kwargs in _field_options():
        g.add_argument(option, **kwargs)
    g.add_argument(
        "--weights", action="append", default=[], metavar="MODEL[:T60/SNR]=PATH",
        help="external state_dict for a model entry, optionally for one condition "
        "(weights.MODEL), e.g. samplecnn@authors:0.15/25=model.pth: the entry "
        "'samplecnn@authors' is added to matrix.models if it is not there and evaluated "
        "beside the other models; repeatable")
    add_plugin_options(g)
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field by dotted key, value in TOML syntax; repeatable")


def overrides(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The configuration layers of the options: one table of the field options and
    ``--weights``, then one per ``--set``."""
    from ssl_xai_bench.harness.presets import parse_override

    o: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        node = o
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    for option, path, _ in _field_options():
        value = getattr(args, option.lstrip("-").replace("-", "_"), None)
        if value is not None:
            put(path, value)
    if getattr(args, "scheduler", None) and getattr(args, "mode", None) is None:
        put("runner.mode", "scheduler")  # an address means: run there
    if getattr(args, "t60", None) is not None or getattr(args, "snr", None) is not None:
        put("matrix.conditions", [])  # explicit axes replace a preset's paired conditions
    for spec in getattr(args, "weights", []):
        lhs, sep, path = spec.partition("=")
        if not sep or not path:
            raise ConfigError("--weights", f"expected MODEL[:T60/SNR]=PATH, got {spec!r}")
        model, _, cond = lhs.partition(":")
        if cond:
            put(f"weights.{model}", {**o.get("weights", {}).get(model, {}), cond: path})
        else:
            put(f"weights.{model}", path)
    return [o] + [parse_override(s) for s in getattr(args, "set", [])]


#: What each plug-in option registers (``ssl_xai_bench.harness.plugin_files.OPTIONS``).
PLUGIN_HELP = {"models": "localizers", "methods": "attribution methods",
               "metrics": "metrics"}


def add_plugin_options(p: Any) -> None:
    """``--models-from``, ``--methods-from``, ``--metrics-from`` (each repeatable)."""
    from ssl_xai_bench.harness.plugin_files import OPTIONS

    for kind, option in OPTIONS.items():
        p.add_argument(option, action="append", default=[], metavar="FILE",
                       help=f"Python file registering extra {PLUGIN_HELP[kind]}; repeatable")


def plugin_files(args: argparse.Namespace) -> dict[str, list[str]]:
    """Kind -> the files of the plug-in options given."""
    from ssl_xai_bench.harness.plugin_files import OPTIONS

    return {kind: list(getattr(args, f"{kind}_from", []) or []) for kind in OPTIONS}


def load_plugins(args: argparse.Namespace) -> None:
    """Register the plug-ins of every ``--*-from`` file; any failure of a file (missing,
    registers nothing, an exception or ``sys.exit`` while it runs) is a ``ConfigError`` naming
    its option."""
    from ssl_xai_bench.harness.plugin_files import load_plugin_files

    load_plugin_files(plugin_files(args))


def with_weight_entries(data: dict[str, Any], entries: list[str]) -> dict[str, Any]:
    """``data`` with each ``--weights`` model entry appended to ``matrix.models`` when it is not
    there (what the option's help promises: the entry is evaluated)."""
    from ssl_xai_bench.harness.config_sections import MatrixConfig

    matrix = data.setdefault("matrix", {})
    if not isinstance(matrix, dict):
        return data  # the validator names the field
    models = matrix.get("models", list(MatrixConfig().models))
    if isinstance(models, list):
        matrix["models"] = models + [m for m in dict.fromkeys(entries) if m not in models]
    return data


def load(args: argparse.Namespace):
    """The validated configuration of the options (preset <- ``--config`` <- options)."""
    from ssl_xai_bench.harness.config import config_from_dict
    from ssl_xai_bench.harness.presets import resolve_layers

    load_plugins(args)
    preset = args.preset if args.preset is not None else ("default" if not args.config else None)
    data = resolve_layers(preset, args.config, overrides(args))
    entries = [spec.partition("=")[0].partition(":")[0] for spec in args.weights]
    return config_from_dict(with_weight_entries(data, entries))


__all__ = ["add_config_options", "add_plugin_options", "load", "load_plugins", "overrides",
           "plugin_files", "with_weight_entries"]
