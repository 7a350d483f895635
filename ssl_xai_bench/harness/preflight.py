"""Checks made before any compute: where a command writes, whether that is a committed
reference, and whether a Dask scheduler answers.

``run`` and ``train`` call :func:`check_run_outputs` right after the configuration is validated;
``merge``, ``report`` and ``reproduce`` call :func:`check_output_dir` and
:func:`check_not_tracked` on their ``--out``. A location that cannot be written, a folder of the
committed reference results or an unreachable scheduler is refused in seconds, with the option
named, instead of after the compute. Nothing here creates a file or a folder.

- :func:`check_output_dir`: a folder that exists or can be created: no component of its path is
  a regular file, it is not on a kernel pseudo-filesystem (:data:`PSEUDO_FILESYSTEMS`), and the
  nearest existing folder is writable.
- :func:`check_not_tracked`: refuses a path that holds files git tracks (``results/default``,
  ``docs/reproduction.md``: the committed reference) unless ``allow`` (``--update-reference``).
- :func:`check_scheduler`: a TCP connection to the scheduler within
  :data:`SCHEDULER_TIMEOUT_S` seconds.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ssl_xai_bench.errors import ConfigError

#: Kernel pseudo-filesystems: nothing a run writes belongs there.
PSEUDO_FILESYSTEMS = ("/proc", "/sys", "/dev")
#: Seconds a scheduler has to accept a TCP connection before the run is refused.
SCHEDULER_TIMEOUT_S = 5.0
#: The flag that allows writing into a folder git tracks.
UPDATE_FLAG = "--update-reference"


def check_output_dir(path: str | Path, field: str) -> Path:
    """The absolute folder ``path`` if a command may create or write it (see the module
    docstring); ``ConfigError(field, ...)`` otherwise. Nothing is created."""
    absolute = Path(os.path.realpath(Path(path).expanduser()))
    for root in PSEUDO_FILESYSTEMS:
        if absolute == Path(root) or Path(root) in absolute.parents:
            raise ConfigError(field, f"{path} is on the kernel's pseudo-filesystem {root}; "
                              "give a folder on a disk")
    existing = absolute
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == absolute else f"is under {existing}, a file"
        raise ConfigError(field, f"{path} {where}, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(field, f"{path}: {existing} is not writable")
    return absolute


def tracked_files(path: str | Path) -> list[str]:
    """The files under ``path`` (or ``path`` itself) that git tracks; ``[]`` outside a git
    checkout or without git."""
    absolute = Path(os.path.realpath(Path(path).expanduser()))
    folder = absolute
    while not folder.is_dir():
        folder = folder.parent
    try:
        done = subprocess.run(["git", "ls-files", "-z", "--", str(absolute)], cwd=folder,
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    return [f for f in done.stdout.split("\0") if f] if done.returncode == 0 else []


def check_not_tracked(path: str | Path, field: str, allow: bool = False) -> None:
    """Refuse to write into ``path`` when git tracks files there (a committed reference),
    unless ``allow``."""
    if allow:
        return
    tracked = tracked_files(path)
    if tracked:
        raise ConfigError(field, f"{path} holds {len(tracked)} file(s) under version control "
                          f"(e.g. {tracked[0]}): the committed reference is not overwritten; "
                          f"write elsewhere, or pass {UPDATE_FLAG} to regenerate it")


def check_scheduler(address: str, field: str = "runner.scheduler",
                    timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Refuse a ``tcp://`` or ``tls://`` scheduler address that accepts no connection within
    ``timeout`` seconds (other transports are left to Dask)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise ConfigError(field, f"expected tcp://HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(field, f"no Dask scheduler answers at {address} ({reason}, "
                          f"{timeout:g} s timeout)") from None


def check_run_outputs(cfg: Any, update_reference: bool = False, out: Path | None = None,
                      out_field: str = "output.results_dir") -> None:
    """Every check of a run before its first stage: its output folder (``out``, default the
    results folder) and the store, the reference guard, the scheduler."""
    out = cfg.results_path() if out is None else out
    check_output_dir(out, out_field)
    check_output_dir(cfg.store_path(), "output.store_dir")
    check_not_tracked(out, out_field, allow=update_reference)
    if cfg.runner.mode == "scheduler" and cfg.runner.scheduler:
        check_scheduler(cfg.runner.scheduler)


__all__ = ["PSEUDO_FILESYSTEMS", "SCHEDULER_TIMEOUT_S", "UPDATE_FLAG", "check_not_tracked",
           "check_output_dir", "check_run_outputs", "check_scheduler", "tracked_files"]
