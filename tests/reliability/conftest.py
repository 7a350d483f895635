"""Shared machinery of the reliability tests: drive the real CLI in its own process group.

Every test runs ``ssl-xai-bench run`` on :data:`REDUCED` (the smoke preset made smaller with
``--set`` overrides; every stage still runs) with its own ``--store`` and ``--results-dir`` in a tmp
folder, and compares its tables with one uninterrupted reference run (session fixture
:func:`reference`). The CLI is started with ``start_new_session=True`` so a test can
``os.killpg`` the whole run (the CLI and any child such as the eSpeak synthesiser) with SIGKILL;
its peak resident memory comes from ``os.wait4``.

Determinism contract used by the comparisons: results are a function of (config, seed, torch
thread count = ``runner.threads_per_worker``), not of where or how often the graph ran.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ssl_xai_bench.harness.runner import WORKER_ENV
from ssl_xai_bench.harness.store import MANIFEST, ArtifactStore
from tests.e2e.conftest import cli_command

#: The smoke preset made smaller: fewer sources, test windows, epochs, bootstrap draws, TDoA
#: pairs. Every stage (rirs, windows, baselines, signals, model, attribution, metrics) still runs.
REDUCED = [
    "--preset", "smoke", "--mode", "inprocess",
    "--set", "runner.progress=false",
    "--set", "scene.sources.n_train=20", "--set", "scene.sources.n_val=5",
    "--set", "scene.sources.n_test=6",
    "--set", "attribution.n_test_windows=8",
    "--set", "training.max_epochs=2",
    "--set", "metrics.n_bootstrap=50",
    "--set", "metrics.tdoa_pairs=[[7,8],[0,15]]",
]
#: The run name of the smoke preset: results land in ``<results-dir>/smoke``.
RUN_NAME = "smoke"
#: The tables a run writes (compared byte for byte).
TABLES = ("leaderboard.csv", "model_skill.csv", "curves.csv", "tdoa.csv")
#: Every stage of the graph, in the order the in-process runner executes the first of each.
STAGES = ("rirs", "windows", "baselines", "signals", "model", "controls", "attribution", "metrics")
#: Environment of every CLI and Dask process the tests start (same allocator and thread settings).
RUN_ENV = {**WORKER_ENV, "PYTHONUNBUFFERED": "1"}
RUN_TIMEOUT = 300.0


def run_args(work: Path, *extra: str, report: bool = False, store: Path | None = None
             ) -> list[str]:
    """``run`` arguments of the reduced smoke configuration, results in ``work / "results"``.

    The store is ``store`` if given, else ``work / "store"``.
    """
    store = store if store is not None else work / "store"
    out = ["run", *REDUCED, "--store", str(store), "--results-dir", str(work / "results")]
    if not report:
        out.append("--no-report")
    return [*out, *extra]


@dataclass
class Finished:
    """A finished CLI process: exit status, output, and peak RSS (KiB, process and children)."""

    returncode: int
    stdout: str
    stderr: str
    maxrss_kib: int

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


class CliProcess:
    """The CLI running in a new session (process group), its output going to files."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        self._out = open(cwd / f"stdout-{time.monotonic_ns()}.txt", "w+")  # noqa: SIM115
        self._err = open(cwd / f"stderr-{time.monotonic_ns()}.txt", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*cli_command(), *args], cwd=cwd, stdout=self._out, stderr=self._err,
            env={**os.environ, **RUN_ENV, **(env or {})}, start_new_session=True)
        self.pid = self.proc.pid
        self._status: int | None = None
        self._maxrss = 0

    def poll(self) -> bool:
        """True while the process runs (reaps it, keeping its rusage, once it has ended)."""
        if self._status is not None:
            return False
        pid, status, usage = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self._status, self._maxrss = status, usage.ru_maxrss
        return False

    def kill(self) -> None:
        """SIGKILL the whole process group (the CLI and every child) and reap the CLI."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.wait(timeout=60)

    def wait(self, timeout: float = RUN_TIMEOUT) -> Finished:
        """Wait for the end (killing the group after ``timeout`` s) and return the outcome."""
        deadline = time.monotonic() + timeout
        while self.poll():
            if time.monotonic() > deadline:
                os.killpg(self.pid, signal.SIGKILL)
                _, status, usage = os.wait4(self.pid, 0)
                self._status, self._maxrss = status, usage.ru_maxrss
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                raise TimeoutError(f"CLI still running after {timeout} s:\n{self._read()}")
            time.sleep(0.05)
        self.proc.returncode = os.waitstatus_to_exitcode(self._status)
        out, err = self._read()
        return Finished(self.proc.returncode, out, err, self._maxrss)

    def _read(self) -> tuple[str, str]:
        texts = []
        for fh in (self._out, self._err):
            fh.flush()
            fh.seek(0)
            texts.append(fh.read())
        return texts[0], texts[1]

    def close(self) -> None:
        if self._status is None and self.proc.returncode is None:
            self.kill()
        self._out.close()
        self._err.close()


def run_cli(args: list[str], cwd: Path, timeout: float = RUN_TIMEOUT,
            env: dict[str, str] | None = None) -> Finished:
    """Run the CLI to completion."""
    proc = CliProcess(args, cwd, env)
    try:
        return proc.wait(timeout)
    finally:
        proc.close()


def wait_for(proc: CliProcess, condition: Callable[[], bool], timeout: float = RUN_TIMEOUT,
             poll_s: float = 0.01) -> bool:
    """Poll ``condition`` every ``poll_s`` s while ``proc`` runs; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if not proc.poll():
            return condition()
        time.sleep(poll_s)
    raise TimeoutError(f"condition not met within {timeout} s")


def stored(store: Path, stage: str) -> int:
    """How many artifacts of ``stage`` are in place (a manifest is written last, then renamed)."""
    return len(list((store / stage).glob(f"*/{MANIFEST}"))) if (store / stage).is_dir() else 0


def digests(store: Path) -> dict[tuple[str, str], dict[str, str]]:
    """Every artifact of ``store`` -> its files' SHA-256, after verifying each one.

    A folder that fails verification raises: the caller expects an intact store.
    """
    art_store = ArtifactStore(store)
    out = {}
    for entry in art_store.entries():
        art = art_store.get(entry["stage"], entry["key"])
        assert art is not None, f"artifact {entry['stage']}/{entry['key']} fails verification"
        out[(entry["stage"], entry["key"])] = json.loads((art.path / MANIFEST).read_text())["files"]
    return out


def leftovers(store: Path) -> list[str]:
    """Temporary or quarantined folders left in ``store``."""
    return sorted(str(p.relative_to(store)) for p in store.glob("*/.*"))


def tables(results: Path) -> dict[str, bytes]:
    """The bytes of every table of a run's results folder."""
    folder = results / RUN_NAME
    return {name: (folder / name).read_bytes() for name in TABLES}


def summary(results: Path) -> dict:
    return json.loads((results / RUN_NAME / "run_summary.json").read_text())


def csv_lines_without(text: bytes, column: str, values: set[str]) -> list[str]:
    """The CSV's lines (header included) whose ``column`` is not one of ``values``."""
    lines = text.decode("utf-8").splitlines(keepends=True)
    header = next(csv.reader(io.StringIO(lines[0])))
    col = header.index(column)
    keep = [lines[0]]
    # records may not span lines: reasons are written on one line by the collector
    for line in lines[1:]:
        if next(csv.reader(io.StringIO(line)))[col] not in values:
            keep.append(line)
    return keep


@dataclass(frozen=True)
class Reference:
    """The uninterrupted reference run every comparison is made against."""

    work: Path
    store: Path
    results: Path
    tables: dict[str, bytes]
    digests: dict[tuple[str, str], dict[str, str]]
    maxrss_kib: int
    seconds: float


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Reference:
    """One uninterrupted reduced smoke run in a fresh store (shared, never modified)."""
    work = tmp_path_factory.mktemp("reference")
    start = time.perf_counter()
    done = run_cli(run_args(work), work)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.output
    assert summary(work / "results")["failed"] == []
    return Reference(work, work / "store", work / "results", tables(work / "results"),
                     digests(work / "store"), done.maxrss_kib, seconds)


@pytest.fixture
def store_copy(reference, tmp_path) -> Path:
    """A private copy of the reference store in ``tmp_path / "store"``."""
    target = tmp_path / "store"
    shutil.copytree(reference.store, target)
    return target
