"""The report's figures, rendered once per content of their inputs.

Rendering the report's figures (PNG shown, PDF linked) is most of the cost of
``ssl-xai-bench report`` and of the report step of a warm rerun: seconds per figure, the metric
heatmaps hold hundreds of annotated cells. A figure depends only on the results tables, the
inspection windows and the plotting code, so :class:`FigureSet` keeps a manifest
(``figures/.figures.json``: the digest of those inputs and each figure's caption) and, when the
digest is unchanged and every file is in place, reuses the files instead of plotting again.
The manifest is removed before any figure is re-rendered and written only once every file of the
set is saved, so an interrupted build is never taken for a complete one.

With ``workers > 1`` each new figure is pickled and saved in a pool of spawned processes while
the next one is built; :meth:`FigureSet.close` waits for every file and re-raises the first
failure.
"""

from __future__ import annotations

import hashlib
import html
import json
import multiprocessing as mp
import os
import pickle
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from ssl_xai_bench import codehash
from ssl_xai_bench.report.figures import save_figure
from ssl_xai_bench.report.tables import slug

MANIFEST = ".figures.json"
#: The results files figures are drawn from (``inspection/*.npz`` is added to these).
INPUT_FILES = ("leaderboard.csv", "model_skill.csv", "curves.csv", "tdoa.csv", "spectra.csv")
#: The plotting code: the import closure of the report page's module.
_CODE_MODULE = "ssl_xai_bench.report.html"
_LIBRARIES = ("matplotlib", "seaborn", "numpy", "pandas")


def inputs_digest(results: Path) -> str:
    """SHA-256 of what the figures of ``results`` are drawn from: the tables, the inspection
    windows, the plotting code and the plotting libraries' versions."""
    h = hashlib.sha256()
    h.update(codehash.module_closure_hash(_CODE_MODULE).encode())
    inputs = [results / name for name in INPUT_FILES]
    inputs += sorted((results / "inspection").glob("*.npz"))
    for path in inputs:
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"(missing)")
    for lib in _LIBRARIES:
        try:
            h.update(f"{lib}=={metadata.version(lib)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib} missing".encode())
    return h.hexdigest()


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _save_pickled(payload: bytes, stem: str) -> None:
    save_figure(pickle.loads(payload), stem)  # noqa: S301 - a figure this process just pickled


class FigureSet:
    """Saves figures under ``out/figures`` with unique stems; renders ``<figure>`` blocks.

    Parameters
    ----------
    out : path
        The report folder.
    digest : str, optional
        :func:`inputs_digest` of the results; None disables reuse (every figure is rendered).
    workers : int, optional
        Processes saving figures (default: up to 2).
    """

    def __init__(self, out: Path, digest: str | None = None, workers: int | None = None) -> None:
        self.out, self.used = out, set()
        self.dir = out / "figures"
        self.digest = digest
        self.workers = min(2, os.cpu_count() or 1) if workers is None else workers
        self.pool: ProcessPoolExecutor | None = None
        self.pending: list[Future] = []
        self.captions: dict[str, str] = {}
        self.rendered = 0
        self.reusable = self._reusable()

    def _reusable(self) -> dict[str, str]:
        manifest = self.dir / MANIFEST
        try:
            old = json.loads(manifest.read_text("utf-8"))
        except (OSError, ValueError):
            old = {}
        captions = old.get("captions", {}) if isinstance(old, dict) else {}
        complete = all((self.dir / f"{n}.{ext}").is_file() for n in captions
                       for ext in ("png", "pdf"))
        if self.digest is not None and old.get("digest") == self.digest and complete:
            return dict(captions)
        manifest.unlink(missing_ok=True)  # figures are about to change: never trust it again
        return {}

    def _save(self, fig: Any, stem: Path) -> None:
        if self.workers > 1:
            try:
                payload = pickle.dumps(fig)
            except Exception:  # noqa: BLE001 - an unpicklable artist: save it here instead
                payload = None
            if payload is not None:
                if self.pool is None:
                    self.pool = ProcessPoolExecutor(self.workers, mp.get_context("spawn"))
                self.pending.append(self.pool.submit(_save_pickled, payload, str(stem)))
                return
        save_figure(fig, stem)

    def close(self, complete: bool = True) -> None:
        """Wait for every file; then record the manifest, only when every file was saved and
        the caller says the set is ``complete`` (False when building the page failed)."""
        try:
            for future in self.pending:
                future.result()
        finally:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
            self.pool, self.pending = None, []
        if self.digest is not None and complete:
            manifest = self.dir / MANIFEST
            tmp = manifest.with_suffix(".tmp")
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"digest": self.digest, "captions": self.captions},
                                      indent=1, sort_keys=True), "utf-8")
            os.replace(tmp, manifest)

    def add(self, make: Callable[[], tuple[Any, str]], stem: str) -> str:
        """The ``<figure>`` block of ``make()`` (a ``(figure, caption)`` pair), rendered only
        when the stored one cannot be reused."""
        name, i = slug(stem), 1
        while name in self.used:
            i += 1
            name = f"{slug(stem)}_{i}"
        self.used.add(name)
        if name in self.reusable:
            caption = self.reusable[name]
        else:
            fig, caption = make()
            self.dir.mkdir(parents=True, exist_ok=True)
            self._save(fig, self.dir / name)
            self.rendered += 1
        self.captions[name] = caption
        src, cap = _e(f"figures/{name}"), _e(caption)
        return (f'<figure><img src="{src}.png" alt="{cap}" loading="eager">'
                f'<figcaption>{cap} <a href="{src}.pdf">PDF</a></figcaption></figure>')


__all__ = ["INPUT_FILES", "MANIFEST", "FigureSet", "inputs_digest"]
