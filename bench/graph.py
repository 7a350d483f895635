"""Build the stage graph of a benchmark configuration.

The graph is a list of :class:`bench.stages.StageSpec` in dependency order. Each node's key is
computed here, on the client, from (stage, canonical stage config, upstream keys, source hash of
the code that computes it, package version), so nodes shared by several cells (one scene's RIRs
for every SNR, one trained model for every method) appear once and a rerun finds them stored.

A stage's config holds only what changes its output: the list of methods is in no key, so adding
a method adds only that method's ``attribution`` and ``metrics`` nodes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import BenchConfig, metrics_dict, scenes_of
from bench.stages import StageSpec, source_hash
from bench.store import artifact_key, file_sha256

_SOURCES = {
    "rirs": ["bench.geometry", "bench.rir", "bench.fractional_delay", "bench.absorption",
             "bench.scenes"],
    "windows": ["bench.speech", "bench.scenes"],
    "baselines": ["ssl_models.baselines"],
    "model": [
        "ssl_models.training",
        "ssl_models.loccnn",
        "ssl_models.samplecnn",
        "ssl_models.layers",
    ],
    "attribution": ["attributions.api", "attributions.target"],
    "controls": ["bench.metrics"],
    "metrics": ["bench.metrics"],
    "signals": ["bench.metrics"],
}


#: The metrics fields the shared manipulation controls depend on (their key holds only these).
_CONTROL_FIELDS = ("manipulation_fractions", "manipulation_rankings", "manipulation_batch_size")


def _module_hash(stage: str) -> str:
    mods = []
    for name in _SOURCES[stage]:
        mod = importlib.import_module(name)
        paths = [Path(mod.__file__)]
        if paths[0].name == "__init__.py":  # a package: every module in it
            paths = sorted(paths[0].parent.glob("*.py"))
        mods.extend(p.read_text("utf-8") for p in paths)
    return source_hash(*mods)


@dataclass(frozen=True)
class Cell:
    """Identity of one (scene, SNR, model) combination, used to label results."""

    model: str
    condition: str
    t60: float
    snr_db: float
    geometry: str


@dataclass
class StageGraph:
    """Nodes in dependency order plus the cell bookkeeping the collector needs."""

    nodes: list[StageSpec] = field(default_factory=list)
    by_key: dict[tuple[str, str], StageSpec] = field(default_factory=dict)
    cells: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)

    def node(self, stage: str, config: dict[str, Any], inputs: dict[str, str], code_hash: str,
             label: str) -> StageSpec:
        """Add the node ``stage`` keyed by (config, upstream keys in ``inputs`` order, code)."""
        key = artifact_key(stage, config, tuple(inputs.values()), code_hash)
        return self.add(StageSpec(stage, key, config, inputs, label=label))

    def add(self, node: StageSpec) -> StageSpec:
        ident = (node.stage, node.key)
        if ident not in self.by_key:
            self.by_key[ident] = node
            self.nodes.append(node)
        return self.by_key[ident]


def condition_label(t60: float, snr_db: float, geometry: str) -> str:
    return f"T60={t60:g}s SNR={snr_db:g}dB {geometry}"


def build_graph(cfg: BenchConfig, method_sources: dict[str, str] | None = None) -> StageGraph:
    """The full stage graph of ``cfg``.

    Parameters
    ----------
    method_sources : dict
        method name -> source hash of the code that implements it (from the registry).
    """
    from bench.metrics import MetricsConfig

    method_sources = method_sources or {}
    hashes = {stage: _module_hash(stage) for stage in _SOURCES}
    graph = StageGraph()
    metrics_cfg = MetricsConfig.from_dict(metrics_dict(cfg), "metrics").to_dict()
    att = cfg.attribution
    for geometry, scene in scenes_of(cfg):
        scene_d = scene.to_dict()
        # RIRs depend on room, T60, geometry, positions and simulator only: speech and windowing
        # fields are left out of their key so changing them reuses the RIRs.
        rir_cfg = {
            "scene": {
                k: val
                for k, val in scene_d.items()
                if k not in ("speech", "window_length", "hop", "max_windows_per_utterance", "name")
            }
        }
        rirs = graph.node("rirs", rir_cfg, {}, hashes["rirs"], scene.label())
        for snr in [s for t, s in cfg.matrix.t60_snr_pairs() if t == scene.t60]:
            cond = condition_label(scene.t60, snr, geometry)
            win_cfg = {"scene": scene_d, "snr_db": snr, "seed": cfg.seed}
            windows = graph.node("windows", win_cfg, {"rirs": rirs.key}, hashes["windows"], cond)
            base_cfg = {"seed": cfg.seed, "srp": {"step": 0.02, "n_windows": att.n_test_windows}}
            baselines = graph.node(
                "baselines", base_cfg, {"windows": windows.key}, hashes["baselines"], cond
            )
            sig_cfg = {
                "seed": cfg.seed,
                "n_test_windows": att.n_test_windows,
                "metrics": metrics_cfg,
            }
            signals = graph.node(
                "signals", sig_cfg, {"windows": windows.key}, hashes["signals"], cond
            )
            condition = {
                "condition": cond,
                "t60": scene.t60,
                "snr_db": snr,
                "geometry": geometry,
                "windows": windows.key,
                "baselines": baselines.key,
                "signals": signals.key,
                "rirs": rirs.key,
            }
            graph.conditions.append(condition)
            for model_name in cfg.matrix.models:
                model = graph.add(
                    _model_node(cfg, model_name, scene.t60, snr, windows.key, hashes["model"], cond)
                )
                c_cfg = {"seed": cfg.seed, "n_test_windows": att.n_test_windows,
                         "metrics": {k: metrics_cfg[k] for k in _CONTROL_FIELDS}}
                controls = graph.node(
                    "controls", c_cfg, {"model": model.key, "windows": windows.key},
                    hashes["controls"], f"{model_name} {cond}",
                )
                for method in cfg.matrix.methods:
                    params = dict(att.params.get(method, {}))
                    a_cfg = {
                        "method": method,
                        "params": params,
                        "seed": cfg.seed,
                        "target_mode": att.target_mode,
                        "n_test_windows": att.n_test_windows,
                        "batch_size": att.batch_size,
                    }
                    a_hash = hashes["attribution"] + method_sources.get(method, "")
                    label = f"{model_name} {method} {cond}"
                    attribution = graph.node(
                        "attribution", a_cfg, {"model": model.key, "windows": windows.key},
                        a_hash, label,
                    )
                    m_cfg = {**a_cfg, "metrics": metrics_cfg}
                    metrics = graph.node(
                        "metrics", m_cfg,
                        {"attribution": attribution.key, "model": model.key,
                         "windows": windows.key, "controls": controls.key},
                        hashes["metrics"] + a_hash, label,
                    )
                    graph.cells.append(
                        {
                            **condition,
                            "model": model_name,
                            "method": method,
                            "model_key": model.key,
                            "attribution": attribution.key,
                            "metrics": metrics.key,
                        }
                    )
    return graph


def _model_node(
    cfg: BenchConfig,
    model_name: str,
    t60: float,
    snr: float,
    windows_key: str,
    code_hash: str,
    cond: str,
) -> StageSpec:
    m_cfg: dict[str, Any] = {"model": model_name, "seed": cfg.seed}
    weights = external_weights(cfg, model_name, t60, snr)
    if weights is not None:
        m_cfg["weights"] = {"sha256": file_sha256(Path(weights))}
    else:
        m_cfg["training"] = cfg.training.for_model(model_name)
    key = artifact_key("model", m_cfg, (windows_key,), code_hash)  # by content, not by path
    if weights is not None:
        m_cfg["weights"]["path"] = str(Path(weights).resolve())
    return StageSpec("model", key, m_cfg, {"windows": windows_key}, label=f"{model_name} {cond}")


def external_weights(cfg: BenchConfig, model: str, t60: float, snr: float) -> str | None:
    """The state_dict to use for (model entry, condition), if the configuration names one."""
    from bench.config import _weights_for

    return _weights_for(cfg.weights, model, t60, snr)
