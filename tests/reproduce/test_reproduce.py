"""The reproduction report: numbers traceable to the results files, verdicts by the stated rules."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssl_xai_bench.cli import main as cli_main
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.report.tables.leaderboard import round_sig
from ssl_xai_bench.reproduce import claims
from ssl_xai_bench.reproduce.document import build_reproduction, parse_ablation
from ssl_xai_bench.reproduce.paper_reference import load_paper_reference
from tests.reproduce import reproduce_fixture as fixture

PAPER_MD = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec" / "PAPER.md"
CELL = re.compile(r"^(\S+) \[(\S+), (\S+)\]$")


def parse_tables(md: str) -> list[dict]:
    """Every pipe table of a document: headers, rows (lists of cells) and its Source line."""
    lines = md.splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            headers = [h.strip() for h in lines[i].strip("|").split(" | ")]
            j, rows = i + 2, []
            while j < len(lines) and lines[j].startswith("| "):
                rows.append([c.strip() for c in re.split(r"(?<!\\)\|", lines[j])[1:-1]])
                j += 1
            source = lines[j + 1] if j + 1 < len(lines) else ""
            assert source.startswith("Source: "), f"table at line {i} has no Source line"
            out.append({"headers": headers, "rows": rows, "source": source})
            i = j
        else:
            i += 1
    return out


def cell(text: str) -> tuple[float, float, float]:
    m = CELL.match(text)
    assert m, f"not a 'mean [low, high]' cell: {text!r}"
    return tuple(float(g) for g in m.groups())


def shown(row: pd.Series | dict, mean: str = "mean") -> tuple[float, float, float]:
    return tuple(round_sig(float(row[k])) for k in (mean, "ci_low", "ci_high"))


def unquote(text: str) -> str:
    return text.strip("`")


def cond_of(source: str) -> str:
    return re.search(r"condition = `([^`]+)`", source).group(1)


@pytest.fixture(scope="module")
def clear(tmp_path_factory):
    folder = fixture.build(
        tmp_path_factory.mktemp("clear") / "paper-lite",
        c1="clear",
        c2="clear",
        unskilled=(("samplecnn@authors", 0.6),),
    )
    return folder, build_reproduction(folder, command="ssl-xai-bench reproduce FIXTURE")


def test_mae_tables_match_model_skill_csv(clear):
    folder, rep = clear
    skill = pd.read_csv(folder / "model_skill.csv")
    ref = load_paper_reference()
    tables = [
        t
        for t in parse_tables(rep.markdown)
        if t["source"].startswith("Source: `model_skill") and "condition = `" in t["source"]
    ]
    assert len(tables) == 4  # every study condition
    checked = 0
    for t in tables:
        cond = cond_of(t["source"])
        for row in t["rows"]:
            pred, model = unquote(row[0]), unquote(row[1])
            csv = skill[
                (skill.condition == cond) & (skill.model == model) & (skill.predictor == pred)
            ].iloc[0]
            assert cell(row[3]) == shown(csv, "mae")
            assert int(row[4]) == csv.n_sources
            if pred == model or pred == f"{model} (external)":
                paper = ref.mae(model.partition("@")[0], csv.t60, csv.snr_db)
                assert row[2] == f"{round_sig(paper.value):g} [{paper.tag}]"
                checked += 1
    assert checked == 12  # 3 model entries x 4 conditions, each beside the study's number


def test_curve_tables_match_curves_csv_and_paper(clear):
    folder, rep = clear
    curves = pd.read_csv(folder / "curves.csv")
    ref = load_paper_reference()
    tables = [t for t in parse_tables(rep.markdown) if t["source"].startswith("Source: `curves")]
    assert len(tables) == 12
    n_paper = 0
    for t in tables:
        cond = cond_of(t["source"])
        model = re.search(r"model = `([^`]+)`", t["source"]).group(1)
        t60, snr = curves[curves.condition == cond][["t60", "snr_db"]].iloc[0]
        for row in t["rows"]:
            frac = int(row[0]) / 100
            for k, ranking in enumerate(("relevance", "energy", "random")):
                csv = curves[
                    (curves.condition == cond)
                    & (curves.model == model)
                    & (curves.method == "lrp")
                    & (curves.ranking == ranking)
                    & np.isclose(curves.fraction, frac)
                ].iloc[0]
                assert cell(row[2 + 2 * k]) == shown(csv, "mae")
                paper = ref.curve(model.partition("@")[0], t60, snr, ranking)
                if paper is None:
                    assert row[1 + 2 * k] == "–"
                else:
                    value = paper.value[ref.fractions.index(frac)]
                    assert row[1 + 2 * k] == f"{round_sig(value):g} [{paper.label}]"
                    n_paper += 1
    # 2 archs x 2 conditions with published curves, 3 entries use them (authors' = samplecnn)
    assert n_paper == 3 * 2 * 8 * 3


def test_tdoa_tables_match_leaderboard_and_include_the_constant(clear):
    folder, rep = clear
    board = pd.read_csv(folder / "leaderboard.csv")
    tables = [t for t in parse_tables(rep.markdown) if "estimator" in t["headers"]]
    assert len(tables) == 4
    for t in tables:
        cond = cond_of(t["source"])
        metrics = [unquote(h.split(" ")[0]) for h in t["headers"][2:6]]
        estimators = {unquote(r[1]) for r in t["rows"]}
        assert {"microphones", "constant", "lrp"} <= estimators
        for row in t["rows"]:
            for k, metric in enumerate(metrics):
                csv = board[
                    (board.condition == cond)
                    & (board.model == unquote(row[0]))
                    & (board.method == unquote(row[1]))
                    & (board.metric == metric)
                ].iloc[0]
                assert cell(row[2 + k]) == shown(csv)


def _cells(md: str, header: str) -> list[list[str]]:
    return next(t["rows"] for t in parse_tables(md) if header in t["headers"])


def test_clear_case_is_reproduced_and_no_skill_is_inconclusive(clear):
    folder, rep = clear
    board = pd.read_csv(folder / "leaderboard.csv")
    c1 = _cells(rep.markdown, "gain vs constant [95 % CI]")
    assert len(c1) == 4 * 3 * 2
    for row in c1:
        model, cond, variant = unquote(row[0]), unquote(row[1]), row[2]
        csv = board[
            (board.condition == cond)
            & (board.model == model)
            & (board.method == "lrp")
            & (board.metric == f"tdoa_{variant}_gain_vs_constant")
        ].iloc[0]
        assert cell(row[5]) == shown(csv)
        no_skill = model == "samplecnn@authors" and cond.startswith("T60=0.6s")
        assert row[3] == (claims.NO_SKILL if no_skill else claims.LOCALISES)
        assert row[-1] == ("**inconclusive**" if no_skill else "**reproduced**")
    assert rep.claims["C1"].verdict == claims.REPRODUCED
    assert rep.claims["C2"].verdict == claims.REPRODUCED
    assert rep.claims["C2 shape"].verdict == claims.REPRODUCED
    assert "22 reproduced, 0 not reproduced, 0 inconclusive of the 22 cells where the model " \
        "localises; 2 cells where it does not are not counted" in rep.claims["C1"].reason
    assert "`samplecnn@authors` at `T60=0.6s SNR=10dB paper_line`" in rep.markdown


def test_transfer_table_compares_the_authors_weights_with_their_published_mae(clear):
    folder, rep = clear
    skill = pd.read_csv(folder / "model_skill.csv")
    ref = load_paper_reference()
    rows = _cells(rep.markdown, "transfers")
    assert len(rows) == 4
    for row in rows:
        assert unquote(row[1]) == "samplecnn@authors"
        csv = skill[
            (skill.model == "samplecnn@authors")
            & (skill.condition == unquote(row[2]))
            & (skill.predictor == unquote(row[0]))
        ].iloc[0]
        paper = ref.mae("samplecnn", csv.t60, csv.snr_db).value
        assert cell(row[4]) == shown(csv, "mae")
        assert float(row[5]) == round_sig(csv.mae - paper)
        assert row[7] == ("yes" if csv.ci_low <= paper else "no")


def test_c2_table_matches_gap_rows(clear):
    folder, rep = clear
    board = pd.read_csv(folder / "leaderboard.csv")
    for row in _cells(rep.markdown, "gap relevance - random (m) [95 % CI]"):
        csv = board[
            (board.condition == unquote(row[1]))
            & (board.model == unquote(row[0]))
            & (board.metric == "manipulation_gap_at_10")
        ].iloc[0]
        assert cell(row[3]) == shown(csv)


@pytest.mark.parametrize(
    "c1, expected", [("mics_only", claims.NOT_REPRODUCED), ("overlap", claims.INCONCLUSIVE)]
)
def test_c1_verdicts_on_constructed_runs(tmp_path, c1, expected):
    rep = build_reproduction(fixture.build(tmp_path / "run", c1=c1))
    verdicts = {r[-1] for r in _cells(rep.markdown, "gain vs constant [95 % CI]")}
    assert verdicts == {f"**{expected}**"}
    assert rep.claims["C1"].verdict == expected


@pytest.mark.parametrize(
    "c2, expected", [("below_random", claims.NOT_REPRODUCED), ("overlap", claims.INCONCLUSIVE)]
)
def test_c2_verdicts_on_constructed_runs(tmp_path, c2, expected):
    rep = build_reproduction(fixture.build(tmp_path / "run", c2=c2))
    assert rep.claims["C2"].verdict == expected


def test_judge_c1_rules():
    e = claims.Estimate
    ok = claims.Verdict(claims.LOCALISES, "")
    mae = e(0.5, 0.4, 0.6)
    assert (
        claims.judge_c1(ok, e(0.3, 0.2, 0.4), e(0.2, 0.1, 0.3), mae, mae, mae).verdict
        == claims.REPRODUCED
    )
    assert (
        claims.judge_c1(ok, e(0.3, 0.2, 0.4), e(-0.1, -0.2, -0.05), mae, mae, mae).verdict
        == claims.NOT_REPRODUCED
    )
    assert (
        claims.judge_c1(ok, e(0.0, -0.1, 0.1), e(0.2, 0.1, 0.3), mae, mae, mae).verdict
        == claims.INCONCLUSIVE
    )
    # no anomaly for either (gain exactly [0, 0]): the TDoA MAE decides, by separate CIs
    zero = e(0.0, 0.0, 0.0)
    assert (
        claims.judge_c1(ok, e(0.3, 0.2, 0.4), zero, e(0.2, 0.1, 0.3), mae, e(0.8, 0.7, 0.9)).verdict
        == claims.REPRODUCED
    )
    assert (
        claims.judge_c1(ok, e(0.3, 0.2, 0.4), zero, e(0.9, 0.8, 1.0), mae, e(0.6, 0.5, 0.7)).verdict
        == claims.NOT_REPRODUCED
    )
    # fewer anomalies but a clearly larger error is undecided
    assert claims.beats(e(0.3, 0.2, 0.4), e(0.9, 0.8, 1.0), e(0.2, 0.1, 0.3)) == 0
    no = claims.skill_gate(e(0.125, 0.116, 0.134), e(0.12, 0.11, 0.13))
    assert no.verdict == claims.NO_SKILL
    assert (
        claims.judge_c1(no, e(0.3, 0.2, 0.4), e(0.2, 0.1, 0.3), mae, mae, mae).verdict
        == claims.INCONCLUSIVE
    )
    assert claims.judge_c1(ok, None, None, None, None, None).verdict == claims.INCONCLUSIVE


def test_ci_comparisons_need_separate_intervals():
    e = claims.Estimate
    assert claims.ci_order(e(2, 1.5, 2.5), e(1, 0.5, 1.4)) == 1
    assert claims.ci_order(e(2, 1.5, 2.5), e(1, 0.5, 1.5)) == 0  # touching intervals overlap
    assert claims.ci_order(e(1, 0.5, 1.4), e(2, 1.5, 2.5)) == -1
    assert claims.ci_order(e(1, np.nan, 1.4), e(2, 1.5, 2.5)) is None
    assert [claims.ci_sign(e(0, lo, hi)) for lo, hi in ((0.1, 1), (-1, -0.1), (0, 1), (-1, 0))] == [
        1,
        -1,
        0,
        0,
    ]
    assert claims.skill_gate(e(0.1, 0.09, 0.11), e(0.12, 0.11, 0.13)).verdict == claims.NO_SKILL
    assert claims.skill_gate(e(0.1, 0.09, 0.109), e(0.12, 0.11, 0.13)).verdict == claims.LOCALISES
    assert claims.skill_gate(None, e(0.12, 0.11, 0.13)).verdict == claims.UNKNOWN
    # The paired gain decides when given: overlapping MAE CIs with a gain CI above 0 localise.
    assert (
        claims.skill_gate(e(0.11, 0.10, 0.12), e(0.13, 0.115, 0.14), e(0.02, 0.01, 0.03)).verdict
        == claims.LOCALISES
    )
    assert (
        claims.skill_gate(e(0.10, 0.09, 0.109), e(0.12, 0.11, 0.13), e(0.02, -0.01, 0.05)).verdict
        == claims.NO_SKILL
    )


def test_judge_c2_rules():
    e = claims.Estimate
    ok = claims.Verdict(claims.LOCALISES, "")
    gap = e(0.05, 0.04, 0.06)
    assert (
        claims.judge_c2(ok, gap, e(0.14, 0.13, 0.15), e(0.10, 0.09, 0.11)).verdict
        == claims.REPRODUCED
    )
    assert (
        claims.judge_c2(ok, gap, e(0.14, 0.13, 0.15), e(0.14, 0.12, 0.16)).verdict
        == claims.INCONCLUSIVE
    )
    assert (
        claims.judge_c2(ok, gap, e(0.10, 0.09, 0.11), e(0.14, 0.13, 0.15)).verdict
        == claims.NOT_REPRODUCED
    )
    assert (
        claims.judge_c2(
            ok, e(-0.02, -0.03, -0.01), e(0.14, 0.13, 0.15), e(0.10, 0.09, 0.11)
        ).verdict
        == claims.NOT_REPRODUCED
    )
    assert claims.judge_c2(ok, gap, None, e(0.10, 0.09, 0.11)).verdict == claims.INCONCLUSIVE
    # The paired relevance - energy gap decides when given: overlapping curve CIs no longer do.
    assert (
        claims.judge_c2(
            ok, gap, e(0.14, 0.12, 0.16), e(0.13, 0.11, 0.15), e(0.01, 0.005, 0.015)
        ).verdict
        == claims.REPRODUCED
    )
    assert (
        claims.judge_c2(
            ok, gap, e(0.14, 0.13, 0.15), e(0.10, 0.09, 0.11), e(-0.01, -0.015, -0.005)
        ).verdict
        == claims.NOT_REPRODUCED
    )
    assert (
        claims.judge_c2(
            ok, gap, e(0.14, 0.13, 0.15), e(0.10, 0.09, 0.11), e(0.01, -0.01, 0.03)
        ).verdict
        == claims.INCONCLUSIVE
    )


def test_aggregate_rule():
    R, N, I = claims.REPRODUCED, claims.NOT_REPRODUCED, claims.INCONCLUSIVE
    assert claims.aggregate([R, R, I]).verdict == R
    assert claims.aggregate([R, I, I]).verdict == I
    assert claims.aggregate([N, N, I, I]).verdict == N
    assert claims.aggregate([R, N, R]).verdict == I
    assert claims.aggregate([]).verdict == I
    with pytest.raises(ValueError, match="verdicts"):
        claims.aggregate(["maybe"])


def test_shape_rules_on_the_papers_own_curves():
    ref = load_paper_reference()
    got = {}
    for arch, t60, snr in (
        ("loccnn", 0.15, 25.0),
        ("loccnn", 0.6, 10.0),
        ("samplecnn", 0.15, 25.0),
        ("samplecnn", 0.6, 10.0),
    ):
        cv = [ref.curve(arch, t60, snr, r).value for r in ("relevance", "energy", "random")]
        got[(arch, t60)] = claims.curve_shape(ref.fractions, *cv)
    # LocCNN 0.15/25: relevance .088 -> .138 (max .144): 0.050 / 0.056
    assert got[("loccnn", 0.15)].relevance_jump_share == pytest.approx(0.05 / 0.056)
    assert got[("loccnn", 0.15)].matches and got[("samplecnn", 0.15)].matches
    assert got[("samplecnn", 0.6)].matches
    # LocCNN 0.6/10 energy: .110 -> .125 of a rise to .140: half the rise in the first step
    assert got[("loccnn", 0.6)].energy_jump_share == pytest.approx(0.5)
    assert not got[("loccnn", 0.6)].f2_energy_gradual
    with pytest.raises(ValueError, match="fractions"):
        claims.curve_shape([0.0, 0.3, 0.6], [1, 2, 3], [1, 2, 3], [1, 2, 3])


def test_paper_reference_holds_every_number_of_paper_md():
    if not PAPER_MD.is_file():
        pytest.skip("../shared/spec/PAPER.md not available")
    text = PAPER_MD.read_text("utf-8").split("## Reference numbers", 1)[1]
    ref = load_paper_reference()
    rows = re.findall(r"\| ([\d.]+) / (\d+) \| ([\d.]+) \[(\w+)\] \| ([\d.]+) \[(\w+)\] \|", text)
    assert len(rows) == 4
    for t60, snr, lv, lt, sv, st in rows:
        for arch, v, tag in (("loccnn", lv, lt), ("samplecnn", sv, st)):
            got = ref.mae(arch, float(t60), float(snr))
            assert (got.value, got.tag) == (float(v), tag)
    curves = re.findall(
        r"- (LocCNN|SampleCNN) ([\d.]+)/(\d+)( \[nb\])?: (.*?)(?=\n- |\nPattern)", text, flags=re.S
    )
    assert len(curves) == 4
    for name, t60, snr, nb, body in curves:
        parts = dict(re.findall(r"(relevance|energy|random) ((?:\.\d+\s*)+)", body))
        for ranking, nums in parts.items():
            got = ref.curve(name.lower(), float(t60), float(snr), ranking)
            assert got.value == tuple(float(x) for x in nums.split())
            assert (got.tag, got.tag_inferred) == (("nb", False) if nb else ("fig", True))
    assert ref.trivial.value == 0.12 and "0.12 m" in PAPER_MD.read_text("utf-8")


def test_provenance_and_deviations_come_from_the_run(clear):
    folder, rep = clear
    md = rep.markdown
    assert "`0123456789abcdef-fixture`" in md
    assert "ssl-xai-bench run --preset paper-lite" in md
    assert "provenance.json `config` (its hash equals" in md
    dev = _cells(md, "the study")
    by_topic = {r[0]: r for r in dev}
    preset = load_config("paper-lite")  # the fixture's recorded command names this preset
    src, train = preset.scene.sources, preset.training.defaults
    budget = by_topic["training budget"][2]
    assert f"n_train = {src.n_train}, n_val = {src.n_val}, n_test = {src.n_test}" in budget
    assert f"max_epochs = {train.max_epochs}, patience = {train.patience}" in budget
    # the preset feeds the target as LRP output relevance and uses the gpurir convention and
    # Sabine's walls, as the study did: those are no deviation and are not listed
    assert {"LRP output relevance", "RIR convention", "wall absorption"}.isdisjoint(by_topic)
    assert "`fast`" in by_topic["RIR simulator and mode"][2]
    assert by_topic["speech corpus"][2].startswith("`espeak`")
    assert by_topic["speech corpus"][3] == "not measured: CMU ARCTIC is not available here"
    # effects are measured on the run's own tables
    assert by_topic["training budget"][3].startswith("test MAE minus the study's")
    assert "windows of `lrp` are undefined" in by_topic["undefined TDoA windows"][3]
    assert "not measured: no ablation folder changes `rir_mode`" in (
        by_topic["RIR simulator and mode"][3])


def test_unrecoverable_config_is_said_not_guessed(tmp_path):
    rep = build_reproduction(fixture.build(tmp_path / "run", config_hash="0" * 16))
    assert "not recoverable" in rep.markdown
    by_topic = {r[0]: r for r in _cells(rep.markdown, "the study")}
    assert "n_train = unknown" in by_topic["training budget"][2]


def main(argv: list[str]) -> int:
    return cli_main(["reproduce", *argv])


def test_cli_writes_the_document_with_ablations(tmp_path, monkeypatch):
    main_dir = fixture.build(tmp_path / "main", external_mae_shift=0.05)
    abl_dir = fixture.build(tmp_path / "abl", seed=1, rir_mode="exact")
    out = tmp_path / "docs" / "reproduction.md"
    argv = [str(main_dir), "--ablation", f"rir_mode=exact={abl_dir}", "--out", str(out)]
    monkeypatch.setattr("sys.argv", ["ssl-xai-bench", "reproduce", *argv])
    assert main(argv) == 0
    md = out.read_text("utf-8")
    assert md.startswith("# Reproduction")
    assert "ssl-xai-bench reproduce " in md
    rows = _cells(md, "ablation: MAE (m)")
    assert len(rows) == 4
    main_skill = pd.read_csv(main_dir / "model_skill.csv")
    abl_skill = pd.read_csv(abl_dir / "model_skill.csv")
    for row in rows:
        assert unquote(row[0]) == "rir_mode=exact"
        key = (
            (main_skill.model == "samplecnn@authors")
            & (main_skill.condition == unquote(row[2]))
            & (main_skill.predictor == "samplecnn@authors (external)")
        )
        assert cell(row[3]) == shown(main_skill[key].iloc[0], "mae")
        assert cell(row[4]) == shown(abl_skill[key].iloc[0], "mae")
        assert row[6] == "lower"  # the shifted main run is 0.05 m worse, far outside the CIs
    assert "Largest measured effect: `rir_mode=exact`: the ablation's MAE is lower by" in md
    assert "most likely measured cause" in md
    # the deviation table measures the RIR mode's effect with the ablation that changes it
    mode_row = next(r for r in _cells(md, "the study") if r[0] == "RIR simulator and mode")
    assert "`rir_mode=exact`" in mode_row[3] and "CIs separate at 4 of 4" in mode_row[3]
    # the same inputs give the same bytes
    assert main([str(main_dir), "--ablation", f"rir_mode=exact={abl_dir}", "--out", str(out)]) == 0
    assert out.read_text("utf-8") == md


def test_bad_input_is_refused_with_the_field_named(tmp_path, capsys):
    with pytest.raises(ConfigError, match="--ablation"):
        parse_ablation("no-equals-sign")
    assert parse_ablation("rir_mode=exact=/a/b") == ("rir_mode=exact", Path("/a/b"))
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "x.md")]) == 2
    assert "no leaderboard.csv" in capsys.readouterr().err
    folder = fixture.build(tmp_path / "run")
    with pytest.raises(ConfigError, match="--method.*available: energy, lrp, random"):
        build_reproduction(folder, method="gradient")
    with pytest.raises(ConfigError, match="--ablation x.*no leaderboard.csv"):
        build_reproduction(folder, {"x": tmp_path / "empty"})


def test_verdicts_per_model_aggregate_only_that_models_cells(clear):
    _, rep = clear
    rows = next(
        t["rows"]
        for t in parse_tables(rep.markdown)
        if t["headers"] == ["claim", "model", "verdict", "evidence"]
    )
    models = {c["model"] for c in rep.cells}
    assert len(rows) == len(rep.claims) * len(models)
    for claim, model, verdict, evidence in rows:
        mine = [c for c in rep.cells if c["claim"] == claim and c["model"] == unquote(model)]
        expected = claims.aggregate_cells(mine)
        assert verdict == f"**{expected.verdict}**" and evidence == expected.reason
    # The no-skill cell of the authors' weights is not counted: their C2 is reproduced in the
    # three cells where they localise, said with the cell left out.
    c2 = {unquote(m): v for c, m, v, _ in rows if c == "C2"}
    assert c2["loccnn"] == f"**{claims.REPRODUCED}**"
    authors = next(e for c, m, _, e in rows if c == "C2" and unquote(m) == "samplecnn@authors")
    assert "3 reproduced, 0 not reproduced, 0 inconclusive of the 3 cells where the model " \
        "localises; 1 cell where it does not is not counted" in authors


def test_claims_count_only_cells_where_the_model_localises():
    skill_ok = claims.Verdict(claims.LOCALISES, "")
    no_skill = claims.Verdict(claims.NO_SKILL, "")
    N, R = claims.NOT_REPRODUCED, claims.REPRODUCED

    def cell(skill, verdict):
        return {"skill": skill, "verdict": claims.Verdict(verdict, "")}

    # 4 of 14 localising cells not reproduced, 10 forced-inconclusive ones: not reproduced
    cells = ([cell(skill_ok, N)] * 4
             + [cell(no_skill, claims.INCONCLUSIVE)] * 10)
    v = claims.aggregate_cells(cells)
    assert v.verdict == N and "10 cells where it does not are not counted" in v.reason
    assert claims.aggregate([c["verdict"].verdict for c in cells]).verdict == claims.INCONCLUSIVE
    assert claims.aggregate_cells([cell(skill_ok, R), cell(skill_ok, R)]).verdict == R
    none = claims.aggregate_cells([cell(no_skill, claims.INCONCLUSIVE)])
    assert none.verdict == claims.INCONCLUSIVE
    assert "no cell where the model localises" in none.reason


def test_config_diff_lists_changed_dotted_fields_only():
    from ssl_xai_bench.reproduce.transfer import config_diff

    a = {
        "scene": {"rir_mode": "fast", "sources": {"n_train": 480, "n_val": 96}},
        "runner": {"n_workers": 2},
        "seed": 0,
    }
    b = {
        "scene": {"rir_mode": "exact", "sources": {"n_train": 48, "n_val": 96}},
        "runner": {"n_workers": 8},
        "seed": 0,
        "extra": [1],
    }
    assert config_diff(a, b) == [
        "extra: (unset) -> [1]",
        "scene.rir_mode: fast -> exact",
        "scene.sources.n_train: 480 -> 48",
    ]
    assert config_diff(a, a) == [] and config_diff(None, None) == []
