"""The ``ssl-xai-bench`` command line.

Commands: ``run`` (the benchmark), ``list`` (presets, methods, models, metrics, geometries),
``show-config`` (the resolved configuration), ``report`` (rebuild tables, figures and the HTML page
from stored results), ``cache`` (list or prune the artifact store), ``reproduce`` (the study's
numbers beside ours, claim by claim, from a stored run). Options of ``run`` mirror configuration
fields; ``--set KEY=VALUE`` reaches any field.
"""

from __future__ import annotations

import argparse
import sys

from ssl_xai_bench.cli import commands
from ssl_xai_bench.cli.commands import EXIT_CONFIG, EXIT_FAILED_CELLS, EXIT_OK
from ssl_xai_bench.cli.options import add_config_options
from ssl_xai_bench.errors import ConfigError


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
    add_config_options(p)
    p.add_argument("--no-report", action="store_true", help="write tables only, no figures/HTML")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (stages, estimated seconds, wall time) and exit")
    p.set_defaults(func=commands.cmd_run)
    p = sub.add_parser(
        "plan",
        help="estimate a run's cost per stage and its wall time",
        description="Estimate the cost of a run (nodes and seconds per stage, wall time on the "
        "configured workers and on other worker counts) without running it.",
    )
    add_config_options(p)
    p.add_argument("--calibrate", action="store_true",
                   help="scale the estimate by a short probe on this machine")
    p.set_defaults(func=commands.cmd_plan)
    p = sub.add_parser(
        "train",
        help="train the matrix's models and export their checkpoints",
        description="Train (or take from the store) every model of the matrix and export the "
        "weights with a weights.toml that 'run --config' reuses.",
    )
    add_config_options(p)
    p.add_argument("--out", default=None,
                   help="checkpoint folder (default RESULTS_DIR/NAME/checkpoints)")
    p.add_argument("--label", default="exported", help="label of the exported weights")
    p.set_defaults(func=commands.cmd_train)
    p = sub.add_parser(
        "merge",
        help="merge the results folders of compatible runs",
        description="Merge results folders of compatible runs into one (refused, naming the "
        "field, when they are not compatible).",
    )
    p.add_argument("folders", nargs="+", help="results folders to merge")
    p.add_argument("--out", required=True, help="the merged results folder")
    p.add_argument("--no-report", action="store_true", help="write tables only, no figures/HTML")
    p.set_defaults(func=commands.cmd_merge)
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
    p.set_defaults(func=commands.cmd_list)
    p = sub.add_parser(
        "show-config",
        help="print the resolved configuration",
        description="Print the resolved, validated configuration as JSON.",
    )
    add_config_options(p)
    p.set_defaults(func=commands.cmd_show_config)
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
    p.set_defaults(func=commands.cmd_report)
    p = sub.add_parser(
        "cache",
        help="list or prune the artifact store",
        description="List or prune the content-addressed artifact store.",
    )
    p.add_argument("action", choices=["list", "prune"], help="list entries or delete them")
    p.add_argument("--store", default=".ssl-xai-bench-cache", help="store folder")
    p.add_argument("--stage", help="prune only this stage's artifacts")
    p.set_defaults(func=commands.cmd_cache)
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
    p.set_defaults(func=commands.cmd_reproduce)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG



__all__ = ["EXIT_CONFIG", "EXIT_FAILED_CELLS", "EXIT_OK", "build_parser", "main"]
