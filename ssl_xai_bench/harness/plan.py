"""Estimate a run before anything runs: nodes per stage, worker-seconds, and wall time.

Each node of the stage graph gets *work features*, counts read from its typed config (RIR
positions x microphones x T60; training epochs x windows per epoch x microphones; explained
windows x model forwards of its metrics, ...; :func:`node_features`). Its cost in seconds is the
dot product of its features with the stage's *rates* (seconds per unit), measured on a reference
machine and stored with the package (``harness/data/rates.json``); :func:`fit_rates` refits them
from the ``run_summary.json`` of measured runs (the performance suite does, and writes the file).
The wall time for ``N`` workers is the makespan of the runner's list schedule of the graph (of the
nodes whose inputs are done, the one with the longest remaining path first) plus the run's fixed
cost (client start, collection, report). ``calibrate=True`` times a short probe (a LocCNN training
step and an FFT batch) and scales every rate by this machine's speed relative to the reference
machine's, since a 2-core machine's speed drifts 2-5x over minutes. Nodes the store already holds
(:func:`stored_nodes`) cost nothing. ``plan``, ``run --dry-run`` and ``list`` report this estimate,
calibrated: it is the package's only statement of how long a run takes.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench.acoustics.scene import SceneConfig, scene_positions
from ssl_xai_bench.harness.execute import StageSpec
from ssl_xai_bench.harness.graph import StageGraph
from ssl_xai_bench.harness.schedule import list_schedule_makespan
from ssl_xai_bench.harness.store import ArtifactStore
from ssl_xai_bench.metrics.cost import cell_forwards, control_forwards
from ssl_xai_bench.metrics.quantus_params import explain_calls_per_window
from ssl_xai_bench.models.device import native_bf16, resolve_device

#: Feature names of each stage (the rates file has one rate per feature).
FEATURES: dict[str, tuple[str, ...]] = {
    "rirs": ("fast_position_mic_s", "exact_position_mic_s3"),
    "windows": ("source_mic", "source_mic_s"),
    "baselines": ("srp_window_pair_point",),
    "signals": ("window_pair", "srp_window_pair_point", "window_mic"),
    "model": ("loccnn_window_mic", "samplecnn_window_mic", "other_window_mic"),
    "controls": ("loccnn_forward_mic", "samplecnn_forward_mic", "other_forward_mic"),
    "attribution": ("loccnn_forward_mic", "samplecnn_forward_mic", "other_forward_mic"),
    "metrics": ("loccnn_forward_mic", "samplecnn_forward_mic", "other_forward_mic",
                "window_pair", "srp_window_pair_point", "window_mic"),
}
#: Model forwards per window each method costs (an LRP or gradient pass ~ 3 forwards; measured
#: ratios in docs/PERFORMANCE.md); unknown methods count as a gradient.
METHOD_FORWARDS = {"lrp": 12.0, "lrp_epsilon_first": 12.0, "lrp_zbox_first": 14.0,
                   "lrp_epsilon_plus_flat": 6.0, "gradient": 3.0, "gradient_x_input": 3.0,
                   "integrated_gradients": 3.0 * 32, "occlusion": 21.0, "random": 0.3,
                   "energy": 0.05}
#: Cost of a bf16-autocast training step relative to fp32 (``training.precision``; the fitted
#: model rates are fp32 rates), LocCNN and SampleCNN, batch 32, one thread: 0.62x on a CPU with
#: bfloat16 support, 7.2x (7.7x / 6.7x) on an AVX2-only CPU, which emulates it.
BF16_STEP_COST = 0.62
BF16_EMULATED_STEP_COST = 7.2
RATES_FILE = "rates.json"


@dataclass
class Estimate:
    """A plan: seconds per node, worker-seconds per stage, and wall time for ``workers``."""

    node_seconds: dict[tuple[str, str], float]
    stage_seconds: dict[str, float]
    stage_nodes: dict[str, int]
    workers: int
    makespan: float
    overhead: float
    speed: float
    stored: int = 0  # nodes already in the store (counted as free)

    @property
    def wall_seconds(self) -> float:
        return self.makespan + self.overhead


@functools.cache
def _windows_per_source(scene: SceneConfig) -> float:
    """Expected windows per source: the corpus' utterances framed as the scene frames them."""
    from ssl_xai_bench.acoustics.windows import load_scene_corpus

    lengths = load_scene_corpus(scene).lengths()
    frames = np.maximum(0, (lengths - scene.window_length) // scene.hop_length + 1)
    if scene.max_windows_per_utterance is not None:
        frames = np.minimum(frames, scene.max_windows_per_utterance)
    return float(frames.mean())


@functools.cache
def _counts(scene: SceneConfig) -> dict[str, int]:
    return {k: len(v) for k, v in scene_positions(scene.room_part()).items()}


def _arch(model: str) -> str:
    arch = model.partition("@")[0]
    return arch if arch in ("loccnn", "samplecnn") else "other"


def _n_pairs(n_mics: int) -> int:
    return n_mics * (n_mics - 1) // 2


def _srp_points(step: float, extent: tuple[float, float] = (1.75, 2.0)) -> float:
    return (extent[0] / step + 1) * (extent[1] / step + 1)


def _metric_features(cfg: Any, n_win: float, n_mics: int, length: int, arch: str,
                     method: str | None) -> dict[str, float]:
    """Forward-equivalents and FFT work of a metrics (or signals) node."""
    forwards = 0.0
    if method is not None:
        forwards += cell_forwards(cfg, n_mics, length)
        q = cfg.quantus
        for name in q.quantus_metrics:
            params = q.params(name)
            forwards += explain_calls_per_window(name, params) * METHOD_FORWARDS.get(method, 3.0)
    pairs = len(cfg.tdoa.tdoa_variants) * _n_pairs(n_mics)
    srp = _n_pairs(n_mics) * _srp_points(cfg.srp.srp_grid_step) if cfg.srp.srp_phat else 0.0
    return {f"{arch}_forward_mic": n_win * forwards * n_mics, "window_pair": n_win * pairs * 2,
            "srp_window_pair_point": n_win * srp * 2, "window_mic": n_win * n_mics}


def node_features(node: StageSpec, scene: SceneConfig) -> dict[str, float]:
    """The work features of one node (see :data:`FEATURES`); ``scene`` is the node's scene."""
    c = node.config
    counts = _counts(scene)
    n_mics, length = scene.array.n_mics, scene.window_length
    per_source = _windows_per_source(scene)
    n_test = counts["test"] * per_source
    if node.stage == "rirs":
        n = sum(counts.values()) * n_mics
        if scene.rir_mode == "fast":
            return {"fast_position_mic_s": n * scene.t60}
        return {"exact_position_mic_s3": n * scene.t60 ** 3}
    if node.stage == "windows":
        n = sum(counts.values()) * n_mics
        return {"source_mic": n, "source_mic_s": n * scene.t60}
    if node.stage == "baselines":
        n_win = n_test if c.srp_windows is None else min(n_test, c.srp_windows)
        return {"srp_window_pair_point": n_win * _n_pairs(n_mics) * _srp_points(c.srp_step)}
    if node.stage == "model":
        if c.training is None:
            return {}
        t = c.training
        conditions = sum(role.split(":")[0] == "windows" for role in node.inputs)
        train = counts["train"] * min(t.windows_per_source, per_source) * conditions
        val = counts["val"] * (per_source if t.val_windows_per_source == 0
                               else min(t.val_windows_per_source, per_source)) * conditions
        step_cost = 1.0
        if t.precision == "bf16":
            native = native_bf16(resolve_device(t.device))
            step_cost = BF16_STEP_COST if native else BF16_EMULATED_STEP_COST
        return {f"{_arch(c.model)}_window_mic":
                t.max_epochs * (3 * train * step_cost + val) * n_mics}
    limit = c.attribution.n_test_windows if node.stage == "metrics" else c.n_test_windows
    explained = n_test if limit is None else min(n_test, limit)
    if node.stage == "signals":
        return _metric_features(c.metrics, explained, n_mics, length, "other", None)
    arch = _arch(node.label.split(" ")[0])
    if node.stage == "controls":
        return {f"{arch}_forward_mic": explained * control_forwards(c.manipulation) * n_mics}
    if node.stage == "attribution":
        return {f"{arch}_forward_mic": explained * METHOD_FORWARDS.get(c.method, 3.0) * n_mics}
    if node.stage == "metrics":
        return _metric_features(c.metrics, explained, n_mics, length, arch, c.attribution.method)
    raise ValueError(f"stage: no cost model for {node.stage!r}")


def node_scenes(graph: StageGraph) -> dict[tuple[str, str], SceneConfig]:
    """Every node's scene (through its windows or RIR input)."""
    scenes: dict[tuple[str, str], SceneConfig] = {}
    for node in graph.nodes:
        if node.stage in ("rirs", "windows"):
            scenes[(node.stage, node.key)] = node.config.scene
        else:
            role = "windows" if "windows" in node.inputs else next(iter(node.inputs))
            scenes[(node.stage, node.key)] = scenes[(role, node.inputs[role])]
    return scenes


def load_rates(path: str | Path | None = None) -> dict[str, Any]:
    """The stored rates (``harness/data/rates.json``) or those of ``path``."""
    if path is None:
        text = resources.files("ssl_xai_bench.harness").joinpath("data", RATES_FILE).read_text()
    else:
        text = Path(path).read_text("utf-8")
    return json.loads(text)


def probe_seconds(repeats: int = 3) -> float:
    """Median seconds of a fixed probe: one LocCNN training step (batch 8, 16 x 5120) and a
    batch of FFTs, on one thread: a measure of this machine's current speed."""
    import torch

    from ssl_xai_bench.models.registry import build_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = build_model("loccnn")
            opt = torch.optim.SGD(model.parameters(), lr=1e-6)
            x = torch.randn(8, 16, 5120)
            y = torch.randn(8, 3)
            a = np.random.default_rng(0).standard_normal((64, 16384))
            times = []
            for _ in range(repeats + 1):
                start = time.perf_counter()
                opt.zero_grad()
                torch.nn.functional.mse_loss(model(x), y).backward()
                opt.step()
                np.fft.irfft(np.fft.rfft(a))
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return float(np.median(times[1:]))


def machine_speed(rates: dict[str, Any] | None = None) -> float:
    """This machine's time for the probe relative to the reference machine's (2.0: half as
    fast); the factor ``calibrate`` applies to every rate."""
    return probe_seconds() / (rates or load_rates())["probe_seconds"]


def stored_nodes(graph: StageGraph, store_root: str | Path) -> set[tuple[str, str]]:
    """The nodes whose artifact the store already holds (the store is not created)."""
    store = ArtifactStore(store_root, create=False)
    return {(n.stage, n.key) for n in graph.nodes if store.holds(n.stage, n.key)}


def estimate(graph: StageGraph, workers: int, rates: dict[str, Any] | None = None,
             calibrate: bool = False, stored: set[tuple[str, str]] | None = None,
             speed: float | None = None) -> Estimate:
    """Seconds per node and stage, and the wall time of ``graph`` on ``workers`` workers.

    ``stored`` nodes (:func:`stored_nodes`) cost nothing; ``speed`` (:func:`machine_speed`)
    scales every rate, measured here when ``calibrate`` and not given.
    """
    rates = rates or load_rates()
    if speed is None:
        speed = machine_speed(rates) if calibrate else 1.0
    stored = stored or set()
    scenes = node_scenes(graph)
    seconds: dict[tuple[str, str], float] = {}
    stage_seconds: dict[str, float] = {}
    stage_nodes: dict[str, int] = {}
    for node in graph.nodes:
        ident = (node.stage, node.key)
        feats = {} if ident in stored else node_features(node, scenes[ident])
        stage_rates = rates["stages"][node.stage]
        cost = 0.0 if ident in stored else stage_rates.get("base", 0.0) + sum(
            stage_rates.get(name, 0.0) * value for name, value in feats.items())
        seconds[ident] = cost * speed
        stage_seconds[node.stage] = stage_seconds.get(node.stage, 0.0) + seconds[ident]
        stage_nodes[node.stage] = stage_nodes.get(node.stage, 0) + 1
    makespan = list_schedule_makespan(graph, seconds, workers) if graph.nodes else 0.0
    overhead = (rates["overhead"]["base"] + rates["overhead"]["per_cell"] * len(graph.cells))
    return Estimate(seconds, stage_seconds, stage_nodes, workers, makespan, overhead * speed,
                    speed, len(stored & set(seconds)))


def fit_rates(runs: Iterable[tuple[StageGraph, dict[str, Any], float]],
              probe: float, machine: str) -> dict[str, Any]:
    """Rates fitted to measured runs: ``(graph, run_summary, wall seconds)`` each.

    Per stage, a non-negative least-squares fit of the nodes' measured seconds on their work
    features plus a constant per node; the overhead is the part of each wall time that the
    makespan of the measured node times does not explain, fitted on the number of cells.
    """
    from scipy.optimize import nnls

    rows: dict[str, list[tuple[dict[str, float], float]]] = {s: [] for s in FEATURES}
    over: list[tuple[float, float]] = []
    for graph, summary, wall in runs:
        scenes = node_scenes(graph)
        measured = {(n["stage"], n["label"]): n["seconds"] for n in summary["computed_nodes"]}
        node_seconds = {}
        for node in graph.nodes:
            sec = measured.get((node.stage, node.label))
            if sec is None:
                continue
            node_seconds[(node.stage, node.key)] = sec
            rows[node.stage].append((node_features(node, scenes[(node.stage, node.key)]), sec))
        if len(node_seconds) == len(graph.nodes):
            over.append((len(graph.cells), wall - list_schedule_makespan(graph, node_seconds,
                                                            summary.get("workers", 2))))
    stages = {}
    for stage, data in rows.items():
        names = FEATURES[stage]
        if not data:
            stages[stage] = {name: 0.0 for name in names} | {"base": 0.0}
            continue
        a = np.array([[f.get(n, 0.0) for n in names] + [1.0] for f, _ in data])
        scale = np.maximum(a.max(axis=0), 1e-12)
        coef, _ = nnls(a / scale, np.array([s for _, s in data]))
        stages[stage] = {n: float(c) for n, c in zip([*names, "base"], coef / scale,
                                                     strict=True)}
    if over:
        cells, extra = np.array(over).T
        slope = float(np.polyfit(cells, extra, 1)[0]) if len(set(cells)) > 1 else 0.0
        slope = max(slope, 0.0)
        base = max(float(np.mean(extra - slope * cells)), 0.0)
    else:
        slope = base = 0.0
    return {"machine": machine, "probe_seconds": probe, "stages": stages,
            "overhead": {"base": base, "per_cell": slope}}


def fit_from_folders(folders: Iterable[str | Path], probe: float,
                     machine: str) -> dict[str, Any]:
    """:func:`fit_rates` on results folders of measured cold runs (their ``provenance.json``
    config rebuilds the graph; their ``run_summary.json`` has the node times, the workers and
    the wall time)."""
    from ssl_xai_bench.harness.config import config_from_dict
    from ssl_xai_bench.harness.graph import build_graph

    runs = []
    for folder in map(Path, folders):
        provenance = json.loads((folder / "provenance.json").read_text("utf-8"))
        summary = json.loads((folder / "run_summary.json").read_text("utf-8"))
        graph = build_graph(config_from_dict(provenance["config"]))
        runs.append((graph, summary, float(summary["wall_seconds"])))
    return fit_rates(runs, probe, machine)


def format_plan(est: Estimate, preset: str | None) -> str:
    """A human-readable plan: nodes and worker-seconds per stage, wall time for the workers."""
    lines = [f"plan of {preset or 'the configuration'}: {sum(est.stage_nodes.values())} stage "
             "node(s)", f"{'stage':<12} {'nodes':>6} {'worker-h':>9} {'share':>6}"]
    total = sum(est.stage_seconds.values()) or 1.0
    for stage in FEATURES:
        if stage in est.stage_nodes:
            sec = est.stage_seconds[stage]
            lines.append(f"{stage:<12} {est.stage_nodes[stage]:>6} {sec / 3600:>9.3f} "
                         f"{sec / total:>6.0%}")
    lines.append(f"{'total':<12} {sum(est.stage_nodes.values()):>6} {total / 3600:>9.3f}")
    lines.append(f"wall time on {est.workers} worker(s): {hms(est.wall_seconds)} "
                 f"(schedule {hms(est.makespan)} + run overhead {hms(est.overhead)})"
                 + (f"; speed probe: this machine at {1 / est.speed:.2f}x the reference"
                    if est.speed != 1.0 else "; the reference machine's rates, not calibrated"))
    lines.append(f"{est.stored} of {sum(est.stage_nodes.values())} node(s) already in the store "
                 "(counted as free)")
    return "\n".join(lines)


def wall_for(est: Estimate, graph: StageGraph, workers: int) -> float:
    """The same estimate's wall time for another number of workers."""
    return list_schedule_makespan(graph, est.node_seconds, workers) + est.overhead


def hms(seconds: float) -> str:
    """``H:MM:SS`` (``M:SS`` under an hour), rounded up."""
    seconds = max(0.0, seconds)
    h, rem = divmod(int(math.ceil(seconds)), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


__all__ = ["FEATURES", "Estimate", "estimate", "fit_from_folders", "fit_rates", "format_plan",
           "hms", "load_rates", "machine_speed", "node_features", "probe_seconds",
           "stored_nodes", "wall_for"]
