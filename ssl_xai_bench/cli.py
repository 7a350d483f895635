"""The ``ssl-xai-bench`` command line.

Commands: ``run`` (the benchmark), ``list`` (presets, methods, models, metrics, geometries),
``show-config`` (the resolved configuration), ``report`` (rebuild tables, figures and the HTML page
from stored results), ``cache`` (list or prune the artifact store), ``reproduce`` (the study's
numbers beside ours, claim by claim, from a stored run). Options of ``run`` mirror configuration
fields; ``--set KEY=VALUE`` reaches any field.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from ssl_xai_bench.errors import ConfigError

EXIT_OK, EXIT_FAILED_CELLS, EXIT_CONFIG = 0, 1, 2


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _add_config_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration (each mirrors a config field)")
    g.add_argument(
        "--preset",
        default=None,
        help="built-in preset: smoke, default, paper-lite, paper, full "
        "(default: 'default', or the config file's own preset)",
    )
    g.add_argument("--config", metavar="FILE", help="TOML config merged over the preset")
    g.add_argument("--name", help="run name (name); results go to RESULTS_DIR/NAME")
    g.add_argument("--seed", type=int, help="global seed (seed)")
    g.add_argument(
        "--t60", type=_floats, metavar="S[,S..]", help="reverberation times, s (matrix.t60)"
    )
    g.add_argument("--snr", type=_floats, metavar="DB[,DB..]", help="SNRs, dB (matrix.snr_db)")
    g.add_argument(
        "--geometries",
        type=_names,
        metavar="NAME[,..]",
        help="array geometries (matrix.geometries), see 'list'",
    )
    g.add_argument("--models", type=_names, metavar="NAME[,..]", help="localizers (matrix.models)")
    g.add_argument(
        "--methods",
        type=_names,
        metavar="NAME[,..]",
        help="attribution methods (matrix.methods), see 'list'",
    )
    g.add_argument("--max-epochs", type=int, help="training budget (training.max_epochs)")
    g.add_argument("--rir-mode", choices=["exact", "fast"], help="RIR simulation (scene.rir_mode)")
    g.add_argument(
        "--rir-convention",
        choices=["pyroomacoustics", "gpurir"],
        help="RIR convention (scene.rir_convention)",
    )
    g.add_argument(
        "--absorption",
        choices=["sabine", "calibrated"],
        help="wall absorption: Sabine's formula (the study's) or calibrated so that the measured "
        "T60 matches the target (scene.absorption)",
    )
    g.add_argument(
        "--speech",
        choices=["espeak", "cmu_arctic", "wav_dir"],
        help="speech source (scene.speech.source)",
    )
    g.add_argument("--speech-path", metavar="DIR", help="corpus folder (scene.speech.path)")
    g.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="MODEL[:T60/SNR]=PATH",
        help="external state_dict for a model entry, optionally for one condition "
        "(weights.MODEL), e.g. samplecnn@authors:0.15/25=model.pth (the entry "
        "'samplecnn@authors' is then evaluated beside the trained samplecnn); "
        "repeatable",
    )
    g.add_argument(
        "--methods-from",
        action="append",
        default=[],
        metavar="FILE",
        help="Python file registering extra attribution methods; repeatable",
    )
    g.add_argument("--results-dir", help="parent folder of run results (output.results_dir)")
    g.add_argument("--store", help="artifact store folder (output.store_dir)")
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask scheduler, e.g. tcp://127.0.0.1:8786 "
        "(runner.scheduler; workers need the package and the store path)",
    )
    g.add_argument(
        "--mode",
        choices=["local", "inprocess", "scheduler"],
        help="local: embedded Dask LocalCluster; inprocess: no Dask (runner.mode)",
    )
    g.add_argument("--workers", type=int, help="LocalCluster worker processes (runner.n_workers)")
    g.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any config field by dotted key, value in TOML syntax; repeatable",
    )


def _overrides(args: argparse.Namespace) -> list[dict[str, Any]]:
    from ssl_xai_bench.harness.presets import parse_override

    o: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        node = o
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    simple = {
        "name": "name",
        "seed": "seed",
        "t60": "matrix.t60",
        "snr": "matrix.snr_db",
        "geometries": "matrix.geometries",
        "models": "matrix.models",
        "methods": "matrix.methods",
        "max_epochs": "training.max_epochs",
        "rir_mode": "scene.rir_mode",
        "rir_convention": "scene.rir_convention",
        "absorption": "scene.absorption",
        "speech": "scene.speech.source",
        "speech_path": "scene.speech.path",
        "results_dir": "output.results_dir",
        "store": "output.store_dir",
        "scheduler": "runner.scheduler",
        "mode": "runner.mode",
        "workers": "runner.n_workers",
    }
    for attr, path in simple.items():
        value = getattr(args, attr, None)
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


def _load(args: argparse.Namespace):
    from ssl_xai_bench.attributions import load_methods_from
    from ssl_xai_bench.harness.config import load_config

    for path in args.methods_from:
        try:
            load_methods_from(path)
        except (FileNotFoundError, ValueError, ImportError, SyntaxError) as exc:
            raise ConfigError("--methods-from", str(exc)) from None
    preset = args.preset if args.preset is not None else ("default" if not args.config else None)
    return load_config(preset, args.config, _overrides(args))


def cmd_run(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.runner import run_benchmark
    from ssl_xai_bench.report.html import build_report as build_outputs

    cfg = _load(args)
    command = "ssl-xai-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    start = time.perf_counter()
    summary = run_benchmark(
        cfg, methods_from=[str(Path(p).resolve()) for p in args.methods_from], command=command
    )
    out = cfg.results_path()
    if not args.no_report:
        build_outputs(out)
    seconds = time.perf_counter() - start
    print(f"results: {out / 'leaderboard.csv'}  ({seconds:.1f} s)")
    computed = ", ".join(f"{k} {v}" for k, v in summary["computed"].items()) or "nothing"
    print(f"computed: {computed}; from store: {sum(summary['stored'].values())} stage(s)")
    if summary["failed"]:
        print(f"{len(summary['failed'])} stage(s) failed:", file=sys.stderr)
        for f in summary["failed"]:
            print(f"  - {f['stage']} [{f['label']}]: {f['reason']}", file=sys.stderr)
    failed_metrics = summary.get("failed_metrics", [])
    if failed_metrics:
        print(f"{len(failed_metrics)} metric(s) failed in cells whose other metrics stand:",
              file=sys.stderr)
        for f in failed_metrics:
            print(f"  - {f['metric']} [{f['label']}]: {f['reason']}", file=sys.stderr)
    if summary["failed"] or failed_metrics:
        return EXIT_FAILED_CELLS
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from ssl_xai_bench.acoustics.geometry import NAMED_ARRAYS
    from ssl_xai_bench.attributions import list_methods, load_methods_from
    from ssl_xai_bench.harness.presets import PRESETS, preset_dict
    from ssl_xai_bench.metrics.catalogue import METRICS
    from ssl_xai_bench.models.registry import MODELS

    for path in args.methods_from:
        load_methods_from(path)
    print("presets:")
    for name in PRESETS:
        d = preset_dict(name)
        print(f"  {name:<11} {d.get('description', '')}")
    print("models:")
    for name, model in MODELS.items():
        print(f"  {name:<11} {model.description}")
    print("geometries:")
    for name, geom in NAMED_ARRAYS.items():
        print(f"  {name:<11} {json.dumps(geom.to_dict())}")
    print("attribution methods (name, family, parameters, source):")
    for spec in list_methods():
        params = ", ".join(f"{k}={v!r}" for k, v in spec.defaults.items()) or "-"
        print(f"  {spec.name:<24} {spec.family:<12} {params}  [{spec.source}]")
        if spec.description:
            print(f"  {'':<24} {spec.description}")
    print("metrics (name, category, direction, unit):")
    for spec in METRICS.values():
        arrow = "up" if spec.direction == "up" else "down"
        print(f"  {spec.name:<32} {spec.category:<16} {arrow:<5} {spec.unit}")
    return EXIT_OK


def cmd_show_config(args: argparse.Namespace) -> int:
    cfg = _load(args)
    print(json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
    print(f"# config hash: {cfg.config_hash()}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    folder = Path(args.results)
    if not (folder / "leaderboard.csv").is_file():
        raise ConfigError(
            "results", f"no leaderboard.csv in {folder}; run 'ssl-xai-bench run' first"
        )
    out = Path(args.out) if args.out else folder / "report"
    if args.tables_only:
        from ssl_xai_bench.report.citable import write_citable

        done = write_citable(folder, out / "tables")
        n = len(done.headline) + len(done.families)
        print(f"tables: {out / 'tables'} ({len(done.headline)} headline, "
              f"{len(done.families)} per-family; {n * 3} files + provenance sidecars)")
        print(f"cite: {done.files['cite_tex']} (LaTeX, needs booktabs), {done.files['cite_bib']}")
        return EXIT_OK
    from ssl_xai_bench.report.html import build_report as build_outputs

    index = build_outputs(folder, out)
    print(f"report: {index}")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.store import ArtifactStore

    store = ArtifactStore(args.store)
    if args.action == "list":
        total = 0
        for e in store.entries():
            total += e["bytes"]
            print(f"{e['stage']:<12} {e['key']}  {e['bytes'] / 1e6:9.2f} MB  {e['created']}")
        print(f"total {total / 1e6:.1f} MB in {store.root}")
    else:
        n = store.prune(stage=args.stage)
        print(f"removed {n} artifact(s) from {store.root}")
    return EXIT_OK


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ssl_xai_bench.reproduce.document import build_reproduction, parse_ablation

    ablations = dict(parse_ablation(a) for a in args.ablation)
    command = "ssl-xai-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    rep = build_reproduction(args.results, ablations, method=args.method, command=command)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(rep.markdown, encoding="utf-8")
    print(f"reproduction: {out}")
    for claim, verdict in rep.claims.items():
        print(f"  {claim}: {verdict.verdict} ({verdict.reason})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssl-xai-bench",
        description="Benchmark attribution (XAI) methods on deep speech source localizers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "run",
        help="run the benchmark matrix (stages already stored are reused)",
        description="Run the benchmark: scenes -> training -> attribution -> "
        "metrics -> tables and report.",
    )
    _add_config_options(p)
    p.add_argument("--no-report", action="store_true", help="write tables only, no figures/HTML")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser(
        "list",
        help="list presets, models, geometries, methods and metrics",
        description="List presets, models, geometries, attribution methods "
        "(with family, parameters and source) and metrics.",
    )
    p.add_argument(
        "--methods-from",
        action="append",
        default=[],
        metavar="FILE",
        help="also load methods from this file; repeatable",
    )
    p.set_defaults(func=cmd_list)
    p = sub.add_parser(
        "show-config",
        help="print the resolved configuration",
        description="Print the resolved, validated configuration as JSON.",
    )
    _add_config_options(p)
    p.set_defaults(func=cmd_show_config)
    p = sub.add_parser(
        "report",
        help="rebuild tables, figures and HTML from stored results",
        description="Rebuild tables, figures and the HTML report of a results "
        "folder without recomputing anything.",
    )
    p.add_argument("results", help="a run's results folder (with leaderboard.csv)")
    p.add_argument("--tables-only", action="store_true",
                   help="write only the citable artefacts: headline and per-family tables "
                   "(CSV, Markdown, LaTeX, provenance sidecars), sanity_checks.csv, cite.tex "
                   "and cite.bib; no figures, no HTML")
    p.add_argument("--out", default=None,
                   help="report folder (default RESULTS/report; tables in its tables/)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser(
        "cache",
        help="list or prune the artifact store",
        description="List or prune the content-addressed artifact store.",
    )
    p.add_argument("action", choices=["list", "prune"], help="list entries or delete them")
    p.add_argument("--store", default=".ssl-xai-bench-cache", help="store folder")
    p.add_argument("--stage", help="prune only this stage's artifacts")
    p.set_defaults(func=cmd_cache)
    p = sub.add_parser("reproduce", help="write docs/reproduction.md: the study's numbers "
                       "beside ours, claim by claim",
                       description="Write the reproduction report (the study's numbers beside "
                                   "ours with 95 % CIs and a verdict per claim) from a stored "
                                   "results folder; nothing is recomputed.")
    p.add_argument("results", help="results folder of a run (e.g. results/paper-lite)")
    p.add_argument("--ablation", action="append", default=[], metavar="NAME=RESULTS_DIR",
                   help="an ablation run's results folder, e.g. rir_mode=exact=results/abl; "
                        "its authors'-weights MAE is tabulated against the main run; repeatable")
    p.add_argument("--out", default="docs/reproduction.md", help="output Markdown file")
    p.add_argument("--method", default="lrp", help="attribution method the claims are about")
    p.set_defaults(func=cmd_reproduce)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
