"""The runner's list schedule of a stage graph, and its simulation for the plan.

A node is ``(stage, key)``. When a worker frees up it takes, of the nodes whose inputs are all
done, the one with the longest *remaining path* (its own seconds plus those of the longest chain of
nodes waiting on it; ties in graph order), so a node on the critical path (a model that every
explanation of its cells waits for) starts before work that nothing waits for. The Dask runner
(:mod:`ssl_xai_bench.harness.runner`) follows it, with the plan's uncalibrated seconds as
priorities; the plan (:mod:`ssl_xai_bench.harness.plan`) simulates it on estimated seconds for its
wall time, so plan and runner follow one schedule. Seconds are wall seconds of one worker.
"""

from __future__ import annotations

import heapq

from ssl_xai_bench.harness.graph import StageGraph

Node = tuple[str, str]  # (stage, key)


def dependants(graph: StageGraph) -> dict[Node, list[Node]]:
    """Each node's dependants, once each, in graph order."""
    children: dict[Node, list[Node]] = {(n.stage, n.key): [] for n in graph.nodes}
    for node in graph.nodes:
        for up in dict.fromkeys((u.stage, u.key) for u in graph.upstream(node)):
            children[up].append((node.stage, node.key))
    return children


def remaining_paths(graph: StageGraph, seconds: dict[Node, float]) -> dict[Node, float]:
    """Each node's seconds plus those of the longest chain of nodes that wait on it: the list
    schedule's priority, so a node on the critical path (a model that every explanation of its
    cells waits for) starts before work that nothing waits for."""
    children = dependants(graph)
    out: dict[Node, float] = {}
    for node in reversed(graph.nodes):  # graph order is topological: dependants come later
        ident = (node.stage, node.key)
        out[ident] = seconds[ident] + max((out[c] for c in children[ident]), default=0.0)
    return out


class ReadyQueue:
    """The list schedule's bookkeeping, shared by the plan's simulation
    (:func:`list_schedule_makespan`) and the runner: the nodes whose inputs are all done, highest
    ``priority`` first (ties in graph order). :meth:`pop` takes the next one,
    :meth:`finish` releases a node's dependants."""

    def __init__(self, graph: StageGraph, priority: dict[Node, float]) -> None:
        self.nodes = [(n.stage, n.key) for n in graph.nodes]
        self.inputs = {(n.stage, n.key): list(dict.fromkeys((u.stage, u.key)
                                                            for u in graph.upstream(n)))
                       for n in graph.nodes}
        self._children = dependants(graph)
        self._key = {i: (-priority[i], k) for k, i in enumerate(self.nodes)}
        self._waiting = {i: len(ups) for i, ups in self.inputs.items()}
        self._heap = [(self._key[i], i) for i in self.nodes if not self._waiting[i]]
        heapq.heapify(self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)

    def pop(self) -> Node:
        return heapq.heappop(self._heap)[1]

    def finish(self, node: Node) -> None:
        for child in self._children[node]:
            self._waiting[child] -= 1
            if not self._waiting[child]:
                heapq.heappush(self._heap, (self._key[child], child))


def list_schedule_makespan(graph: StageGraph, seconds: dict[Node, float], workers: int) -> float:
    """Makespan of the runner's list schedule: when a worker frees up it takes the ready node
    with the longest remaining path (:func:`remaining_paths`)."""
    queue = ReadyQueue(graph, remaining_paths(graph, seconds))
    running: list[tuple[float, Node]] = []
    now, free = 0.0, workers
    while queue or running:
        while queue and free:
            i = queue.pop()
            heapq.heappush(running, (now + seconds[i], i))
            free -= 1
        now, done = heapq.heappop(running)
        free += 1
        queue.finish(done)
    return now
