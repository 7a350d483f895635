"""Build the stage graph of a benchmark configuration, with a cache key per node.

The graph is a list of :class:`ssl_xai_bench.harness.execute.StageSpec` in dependency order.
Each node's key is computed here, on the client, from (stage, the stage's typed config, upstream
keys, code hash, environment), so nodes shared by several cells (one scene's RIRs for every SNR,
one trained model for every method) appear once and a rerun finds them stored.

The code hash of a node is the hash of the import closure of its stage module
(:mod:`ssl_xai_bench.codehash`), plus the closure of each plug-in the node uses: the network
module of its model, the module of its attribution method (a user's file with its helper
modules), and, for LRP-family methods, the model's LRP rules. A stage's config holds only what
changes its output: the list of methods is in no key, so adding a method adds only that
method's ``attribution`` and ``metrics`` nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ssl_xai_bench import codehash
from ssl_xai_bench.attributions import get_method
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import BenchConfig
from ssl_xai_bench.harness.execute import StageSpec
from ssl_xai_bench.harness.stages import (
    STAGE_MODULES,
    attribution,
    baselines,
    controls,
    rirs,
    signals,
    windows,
)
from ssl_xai_bench.harness.stages import metrics as metrics_stage
from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.harness.store import artifact_key, library_versions
from ssl_xai_bench.hashing import file_sha256
from ssl_xai_bench.metrics import registry as metric_registry
from ssl_xai_bench.models.device import resolve_device
from ssl_xai_bench.models.registry import get_model_spec, model_arch
from ssl_xai_bench.models.train_config import PAPER_LR

#: Stages whose numbers depend on torch's CPU thread count (reductions are ordered by thread).
TORCH_STAGES = ("model", "attribution", "controls", "metrics")


@dataclass
class StageGraph:
    """Nodes in dependency order plus the cell bookkeeping the collector needs."""

    nodes: list[StageSpec] = field(default_factory=list)
    by_key: dict[tuple[str, str], StageSpec] = field(default_factory=dict)
    cells: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)

    def add(self, node: StageSpec) -> StageSpec:
        ident = (node.stage, node.key)
        if ident not in self.by_key:
            self.by_key[ident] = node
            self.nodes.append(node)
        return self.by_key[ident]

    def upstream(self, spec: StageSpec) -> list[StageSpec]:
        """The nodes ``spec`` reads (its inputs)."""
        return [self.by_key[(role.split(":")[0], key)] for role, key in spec.inputs.items()]


class _Keys:
    """Code hashes (cached per build) and the environment part of every key."""

    def __init__(self, threads: int) -> None:
        self._hashes: dict[tuple[str, ...], str] = {}
        self.environment = {"libraries": library_versions()}
        self.torch_environment = {**self.environment, "torch_threads": threads}

    def modules(self, *modules: str) -> str:
        if modules not in self._hashes:
            self._hashes[modules] = codehash.module_closure_hash(*modules)
        return self._hashes[modules]

    def model(self, arch: str) -> str:
        """A model's code: a plug-in's own hash, a built-in's network module closure."""
        spec = get_model_spec(arch)
        return spec.source_hash or self.modules(spec.network_module)

    def node(self, graph: StageGraph, stage: str, config: Any, inputs: dict[str, str],
             code: str, label: str) -> StageSpec:
        env = self.torch_environment if stage in TORCH_STAGES else self.environment
        key = artifact_key(stage, config.key_dict(), tuple(inputs.values()), code, env)
        return graph.add(StageSpec(stage, key, config, inputs, label=label))


def condition_label(t60: float, snr_db: float, geometry: str) -> str:
    return f"T60={t60:g}s SNR={snr_db:g}dB {geometry}"


def _method_code(keys: _Keys, method: str, arch: str) -> str:
    """The closure hash of a method's module, and of the model's LRP rules for LRP methods."""
    spec = get_method(method)
    model = get_model_spec(arch)
    parts = [spec.source_hash]
    if spec.family == "lrp" and model.lrp is not None:
        parts.append(keys.modules(model.lrp))
    return "+".join(parts)


def _stage_code(keys: _Keys) -> dict[str, str]:
    """Each stage's code hash: its module's import closure (the built-in metric families are
    in it), plus, for ``metrics`` and ``signals``, the code of every plug-in metric family
    they run (``signals``: those that score the method-independent rows)."""
    code = {stage: keys.modules(module) for stage, module in STAGE_MODULES.items()}
    extra = metric_registry.plugin_families()
    code["metrics"] = "+".join([code["metrics"], *(f.source_hash for f in extra)])
    code["signals"] = "+".join([code["signals"], *(f.source_hash for f in extra
                                                   if f.score_signals is not None)])
    return code


def build_graph(cfg: BenchConfig) -> StageGraph:
    """The full stage graph of ``cfg`` (plug-ins from files must be loaded before)."""
    keys = _Keys(cfg.runner.threads_per_worker)
    code = _stage_code(keys)
    graph = StageGraph()
    _add_conditions(cfg, graph, keys, code)
    mixtures = _mixture_models(cfg, graph, keys, code)
    previous: dict[tuple[str, str], StageSpec] = {}  # curriculum: (geometry, model) -> node
    for condition in graph.conditions:
        for model_name in cfg.matrix.models:
            chain = (condition["geometry"], model_name)
            init = mixtures.get(chain)
            if cfg.training.scope_for(model_name).scope == "curriculum" and "@" not in model_name:
                init = previous.get(chain)
            previous[chain] = _add_model_cells(cfg, graph, keys, code, condition, model_name,
                                               init)
    return graph


def _add_conditions(cfg: BenchConfig, graph: StageGraph, keys: _Keys,
                    code: dict[str, str]) -> None:
    """The nodes of every condition that no model uses (RIRs, windows, baselines, signal
    rows); each condition is recorded in ``graph.conditions``."""
    att = cfg.attribution
    for geometry, scene in cfg.scenes():
        room = keys.node(graph, "rirs", rirs.Config(scene.room_part()), {}, code["rirs"],
                         scene.label())
        for snr in [s for t, s in cfg.matrix.t60_snr_pairs() if t == scene.t60]:
            cond = condition_label(scene.t60, snr, geometry)
            win = keys.node(graph, "windows", windows.Config(scene, snr, cfg.seed),
                            {"rirs": room.key}, code["windows"], cond)
            base = keys.node(graph, "baselines",
                             baselines.Config(cfg.seed, srp_windows=att.n_test_windows),
                             {"windows": win.key}, code["baselines"], cond)
            sig = keys.node(graph, "signals",
                            signals.Config(cfg.seed, att.n_test_windows, cfg.metrics),
                            {"windows": win.key}, code["signals"], cond)
            graph.conditions.append({"condition": cond, "t60": scene.t60, "snr_db": snr,
                                     "geometry": geometry, "windows": win.key,
                                     "baselines": base.key, "signals": sig.key,
                                     "rirs": room.key})


def _add_model_cells(cfg: BenchConfig, graph: StageGraph, keys: _Keys, code: dict[str, str],
                     condition: dict[str, Any], model_name: str,
                     init: StageSpec | None) -> StageSpec:
    """One model entry at one condition (trained from ``init`` when given), its controls and
    every method's attribution and metrics cells; returns the model node."""
    cond, win, att = condition["condition"], condition["windows"], cfg.attribution
    arch = model_name.partition("@")[0]
    network = keys.model(arch)
    label = f"{model_name} {cond}"
    inputs = {"windows": win} | ({"model:init": init.key} if init is not None else {})
    model = keys.node(graph, "model", _model_config(cfg, model_name, condition,
                                                    init is not None),
                      inputs, code["model"] + network, label)
    ctrl = keys.node(graph, "controls",
                     controls.Config(cfg.seed, att.n_test_windows, cfg.metrics.manipulation),
                     {"model": model.key, "windows": win}, code["controls"] + network, label)
    for method in cfg.matrix.methods:
        a_cfg = attribution.Config(method, dict(att.params.get(method, {})), cfg.seed,
                                   att.target_mode, att.n_test_windows, att.batch_size)
        a_code = network + _method_code(keys, method, arch)
        cell_label = f"{model_name} {method} {cond}"
        rel = keys.node(graph, "attribution", a_cfg, {"model": model.key, "windows": win},
                        code["attribution"] + a_code, cell_label)
        met = keys.node(graph, "metrics", metrics_stage.Config(a_cfg, cfg.metrics),
                        {"attribution": rel.key, "model": model.key, "windows": win,
                         "controls": ctrl.key}, code["metrics"] + a_code, cell_label)
        graph.cells.append({**condition, "model": model_name, "method": method,
                            "model_key": model.key, "attribution": rel.key,
                            "metrics": met.key})
    return model


def _mixture_models(cfg: BenchConfig, graph: StageGraph, keys: _Keys,
                    code: dict[str, str]) -> dict[tuple[str, str], StageSpec]:
    """With ``training.scope = "geometry"`` (of the section or of the model's per-model table):
    one model per (geometry, trained model entry), trained on the mixture of the geometry's
    conditions (their windows in graph order)."""
    out = {}
    for geometry in cfg.matrix.geometries:
        wins = [c["windows"] for c in graph.conditions if c["geometry"] == geometry]
        inputs = {("windows" if i == 0 else f"windows:{i}"): key for i, key in enumerate(wins)}
        for model_name in cfg.matrix.models:
            if "@" in model_name or cfg.training.scope_for(model_name).scope != "geometry":
                continue  # external weights are not trained
            network = keys.model(model_name)
            training = _resolved(cfg.training.for_model(model_name))
            out[(geometry, model_name)] = keys.node(
                graph, "model", model_stage.Config(model_name, cfg.seed, training=training,
                                                   mixture=True),
                inputs, code["model"] + network, f"{model_name} {geometry} mixture")
    return out


def _resolved(training: Any) -> Any:
    # The device is part of the key: "auto" is resolved here, where the graph is built.
    return replace(training, device=str(resolve_device(training.device)))


def _model_config(cfg: BenchConfig, model: str, condition: dict[str, Any],
                  warm_start: bool = False) -> model_stage.Config:
    """The model node's config: external weights, training from scratch, or (``warm_start``:
    from a mixture model or the previous condition's) fine-tuning for ``finetune_epochs``."""
    weights = cfg.weights_for(model, condition["t60"], condition["snr_db"],
                              condition["geometry"])
    if weights is not None:  # keyed by content, not by path
        return model_stage.Config(model, cfg.seed, weights_sha256=file_sha256(Path(weights)),
                                  weights_path=str(Path(weights).resolve()))
    training = _resolved(cfg.training.for_model(model))
    if not warm_start:
        return model_stage.Config(model, cfg.seed, training=training)
    epochs = cfg.training.scope_for(model).finetune_epochs
    # the warm start keeps its weights: no output-layer or input-gain initialisation, and no
    # restart from the mean (training.mean_escape_epochs), which would discard it
    finetune = replace(training, max_epochs=epochs, patience=max(1, epochs),
                       init_output_bias=False, zero_output_weights=False,
                       init_input_gain=False, mean_escape_epochs=0) if epochs else None
    scale = cfg.training.scope_for(model).finetune_lr_scale
    if finetune is not None and scale != 1.0:  # 1.0 leaves the key as it was
        base_lr = training.lr if training.lr is not None else PAPER_LR.get(model_arch(model))
        if base_lr is None:
            raise ConfigError("training.finetune_lr_scale", f"{model} has no default learning "
                              f"rate to scale: set training.per_model.{model_arch(model)}.lr")
        finetune = replace(finetune, lr=base_lr * scale)
    return model_stage.Config(model, cfg.seed, training=finetune, warm_start=True)


__all__ = ["StageGraph", "build_graph", "condition_label"]
