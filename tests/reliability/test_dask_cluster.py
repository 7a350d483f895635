"""A real Dask cluster on 127.0.0.1: the same tables as the in-process run, and a worker lost
mid-task loses nothing (issue 7 point 3, issue 10 "Lost worker").

The cluster is the venv's own ``dask scheduler`` and two ``dask worker --nthreads 1`` processes
(each in its own process group, with the runner's allocator and thread environment), started on
free ports and always killed by the fixture's finalizer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    RUN_ENV,
    CliProcess,
    digests,
    run_args,
    run_cli,
    stored,
    summary,
    tables,
)

pytestmark = pytest.mark.slow

N_WORKERS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalDaskCluster:
    """``dask scheduler`` + ``N_WORKERS`` × ``dask worker`` processes on the loopback interface."""

    def __init__(self, folder: Path, n_workers: int = N_WORKERS) -> None:
        dask = str(Path(sys.executable).parent / "dask")
        folder.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.folder = folder
        self.workers: dict[str, subprocess.Popen] = {}
        self._procs: list[subprocess.Popen] = []
        try:
            self._start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                         "--no-dashboard"], "scheduler")
            for i in range(n_workers):
                name = f"w{i}"
                self.workers[name] = self._start(
                    [dask, "worker", self.address, "--name", name, "--nthreads", "1",
                     "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard",
                     "--local-directory", str(folder / name), "--death-timeout", "60"], name)
            with self.client() as client:
                client.wait_for_workers(n_workers, timeout=120)
        except BaseException:
            self.close()
            raise

    def _start(self, cmd: list[str], name: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                                env={**os.environ, **RUN_ENV}, start_new_session=True)
        log.close()
        self._procs.append(proc)
        return proc

    def client(self):
        from dask.distributed import Client

        return Client(self.address, timeout="60s")

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's whole process group (nanny and worker process): it is lost."""
        proc = self.workers[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def close(self) -> None:
        """Stop every process this cluster started (workers first), whatever their state."""
        for proc in reversed(self._procs):
            for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    continue


@pytest.fixture
def dask_cluster(tmp_path) -> Iterator[LocalDaskCluster]:
    cluster = LocalDaskCluster(tmp_path / "cluster")
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.mark.slow
def test_scheduler_run_matches_embedded_run(reference, dask_cluster, tmp_path):
    done = run_cli(run_args(tmp_path, "--mode", "scheduler", "--scheduler", dask_cluster.address),
                   tmp_path)
    assert done.returncode == 0, done.output
    assert summary(tmp_path / "results")["failed"] == []
    assert tables(tmp_path / "results") == reference.tables
    assert digests(tmp_path / "store") == reference.digests


@pytest.mark.slow
def test_worker_killed_mid_task_loses_nothing(reference, dask_cluster, tmp_path):
    store = tmp_path / "store"
    proc = CliProcess(run_args(tmp_path, "--mode", "scheduler", "--scheduler",
                               dask_cluster.address), tmp_path)
    try:
        with dask_cluster.client() as client:
            victim = _wait_for_training(client, proc)
            names = {addr: w["name"] for addr, w in client.scheduler_info()["workers"].items()}
            dask_cluster.kill_worker(names[victim])
        assert stored(store, "model") == 0, "the worker was killed after training ended"
        done = proc.wait()
    finally:
        proc.close()
    assert done.returncode == 0, done.output
    survivors = [n for n, p in dask_cluster.workers.items() if p.poll() is None]
    assert len(survivors) == N_WORKERS - 1
    assert summary(tmp_path / "results")["failed"] == []
    assert tables(tmp_path / "results") == reference.tables
    # every artifact exactly once, byte-identical to the reference run's
    assert digests(store) == reference.digests


def _wait_for_training(client, proc: CliProcess, timeout: float = 300.0) -> str:
    """The address of the worker that holds the training task (polls the scheduler).

    With one thread per worker the task is either running or next in line behind a short one
    (baselines or signals): killing that worker interrupts a task and loses the training.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for addr, keys in client.processing().items():
            if any(str(k).startswith("model-") for k in keys):
                return addr
        assert proc.poll(), f"the run ended before training started:\n{proc.wait().output}"
        time.sleep(0.005)
    raise TimeoutError("no worker started training")
