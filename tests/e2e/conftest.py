"""Helpers for end-to-end tests: drive the installed ``ssl-xai-bench`` console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def cli_command() -> list[str]:
    """The real console script of this environment (``python -m ssl_xai_bench.cli`` if none)."""
    script = Path(sys.executable).parent / "ssl-xai-bench"
    if script.exists():
        return [str(script)]
    found = shutil.which("ssl-xai-bench")
    return [found] if found else [sys.executable, "-m", "ssl_xai_bench.cli"]


def run_cli(
    *args: str, cwd: Path, timeout: float = 900, env: dict | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*cli_command(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One cold run of the smoke preset (shared by the end-to-end tests)."""
    work = tmp_path_factory.mktemp("smoke")
    proc = run_cli(
        "run",
        "--preset",
        "smoke",
        "--results-dir",
        str(work / "results"),
        "--store",
        str(work / "store"),
        cwd=work,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return work, proc
