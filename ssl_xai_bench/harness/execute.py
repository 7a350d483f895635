"""What a worker runs for one node of the stage graph: compute it unless stored, never raise.

:func:`execute` returns at once when the node's artifact is already stored; otherwise it loads
the upstream artifacts, calls the stage module's ``compute`` with the node's typed config, stores
the result atomically and reports what it did. A failure is returned as
``StageResult(ok=False, reason=...)`` (failures are not stored, so a rerun retries them) and the
rest of the graph runs on.
"""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from ssl_xai_bench.harness import memory
from ssl_xai_bench.harness.stages import STAGE_MODULES
from ssl_xai_bench.harness.store import ArtifactStore


@dataclass(frozen=True)
class StageSpec:
    """One node of the stage graph: its stage, key, typed config and upstream keys by role."""

    stage: str
    key: str
    config: Any
    inputs: dict[str, str] = field(default_factory=dict)  # role ("stage[:tag]") -> key
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
    started: float = 0.0  # wall clock (time.time()) when the worker began the node


def execute(
    spec: StageSpec,
    store_root: str,
    runtime: dict[str, Any] | None = None,
    *upstream_results: StageResult,
) -> StageResult:
    """Compute one node unless stored. Never raises (see the module docstring)."""
    start, started = time.perf_counter(), time.time()
    runtime = runtime or {}

    def result(ok: bool, computed: bool, reason: str = "", peak: float = 0.0) -> StageResult:
        return StageResult(spec.stage, spec.key, ok, computed, time.perf_counter() - start,
                           reason, spec.label, peak, started)

    try:
        _configure_worker(runtime)
        for res in upstream_results:
            if not res.ok:
                return StageResult(spec.stage, spec.key, False, False, 0.0,
                                   f"upstream {res.stage} failed: {res.reason}", spec.label)
        store = ArtifactStore(store_root)
        if store.has(spec.stage, spec.key):
            return result(True, False)
        upstream = {}
        for role, key in spec.inputs.items():
            stage = role.split(":")[0]  # a role is a stage, or "stage:tag" for several
            art = store.get(stage, key)
            if art is None:
                raise RuntimeError(f"upstream artifact {stage}/{key} is missing or corrupt")
            upstream[role] = art
        memory.reset_peak()
        module = importlib.import_module(STAGE_MODULES[spec.stage])
        writer = module.compute(spec.config, upstream, runtime)
        store.put(spec.stage, spec.key, writer, label=spec.label)
        del writer  # the writer's closure holds the stage's arrays
        return result(True, True, peak=memory.peak_rss_mb())
    except Exception as exc:  # noqa: BLE001 - a failing cell is recorded, the run goes on
        reason = f"{type(exc).__name__}: {exc}"
        if runtime.get("debug"):
            reason += "\n" + traceback.format_exc()
        return result(False, False, reason)
    finally:
        memory.release_free_heap()


_CONFIGURED: dict[str, Any] = {}


def _configure_worker(runtime: dict[str, Any]) -> None:
    """Thread counts and the run's plug-in files, once per process."""
    import torch

    from ssl_xai_bench.harness.plugin_files import load_once

    threads = runtime.get("torch_threads")
    if threads and _CONFIGURED.get("threads") != threads:
        torch.set_num_threads(int(threads))
        _CONFIGURED["threads"] = threads
    load_once(runtime.get("plugins", {}), _CONFIGURED.setdefault("plugins", set()))


__all__ = ["StageResult", "StageSpec", "execute"]
