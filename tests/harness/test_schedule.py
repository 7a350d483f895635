"""The list schedule: its makespan on known node times, and the critical path starting first.
The runner's use of it on a real Dask cluster is tested in ``test_runner.py``."""

from __future__ import annotations

from ssl_xai_bench.harness.execute import StageSpec
from ssl_xai_bench.harness.graph import StageGraph
from ssl_xai_bench.harness.schedule import ReadyQueue, list_schedule_makespan, remaining_paths


def _two_inputs_one_join() -> StageGraph:
    """a and b wait for nothing; c waits for both."""
    graph = StageGraph()
    a, b = StageSpec("rirs", "a", None), StageSpec("rirs", "b", None)
    for node in (a, b, StageSpec("windows", "c", None, {"rirs": "a", "rirs:2": "b"})):
        graph.add(node)
    return graph


def test_schedule_is_the_makespan_of_the_graph():
    graph = _two_inputs_one_join()
    seconds = {("rirs", "a"): 10.0, ("rirs", "b"): 4.0, ("windows", "c"): 5.0}
    assert list_schedule_makespan(graph, seconds, workers=2) == 15.0  # a || b, then c
    assert list_schedule_makespan(graph, seconds, workers=1) == 19.0


def _chain_and_two_singles() -> tuple[StageGraph, dict[tuple[str, str], float]]:
    """a (5 s) -> c (20 s); b and d (10 s each) wait for nothing."""
    graph = StageGraph()
    for node in (StageSpec("rirs", "a", None), StageSpec("rirs", "b", None),
                 StageSpec("rirs", "d", None), StageSpec("windows", "c", None, {"rirs": "a"})):
        graph.add(node)
    seconds = {("rirs", "a"): 5.0, ("rirs", "b"): 10.0, ("rirs", "d"): 10.0,
               ("windows", "c"): 20.0}
    return graph, seconds


def test_the_schedule_starts_the_critical_path_first():
    graph, seconds = _chain_and_two_singles()
    assert remaining_paths(graph, seconds) == {("rirs", "a"): 25.0, ("rirs", "b"): 10.0,
                                               ("rirs", "d"): 10.0, ("windows", "c"): 20.0}
    # a first (its dependant is the longest node): a || b, c from 5 s, d after b; the longest
    # node first would start b || d and c only at 15 s (35 s)
    assert list_schedule_makespan(graph, seconds, workers=2) == 25.0


def test_ready_queue_releases_a_node_only_when_all_its_inputs_are_done():
    graph = _two_inputs_one_join()
    queue = ReadyQueue(graph, {("rirs", "a"): 1.0, ("rirs", "b"): 2.0, ("windows", "c"): 9.0})
    assert queue.pop() == ("rirs", "b")  # higher priority first
    queue.finish(("rirs", "b"))
    assert queue.pop() == ("rirs", "a")  # c still waits for a
    assert not queue
    queue.finish(("rirs", "a"))
    assert queue.pop() == ("windows", "c")
