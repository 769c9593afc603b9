"""The synthetic example study: Table 3 reproduced, deterministic, governed, valid when baked."""

from __future__ import annotations

import csv
import io
import json
import statistics
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml
from studykit import load_study
from studykit._example_text import ANSWERS, EVENT, FOCUS_GROUPS
from studykit.checks import validate
from studykit.cli import app
from studykit.errors import ExistingDataError, StudyConfigError
from studykit.example import (
    PUBLISHED,
    WITHDRAWN,
    example_files,
    study_instrument,
    table3_comparison,
    write_example,
)
from studykit.governance.consent_filter import ConsentFilter
from studykit.qual.coding import load_coding
from studykit.qual.transcripts import load_transcripts, speaker_at
from studykit.tables import read_text_table
from typer.testing import CliRunner

from tests.conftest import TEMPLATE, bake, run_in_study
from tests.regenerate import EXAMPLE
from tests.regenerate import example_files as committed_example_files


def printed(value: float, decimals: int) -> Decimal:
    """A number as a table prints it (half up), independent of float repr."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def decimals_of(value: float) -> int:
    return max(1, -Decimal(repr(value)).normalize().as_tuple().exponent)


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> Path:
    """The template baked with its defaults: the example study."""
    return bake(tmp_path_factory.mktemp("bake"))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- Table 3 -------------------------------------------------------------------------------------


def test_table3_comparison_agrees_with_published_table(baked):
    comparison = table3_comparison(load_study(baked))
    assert len(comparison) == len(PUBLISHED)
    for row in comparison:
        where = f"{row['construct']} {row['wave']}"
        assert row["twin_n"] == row["published_n"], where
        assert printed(row["twin_mean"], 1) == printed(row["published_mean"], 1), where
        if row["published_sd"] is not None:
            # within half a unit of the first decimal, and printed as the paper prints it
            assert abs(row["twin_sd"] - row["published_sd"]) < 0.05, where
            precision = decimals_of(row["published_sd"])
            assert printed(row["twin_sd"], precision) == printed(row["published_sd"], precision), where


def test_wemwbs_table3_by_independent_computation(baked):
    """Sum the items with csv and statistics, drop the 'remove all data' withdrawal by hand."""
    with (baked / "data" / "measures" / "wemwbs.csv").open(encoding="utf-8", newline="") as handle:
        data = list(csv.DictReader(handle))
    published = {
        "T1": (32, "49.8", "9.07", 28, 70),
        "T2": (20, "47.7", "9.17", 32, 69),
        "T3": (21, "48.7", "11.73", 25, 68),
    }
    for wave, (n, mean, sd, low, high) in published.items():
        totals = [
            sum(int(r[f"item_{i:02d}"]) for i in range(1, 15))
            for r in data
            if r["wave"] == wave and r["participant_id"] != WITHDRAWN
        ]
        assert len(totals) == n
        assert printed(statistics.mean(totals), 1) == Decimal(mean)
        assert printed(statistics.stdev(totals), 2) == Decimal(sd)
        assert (min(totals), max(totals)) == (low, high)


def test_another_seed_still_reproduces_table3(tmp_path):
    study = bake(tmp_path)
    write_example(study, seed=7, replace=True)
    assert (study / "data" / "measures" / "mjs.csv").read_text(encoding="utf-8") == example_files(7)[
        "data/measures/mjs.csv"
    ]
    transcripts = sorted(p.name for p in (study / "data" / "qualitative" / "transcripts").glob("*.md"))
    assert transcripts == sorted(Path(k).name for k in example_files(7) if "/transcripts/" in k)
    for row in table3_comparison(load_study(study)):
        assert row["twin_n"] == row["published_n"]
        assert printed(row["twin_mean"], 1) == printed(row["published_mean"], 1)


# --- determinism and the committed copy ------------------------------------------------------------


def test_same_seed_same_bytes_and_other_seed_differs():
    first, again, other = example_files(2022), example_files(2022), example_files(2023)
    assert first == again
    assert len(first) == len(other)
    assert [k for k in first if "/transcripts/" not in k] == [k for k in other if "/transcripts/" not in k]
    assert first["data/measures/wemwbs.csv"] != other["data/measures/wemwbs.csv"]


def test_committed_example_equals_a_fresh_generation():
    """`nox -s fragments` regenerates .bake/example/; this fails when it was not run."""
    expected = committed_example_files()
    on_disk = {
        p.relative_to(TEMPLATE).as_posix(): p.read_text(encoding="utf-8")
        for p in EXAMPLE.rglob("*")
        if p.is_file()
    }
    assert sorted(on_disk) == sorted(expected)
    assert [k for k in expected if on_disk[k] != expected[k]] == []


def test_baked_study_holds_the_example_files(baked):
    for relative, text in example_files().items():
        assert (baked / relative).read_text(encoding="utf-8") == text, relative


# --- governance ------------------------------------------------------------------------------------


def test_withdrawn_participant_rows_vanish_after_the_consent_filter(baked):
    study = load_study(baked)
    consent = ConsentFilter.from_study(study)
    tables = {
        "participants": (study.participants_path, None),
        "employment": (study.employment_path, "recorded_on"),
        **{i: (study.measures_path(i), "completed_on") for i in study.instruments},
    }
    for name, (path, date_column) in tables.items():
        frame = read_text_table(path).frame
        assert WITHDRAWN in frame["participant_id"].to_list(), (
            f"{name}: raw data hold the withdrawn participant"
        )
        kept = consent.filter(frame, resource=name, purpose="analysis", date_column=date_column)
        assert WITHDRAWN not in kept["participant_id"].to_list(), name
        assert kept.height == frame.height - frame["participant_id"].to_list().count(WITHDRAWN), name
    wemwbs = read_text_table(study.measures_path("wemwbs")).frame
    t1 = consent.filter(wemwbs, resource="wemwbs", purpose="analysis", date_column="completed_on")
    assert (wemwbs.filter(wemwbs["wave"] == "T1").height, t1.filter(t1["wave"] == "T1").height) == (33, 32)


def test_registers_hold_the_documented_scenarios(baked):
    files = example_files()
    withdrawals = rows(files["governance/withdrawals.csv"])
    assert {(w["participant_id"], w["scope"]) for w in withdrawals} >= {(WITHDRAWN, "remove all data")}
    assert "no further data" in {w["scope"] for w in withdrawals}
    consent = rows(files["governance/consent.csv"])
    no_quotes = {c["participant_id"] for c in consent if c["direct_quotation"] != "yes"}
    interviewed = {t.participants[0] for t in load_transcripts(load_study(baked)) if t.kind == "interview"}
    assert len(no_quotes) == 1
    assert no_quotes <= interviewed, "the participant without quotation consent was interviewed"
    ethics = yaml.safe_load(files["governance/ethics.yml"])["approvals"][0]
    amendment = ethics["amendments"][0]
    assert ethics["consent_forms"] == ["1.0"]
    assert amendment["consent_forms"] == ["2.0"]
    second = [c for c in consent if c["form_version"] == "2.0"]
    assert second
    assert all(c["consented_on"] >= amendment["approved_on"].isoformat() for c in second)
    quotable = ConsentFilter.from_study(load_study(baked))
    assert not quotable.allows(next(iter(no_quotes)), "direct_quotation")


# --- qualitative -------------------------------------------------------------------------------------


def test_segments_select_the_text_they_were_coded_for(baked):
    study = load_study(baked)
    transcripts = {t.id: t for t in load_transcripts(study)}
    coding = load_coding(study)
    written = {a for pool in ANSWERS.values() for a in pool}
    written |= {line[1] for script in FOCUS_GROUPS for line in script} | {line[1] for line in EVENT}
    assert len(coding.segments) > 100
    for segment in coding.segments:
        transcript = transcripts[segment.transcript]
        text = transcript.text(segment.start, segment.end)
        assert text in written, segment.segment_id
        assert speaker_at(transcript, segment.start, segment.end) is not None, segment.segment_id
        assert segment.code in coding.codebook
    kinds = sorted(t.kind for t in transcripts.values())
    assert (kinds.count("interview"), kinds.count("focus group"), kinds.count("event notes")) == (12, 2, 1)
    for transcript in transcripts.values():
        if transcript.kind == "interview":
            assert 15 <= len(transcript.turns) <= 30, transcript.id


def test_themes_and_propositions_refer_to_what_exists(baked):
    study = load_study(baked)
    coding = load_coding(study)
    theme_ids = {t.id for t in coding.themes}
    assert len(theme_ids) == 5
    scores = {f"{i}.{s.id}" for i in ("mjs", "team") for s in study_instrument(i).scores}
    scores |= {"wemwbs.total", "cbi.personal", "cbi.work", "cbi.client"}
    for theme in coding.themes:
        assert set(theme.codes) <= set(coding.codebook.codes), theme.id
        assert set(theme.constructs) <= scores, theme.id
    propositions = yaml.safe_load((study.propositions_path).read_text(encoding="utf-8"))
    assert len(propositions) == 5
    for proposition in propositions:
        assert set(proposition) == {"id", "statement", "constructs", "themes"}
        assert set(proposition["themes"]) <= theme_ids
        assert set(proposition["constructs"]) <= scores


def test_study_instruments_say_what_is_invented():
    mjs, team = study_instrument("mjs"), study_instrument("team")
    for instrument in (mjs, team):
        assert instrument.source == "study"
        assert any("INVENTED" in note for note in instrument.notes)
        assert all(item.text is None for item in instrument.items)
        assert all(norm.verified and norm.unit == "item mean" for norm in instrument.norms)
    norms = {n.score: n for n in mjs.norms}
    assert (
        (norms["pay"].mean, norms["pay"].sd)
        == (norms["prospects"].mean, norms["prospects"].sd)
        == (3.4, 0.66)
    )
    assert "copy error" in norms["pay"].note
    assert "copy error" in norms["prospects"].note
    assert "standards_of_care" not in norms


# --- writing into a study, and the command -----------------------------------------------------------


def test_write_example_refuses_to_overwrite_data_unless_replace(baked, tmp_path):
    study = bake(tmp_path)
    (study / "data" / "measures" / "mjs.csv").write_text("participant_id,wave\nP999,T1\n", encoding="utf-8")
    with pytest.raises(ExistingDataError, match="--replace"):
        write_example(study)
    assert (study / "data" / "measures" / "mjs.csv").read_text(
        encoding="utf-8"
    ) == "participant_id,wave\nP999,T1\n"
    written = write_example(study, replace=True)
    assert len(written) == len(example_files())
    assert write_example(study) == written, "rewriting identical files is not an overwrite"


def test_write_example_rejects_a_study_of_another_design(tmp_path):
    study = bake(tmp_path, include_example_data="no")
    with pytest.raises(StudyConfigError, match="mjs, team"):
        write_example(study)
    assert not (study / "instruments" / "mjs.yml").exists()


def test_example_command_writes_files_and_exit_codes(tmp_path):
    study = bake(tmp_path, include_example_data="no", project_slug="empty-study")
    text = (study / "study.yml").read_text(encoding="utf-8")
    (study / "study.yml").write_text(
        text.replace("  - cbi\n", "  - cbi\n  - mjs\n  - team\n"), encoding="utf-8"
    )
    runner = CliRunner()
    result = runner.invoke(app, ["example", "--into", str(study)])
    assert result.exit_code == 0, result.output
    assert (study / "data" / "measures" / "team.csv").read_text(encoding="utf-8") == example_files()[
        "data/measures/team.csv"
    ]
    again = runner.invoke(app, ["example", "--into", str(study), "--seed", "5"])
    assert again.exit_code == 2
    assert "--replace" in again.output


def test_bake_with_one_strand_keeps_only_its_transcripts_and_segments(tmp_path):
    study_dir = bake(tmp_path, qualitative="focus groups")
    study = load_study(study_dir)
    assert sorted(t.id for t in load_transcripts(study)) == ["FG-A", "FG-B"]
    segments = load_coding(study).segments
    assert segments
    assert {s.transcript for s in segments} == {"FG-A", "FG-B"}
    assert validate(study).errors == []


def test_baked_example_passes_validate(baked):
    result = run_in_study(baked, "-m", "studykit", "validate", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["counts"]["error"] == 0
    # Only the documented warning: the raw files still hold the "remove all data" participant.
    assert {f["code"] for f in report["findings"] if f["severity"] == "warning"} <= {"GOV007"}


def test_example_compare_shows_table3_next_to_the_twin(tmp_path):
    from studykit.cli import app
    from typer.testing import CliRunner

    from tests.conftest import bake


    study = bake(tmp_path)
    before = {p: p.read_bytes() for p in study.rglob("*") if p.is_file()}
    result = CliRunner().invoke(app, ["example", "--compare", "--into", str(study), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    wemwbs = {r["wave"]: r for r in rows if r["construct"] == "wemwbs.total"}
    assert (wemwbs["T1"]["published_n"], wemwbs["T1"]["twin_n"]) == (32, 32)
    assert round(wemwbs["T3"]["twin_mean"], 1) == wemwbs["T3"]["published_mean"] == 48.7
    assert {p: p.read_bytes() for p in study.rglob("*") if p.is_file()} == before, "--compare writes nothing"
