"""What a new user gets wrong is refused before any compute, in one line (issue 33).

Each case drives the CLI's ``main`` in process on the reduced smoke configuration
(``tests.reliability.conftest.REDUCED``) and asserts: exit status 2, one line on stderr that
starts ``error: <field>:``, no traceback, and an empty (absent) store: no stage ran. Cases:

1. a ``--weights`` entry not in ``--models`` is added to the evaluated models (as the help
   says); a config file's weights entry outside ``matrix.models`` is refused;
2. a configuration file's relative paths (weights, output folders) are read from its own folder
   (the end-to-end move of an exported checkpoint folder is ``tests/e2e/test_train_export.py``);
5. an output folder under a regular file or under ``/proc``, a store under a regular file, an
   unreachable ``--scheduler`` (refused within seconds, the address named);
6. a weights path that is no checkpoint (``../../../../etc/passwd`` from a config file), a
   ``wav_dir`` speech folder without wav files;
7. an absurd source grid (``scene.sources.x = [.., .., 1e9]`` and a smaller one), refused by
   arithmetic before any array is built;
9. a methods, metrics or models file that raises, calls ``sys.exit(3)`` or registers nothing
   (``run`` and ``list``), a geometry name with path separators, ``merge A A`` under several
   spellings.

``--debug`` shows the traceback of the same error.
"""

from __future__ import annotations

import os
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest
import torch

from ssl_xai_bench.cli import build_parser, main
from ssl_xai_bench.cli.options import load
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.models.registry import build_model
from tests.reliability.conftest import run_args
from tests.report.report_fixture import write_results


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``ssl-xai-bench ARGV`` in process: (exit status, stdout, stderr)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_refused(status: int, err: str, field: str, store: Path | None = None,
                   phrase: str = "") -> None:
    """Exit 2, one line ``error: FIELD: ...`` (with ``phrase``), no traceback, no store."""
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}"), err
    assert phrase in lines[0], err
    assert "Traceback" not in err
    if store is not None:
        assert not store.exists() or not any(store.iterdir()), "a stage ran"


def refused_run(capsys, tmp_path: Path, field: str, *extra: str, phrase: str = "") -> str:
    """``run`` on the reduced configuration with ``extra`` options must be refused."""
    store = tmp_path / "store"
    status, _, err = cli(capsys, *run_args(tmp_path, *extra, store=store))
    assert_refused(status, err, field, store, phrase)
    return err


@pytest.fixture(scope="module")
def loccnn_checkpoint(tmp_path_factory) -> Path:
    """A real LocCNN state_dict of the smoke scene's window length."""
    path = tmp_path_factory.mktemp("ckpt") / "ckpt.pt"
    window = load_config("smoke").scene.window_length
    torch.save(build_model("loccnn", window_length=window).state_dict(), path)
    return path


# --- case 1: --weights entries and matrix.models ----------------------------------------------

def test_a_weights_entry_is_evaluated_as_the_help_says(loccnn_checkpoint):
    args = build_parser().parse_args(
        ["run", "--preset", "smoke", "--weights", f"loccnn@evil={loccnn_checkpoint}"])
    assert load(args).matrix.models == ("loccnn", "loccnn@evil")
    args = build_parser().parse_args(
        ["run", "--preset", "smoke", "--models", "loccnn", "--weights",
         f"loccnn@evil={loccnn_checkpoint}"])
    assert load(args).matrix.models == ("loccnn", "loccnn@evil")


def test_help_of_weights_says_the_entry_is_added(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "is added to matrix.models" in " ".join(capsys.readouterr().out.split())


def test_a_config_weights_entry_outside_the_models_is_refused(capsys, tmp_path,
                                                              loccnn_checkpoint):
    config = tmp_path / "config.toml"
    config.write_text(f'[weights]\n"loccnn@evil" = "{loccnn_checkpoint}"\n')
    refused_run(capsys, tmp_path, "weights.loccnn@evil", "--config", str(config),
                phrase="not in matrix.models")


# --- case 2: a configuration file's relative paths are read from its folder -------------------

def test_relative_paths_of_a_config_file_are_read_from_its_folder(tmp_path, monkeypatch,
                                                                  loccnn_checkpoint):
    folder = tmp_path / "experiment"
    folder.mkdir()
    shutil.copy(loccnn_checkpoint, folder / "mine.pt")
    (folder / "config.toml").write_text(
        '[matrix]\nmodels = ["loccnn", "loccnn@mine"]\n[weights]\n"loccnn@mine" = "mine.pt"\n'
        '[output]\nresults_dir = "out"\nstore_dir = "../store"\n')
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    cfg = load_config("smoke", "../experiment/config.toml")
    assert Path(cfg.weights["loccnn@mine"]) == folder / "mine.pt"
    assert cfg.results_path() == folder / "out" / "smoke"
    assert cfg.store_path().resolve() == tmp_path / "store"
    # on the command line, paths stay relative to the current directory
    args = build_parser().parse_args(["show-config", "--config", "../experiment/config.toml",
                                      "--preset", "smoke", "--results-dir", "here"])
    assert load(args).results_path() == Path("here") / "smoke"


# --- case 5: output locations and the scheduler -----------------------------------------------

def test_results_dir_under_a_regular_file_is_refused(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    refused_run(capsys, tmp_path, "output.results_dir", "--results-dir",
                str(tmp_path / "file" / "results"), phrase="a file")


def test_store_under_a_regular_file_is_refused(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    status, _, err = cli(capsys, *run_args(tmp_path, store=tmp_path / "file" / "store"))
    assert_refused(status, err, "output.store_dir", phrase="a file")
    assert not (tmp_path / "results").exists()


def test_results_dir_under_proc_is_refused(capsys, tmp_path):
    refused_run(capsys, tmp_path, "output.results_dir", "--results-dir", "/proc/self/results",
                phrase="pseudo-filesystem")


def test_an_unreachable_scheduler_fails_fast_with_its_address(capsys, tmp_path):
    start = time.monotonic()
    err = refused_run(capsys, tmp_path, "runner.scheduler", "--mode", "scheduler",
                      "--scheduler", "tcp://127.0.0.1:1")
    assert "tcp://127.0.0.1:1" in err
    assert time.monotonic() - start < 30


def test_debug_shows_the_traceback(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    status = main(["--debug", *run_args(tmp_path, "--results-dir", str(tmp_path / "file"))])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" in err and "output.results_dir" in err


# --- case 6: weights that are no checkpoint, a speech folder without wavs ---------------------

def test_weights_pointing_at_a_system_file_are_refused(capsys, tmp_path):
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    config = folder / "config.toml"
    relative = os.path.relpath("/etc/passwd", folder)  # ../../../../etc/passwd from here
    assert relative.startswith("../")
    config.write_text(f'[weights]\nloccnn = "{relative}"\n')
    refused_run(capsys, tmp_path, "weights.loccnn", "--config", str(config),
                phrase="not a PyTorch checkpoint")


def test_a_speech_folder_without_wav_files_is_refused(capsys, tmp_path):
    empty = tmp_path / "corpus"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "notes.txt").write_text("no audio here")
    refused_run(capsys, tmp_path, "scene.speech.path", "--speech", "wav_dir", "--speech-path",
                str(empty), phrase="no .wav files")


# --- case 7: absurd sizes are checked arithmetically ------------------------------------------

@pytest.mark.parametrize("n", [1_000_000_000, 100_000])
def test_an_absurd_source_grid_is_refused_without_allocating(capsys, tmp_path, n):
    tracemalloc.start()
    try:
        refused_run(capsys, tmp_path, "scene.sources.x", "--set",
                    f"scene.sources.x=[0.825,2.575,{n}]")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"validation allocated {peak / 1e6:.0f} MB"


# --- case 9: methods files, geometry names, merging a folder with itself ----------------------

@pytest.mark.parametrize("option", ["--methods-from", "--metrics-from", "--models-from"])
@pytest.mark.parametrize("command", ["run", "list"])
@pytest.mark.parametrize("text,phrase", [("raise RuntimeError('no')\n", "RuntimeError: no"),
                                         ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
                                         ("X = 1\n", "defines no")])
def test_a_plugin_file_that_raises_exits_or_registers_nothing_is_an_error_of_that_file(
        capsys, tmp_path, command, text, phrase, option):
    path = tmp_path / "plugin.py"
    path.write_text(text)
    argv = (run_args(tmp_path, option, str(path)) if command == "run"
            else ["list", option, str(path)])
    status, _, err = cli(capsys, *argv)
    assert_refused(status, err, option, tmp_path / "store", phrase)
    assert str(path) in err


def test_a_geometry_name_with_path_separators_is_refused(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[geometries."../../evil"]\nkind = "circle"\nn_mics = 4\nradius = 0.1\n'
                      "center = [1.7, 7.0, 1.2]\n")
    refused_run(capsys, tmp_path, "geometries.../../evil", "--config", str(config),
                phrase="not a valid name")


def test_merging_a_folder_with_itself_is_refused(capsys, tmp_path, monkeypatch):
    folder = write_results(tmp_path / "a")
    (tmp_path / "link").symlink_to(folder)
    monkeypatch.chdir(tmp_path)
    for other in ("a", "./a", "a/", str(folder), "link", "a/../a"):
        status, _, err = cli(capsys, "merge", "a", other, "--out", "merged", "--no-report")
        assert_refused(status, err, "folders", phrase="same folder")
        assert not (tmp_path / "merged").exists()


def test_config_errors_are_config_errors_in_process(tmp_path):
    """The same checks hold for the library API (what the CLI calls)."""
    with pytest.raises(ConfigError) as info:
        load_config("smoke", overrides=[{"scene": {"sources": {"y": [4.5, 6.5, 20_000]}}}])
    assert info.value.field == "scene.sources.y" and "at most 1000000" in info.value.message
