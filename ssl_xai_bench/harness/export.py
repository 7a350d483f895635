"""Train a configuration's models only, and export their checkpoints for reuse anywhere.

``ssl-xai-bench train`` runs the part of the stage graph that the models need (RIRs, windows,
models; on a GPU machine training uses CUDA, ``training.device = "auto"``) and copies every
trained checkpoint out of the store into a folder: ``<model>_T60=<t60>_SNR=<snr>_<geometry>.pt``
(a plain ``state_dict``, loadable with ``torch.load(..., weights_only=True)``) with
``<file>.pt.json`` beside it (the training provenance: configuration hash, commit, training
settings, best epoch and losses, test MAE, the scene's ``input_scaling``, which a run reusing
the file must match). ``weights.toml`` in the folder is the
configuration table that reuses them in any preset, exactly as the authors' released weights are
reused: the checkpoints become the model entry ``ARCH@LABEL``, evaluated beside (or instead of)
the models trained in the run::

    ssl-xai-bench run --preset default --config exported/weights.toml

``weights.toml`` names the checkpoints by file name: a configuration file's relative paths are
read from its own folder, so the folder can be moved or copied to another machine as a whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ssl_xai_bench.harness.config import BenchConfig
from ssl_xai_bench.harness.graph import StageGraph, build_graph
from ssl_xai_bench.harness.provenance import git_commit
from ssl_xai_bench.harness.runner import run_graph, runtime_of
from ssl_xai_bench.harness.stages import model as model_stage
from ssl_xai_bench.harness.stages import windows as windows_stage
from ssl_xai_bench.harness.store import ArtifactStore
from ssl_xai_bench.models.evaluation import localization_errors

TRAINING_STAGES = ("rirs", "windows", "model")


def training_graph(graph: StageGraph) -> StageGraph:
    """The part of ``graph`` that trains its models (and nothing downstream of them)."""
    sub = StageGraph()
    for node in graph.nodes:
        if node.stage in TRAINING_STAGES:
            sub.add(node)
    sub.conditions = list(graph.conditions)
    return sub


def _file_name(model: str, condition: dict[str, Any]) -> str:
    return (f"{model.replace('@', '-')}_T60={condition['t60']:g}_SNR={condition['snr_db']:g}_"
            f"{condition['geometry']}.pt")


def export_models(cfg: BenchConfig, out: str | Path, label: str = "exported",
                  runtime: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``cfg``'s models (reusing the store) and export their checkpoints into ``out``.

    Returns
    -------
    dict
        ``files`` (model, condition, file, test MAE) and ``weights`` (the ``[weights]`` table
        written to ``out/weights.toml``, file names relative to ``out``); failures raise
        ``RuntimeError`` naming the node.
    """
    graph = build_graph(cfg)
    sub = training_graph(graph)
    runtime = runtime or runtime_of(cfg)
    results = run_graph(sub, cfg, runtime)
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError("; ".join(f"{r.stage} [{r.label}]: {r.reason}" for r in failed))
    store = ArtifactStore(cfg.store_path())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    commit = git_commit()
    files, weights = [], {}
    scaling = {geometry: scene.input_scaling for geometry, scene in cfg.scenes()}
    for cell in {(c["model"], c["model_key"]): c for c in graph.cells}.values():
        if "@" in cell["model"]:
            continue  # external weights are not ours to export
        art = store.get("model", cell["model_key"])
        test = windows_stage.load(store.get("windows", cell["windows"]), "test")
        mae = localization_errors(model_stage.load_predictions(art), test.positions)["mae"]
        name = _file_name(cell["model"], cell)
        shutil.copyfile(art.file("model.pt"), out / name)
        meta = {**art.meta, "config_hash": cfg.config_hash(), "git_commit": commit,
                "condition": cell["condition"], "store_key": cell["model_key"],
                "test_mae_m": mae, "training": art.meta.get("training"),
                "input_scaling": scaling[cell["geometry"]]}
        (out / f"{name}.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        entry = f"{cell['model']}@{label}"
        key = f"{cell['t60']:g}/{cell['snr_db']:g}/{cell['geometry']}"
        weights.setdefault(entry, {})[key] = name  # read from weights.toml's folder
        files.append({"model": cell["model"], "condition": cell["condition"], "file": name,
                      "test_mae_m": mae})
    lines = ["# Reuse these checkpoints: ssl-xai-bench run --config THIS_FILE (another preset:",
             "# change the next line). The entries ARCH@LABEL are evaluated beside the models",
             "# the run trains; drop those from matrix.models to evaluate the checkpoints alone.",
             f'preset = "{cfg.preset or "default"}"', "", "[weights]"]
    for entry, table in weights.items():
        cells = ", ".join(f'"{k}" = "{v}"' for k, v in table.items())
        lines.append(f'"{entry}" = {{ {cells} }}')
    lines += ["", "[matrix]", "models = [" + ", ".join(
        f'"{m}"' for m in [*cfg.matrix.models, *weights]) + "]"]
    (out / "weights.toml").write_text("\n".join(lines) + "\n")
    return {"files": files, "weights": weights}


__all__ = ["TRAINING_STAGES", "export_models", "training_graph"]
