"""Configuration: presets resolve, overrides apply, and malformed configs are refused before
compute with a message naming the field and what is allowed."""

from __future__ import annotations

import pytest
import torch

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import config_from_dict, load_config
from ssl_xai_bench.harness.presets import PRESETS, parse_override, preset_dict
from ssl_xai_bench.models.registry import build_model


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_validates(preset):
    cfg = load_config(preset)
    assert cfg.preset == preset
    assert cfg.config_hash() == load_config(preset).config_hash()
    # the canonical form (what provenance records) reads back into the same typed config
    assert config_from_dict(cfg.to_dict()) == cfg


def test_overrides_and_hash():
    base = load_config("smoke")
    changed = load_config("smoke", overrides=[parse_override("training.max_epochs=7")])
    assert changed.training.defaults.max_epochs == 7
    assert changed.config_hash() != base.config_hash()
    # output folders and runner settings do not change results, so not the hash either
    moved = load_config("smoke", overrides=[{"output": {"results_dir": "elsewhere"},
                                             "runner": {"mode": "inprocess"}}])
    assert moved.config_hash() == base.config_hash()


def test_parse_override_types():
    assert parse_override("matrix.t60=[0.15, 0.6]") == {"matrix": {"t60": [0.15, 0.6]}}
    assert parse_override("name=abc") == {"name": "abc"}
    assert parse_override("runner.progress=false") == {"runner": {"progress": False}}


def _smoke(**patch):
    d = preset_dict("smoke")
    for dotted, value in patch.items():
        node = d
        parts = dotted.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return d


MALFORMED = [
    # (patch, field named in the message, a word of what is allowed)
    ({"colour": "red"}, "colour", "allowed"),
    ({"name": "../escape"}, "name", "letters"),
    ({"seed": -1}, "seed", ">= 0"),
    ({"seed": "zero"}, "seed", "integer"),
    ({"matrix__t60": []}, "matrix.t60", "at least 1"),
    ({"matrix__t60": [0.0]}, "matrix.t60", "> 0"),
    ({"matrix__t60": ["slow"]}, "matrix.t60", "number"),
    ({"matrix__snr_db": [float("nan")]}, "matrix.snr_db", "finite"),
    ({"matrix__snr_db": [20, 20]}, "matrix.snr_db", "duplicated"),
    ({"matrix__models": ["resnet"]}, "matrix.models", "loccnn"),
    ({"matrix__methods": ["telepathy"]}, "matrix.methods", "available"),
    ({"matrix__geometries": ["sphere"]}, "matrix.geometries", "paper_line"),
    ({"matrix__speed": 3}, "matrix.speed", "allowed"),
    ({"training__max_epochs": 0}, "training.max_epochs", ">= 1"),
    ({"training__batch_size": 2.5}, "training.batch_size", "integer"),
    ({"training__lr_factor": 1.5}, "training.lr_factor", "<= 1"),
    ({"training__per_model": {"vgg": {}}}, "training.per_model.vgg", "allowed"),
    ({"training__per_model": {"loccnn": {"lr": -1}}}, "training.per_model.loccnn.lr", "> 0"),
    ({"attribution__batch_size": 0}, "attribution.batch_size", ">= 1"),
    ({"attribution__target_mode": "w"}, "attribution.target_mode", "position"),
    ({"attribution__params": {"occlusion": {"window": 8}}}, "attribution.params.occlusion",
     "matrix.methods"),
    ({"runner__mode": "cloud"}, "runner.mode", "local"),
    ({"runner__mode": "scheduler"}, "runner.scheduler", "address"),
    ({"runner__n_workers": 0}, "runner.n_workers", ">= 1"),
    ({"runner__mode": "inprocess", "runner__scheduler": "tcp://127.0.0.1:1"}, "runner.mode",
     "scheduler"),
    ({"matrix__snr_db": list(range(-20, 100)), "matrix__t60": [0.1 + 0.01 * i for i in range(100)],
      "matrix__methods": ["lrp", "gradient"]}, "matrix", "at most"),
    ({"output__results_dir": 5}, "output.results_dir", "string"),
    ({"weights__loccnn": "/does/not/exist.pth"}, "weights.loccnn", "not found"),
    ({"weights__samplecnn": "/does/not/exist.pth"}, "weights.samplecnn",
     "not in matrix.models"),
    ({"weights__samplecnn": {"fast": "x.pth"}}, "weights.samplecnn.fast", "T60/SNR"),
    ({"weights__vgg": "x.pth"}, "weights.vgg", "allowed"),
    ({"scene__t60": 0.3}, "scene.t60", "allowed"),  # t60 is a matrix axis, not a scene field
    ({"scene__room": [3.6, -1.0, 2.4]}, "scene.room", ""),
    ({"scene__rir_mode": "instant"}, "scene.rir_mode", "exact"),
    ({"scene__speech": {"source": "radio"}}, "scene.speech.source", "espeak"),
    ({"scene__window_length": 0}, "scene.window_length", ""),
    ({"geometries": {"mine": {"kind": "triangle"}}, "matrix__geometries": ["mine"]},
     "geometries.mine.kind", "line"),
    ({"metrics__bogus": 1}, "metrics.bogus", "allowed"),
]


@pytest.mark.parametrize("patch,field,allowed", MALFORMED,
                         ids=[m[1] + ":" + str(i) for i, m in enumerate(MALFORMED)])
def test_malformed_config_is_refused(patch, field, allowed):
    with pytest.raises(ConfigError) as info:
        config_from_dict(_smoke(**patch))
    assert info.value.field == field, str(info.value)
    assert allowed.lower() in str(info.value).lower()


def test_config_file_hostile_content(tmp_path):
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\x00\x01\x02name = 'x'")
    latin = tmp_path / "l.toml"
    latin.write_bytes("name = 'caf\xe9'".encode("latin-1"))
    huge = tmp_path / "h.toml"
    huge.write_text("x = '" + "a" * 2_000_000 + "'")
    deep = tmp_path / "d.toml"
    deep.write_text("a = " + "[" * 50 + "]" * 50)
    broken = tmp_path / "s.toml"
    broken.write_text("[matrix\nt60 = ")
    for path, word in [(binary, "binary"), (latin, "UTF-8"), (huge, "bytes"), (deep, "deeper"),
                       (broken, "TOML")]:
        with pytest.raises(ConfigError) as info:
            load_config("smoke", path)
        assert info.value.field.startswith("config") and word in str(info.value), str(info.value)
    with pytest.raises(ConfigError, match="not found"):
        load_config("smoke", tmp_path / "missing.toml")


def test_input_scaling_must_match_what_external_weights_were_trained_on(tmp_path):
    weights = tmp_path / "model.pt"
    torch.save(build_model("loccnn", window_length=load_config("smoke").scene.window_length)
               .state_dict(), weights)

    def load(scaling):
        return load_config("smoke", overrides=[{
            "scene": {"input_scaling": scaling},
            "matrix": {"models": ["loccnn@other"]}, "weights": {"loccnn@other": str(weights)}}])

    assert load("none").scene.input_scaling == "none"  # no provenance beside it: raw samples
    with pytest.raises(ConfigError, match="scene.input_scaling") as info:
        load("rms")
    assert "'none'" in str(info.value) and str(weights) in str(info.value)
    (tmp_path / "model.pt.json").write_text('{"input_scaling": "rms"}')  # as `train` writes it
    assert load("rms").scene.input_scaling == "rms"
    with pytest.raises(ConfigError, match="scene.input_scaling"):
        load("none")
