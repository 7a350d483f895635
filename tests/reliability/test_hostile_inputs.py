"""Hostile files are refused cleanly (issue 10 "Hostile files").

- a checkpoint given with ``--weights`` that carries a pickled object (a code-execution attempt)
  is refused while the configuration is validated: exit status 2, the entry named, the payload
  never runs and nothing is computed;
- a ``--methods-from`` path that does not exist, defines no method or does not execute gives a
  clear error naming the option and exit status 2, before any compute;
- a configuration file that is too big, nested too deep, not UTF-8 or binary is refused with a
  ``ConfigError`` on field ``config`` (exit status 2 from the CLI), before any compute.
"""

from __future__ import annotations

import os

import pytest
import torch

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.harness.presets import MAX_CONFIG_BYTES, MAX_DEPTH
from tests.reliability.conftest import run_args, run_cli

pytestmark = pytest.mark.slow


class _MkdirPayload:
    """Unpickling this runs ``os.mkdir(marker)``: visible proof that code was executed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _evil_checkpoint(path, marker) -> None:
    torch.save({"conv1.weight": torch.zeros(2, 2), "payload": _MkdirPayload(str(marker))}, path)


def test_pickled_checkpoint_is_refused_and_never_runs(tmp_path):
    probe, probe_marker = tmp_path / "probe.pt", tmp_path / "probe-ran"
    _evil_checkpoint(probe, probe_marker)
    torch.load(probe, weights_only=False)  # an unsafe load would run the payload...
    assert probe_marker.is_dir()

    evil, marker = tmp_path / "evil.pt", tmp_path / "payload-ran"
    _evil_checkpoint(evil, marker)
    done = run_cli(run_args(tmp_path, "--weights", f"loccnn={evil}"), tmp_path, timeout=120)
    assert not marker.exists(), "the checkpoint's pickled payload was executed"
    # refused while the configuration is validated: before any compute, naming the entry
    assert done.returncode == 2, done.output
    assert done.stderr.startswith("error: weights.loccnn: ") and "refused" in done.stderr
    assert "pickled Python objects" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "store").exists(), "compute started despite the refused weights"


METHOD_FILES = {
    "missing": (None, "does not exist"),
    "no_method": ("import torch\n\nVALUE = 3\n", "defines no method"),
    "syntax_error": ("def broken(:\n    pass\n", "failed to execute"),
    "raises_on_import": ("raise RuntimeError('no')\n", "failed to execute"),
}


@pytest.mark.parametrize("case", sorted(METHOD_FILES))
def test_bad_methods_file_is_a_clear_config_error(tmp_path, case):
    text, phrase = METHOD_FILES[case]
    path = tmp_path / f"{case}.py"
    if text is not None:
        path.write_text(text)
    done = run_cli(run_args(tmp_path, "--methods-from", str(path)), tmp_path, timeout=120)
    assert done.returncode == 2, done.output
    assert "--methods-from" in done.stderr and phrase in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "store").exists(), "compute started despite the bad file"


def _nested_tables(depth: int) -> str:
    return "[scene]\n" + "x = " + "{a = " * depth + "1" + "}" * depth + "\n"


CONFIG_FILES = {
    "too_big": (lambda: b"# " + b"x" * MAX_CONFIG_BYTES + b"\n", "bytes; at most"),
    "recursive_arrays": (lambda: ("a = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
                         "not valid TOML"),
    "nested_too_deep": (lambda: _nested_tables(MAX_DEPTH + 2).encode(), "nested deeper"),
    "utf16": (lambda: 'name = "x"\n'.encode("utf-16"), "binary"),
    "latin1": (lambda: 'name = "caf\xe9"\n'.encode("latin-1"), "not UTF-8"),
    "binary": (lambda: bytes(range(256)) * 16, "binary"),
    "not_toml": (lambda: b"this is = = not toml\n", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_FILES))
def test_hostile_config_file_is_refused(tmp_path, case):
    make, phrase = CONFIG_FILES[case]
    path = tmp_path / "config.toml"
    path.write_bytes(make())
    with pytest.raises(ConfigError) as err:
        load_config("smoke", path)
    assert err.value.field.startswith("config"), err.value
    assert phrase in err.value.message, err.value


def test_hostile_config_exits_2_before_compute(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(bytes(range(256)) * 16)
    done = run_cli(["run", "--config", str(path), "--store", str(tmp_path / "store")], tmp_path,
                   timeout=120)
    assert done.returncode == 2, done.output
    assert done.stderr.startswith("error: config:") and "Traceback" not in done.stderr
    assert not (tmp_path / "store").exists()
