"""Content-addressed artifact store.

Every stage output is a folder of files keyed by a hash of (stage name, canonical stage config,
upstream artifact keys, hash of the import closure of the code that computes it, package and
library versions); see :func:`artifact_key` and :mod:`ssl_xai_bench.codehash`. Layout::

    <root>/<stage>/<key>/            one artifact: the stage's files + MANIFEST.json
    <root>/<stage>/<key>/MANIFEST.json   {"stage", "key", "files": {name: sha256}, "meta": {...}}

Guarantees:
- atomic: an artifact is written into a temporary sibling folder and renamed into place, so a
  reader (or a crash) never sees half an artifact; two writers of the same key both succeed and one
  rename wins (the contents are identical by construction);
- verified: :meth:`ArtifactStore.get` checks every file's SHA-256 against the manifest; a truncated,
  bit-flipped or missing file makes the artifact count as absent (it is moved aside and recomputed,
  never trusted);
- a stage already stored is never recomputed (:meth:`ArtifactStore.has`).
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssl_xai_bench import __version__
from ssl_xai_bench.hashing import file_sha256, stable_hash

MANIFEST = "MANIFEST.json"

#: Libraries whose version can change a stage's numbers: part of every key and of provenance.
LIBRARIES = ("torch", "numpy", "scipy", "pyroomacoustics", "zennit", "captum", "quantus",
             "espeakng-loader", "pandas")


def library_versions() -> dict[str, str]:
    """Installed version of each of :data:`LIBRARIES` (``"absent"`` when not installed)."""
    out = {}
    for dist in LIBRARIES:
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "absent"
    return out


def artifact_key(
    stage: str,
    config: Any,
    inputs: list[str] | tuple[str, ...] = (),
    source_hash: str = "",
    environment: dict[str, Any] | None = None,
) -> str:
    """The content address of one stage output (hex, 24 characters).

    ``environment`` holds what else the result depends on: the package and library versions
    (:func:`library_versions`) and, for torch stages, the CPU thread count.
    """
    return stable_hash(
        {"stage": stage, "config": config, "inputs": list(inputs), "source": source_hash,
         "version": __version__, "environment": environment or {}},
        length=24,
    )


@dataclass(frozen=True)
class StoredArtifact:
    """A verified artifact: its folder and manifest metadata."""

    stage: str
    key: str
    path: Path
    meta: dict[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name


class ArtifactStore:
    """A folder of verified, immutable stage outputs (safe to share between processes)."""

    def __init__(self, root: str | Path, create: bool = True) -> None:
        """``create=False``: a reader (``cache list``, ``plan``) that never creates the folder."""
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def has(self, stage: str, key: str) -> bool:
        return self.get(stage, key) is not None

    def holds(self, stage: str, key: str) -> bool:
        """Whether the artifact is in place (its manifest exists), without verifying its files:
        the cheap question a plan asks."""
        return (self.path(stage, key) / MANIFEST).is_file()

    def get(self, stage: str, key: str) -> StoredArtifact | None:
        """The artifact if intact; a corrupt one is quarantined and ``None`` is returned."""
        folder = self.path(stage, key)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            return None
        try:
            manifest = json.loads(manifest_path.read_text("utf-8"))
            files = manifest["files"]
            for name, digest in files.items():
                if file_sha256(folder / name) != digest:
                    raise ValueError(f"checksum mismatch in {name}")
        except (OSError, ValueError, KeyError, TypeError):
            self._quarantine(folder)
            return None
        return StoredArtifact(stage, key, folder, manifest.get("meta", {}))

    def put(
        self, stage: str, key: str, write: Callable[[Path], dict[str, Any] | None],
        label: str = "",
    ) -> StoredArtifact:
        """Create an artifact by calling ``write(tmp_folder)``; returns the verified artifact.

        ``write`` fills the folder with files and may return metadata for the manifest;
        ``label`` (what the artifact is of: its node's label) is recorded for ``cache list``.
        """
        final = self.path(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            meta = write(tmp) or {}
            files = {p.name: file_sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
            manifest = {
                "stage": stage,
                "key": key,
                "label": label,
                "files": files,
                "meta": meta,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "version": __version__,
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")
            _fsync_dir(tmp)
            if final.exists():
                existing = self.get(stage, key)
                if existing is not None:  # someone else finished first: identical content
                    shutil.rmtree(tmp, ignore_errors=True)
                    return existing
                shutil.rmtree(final, ignore_errors=True)
            try:
                os.rename(tmp, final)
            except OSError:
                # Lost a race with a concurrent writer of the same key; theirs is as good.
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        stored = self.get(stage, key)
        if stored is None:
            raise OSError(f"artifact {stage}/{key} could not be verified after writing")
        return stored

    def _quarantine(self, folder: Path) -> None:
        target = folder.parent / f".corrupt-{folder.name}-{uuid.uuid4().hex[:6]}"
        with contextlib.suppress(OSError):
            os.rename(folder, target)
            shutil.rmtree(target, ignore_errors=True)

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every stored artifact: stage, key, label (what it is of; ``""`` for artifacts stored
        before labels were recorded), size in bytes, creation time (local, ISO 8601)."""
        if not self.root.is_dir():
            return
        for stage_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for folder in sorted(p for p in stage_dir.iterdir() if p.is_dir()):
                if folder.name.startswith("."):
                    continue
                manifest = folder / MANIFEST
                if not manifest.is_file():
                    continue
                size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
                try:
                    head = json.loads(manifest.read_text("utf-8"))
                except (OSError, ValueError):
                    head = {"created": "?"}
                yield {
                    "stage": stage_dir.name,
                    "key": folder.name,
                    "label": str(head.get("label", "")),
                    "bytes": size,
                    "created": head.get("created", ""),
                }

    def prune(self, keep: set[tuple[str, str]] | None = None, stage: str | None = None,
              dry_run: bool = False) -> int:
        """Delete artifacts (all, one stage's, or all but ``keep``) and stale temporaries;
        ``dry_run``: count what would go and delete nothing. Returns the artifacts counted."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for stage_dir in [p for p in self.root.iterdir() if p.is_dir()]:
            for folder in [p for p in stage_dir.iterdir() if p.is_dir()]:
                if folder.name.startswith(".tmp-") or folder.name.startswith(".corrupt-"):
                    if not dry_run:
                        shutil.rmtree(folder, ignore_errors=True)
                    continue
                if stage is not None and stage_dir.name != stage:
                    continue
                if keep is not None and (stage_dir.name, folder.name) in keep:
                    continue
                if not dry_run:
                    shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed


def _fsync_dir(folder: Path) -> None:
    for p in folder.iterdir():
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
