"""Provenance of a results folder: what produced it, from which code, config and machine.

Every table of a run carries it (``provenance.json``, and the report's table sidecars). The
scene settings recorded are those the scenes used (the typed configuration, every default
resolved), never a restated default.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

from ssl_xai_bench import __version__
from ssl_xai_bench.harness.config import BenchConfig
from ssl_xai_bench.harness.store import library_versions
from ssl_xai_bench.models.device import native_bf16


def make_provenance(cfg: BenchConfig, command: str) -> dict[str, Any]:
    """Who/what/where produced a results folder (copied into every table)."""
    import importlib.metadata as md

    versions = {"python": platform.python_version(), **library_versions()}
    try:
        versions["dask"] = md.version("dask")
    except md.PackageNotFoundError:
        versions["dask"] = "absent"
    return {
        "package_version": __version__,
        "git_commit": git_commit(),
        "config_hash": cfg.config_hash(),
        "seed": cfg.seed,
        "preset": cfg.preset,
        "name": cfg.name,
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "config": cfg.to_dict(),
        "rir_convention": cfg.scene.rir_convention,
        "absorption": cfg.scene.absorption,
        "rir_mode": cfg.scene.rir_mode,
        "speech": cfg.scene.speech.to_dict(),
        "versions": versions,
        "machine": {
            "platform": platform.platform(),
            "cpu": platform.processor() or platform.machine(),
            "cpu_model": cpu_model(),
            "native_bf16": native_bf16(torch.device("cpu")),
            "n_cores": _n_cores(),
        },
    }


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the architecture elsewhere): timings depend on
    it, and on whether it computes bfloat16 natively (``machine.native_bf16``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _n_cores() -> int:
    return os.cpu_count() or 1


#: Paths whose uncommitted changes make a run's commit "-dirty" (the code and its presets; a run
#: overwriting the committed reference results in ``results/`` does not).
SOURCE_PATHS = ("ssl_xai_bench", "pyproject.toml")


def git_commit(root: Path | None = None) -> str:
    """The commit of the package's source tree (``root``, default this checkout), ``-dirty`` when
    its code has uncommitted changes ("unknown" outside a git checkout)."""
    root = Path(__file__).resolve().parents[2] if root is None else Path(root)
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", *SOURCE_PATHS],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


__all__ = ["SOURCE_PATHS", "git_commit", "make_provenance"]
