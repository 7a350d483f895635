"""The commands of ``ssl-xai-bench``: one function per sub-command, ``args -> exit status``.

Every command that writes checks where it writes before it computes anything
(:mod:`ssl_xai_bench.harness.preflight`): a folder that cannot be created, or one holding the
committed reference results without ``--update-reference``, is a ``ConfigError``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from ssl_xai_bench.cli.inventory import cmd_cache, cmd_list
from ssl_xai_bench.cli.options import load, plugin_files
from ssl_xai_bench.errors import ConfigError

EXIT_OK, EXIT_FAILED_CELLS, EXIT_CONFIG, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: ``compare``: the fresh run does not reproduce the reference.
EXIT_NOT_REPRODUCED = 1


def _command_line() -> str:
    return "ssl-xai-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _check_out(out: Path, field: str, update_reference: bool, is_file: bool = False) -> None:
    """``out`` (a folder, or a file with ``is_file``) can be written and is not a committed
    reference (unless ``update_reference``)."""
    from ssl_xai_bench.harness.preflight import check_not_tracked, check_output_dir

    if is_file and out.is_dir():
        raise ConfigError(field, f"{out} is a folder; give the file to write")
    check_output_dir(out.parent if is_file else out, field)
    check_not_tracked(out, field, allow=update_reference)


def cmd_run(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.preflight import check_run_outputs
    from ssl_xai_bench.harness.runner import run_benchmark
    from ssl_xai_bench.report.html import build_report as build_outputs

    cfg = load(args)
    if args.dry_run:
        return _print_plan(cfg, calibrate=True)
    check_run_outputs(cfg, update_reference=args.update_reference)
    predicted = _plan_summary(cfg)  # before any compute: what the plan said for this run
    start = time.perf_counter()
    summary = run_benchmark(cfg, plugins=plugin_files(args), command=_command_line())
    out = cfg.results_path()
    if not args.no_report:
        build_outputs(out)
    seconds = time.perf_counter() - start
    summary["wall_seconds"] = round(seconds, 2)  # with the report: what a plan predicts
    summary["plan"] = predicted
    (out / "run_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    print(f"results: {out / 'leaderboard.csv'}  ({seconds:.1f} s)")
    computed = ", ".join(f"{k} {v}" for k, v in summary["computed"].items()) or "nothing"
    print(f"computed: {computed}; from store: {sum(summary['stored'].values())} stage(s)")
    return _report_failures(summary)


def _report_failures(summary: dict[str, Any]) -> int:
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


def _plan_summary(cfg: Any) -> dict[str, Any]:
    """The calibrated plan of ``cfg`` on this machine, counting what the store holds, as
    ``run_summary.json`` records it beside the measured times (``plan``)."""
    from ssl_xai_bench.harness.graph import build_graph
    from ssl_xai_bench.harness.plan import estimate, stored_nodes
    from ssl_xai_bench.harness.runner import n_workers

    graph = build_graph(cfg)
    est = estimate(graph, n_workers(cfg), calibrate=True,
                   stored=stored_nodes(graph, cfg.store_path()))
    return {"wall_seconds": round(est.wall_seconds, 1), "workers": est.workers,
            "speed": round(est.speed, 3), "stored_nodes": est.stored,
            "stage_seconds": {k: round(v, 1) for k, v in sorted(est.stage_seconds.items())}}


def _print_plan(cfg: Any, calibrate: bool) -> int:
    from ssl_xai_bench.harness.graph import build_graph
    from ssl_xai_bench.harness.plan import estimate, format_plan, stored_nodes, wall_for
    from ssl_xai_bench.harness.runner import n_workers

    graph = build_graph(cfg)
    est = estimate(graph, n_workers(cfg), calibrate=calibrate,
                   stored=stored_nodes(graph, cfg.store_path()))
    print(format_plan(est, cfg.preset))
    others = [w for w in (1, 2, 4, 8, 16, 32, 64) if w != est.workers]
    print("other worker counts: " + ", ".join(
        f"{w}: {wall_for(est, graph, w) / 3600:.2f} h" for w in others))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    return _print_plan(load(args), calibrate=args.calibrate)


def cmd_train(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.export import export_models
    from ssl_xai_bench.harness.preflight import check_run_outputs
    from ssl_xai_bench.harness.runner import runtime_of
    from ssl_xai_bench.models.registry import model_arch

    cfg = load(args)
    model_arch(f"{cfg.matrix.models[0].partition('@')[0]}@{args.label}", "--label")
    out = Path(args.out or cfg.results_path() / "checkpoints")
    check_run_outputs(cfg, update_reference=args.update_reference, out=out, out_field="--out")
    exported = export_models(cfg, out, label=args.label,
                             runtime=runtime_of(cfg, plugin_files(args)))
    for f in exported["files"]:
        print(f"  {f['file']}: test MAE {f['test_mae_m']:.4f} m")
    print(f"{len(exported['files'])} checkpoint(s) in {out}; reuse them with "
          f"ssl-xai-bench run --config {out / 'weights.toml'} (the folder may be moved)")
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.merge import merge_results
    from ssl_xai_bench.report.html import build_report

    _check_out(Path(args.out), "--out", args.update_reference)
    provenance = merge_results(args.folders, args.out)
    print(f"merged {len(provenance['merged_from'])} folders into {args.out} "
          f"(config {provenance['config_hash']})")
    if not args.no_report:
        print(f"report: {build_report(Path(args.out))}")
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
    _check_out(out, "--out", args.update_reference)
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


def cmd_compare(args: argparse.Namespace) -> int:
    from ssl_xai_bench.harness.compare import compare_runs

    result = compare_runs(args.fresh, args.reference)
    print(result.verdict_line())
    for line in result.detail_lines(args.max_lines):
        print(f"  {line}")
    return EXIT_OK if result.reproduced else EXIT_NOT_REPRODUCED


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ssl_xai_bench.reproduce.document import build_reproduction, parse_ablation

    ablations = dict(parse_ablation(a) for a in args.ablation)
    out = Path(args.out) if args.out else Path(args.results) / "reproduction.md"
    _check_out(out, "--out", args.update_reference, is_file=True)
    rep = build_reproduction(args.results, ablations, method=args.method,
                             command=_command_line())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(rep.markdown, encoding="utf-8")
    print(f"reproduction: {out}")
    for claim, verdict in rep.claims.items():
        print(f"  {claim}: {verdict.verdict} ({verdict.reason})")
    return EXIT_OK


__all__ = ["EXIT_CONFIG", "EXIT_FAILED_CELLS", "EXIT_INTERNAL", "EXIT_INTERRUPTED",
           "EXIT_NOT_REPRODUCED", "EXIT_OK", "cmd_cache", "cmd_compare", "cmd_list", "cmd_merge",
           "cmd_plan", "cmd_report", "cmd_reproduce", "cmd_run", "cmd_show_config", "cmd_train"]
