"""The ``ssl-xai-bench`` command line.

Commands: ``run`` (the benchmark), ``plan`` (its cost on this machine), ``train`` (export
checkpoints), ``merge`` (results of several machines), ``list`` (presets with their planned time,
methods, models, metrics, geometries), ``show-config`` (the resolved configuration), ``report``
(rebuild tables, figures and the HTML page from stored results), ``compare`` (a fresh run against
a reference run, metric by metric), ``cache`` (list or prune the artifact store), ``reproduce``
(the study's numbers beside ours, claim by claim, from a stored run). Options of ``run`` mirror
configuration fields; ``--set KEY=VALUE`` reaches any field.

Errors a user can cause print one line (``error: FIELD: what is wrong and what is allowed``) and
exit with status 2; ``--debug`` (before or after the command) prints the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any

from ssl_xai_bench.cli import commands
from ssl_xai_bench.cli.commands import (
    EXIT_CONFIG,
    EXIT_FAILED_CELLS,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
)
from ssl_xai_bench.cli.options import add_config_options, add_plugin_options
from ssl_xai_bench.errors import ConfigError

UPDATE_HELP = ("allow writing into a folder or file that git tracks (the committed reference "
               "results, docs/reproduction.md); refused without it")


def _command(sub: argparse._SubParsersAction, name: str, func: Any, **texts: str
             ) -> argparse.ArgumentParser:
    """The sub-command ``name`` (``help`` and ``description`` in ``texts``) run by ``func``."""
    p = sub.add_parser(name, **texts)
    p.set_defaults(func=func)
    return p


def _add_run(sub: argparse._SubParsersAction, configured: dict[str, Any]) -> None:
    p = _command(sub, "run", commands.cmd_run,
        help="run the benchmark matrix (stages already stored are reused)",
        description="Run the benchmark: scenes -> training -> attribution -> "
        "metrics -> tables and report (in RESULTS_DIR/NAME, default runs/NAME).",
    )
    configured["run"] = p
    p.add_argument("--no-report", action="store_true", help="write tables only, no figures/HTML")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (stages, estimated seconds, wall time) and exit")
    p.add_argument("--update-reference", action="store_true", help=UPDATE_HELP)
    p = _command(sub, "plan", commands.cmd_plan,
        help="estimate a run's cost per stage and its wall time on this machine",
        description="Estimate the cost of a run (nodes and seconds per stage, wall time on the "
        "configured workers and on other worker counts) without running it: calibrated to this "
        "machine by a short probe, and counting the stages the store already holds as free.",
    )
    configured["plan"] = p
    p.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=True,
                   help="scale the estimate by a short probe of this machine's speed "
                   "(default; --no-calibrate: the reference machine's rates)")
    p = _command(sub, "train", commands.cmd_train,
        help="train the matrix's models and export their checkpoints",
        description="Train (or take from the store) every model of the matrix and export the "
        "weights with a weights.toml that 'run --config' reuses (paths relative to it: the "
        "folder can be moved or copied to another machine).",
    )
    configured["train"] = p
    p.add_argument("--out", default=None,
                   help="checkpoint folder (default RESULTS_DIR/NAME/checkpoints)")
    p.add_argument("--label", default="exported",
                   help="label of the exported weights (entries ARCH@LABEL)")
    p.add_argument("--update-reference", action="store_true", help=UPDATE_HELP)


def _add_results_commands(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "merge", commands.cmd_merge,
        help="merge the results folders of compatible runs",
        description="Merge results folders of compatible runs into one (refused, naming the "
        "field, when they are not compatible or a folder is given twice).",
    )
    p.add_argument("folders", nargs="+", help="results folders to merge")
    p.add_argument("--out", required=True, help="the merged results folder")
    p.add_argument("--no-report", action="store_true", help="write tables only, no figures/HTML")
    p.add_argument("--update-reference", action="store_true", help=UPDATE_HELP)
    p = _command(sub, "report", commands.cmd_report,
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
    p.add_argument("--update-reference", action="store_true", help=UPDATE_HELP)
    p = _command(sub, "compare", commands.cmd_compare,
        help="did a fresh run reproduce a reference run? (metric by metric)",
        description="Compare a fresh run with a reference run (e.g. runs/default with the "
        "committed results/default): every metric row's 95 % CIs overlap, the methods rank "
        "alike, every model's skill lies within the reference's CI. One line answers; the "
        "differences follow; exit status 0 when reproduced, 1 when not.",
    )
    p.add_argument("fresh", help="the fresh run's results folder (e.g. runs/default)")
    p.add_argument("reference", help="the reference results folder (e.g. results/default)")
    p.add_argument("--max-lines", type=int, default=20, help="differences listed (default 20)")
    p = _command(sub, "reproduce", commands.cmd_reproduce,
                 help="the study's numbers beside ours, claim by claim (RESULTS/reproduction.md)",
                       description="Write the reproduction report (the study's numbers beside "
                                   "ours with 95 % CIs and a verdict per claim) from a stored "
                                   "results folder; nothing is recomputed.")
    p.add_argument("results", help="results folder of a run (e.g. results/paper-lite)")
    p.add_argument("--ablation", action="append", default=[], metavar="NAME=RESULTS_DIR",
                   help="an ablation run's results folder, e.g. rir_mode=exact=results/abl; "
                        "its authors'-weights MAE is tabulated against the main run; repeatable")
    p.add_argument("--out", default=None,
                   help="output Markdown file (default RESULTS/reproduction.md)")
    p.add_argument("--method", default="lrp", help="attribution method the claims are about")
    p.add_argument("--update-reference", action="store_true", help=UPDATE_HELP)


def _add_info_commands(sub: argparse._SubParsersAction, configured: dict[str, Any]) -> None:
    p = _command(sub, "list", commands.cmd_list,
        help="list presets (with their planned time), models, geometries, methods and metrics",
        description="List presets (each with the wall time 'plan' gives on this machine, "
        "counting what the store holds), models, geometries, attribution methods (with family, "
        "parameters and source) and metrics.",
    )
    add_plugin_options(p)
    p.add_argument("--store", default=".ssl-xai-bench-cache",
                   help="artifact store the planned times count as done")
    p.add_argument("--no-time", dest="time", action="store_false",
                   help="skip the presets' planned times (no calibration probe)")
    p = _command(sub, "show-config", commands.cmd_show_config,
        help="print the resolved configuration",
        description="Print the resolved, validated configuration as JSON.",
    )
    configured["show-config"] = p
    p = _command(sub, "cache", commands.cmd_cache,
        help="list or prune the artifact store",
        description="List the content-addressed artifact store (stage, what the artifact is "
        "of, size, age), or prune it: every artifact (--all) or one stage's (--stage); "
        "--dry-run says what would go.",
    )
    p.add_argument("action", choices=["list", "prune"], help="list entries or delete them")
    p.add_argument("--store", default=".ssl-xai-bench-cache", help="store folder")
    p.add_argument("--stage", help="only this stage's artifacts (prune: needed unless --all)")
    p.add_argument("--all", action="store_true", help="prune: every artifact of the store")
    p.add_argument("--dry-run", action="store_true",
                   help="prune: list what would be removed, remove nothing")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. The configuration options (run, plan, train, show-config)
    name the package's own lists, which takes imports: with ``argv`` they are added only to
    the command it names (other commands and ``--help`` start fast); without, to all."""
    parser = argparse.ArgumentParser(
        prog="ssl-xai-bench",
        description="Benchmark attribution (XAI) methods on deep speech source localizers.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    configured: dict[str, Any] = {}
    _add_run(sub, configured)
    _add_results_commands(sub)
    _add_info_commands(sub, configured)
    command = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    for name, command_parser in configured.items():
        if argv is None or name == command:
            add_config_options(command_parser)
    for command in sub.choices.values():  # --debug after the command too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of an error instead of one line")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user's error is one line on stderr (``--debug``: the traceback)."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("interrupted: stored stages are kept; the same command resumes", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - one line for the user, the traceback on --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc} (--debug shows the traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


__all__ = ["EXIT_CONFIG", "EXIT_FAILED_CELLS", "EXIT_INTERNAL", "EXIT_OK", "build_parser",
           "main"]
