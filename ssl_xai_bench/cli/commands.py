"""The commands of ``ssl-xai-bench``: one function per sub-command, ``args -> exit status``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from ssl_xai_bench.cli.options import load
from ssl_xai_bench.errors import ConfigError

EXIT_OK, EXIT_FAILED_CELLS, EXIT_CONFIG = 0, 1, 2


def cmd_run(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.runner import run_benchmark
    from ssl_xai_bench.report.html import build_report as build_outputs

    cfg = load(args)
    if args.dry_run:
        return _print_plan(cfg, calibrate=False)
    command = "ssl-xai-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    start = time.perf_counter()
    summary = run_benchmark(
        cfg, methods_from=[str(Path(p).resolve()) for p in args.methods_from], command=command
    )
    out = cfg.results_path()
    if not args.no_report:
        build_outputs(out)
    seconds = time.perf_counter() - start
    summary["wall_seconds"] = round(seconds, 2)  # with the report: what a plan predicts
    (out / "run_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
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


def _print_plan(cfg: Any, calibrate: bool) -> int:
    from ssl_xai_bench.harness.graph import build_graph
    from ssl_xai_bench.harness.plan import estimate, format_plan, wall_for
    from ssl_xai_bench.harness.runner import n_workers

    graph = build_graph(cfg)
    est = estimate(graph, n_workers(cfg), calibrate=calibrate)
    print(format_plan(est, cfg.preset))
    others = [w for w in (1, 2, 4, 8, 16, 32, 64) if w != est.workers]
    print("other worker counts: " + ", ".join(
        f"{w}: {wall_for(est, graph, w) / 3600:.2f} h" for w in others))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    for path in args.methods_from:
        from ssl_xai_bench.attributions import load_methods_from

        load_methods_from(path)
    return _print_plan(load(args), calibrate=args.calibrate)


def cmd_train(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.export import export_models

    cfg = load(args)
    out = Path(args.out or cfg.results_path() / "checkpoints")
    exported = export_models(cfg, out, label=args.label)
    for f in exported["files"]:
        print(f"  {f['file']}: test MAE {f['test_mae_m']:.4f} m")
    print(f"{len(exported['files'])} checkpoint(s) in {out}; reuse them with "
          f"ssl-xai-bench run --config {out / 'weights.toml'}")
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.merge import merge_results
    from ssl_xai_bench.report.html import build_report

    provenance = merge_results(args.folders, args.out)
    print(f"merged {len(provenance['merged_from'])} folders into {args.out} "
          f"(config {provenance['config_hash']})")
    if not args.no_report:
        print(f"report: {build_report(Path(args.out))}")
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
    cfg = load(args)
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
