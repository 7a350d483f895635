"""Refit the plan's rates on this machine and check its predictions against measured runs.

Runs the smoke and default presets cold (fresh store each), times a speed probe, fits the rates
of ``ssl_xai_bench.harness.plan`` on the two runs' node times and wall times, writes them to
``ssl_xai_bench/harness/data/rates.json`` (the package's rates, used by ``ssl-xai-bench plan``),
and reports each preset's predicted against measured wall time (within 1.5x).
``SSL_XAI_BENCH_PERF_PLAN_FOLDERS`` (comma-separated results folders of cold runs made on this
machine, e.g. the reference run's) fits on those instead of running the presets again.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import time
from pathlib import Path

import pytest

from ssl_xai_bench.harness.config import config_from_dict
from ssl_xai_bench.harness.graph import build_graph
from ssl_xai_bench.harness.plan import estimate, fit_from_folders, probe_seconds
from tests.e2e.conftest import cli_command, run_cli

from .conftest import machine_description, markdown_table

pytestmark = pytest.mark.benchmark_suite

RATES = Path(__file__).resolve().parents[2] / "ssl_xai_bench" / "harness" / "data" / "rates.json"
PRESETS = os.environ.get("SSL_XAI_BENCH_PERF_PLAN_PRESETS", "smoke,default").split(",")


def test_refit_plan_rates_and_predict_measured_runs(perf_report, tmp_path):
    given = [f for f in os.environ.get("SSL_XAI_BENCH_PERF_PLAN_FOLDERS", "").split(",") if f]
    folders = {Path(f).name: Path(f) for f in given}
    for preset in [] if given else PRESETS:
        work = tmp_path / preset
        work.mkdir()
        t0 = time.perf_counter()
        subprocess.run([*cli_command(), "run", "--preset", preset, "--store", str(work / "store"),
                        "--results-dir", str(work / "results"), "--set",
                        "runner.progress=false"], cwd=work, check=True, capture_output=True)
        print(f"\n{preset}: {time.perf_counter() - t0:.0f} s")
        folders[preset] = work / "results" / preset
    probe = probe_seconds(repeats=5)
    rates = fit_from_folders(folders.values(), probe, f"{platform.node()}: "
                             f"{machine_description()}")
    RATES.write_text(json.dumps(rates, indent=1, sort_keys=True) + "\n")
    rows = []
    for preset, folder in folders.items():
        summary = json.loads((folder / "run_summary.json").read_text())
        provenance = json.loads((folder / "provenance.json").read_text())
        graph = build_graph(config_from_dict(provenance["config"]))
        est = estimate(graph, summary["workers"], rates)
        ratio = est.wall_seconds / summary["wall_seconds"]
        rows.append([preset, len(graph.nodes), f"{summary['wall_seconds']:.0f}",
                     f"{est.wall_seconds:.0f}", f"{ratio:.2f}"])
        assert 1 / 1.5 <= ratio <= 1.5, (preset, ratio)
    perf_report.add("plan", [
        f"Rates refitted on the cold runs of {', '.join(folders)} (fresh stores) and written to "
        "`ssl_xai_bench/harness/data/rates.json`; speed probe (one LocCNN training step, batch "
        f"8, and 64 FFTs of 16384 points, 1 thread): {probe * 1000:.0f} ms. Predicted wall time "
        "is the plan's (list schedule of the fitted node times on the run's workers, plus the "
        "fitted run overhead) for the same configuration.", "",
        *markdown_table(["preset", "nodes", "measured wall (s)", "predicted (s)", "ratio"], rows),
        "", "`ssl-xai-bench plan --preset NAME` prints the estimate for any preset; "
        "`--calibrate` scales it by the probe's time on the machine at hand."])


def test_smoke_plan_is_within_1_5x_of_a_measured_run(tmp_path):
    """The package's rates, calibrated by the speed probe, against a cold smoke run."""
    plan = run_cli("plan", "--preset", "smoke", "--calibrate", cwd=tmp_path, timeout=600)
    assert plan.returncode == 0, plan.stderr
    h, m, s = re.search(r"wall time on \d+ worker\(s\): (?:(\d+):)?(\d+):(\d+)",
                        plan.stdout).groups()
    predicted = int(h or 0) * 3600 + int(m) * 60 + int(s)
    start = time.perf_counter()
    run = run_cli("run", "--preset", "smoke", "--store", str(tmp_path / "store"),
                  "--results-dir", str(tmp_path / "results"), cwd=tmp_path)
    measured = time.perf_counter() - start
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "results" / "smoke" / "run_summary.json").read_text())
    assert summary["wall_seconds"] <= measured
    print(f"\nsmoke: predicted {predicted} s, measured {measured:.0f} s")
    assert 1 / 1.5 <= predicted / measured <= 1.5
