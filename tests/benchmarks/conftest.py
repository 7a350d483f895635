"""Shared machinery of the performance suite: timing and the ``docs/PERFORMANCE.md`` report.

The suite runs with one command (``python3 -m tox -e benchmarks``, i.e. ``pytest tests/benchmarks
-m benchmark_suite``). Every benchmark times what it compares side by side in one run with
:func:`interleaved_medians` (a warm-up, then at least :data:`MIN_ROUNDS` rounds in which every
contender runs once, so a change of load on the shared machine hits all of them alike) and adds a
section to the report through the ``perf_report`` fixture. At the end of the session the report is
written: a header describing the machine and the command, then every section in a fixed order. A
section that did not run this time (``-k``) keeps its previous text, marked with its date.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

PERFORMANCE = Path(__file__).resolve().parents[2] / "docs" / "PERFORMANCE.md"
MIN_ROUNDS = 5

#: Report sections in the order they appear (name -> title).
SECTIONS = {
    "rir": "RIR per source position: fast vs exact (T60 0.6 s)",
    "scene": "Scene stage of the default preset: RIR reuse vs none",
    "training": "Training throughput vs the bare forward + backward bound",
    "attribution-cost": "Attribution cost per window",
    "perturbation-metrics": "Perturbation metrics vs their forward bound",
    "gcc-phat": "Batched GCC-PHAT vs a per-window loop",
    "end-to-end": "End to end: cold, warm, and adding one method",
    "memory": "Peak memory of the default preset",
    "plan": "The plan's rates and its predictions against measured runs",
    "skill": "Model skill against training time",
}


def rounds() -> int:
    """Timed rounds per comparison (``SSL_XAI_BENCH_PERF_ROUNDS``, at least 5)."""
    return max(MIN_ROUNDS, int(os.environ.get("SSL_XAI_BENCH_PERF_ROUNDS", MIN_ROUNDS)))


def interleaved_medians(
    fns: dict[str, Callable[[], object]], n_rounds: int | None = None, warmup: bool = True
) -> dict[str, float]:
    """Median wall time of each function: an optional warm-up call of each, then ``n_rounds``
    rounds (default :func:`rounds`) in which every function runs once, in order."""
    n_rounds = rounds() if n_rounds is None else n_rounds
    if warmup:
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(n_rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} logical cores{mem}, {gpu}; Python "
            f"{platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}")


class PerfReport:
    """Sections collected during the session, merged into ``docs/PERFORMANCE.md`` at its end."""

    def __init__(self, path: Path = PERFORMANCE) -> None:
        self.path = path
        self.sections: dict[str, str] = {}

    def add(self, name: str, lines: list[str]) -> None:
        """Set the body of section ``name`` (a key of :data:`SECTIONS`) for this run."""
        if name not in SECTIONS:
            raise KeyError(f"section: unknown {name!r}; allowed: {list(SECTIONS)}")
        self.sections[name] = "\n".join(lines).rstrip("\n")

    def _previous(self) -> dict[str, str]:
        text = self.path.read_text("utf-8") if self.path.exists() else ""
        out = {}
        for name in SECTIONS:
            start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
            if start in text and end in text:
                out[name] = text.split(start, 1)[1].split(end, 1)[0].strip("\n")
        return out

    def write(self) -> None:
        if not self.sections:
            return
        today = _dt.date.today().isoformat()
        previous = self._previous()
        parts = [
            "# Performance",
            "",
            "Written by the performance suite: `python3 -m tox -e benchmarks` (= `pytest "
            "tests/benchmarks -m benchmark_suite`). Every figure is a median of at least "
            f"{MIN_ROUNDS} rounds after a warm-up; every comparison is a ratio of two timings "
            "taken in the same run, rounds interleaved. Absolute times are this machine's and "
            "drift 2-5x minute to minute on shared cores; the ratios are the result.",
            "",
        ]
        for name, title in SECTIONS.items():
            if name in self.sections:
                body = (f"## {title}\n\nMeasured {today} on: {machine_description()}.\n\n"
                        f"{self.sections[name]}")
            elif name in previous:
                body = previous[name]
            else:
                continue
            parts += [f"<!-- {name}:start -->", body, f"<!-- {name}:end -->", ""]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(parts), "utf-8")


@pytest.fixture(scope="session")
def perf_report():
    report = PerfReport()
    yield report
    report.write()


def markdown_table(header: list[str], rows: list[list[object]]) -> list[str]:
    """A Markdown table (floats as given: format them before)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines
