"""The default preset end to end: cold, warm, and adding one method to a finished run.

Each round drives the real CLI (``ssl-xai-bench run``, embedded Dask cluster, report included):

- ``cold``: a fresh store (target: at most 15 minutes on 2 cores);
- ``warm``: the same command again (same store, same results folder) after the cold round
  (target: under one minute; nothing may be computed, the report's figures are reused);
- ``warm, new results folder``: the same on the cold store with another ``--name``: the report is
  drawn afresh (reported, no target); the baseline of the added method, whose report is new too;
- ``add one method``: the same command with ``--methods-from examples/my_method.py`` and the
  method ``smoothgrad`` added, on a hard-linked copy of the cold store (artifacts are immutable
  files, so the copy costs nothing and every round starts from the same state). Only the new
  method's ``attribution`` and ``metrics`` stages may run. Its cost is the wall time beyond the warm
  rerun into a new results folder; the method's own cost is the worker time of those stages
  (``run_summary.json``), so the ratio is what the harness adds (scheduling, collection, report)
  for the new cells. Target:
  at most 1.10.

The rounds are ``SSL_XAI_BENCH_PERF_ROUNDS`` (at least 5) after a warm-up round; a cold default
round takes about 13 minutes, so this file alone runs for about 1.5 hours on 2 cores.
``SSL_XAI_BENCH_PERF_E2E_COLD_ROUNDS=1`` runs one cold round only (about 35 minutes in all: the
warm and added-method rounds are short); the report then says the cold time is one run.
``SSL_XAI_BENCH_PERF_E2E_PRESET=smoke`` runs the same on the smoke preset (minutes; the report
then says so). Peak memory of every cold round is measured too (the ``memory`` section).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from ssl_xai_bench.harness.config import load_config

from .conftest import markdown_table, rounds

pytestmark = pytest.mark.benchmark_suite

ROOT = Path(__file__).resolve().parents[2]
PRESET = os.environ.get("SSL_XAI_BENCH_PERF_E2E_PRESET", "default")
METHOD_FILE = ROOT / "examples" / "my_method.py"
COLD_LIMIT_S, WARM_LIMIT_S, ADD_LIMIT, MEMORY_LIMIT_GIB = 15 * 60, 60, 1.10, 8.0


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "ssl-xai-bench"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ssl_xai_bench.cli"]


class _TreeSampler:
    """Peak of the summed resident set of a process and its descendants (every 0.2 s)."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._root = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            total = 0
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _run(store: Path, results: Path, name: str, extra: list[str] = ()) -> dict:
    """One CLI run; returns wall seconds, peaks and the run summary."""
    cmd = [*_cli(), "run", "--preset", PRESET, "--name", name, "--store", str(store),
           "--results-dir", str(results), "--set", "runner.progress=false", *extra]
    log = results / f"{name}.log"
    results.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=results, stdout=out, stderr=subprocess.STDOUT)
        sampler = _TreeSampler(proc.pid)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            tree = sampler.stop()
        wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, log.read_text()[-4000:]
    summary = json.loads((results / name / "run_summary.json").read_text())
    return {"wall": wall, "tree_peak": tree, "single_peak": usage.ru_maxrss * 1024,
            "summary": summary}


def _cold_rounds(n: int) -> int:
    """Cold runs: ``SSL_XAI_BENCH_PERF_E2E_COLD_ROUNDS`` (default ``n + 1``, the first a warm-up;
    with 1 the single cold run is reported as such)."""
    return max(1, int(os.environ.get("SSL_XAI_BENCH_PERF_E2E_COLD_ROUNDS", n + 1)))


def test_default_preset_cold_warm_and_one_added_method(benchmark, perf_report, tmp_path):
    methods = ",".join([*load_config(PRESET).matrix.methods, "smoothgrad"])
    add_args = ["--methods-from", str(METHOD_FILE), "--methods", methods]
    cold, warm, fresh, added, own, peaks = [], [], [], [], [], []
    n = rounds()
    n_cold = _cold_rounds(n)
    results = tmp_path / "results"
    store = None
    for r in range(n_cold):  # with more than one, round 0 is the warm-up
        if store is not None:
            shutil.rmtree(store)
        store = tmp_path / f"store{r}"
        c = _run(store, results, f"cold{r}")
        peaks.append((c["tree_peak"], c["single_peak"], c["summary"].get("peak_rss_mb", {})))
        if r > 0 or n_cold == 1:
            cold.append(c["wall"])
    cold_name = f"cold{n_cold - 1}"
    for r in range(n + 1):  # warm reruns and added methods on the last cold store; 0 = warm-up
        same = _run(store, results, cold_name)  # the cold command again, figures reused
        assert same["summary"]["computed"] == {}, same["summary"]
        w = _run(store, results, f"warm{r}")  # a new results folder: its report drawn afresh
        assert w["summary"]["computed"] == {}, w["summary"]
        copy = tmp_path / f"store_add{r}"
        shutil.copytree(store, copy, copy_function=os.link)
        a = _run(copy, results, f"add{r}", add_args)
        assert set(a["summary"]["computed"]) == {"attribution", "metrics"}, a["summary"]
        shutil.rmtree(copy)
        if r == 0:
            continue
        stage_s = a["summary"]["seconds"]
        warm.append(same["wall"])
        fresh.append(w["wall"])
        added.append(a["wall"] - w["wall"])
        own.append(stage_s["attribution"] + stage_s["metrics"])
    series = {"cold": cold, "warm": warm, "fresh": fresh, "added": added, "own": own}
    med = {k: statistics.median(v) for k, v in series.items()}
    add_ratio = med["added"] / med["own"]
    gib = 2.0**30
    tree_peak = max(p[0] for p in peaks)
    single_peak = max(p[1] for p in peaks)
    stage_peaks = {}
    for _, _, per_stage in peaks:
        for stage, mb in per_stage.items():
            stage_peaks[stage] = max(stage_peaks.get(stage, 0.0), mb)
    benchmark.extra_info.update(**med, add_ratio=add_ratio, tree_peak_gib=tree_peak / gib)
    cold_text = (f"median of {len(cold)} rounds after a warm-up round" if n_cold > 1 else
                 "one run (`SSL_XAI_BENCH_PERF_E2E_COLD_ROUNDS=1`), no warm-up")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    perf_report.add("end-to-end", [
        f"`ssl-xai-bench run --preset {PRESET}` through the CLI (embedded Dask cluster, report",
        f"included). Cold: {cold_text}. Warm and added method: medians of {n} rounds after a",
        "warm-up round, on the last cold round's store",
        "(`tests/benchmarks/test_end_to_end.py`). Added method: SmoothGrad from",
        "`examples/my_method.py` on a copy of the finished store; its cost is the wall time beyond",
        "the warm rerun into a new results folder (both draw a new report), its own cost the",
        "worker time of its attribution and metrics stages.",
        "",
        *markdown_table(
            ["measure", "median", "target"],
            [["cold run", f"{med['cold'] / 60:.1f} min", "<= 15 min (default preset)"],
             ["warm rerun (the same command again: nothing computed, figures reused)",
              f"{med['warm']:.1f} s", "< 60 s"],
             ["warm, into a new results folder (report figures drawn)", f"{med['fresh']:.1f} s",
              ""],
             ["adding one method: extra wall time", f"{med['added']:.1f} s", ""],
             ["its attribution + metrics stages", f"{med['own']:.1f} s", ""],
             ["ratio", f"{add_ratio:.2f}", "<= 1.10"]],
        ),
    ])
    perf_report.add("memory", [
        f"Peak resident memory of the cold `{PRESET}` rounds: the sum over the CLI and all its",
        "descendants (Dask workers, eSpeak), sampled every 0.2 s (shared library pages count once",
        "per process, so this over-estimates), and the largest single process (`ru_maxrss`).",
        "Per stage: the largest worker high-water mark while computing it (`run_summary.json`).",
        "",
        *markdown_table(["measure", "peak", "target"],
                        [["all processes", f"{tree_peak / gib:.2f} GiB", "< 8 GiB"],
                         ["largest process", f"{single_peak / gib:.2f} GiB", ""]]),
        "",
        *markdown_table(["stage", "worker peak (GiB)"],
                        [[s, f"{mb / 1024:.2f}"] for s, mb in sorted(stage_peaks.items())]),
    ])
    if PRESET == "default":
        assert med["cold"] <= COLD_LIMIT_S
        assert tree_peak < MEMORY_LIMIT_GIB * gib
        # At smoke scale the new cells cost seconds and the harness's fixed cost (method file,
        # graph, report) dominates the ratio (1.16 measured); the target is for the default preset.
        assert add_ratio <= ADD_LIMIT
    assert med["warm"] < WARM_LIMIT_S
