"""Interruption: a run SIGKILLed at any point and restarted completes from the store, and its tables
are byte-identical to an uninterrupted run's (issue 7 point 2, issue 10 "Interruption").

One store is interrupted five times in a row, once in each phase (simulation, training,
attribution, metrics, report), then the same command runs to the end. A kill point is reached by
polling the store for the artifact of the stage just before it, then ``os.killpg(SIGKILL)`` of the
run's process group; after each kill the test checks where it landed (the next stage's artifact is
absent) and that every artifact in place still verifies (nothing half-written is visible).
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import (
    RUN_NAME,
    CliProcess,
    digests,
    run_args,
    run_cli,
    stored,
    summary,
    tables,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_sigkill_at_every_phase_then_rerun_gives_identical_tables(reference, tmp_path):
    store, results = tmp_path / "store", tmp_path / "results"
    report_dir = results / RUN_NAME / "report"
    # (phase, "kill as soon as this holds", "the phase was still running when killed")
    kill_points = [
        ("simulation", lambda: stored(store, "rirs") >= 1, lambda: stored(store, "windows") == 0),
        ("training", lambda: stored(store, "signals") >= 1, lambda: stored(store, "model") == 0),
        ("attribution", lambda: stored(store, "model") >= 1,
         lambda: stored(store, "attribution") == 0),
        ("metrics", lambda: stored(store, "attribution") >= 1,
         lambda: stored(store, "metrics") == 0),
        ("report", lambda: report_dir.is_dir(),
         lambda: not (report_dir / "index.html").exists()),
    ]
    for phase, trigger, still_running in kill_points:
        proc = CliProcess(run_args(tmp_path, report=phase == "report"), tmp_path)
        try:
            reached = wait_for(proc, trigger)
            assert reached and proc.poll(), (
                f"the run ended before the {phase} kill point:\n{proc.wait().output}")
            proc.kill()
        finally:
            proc.close()
        assert still_running(), f"the kill meant for {phase} landed after that phase ended"
        digests(store)  # every artifact in place verifies: a kill never leaves half of one
        if phase != "report":
            assert not (results / RUN_NAME / "leaderboard.csv").exists()

    done = run_cli(run_args(tmp_path, report=True), tmp_path)
    assert done.returncode == 0, done.output
    assert summary(results)["computed"] == {}, "the report kill came after every stage was stored"
    assert (report_dir / "index.html").is_file()
    got = tables(results)
    for name, data in reference.tables.items():
        assert got[name] == data, f"{name} differs from the uninterrupted run"
    assert digests(store) == reference.digests

