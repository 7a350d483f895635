"""Execute a stage graph: in process, on an embedded Dask LocalCluster, or on a remote scheduler.

Every node is submitted as ``ssl_xai_bench.harness.execute.execute(spec, store_root, runtime,
*upstream)`` with each upstream node's :class:`~ssl_xai_bench.harness.execute.StageResult`, once
those are done, in the order of the plan's list schedule (:func:`_run_dask`); no stage knows where
it runs. Workers share the store through the file system: on a remote cluster the store path must
be visible to every worker (see ``docs/cluster.md``).

A stored node returns at once; a failed node returns ``ok=False`` with its reason and its
dependants are skipped with that reason; the run completes the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import BenchConfig
from ssl_xai_bench.harness.execute import StageResult, execute
from ssl_xai_bench.harness.graph import StageGraph
from ssl_xai_bench.harness.plugin_files import resolved

#: Environment of the worker processes: glibc malloc tuned so freed memory is reused instead of
#: being unmapped and page-faulted in again (tensors of LocCNN's first layers exceed glibc's
#: largest mmap threshold, 32 MiB, so without this every step maps and faults them in afresh).
#: One arena because Dask runs tasks in a thread, and a thread's arena maps anything over 64 MiB
#: even with mmap disabled. Measured here, a LocCNN training step (batch 32) in a thread: 524 ms
#: with 102k page faults (threshold 32 MiB + trim threshold, the previous setting) -> 276 ms with
#: 1.3k; SampleCNN unchanged; a metrics cell 1.1-1.25x faster; peak memory +1-5 %.
WORKER_ENV = {
    "MALLOC_ARENA_MAX": "1",
    "MALLOC_MMAP_MAX_": "0",
    "MALLOC_TRIM_THRESHOLD_": "100000000000",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def n_workers(cfg: BenchConfig) -> int:
    """Worker processes of a run: 1 in process; the configured count or up to 4 (one per core)
    on a local cluster; the configured count (else 1, for the estimate) on a remote one."""
    if cfg.runner.mode == "inprocess":
        return 1
    if cfg.runner.n_workers:
        return cfg.runner.n_workers
    return max(1, min(os.cpu_count() or 1, 4)) if cfg.runner.mode == "local" else 1


def run_graph(graph: StageGraph, cfg: BenchConfig, runtime: dict[str, Any]) -> list[StageResult]:
    """Run every node; returns one result per node in graph order."""
    store_root = str(cfg.store_path().resolve())
    mode = cfg.runner.mode
    if mode == "inprocess":
        return _run_inprocess(graph, store_root, runtime, cfg.runner.progress)
    from ssl_xai_bench.harness.plan import estimate
    from ssl_xai_bench.harness.schedule import remaining_paths

    priority = remaining_paths(graph, estimate(graph, 1).node_seconds)
    with _client(cfg) as client:
        return _run_dask(client, graph, store_root, runtime, cfg.runner.progress, priority)


def _run_inprocess(
    graph: StageGraph, store_root: str, runtime: dict[str, Any], progress: bool
) -> list[StageResult]:
    done: dict[tuple[str, str], StageResult] = {}
    bar = _progress(len(graph.nodes), progress)
    for spec in graph.nodes:
        ups = [done[(u.stage, u.key)] for u in graph.upstream(spec)]
        done[(spec.stage, spec.key)] = execute(spec, store_root, runtime, *ups)
        bar.update(spec.stage)
    bar.close()
    return [done[(s.stage, s.key)] for s in graph.nodes]


@contextlib.contextmanager
def _client(cfg: BenchConfig) -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster

    if cfg.runner.mode == "scheduler":
        from ssl_xai_bench.harness.preflight import SCHEDULER_TIMEOUT_S, check_scheduler

        check_scheduler(cfg.runner.scheduler)  # seconds, not Dask's 30 s, for a dead address
        try:
            client = Client(cfg.runner.scheduler, timeout=f"{2 * SCHEDULER_TIMEOUT_S:g}s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError("runner.scheduler", f"no Dask scheduler at "
                              f"{cfg.runner.scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    workers = n_workers(cfg)
    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)  # inherited by the worker processes
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=cfg.runner.threads_per_worker,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,
    )
    client = Client(cluster)
    if cfg.runner.progress:
        print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _run_dask(
    client: Any, graph: StageGraph, store_root: str, runtime: dict[str, Any], progress: bool,
    priority: dict[tuple[str, str], float],
) -> list[StageResult]:
    """The plan's list schedule on the cluster: a node is submitted once its inputs are done,
    at most one per worker thread, the ready one of highest ``priority`` first (the run's:
    :func:`ssl_xai_bench.harness.schedule.remaining_paths` of the uncalibrated plan).

    Handing Dask the whole graph at once let it place a ready node on the worker holding its
    inputs' results even while that worker trained a model for minutes (Dask does not know
    how long a node takes): in the default preset one of two workers idled 125 s of 760.
    """
    from dask.distributed import wait

    from ssl_xai_bench.harness.schedule import ReadyQueue

    queue = ReadyQueue(graph, priority)
    spec_of = {(n.stage, n.key): n for n in graph.nodes}
    done: dict[tuple[str, str], StageResult] = {}
    running: dict[Any, tuple[str, str]] = {}
    bar = _progress(len(queue.nodes), progress)
    while queue or running:
        slots = max(1, sum(client.nthreads().values()))  # a remote cluster may grow or shrink
        while queue and len(running) < slots:
            i = queue.pop()
            spec = spec_of[i]
            future = client.submit(execute, spec, store_root, runtime,
                                   *[done[u] for u in queue.inputs[i]],
                                   key=f"{spec.stage}-{spec.key}", pure=False, retries=2)
            running[future] = i
        finished, _ = wait(list(running), return_when="FIRST_COMPLETED")
        for future in finished:
            i = running.pop(future)
            done[i] = future.result()
            future.release()
            bar.update(i[0])
            queue.finish(i)
    bar.close()
    return [done[i] for i in queue.nodes]


class _progress:
    """A tqdm bar per stage kind, or nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, desc="stages", unit="stage", file=sys.stderr, dynamic_ncols=True
            )
        self.start = time.perf_counter()

    def update(self, stage: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(stage)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def runtime_of(cfg: BenchConfig,
               plugins: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """What every node of a run gets besides its config: the torch thread count (the same in
    every mode: CPU reductions, and so trained weights, depend on it, and results must not
    depend on where the graph ran; it is part of the keys) and the plug-in files to load."""
    return {"plugins": resolved(plugins or {}), "progress": False,
            "torch_threads": cfg.runner.threads_per_worker}


def run_benchmark(
    cfg: BenchConfig, plugins: Mapping[str, Sequence[str]] | None = None, command: str = ""
) -> dict[str, Any]:
    """Build the graph of ``cfg``, run it, and write the run's tables. Returns the run summary.

    ``plugins``: the run's plug-in files, kind (``models``, ``methods``, ``metrics``) -> paths,
    already loaded here (:mod:`ssl_xai_bench.harness.plugin_files`); every worker loads them."""
    from ssl_xai_bench.harness.collect import collect
    from ssl_xai_bench.harness.graph import build_graph

    graph = build_graph(cfg)
    runtime = runtime_of(cfg, plugins)
    start = time.perf_counter()
    results = run_graph(graph, cfg, runtime)
    graph_seconds = time.perf_counter() - start
    summary = collect(cfg, graph, results, cfg.results_path(), command)
    # what a plan's rates are fitted on (harness.plan.fit_rates)
    summary.update(workers=n_workers(cfg), graph_seconds=round(graph_seconds, 2))
    path = cfg.results_path() / "run_summary.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))
    return summary
