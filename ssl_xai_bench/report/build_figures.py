"""The report's figures, rendered once per content of their inputs.

Rendering the report's figures (PNG shown, PDF linked) is most of the cost of
``ssl-xai-bench report`` and of the report step of a warm rerun: seconds per figure, the metric
heatmaps hold hundreds of annotated cells. A figure depends only on the results tables, the
inspection windows and the plotting code, so :class:`FigureSet` keeps a manifest
(``figures/.figures.json``: the digest of those inputs and each figure's caption) and, when the
digest is unchanged and every file is in place, reuses the files instead of plotting again.
The manifest is removed before any figure is re-rendered and written only once every file of the
set is saved, so an interrupted build is never taken for a complete one.

With ``workers > 1`` figures are made in a pool of spawned processes while the page is built:
``add(plot, stem, *args)`` with a module-level ``plot`` function sends ``plot`` and its data
to a worker, which builds the figure, saves it and returns its caption; ``add`` returns a
placeholder that :meth:`FigureSet.fill` replaces with the ``<figure>`` block once
:meth:`FigureSet.close` has waited for every file (it re-raises the first failure). A ``make``
that cannot be sent (a lambda) is built here, and its figure pickled and saved in the pool.
Building the report's ~80 figures was most of a default run's report step on one core.
"""

from __future__ import annotations

import hashlib
import html
import json
import multiprocessing as mp
import os
import pickle
import re
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


def _make_and_save(payload: bytes, stem: str) -> str:
    """In a pool worker: build the figure of a pickled ``(plot, args)``, save it, return its
    caption."""
    import matplotlib.pyplot as plt

    plot, args = pickle.loads(payload)  # noqa: S301 - pickled by this run's main process
    fig, caption = plot(*args)
    try:
        save_figure(fig, stem)
    finally:
        plt.close(fig)
    return caption


def _sendable(plot: Callable, args: tuple) -> bytes | None:
    """The pickled ``(plot, args)``, or None when they cannot go to another process."""
    try:
        return pickle.dumps((plot, args))
    except Exception:  # noqa: BLE001 - a lambda or local function: built in this process
        return None


def _block(name: str, caption: str) -> str:
    src, cap = _e(f"figures/{name}"), _e(caption)
    return (f'<figure><img src="{src}.png" alt="{cap}" loading="eager">'
            f'<figcaption>{cap} <a href="{src}.pdf">PDF</a></figcaption></figure>')


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
        self.made: dict[str, Future] = {}  # name -> caption, of figures made in the pool
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
                self.pending.append(self._pool().submit(_save_pickled, payload, str(stem)))
                return
        save_figure(fig, stem)

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp.get_context("spawn"))
        return self.pool

    def close(self, complete: bool = True) -> None:
        """Wait for every file; then record the manifest, only when every file was saved and
        the caller says the set is ``complete`` (False when building the page failed)."""
        try:
            for future in self.pending:
                future.result()
            for name, future in self.made.items():
                self.captions[name] = future.result()
        finally:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
            self.pool, self.pending, self.made = None, [], {}
        if self.digest is not None and complete:
            manifest = self.dir / MANIFEST
            tmp = manifest.with_suffix(".tmp")
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"digest": self.digest, "captions": self.captions},
                                      indent=1, sort_keys=True), "utf-8")
            os.replace(tmp, manifest)

    def add(self, make: Callable[..., tuple[Any, str]], stem: str, *args: Any) -> str:
        """The ``<figure>`` block of ``make(*args)`` (a ``(figure, caption)`` pair), rendered
        only when the stored one cannot be reused. A module-level ``make`` with picklable
        ``args`` is made in the pool: the block is then a placeholder until :meth:`fill`."""
        name, i = slug(stem), 1
        while name in self.used:
            i += 1
            name = f"{slug(stem)}_{i}"
        self.used.add(name)
        if name in self.reusable:
            self.captions[name] = self.reusable[name]
            return _block(name, self.captions[name])
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rendered += 1
        sent = _sendable(make, args) if self.workers > 1 else None
        if sent is not None:
            self.made[name] = self._pool().submit(_make_and_save, sent, str(self.dir / name))
            return _placeholder(name)
        fig, caption = make(*args)
        self._save(fig, self.dir / name)
        self.captions[name] = caption
        return _block(name, caption)

    def fill(self, page: str) -> str:
        """``page`` with every placeholder of a pool-made figure replaced by its block (call
        after :meth:`close`)."""
        return _PLACEHOLDER.sub(lambda m: _block(m[1], self.captions[m[1]]), page)


#: Stands for a figure made in the pool until its caption is known (private-use characters,
#: which no caption, table or template contains).
_PLACEHOLDER = re.compile("\ue000figure:([^\ue000]+)\ue000")


def _placeholder(name: str) -> str:
    return f"\ue000figure:{name}\ue000"


__all__ = ["INPUT_FILES", "MANIFEST", "FigureSet", "inputs_digest"]
