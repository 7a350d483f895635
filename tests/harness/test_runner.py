"""The runner's Dask schedule: nodes start in the plan's list-schedule order (the critical path
first), at most one per worker thread, each with its inputs' results; results come back in graph
order. A recording ``execute`` stands in for the stages, on an in-process Dask cluster."""

from __future__ import annotations

import threading
import time

import pytest

from ssl_xai_bench.harness import runner
from ssl_xai_bench.harness.execute import StageResult
from ssl_xai_bench.harness.schedule import remaining_paths
from tests.harness.test_schedule import _chain_and_two_singles

distributed = pytest.importorskip("dask.distributed")


_LOCK = threading.Lock()
_LOG: list[tuple[str, int, list[str]]] = []  # (node, nodes running with it, its inputs)
_RUNNING: list[str] = []
_SECONDS = _chain_and_two_singles()[1]


def _recording_execute(spec, store_root, runtime, *upstream):
    # module-level: Dask pickles the task even on an in-process cluster
    with _LOCK:
        _RUNNING.append(spec.key)
        _LOG.append((spec.key, len(_RUNNING), [u.key for u in upstream]))
    time.sleep(_SECONDS[(spec.stage, spec.key)] / 50)
    with _LOCK:
        _RUNNING.remove(spec.key)
    return StageResult(spec.stage, spec.key, True, True, 0.0, label=spec.key)


def test_dask_runs_the_critical_path_first_and_one_node_per_thread(monkeypatch):
    graph, seconds = _chain_and_two_singles()
    _LOG.clear()
    log = _LOG
    monkeypatch.setattr(runner, "execute", _recording_execute)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=":0") as client:
        results = runner._run_dask(client, graph, "unused", {}, False,
                                   remaining_paths(graph, seconds))
    assert [r.key for r in results] == ["a", "b", "d", "c"]  # graph order
    started = [key for key, _, _ in log]
    # a (the longest remaining path) and b start; c as soon as a is done, before d
    assert started[:2] == ["a", "b"] and started.index("c") < started.index("d")
    assert max(n for _, n, _ in log) <= 2  # never more nodes than worker threads
    assert dict((key, ups) for key, _, ups in log)["c"] == ["a"]  # with its input's result
