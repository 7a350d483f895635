"""The benchmark's stages as pure functions of (stage config, upstream artifacts) -> artifact.

Each stage is a :class:`StageSpec` (name, key, JSON config, upstream keys) and an implementation
``_compute_<stage>(spec, store, upstream) -> writer``; :func:`execute` is what a worker runs: it
returns at once when the artifact is already stored, otherwise computes it, stores it atomically
and reports what it did. It never raises: a failure is returned as ``StageResult(ok=False,
reason=...)`` so the rest of the graph runs on (failures are not stored, so a rerun retries them).

Stages (artifact files in brackets):
- ``rirs``: scene -> RIRs of every train/val/test position [rirs.npz, positions.npz]
- ``windows``: rirs + SNR + speech draw -> WindowSets [train.npz, val.npz, test.npz]
- ``baselines``: windows -> trivial and SRP-PHAT predictions on the test set [predictions.npz]
- ``model``: windows + model + training budget (or external weights) -> checkpoint [model.pt,
  history.json, predictions.npz]
- ``attribution``: model + test windows + method -> relevance [relevance.npy, index.npy]
- ``controls``: model + test windows -> the method-independent manipulation curves (energy and
  random rankings), shared by every method of the model [curves.npz]
- ``metrics``: relevance + model + windows + controls -> metric rows, curves, TDoA [rows.json,
  curves.csv, tdoa.csv, per_window.npz]
- ``signals``: windows -> method-independent TDoA rows (microphones, constant lag) [tdoa.csv,
  rows.json]
"""

from __future__ import annotations

import inspect
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import memory
from bench.config import stable_hash
from bench.store import ArtifactStore, StoredArtifact

STAGES = ("rirs", "windows", "baselines", "model", "attribution", "metrics", "signals")


@dataclass(frozen=True)
class StageSpec:
    """One node of the stage graph."""

    stage: str
    key: str
    config: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)  # role -> upstream key
    label: str = ""


@dataclass(frozen=True)
class StageResult:
    """What a worker did for one node."""

    stage: str
    key: str
    ok: bool
    computed: bool
    seconds: float
    reason: str = ""
    label: str = ""
    peak_rss_mb: float = 0.0  # the worker process's resident-set peak while computing (Linux)


def derive_seed(*parts: Any) -> int:
    """A 32-bit seed derived from the global seed and a stage identity."""
    return int(stable_hash(list(parts), length=8), 16)


def source_hash(*objects: Any) -> str:
    """Hash of the source text of the modules/functions that compute a stage."""
    texts = []
    for obj in objects:
        try:
            texts.append(inspect.getsource(obj))
        except (OSError, TypeError):
            texts.append(repr(obj))
    return stable_hash(texts)


def execute(
    spec: StageSpec,
    store_root: str,
    runtime: dict[str, Any] | None = None,
    *upstream_results: StageResult,
) -> StageResult:
    """Compute one stage unless stored. Never raises (see module docstring)."""
    start = time.perf_counter()
    runtime = runtime or {}
    _configure_worker(runtime)
    try:
        for res in upstream_results:
            if not res.ok:
                return StageResult(
                    spec.stage,
                    spec.key,
                    False,
                    False,
                    0.0,
                    f"upstream {res.stage} failed: {res.reason}",
                    spec.label,
                )
        store = ArtifactStore(store_root)
        if store.has(spec.stage, spec.key):
            return StageResult(
                spec.stage, spec.key, True, False, time.perf_counter() - start, label=spec.label
            )
        upstream = {}
        for role, key in spec.inputs.items():
            stage = role.split(":")[0]
            art = store.get(stage, key)
            if art is None:
                raise RuntimeError(f"upstream artifact {stage}/{key} is missing or corrupt")
            upstream[role] = art
        memory.reset_peak()
        writer = COMPUTE[spec.stage](spec, upstream, runtime)
        store.put(spec.stage, spec.key, writer)
        del writer  # the writer's closure holds the stage's arrays
        peak = memory.peak_rss_mb()
        return StageResult(spec.stage, spec.key, True, True, time.perf_counter() - start,
                           label=spec.label, peak_rss_mb=peak)
    except Exception as exc:  # noqa: BLE001 - a failing cell is recorded, the run goes on
        reason = f"{type(exc).__name__}: {exc}"
        if runtime.get("debug"):
            reason += "\n" + traceback.format_exc()
        return StageResult(
            spec.stage, spec.key, False, False, time.perf_counter() - start, reason, spec.label
        )
    finally:
        memory.release_free_heap()


_CONFIGURED: dict[str, Any] = {}


def _configure_worker(runtime: dict[str, Any]) -> None:
    """Thread counts and user method files, once per process."""
    import torch

    threads = runtime.get("torch_threads")
    if threads and _CONFIGURED.get("threads") != threads:
        torch.set_num_threads(int(threads))
        _CONFIGURED["threads"] = threads
    for path in runtime.get("methods_from", ()):
        if path not in _CONFIGURED.setdefault("methods_from", set()):
            from attributions import load_methods_from

            load_methods_from(path)
            _CONFIGURED["methods_from"].add(path)


# ---------------------------------------------------------------------------------------------
# Stage implementations. Each returns a writer(folder) -> manifest metadata.

Writer = Callable[[Path], dict[str, Any] | None]


def _scene(spec_config: dict[str, Any]):
    from bench.scenes import SceneConfig

    return SceneConfig.from_dict(spec_config["scene"], "scene")


def _compute_rirs(spec: StageSpec, upstream: dict[str, StoredArtifact], runtime) -> Writer:
    from bench.rir import compute_rirs
    from bench.scenes import scene_positions

    scene = _scene(spec.config)
    positions = scene_positions(scene)
    splits = ("train", "val", "test")
    all_pos = np.concatenate([positions[s] for s in splits])
    rirs = compute_rirs(scene, all_pos)

    def write(folder: Path) -> dict[str, Any]:
        rirs.save(folder / "rirs.npz")
        np.savez(folder / "positions.npz", **{s: positions[s] for s in splits})
        return {"n_positions": {s: int(len(positions[s])) for s in splits}}

    return write


def _split_rirs(rirs, counts: dict[str, int]):
    """Slice a concatenated RIRSet back into per-split RIRSets (train, val, test order)."""
    from dataclasses import replace

    out, start = {}, 0
    for split in ("train", "val", "test"):
        sl = slice(start, start + counts[split])
        out[split] = replace(
            rirs, rirs=rirs.rirs[sl], direct=rirs.direct[sl], positions=rirs.positions[sl]
        )
        start = sl.stop
    return out


def load_rirs(art: StoredArtifact):
    from bench.rir import RIRSet

    rirs = RIRSet.load(art.file("rirs.npz"))
    with np.load(art.file("positions.npz")) as z:
        positions = {k: z[k] for k in z.files}
    return rirs, positions


def _compute_windows(spec: StageSpec, upstream, runtime) -> Writer:
    from bench.scenes import render_windows

    scene = _scene(spec.config)
    rirs, positions = load_rirs(upstream["rirs"])
    counts = {s: len(positions[s]) for s in positions}
    per_split = _split_rirs(rirs, counts)
    sets = {}
    for i, split in enumerate(("train", "val", "test")):
        if counts[split] == 0:
            continue
        seed = derive_seed(spec.config["seed"], "windows", split)
        # the direct path is only needed by test-set metrics: not stored for training splits
        sets[split] = render_windows(
            scene,
            per_split[split],
            positions[split],
            spec.config["snr_db"],
            seed + i,
            with_direct=split == "test",
        )

    def write(folder: Path) -> dict[str, Any]:
        for split, ws in sets.items():
            ws.save(folder / f"{split}.npz")
        return {"n_windows": {s: int(len(ws.windows)) for s, ws in sets.items()}}

    return write


def load_windows(art: StoredArtifact, split: str):
    from bench.scenes import WindowSet

    return WindowSet.load(art.file(f"{split}.npz"))


def test_subset(test, n_test_windows: int | None, seed: int) -> np.ndarray:
    """Indices of the test windows explained: all, or an evenly spread seeded subsample."""
    n = len(test.windows)
    if n_test_windows is None or n_test_windows >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=n_test_windows, replace=False))


def _compute_baselines(spec: StageSpec, upstream, runtime) -> Writer:
    from ssl_models.baselines import TrivialPredictor, srp_phat_localize, xy_grid

    train = load_windows(upstream["windows"], "train")
    test = load_windows(upstream["windows"], "test")
    trivial = TrivialPredictor().fit(train.positions).predict(len(test.positions))
    cfg = spec.config["srp"]
    lo, hi = train.positions.min(axis=0), train.positions.max(axis=0)
    grid = xy_grid((lo[0], hi[0]), (lo[1], hi[1]), float(train.positions[:, 2].mean()), cfg["step"])
    idx = test_subset(test, cfg.get("n_windows"), derive_seed(spec.config["seed"], "srp"))
    srp = np.full_like(test.positions, np.nan)
    srp[idx] = srp_phat_localize(
        test.windows[idx], test.mic_positions, grid, test.fs, test.speed_of_sound
    )

    def write(folder: Path) -> dict[str, Any]:
        np.savez(folder / "predictions.npz", trivial=trivial, srp_phat=srp)
        return {}

    return write


def _compute_model(spec: StageSpec, upstream, runtime) -> Writer:
    import torch

    from ssl_models import build_model, predict
    from ssl_models.checkpoint import load_checkpoint, save_checkpoint
    from ssl_models.training import TrainConfig, train_model

    cfg = spec.config
    train = load_windows(upstream["windows"], "train")
    val = load_windows(upstream["windows"], "val")
    test = load_windows(upstream["windows"], "test")
    n_mics, length = train.windows.shape[1:]
    seed = derive_seed(cfg["seed"], "train", cfg["model"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # weight initialisation is part of the seeded stage
        model = build_model(cfg["model"].partition("@")[0], n_mics=n_mics, window_length=length)
    history: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"model": cfg["model"], "source": "trained"}
    if cfg.get("weights"):
        load_checkpoint(cfg["weights"]["path"], model)
        meta.update(source="external", weights=cfg["weights"])
    else:
        tc = TrainConfig(**cfg["training"])
        result = train_model(
            model,
            (train.windows, train.positions, train.source_ids),
            (val.windows, val.positions, val.source_ids),
            tc,
            seed=seed,
            progress=runtime.get("progress", False),
        )
        model, history = result.model, result.history
        meta.update(
            best_epoch=result.best_epoch,
            best_val_loss=result.best_val_loss,
            stopped_reason=result.stopped_reason,
            epochs=len(history),
        )
    model.eval()
    with torch.no_grad():
        pred = predict(model, test.windows)

    def write(folder: Path) -> dict[str, Any]:
        save_checkpoint(folder / "model.pt", model, meta)
        (folder / "history.json").write_text(json.dumps(history), "utf-8")
        np.savez(folder / "predictions.npz", test=pred)
        return meta

    return write


def load_model(art: StoredArtifact, n_mics: int, window_length: int):
    from ssl_models import build_model
    from ssl_models.checkpoint import load_checkpoint

    arch = art.meta["model"].partition("@")[0]
    model = build_model(arch, n_mics=n_mics, window_length=window_length)
    load_checkpoint(art.file("model.pt"), model)
    return model.eval()


def _compute_attribution(spec: StageSpec, upstream, runtime) -> Writer:
    import torch

    from attributions import attribute

    cfg = spec.config
    test = load_windows(upstream["windows"], "test")
    idx = test_subset(test, cfg["n_test_windows"], derive_seed(cfg["seed"], "subset"))
    model = load_model(upstream["model"], *test.windows.shape[1:])
    inputs = torch.from_numpy(test.windows[idx])
    target = torch.from_numpy(test.positions[idx]).float()
    relevance = attribute(
        cfg["method"],
        model,
        inputs,
        target,
        batch_size=cfg["batch_size"],
        target_mode=cfg["target_mode"],
        **cfg["params"],
    )
    relevance = relevance.detach().cpu().numpy().astype(np.float32)

    def write(folder: Path) -> dict[str, Any]:
        np.save(folder / "relevance.npy", relevance)
        np.save(folder / "index.npy", idx)
        return {"method": cfg["method"], "n_windows": int(len(idx))}

    return write


def _compute_controls(spec: StageSpec, upstream, runtime) -> Writer:
    from bench.metrics import MetricsConfig, evaluate_controls

    cfg = spec.config
    test = load_windows(upstream["windows"], "test")
    idx = test_subset(test, cfg["n_test_windows"], derive_seed(cfg["seed"], "subset"))
    model = load_model(upstream["model"], *test.windows.shape[1:])
    curves = evaluate_controls(
        model, test.subset(idx), MetricsConfig.from_dict(cfg["metrics"], "metrics"),
        seed=derive_seed(cfg["seed"], "controls"),
    )

    def write(folder: Path) -> dict[str, Any]:
        np.savez(folder / "curves.npz", index=idx, **curves)
        return {"rankings": sorted(curves)}

    return write


def load_controls(art: StoredArtifact, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Control curves of a ``controls`` artifact, checked to be for the windows ``idx``."""
    with np.load(art.file("curves.npz")) as data:
        if not np.array_equal(data["index"], idx):
            raise RuntimeError("controls: computed on other test windows than the attribution")
        return {k: data[k] for k in data.files if k != "index"}


def _compute_metrics(spec: StageSpec, upstream, runtime) -> Writer:
    from bench.metrics import MetricsConfig, evaluate_method

    cfg = spec.config
    test = load_windows(upstream["windows"], "test")
    idx = np.load(upstream["attribution"].file("index.npy"))
    relevance = np.load(upstream["attribution"].file("relevance.npy"))
    model = load_model(upstream["model"], *test.windows.shape[1:])
    explain_fn = _explain_fn(cfg)
    controls = load_controls(upstream["controls"], idx) if "controls" in upstream else None
    result = evaluate_method(
        model,
        test.subset(idx),
        relevance,
        method=cfg["method"],
        explain_fn=explain_fn,
        config=MetricsConfig.from_dict(cfg["metrics"], "metrics"),
        seed=derive_seed(cfg["seed"], "metrics", cfg["method"]),
        controls=controls,
    )
    return _result_writer(result)


def _explain_fn(cfg: dict[str, Any]):
    from functools import partial

    from attributions import attribute

    def explain(model, inputs, targets, *, method, batch_size, target_mode, params):
        import torch

        x = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
        t = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
        return (
            attribute(method, model, x, t, batch_size=batch_size, target_mode=target_mode, **params)
            .detach()
            .cpu()
            .numpy()
        )

    return partial(
        explain,
        method=cfg["method"],
        batch_size=cfg["batch_size"],
        target_mode=cfg["target_mode"],
        params=cfg["params"],
    )


def _result_writer(result) -> Writer:
    def write(folder: Path) -> dict[str, Any]:
        (folder / "rows.json").write_text(json.dumps(result.rows, default=_json_default), "utf-8")
        if result.curves is not None:
            result.curves.to_csv(folder / "curves.csv", index=False)
        if result.tdoa is not None:
            result.tdoa.to_csv(folder / "tdoa.csv", index=False)
        if result.per_window:
            np.savez(folder / "per_window.npz", **result.per_window)
        return {}

    return write


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _compute_signals(spec: StageSpec, upstream, runtime) -> Writer:
    from bench.metrics import MetricsConfig, evaluate_signals

    cfg = spec.config
    test = load_windows(upstream["windows"], "test")
    idx = test_subset(test, cfg["n_test_windows"], derive_seed(cfg["seed"], "subset"))
    result = evaluate_signals(test.subset(idx), MetricsConfig.from_dict(cfg["metrics"], "metrics"))
    return _result_writer(result)


COMPUTE: dict[str, Callable[..., Writer]] = {
    "rirs": _compute_rirs,
    "windows": _compute_windows,
    "baselines": _compute_baselines,
    "model": _compute_model,
    "attribution": _compute_attribution,
    "controls": _compute_controls,
    "metrics": _compute_metrics,
    "signals": _compute_signals,
}
