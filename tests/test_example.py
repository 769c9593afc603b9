"""The synthetic example study: Table 3 reproduced, deterministic, governed, valid when baked.

The generator lives in the template (``example/``), never in a study; these tests read
what a baked study holds, mostly through the study's own commands.
"""

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
from studykit.checks import validate
from studykit.cli import app
from studykit.governance.consent_filter import ConsentFilter
from studykit.qual.coding import load_coding
from studykit.qual.transcripts import load_transcripts, speaker_at
from studykit.tables import read_text_table
from typer.testing import CliRunner

from example import sources
from example.compare import table3_comparison
from example.generate import WITHDRAWN, example_files, study_instrument
from tests.conftest import PACKAGE_SRC, TEMPLATE, bake, run_in_study
from tests.regenerate import EXAMPLE
from tests.regenerate import example_files as committed_example_files


def printed(value: float | None, decimals: int) -> Decimal | None:
    """A number as a table prints it (half up), independent of float repr; None stays None."""
    if value is None:
        return None
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> Path:
    """The template baked with its defaults: the example study."""
    return bake(tmp_path_factory.mktemp("bake"))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def written_lines() -> set[str]:
    """Every line the example's words hold for a coded turn (example/data/*.yml)."""
    lines = {answer for pool in sources.load("interviews")["answers"].values() for answer in pool}
    lines |= {line["text"] for group in sources.load("focus-groups") for line in group["script"]}
    return lines | {line["text"] for line in sources.load("event-notes")}


def study_scores(study: Path) -> str:
    """`studykit score` run in the study with its own copy of studykit: consent-filtered scores as CSV."""
    result = run_in_study(study, "-m", "studykit", "score")
    assert result.returncode == 0, result.stderr
    return result.stdout


def disagreements(comparison: list[dict], *, sd: bool = True) -> list[str]:
    """Cells where the twin does not print as Table 3 does: n, mean (1 decimal), SD (as printed)."""
    wrong = []
    for row in comparison:
        twin = (row["twin_n"], printed(row["twin_mean"], 1))
        paper = (row["published_n"], printed(row["published_mean"], 1))
        if sd and row["published_sd"] is not None:
            twin += (printed(row["twin_sd"], row["sd_decimals"]),)
            paper += (printed(row["published_sd"], row["sd_decimals"]),)
        if twin != paper:
            wrong.append(f"{row['construct']} {row['wave']}: twin {twin}, Table 3 {paper}")
    return wrong


# --- Table 3 -------------------------------------------------------------------------------------


def test_twin_reproduces_table3_after_the_consent_filter(baked):
    """n, mean and SD of every published cell, from `studykit score` in the baked study."""
    comparison = table3_comparison(study_scores(baked))
    assert len(comparison) == len(sources.published()) == 3 * 14 + 1
    assert disagreements(comparison) == []
    pay = next(r for r in comparison if (r["construct"], r["wave"]) == ("mjs.pay", "T3"))
    assert (pay["published_sd"], pay["sd_decimals"]) == (1.1, 2), "SDs keep the precision printed (1.10)"


def test_comparison_fails_on_a_twin_that_does_not_match(baked):
    """The comparison can fail: without the consent filter P033 adds a 33rd person at T1."""
    raw = (baked / "data" / "measures" / "wemwbs.csv").read_text(encoding="utf-8")
    totals = [
        f"{r['participant_id']},{r['wave']},{sum(int(r[f'item_{i:02d}']) for i in range(1, 15))}"
        for r in csv.DictReader(io.StringIO(raw))
    ]
    unfiltered = table3_comparison("participant_id,wave,wemwbs.total\n" + "\n".join(totals) + "\n")
    wrong = [w for w in disagreements(comparison=unfiltered) if w.startswith("wemwbs.total T1")]
    assert len(wrong) == 1
    assert "twin (33," in wrong[0]


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
    for transcript in (study / "data" / "qualitative" / "transcripts").glob("*.md"):
        transcript.unlink()
    for relative, text in example_files(7).items():
        (study / relative).write_text(text, encoding="utf-8", newline="")
    assert disagreements(table3_comparison(study_scores(study)), sd=False) == []


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
    written = written_lines()
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
    assert len(propositions) == 6
    for proposition in propositions:
        assert set(proposition) == {"id", "statement", "constructs", "themes", "fit", "meta_inference"}
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
    assert "is not known" in mjs.score("overall").note, "the overall score's five items are invented"


# --- the example is data a study holds, not code it carries ----------------------------------------


def test_a_study_carries_no_example_generator(baked):
    generator = {p.read_bytes() for p in (TEMPLATE / "example").rglob("*") if p.is_file()}
    studykit = [p for p in (baked / "src" / "studykit").rglob("*") if p.is_file()]
    assert len(studykit) > 20
    assert [p for p in studykit if p.read_bytes() in generator] == []
    lines = written_lines()
    code = {p: p.read_text(encoding="utf-8") for p in studykit if p.suffix == ".py"}
    assert [p for p, text in code.items() if any(line in text for line in lines)] == []
    assert not list(PACKAGE_SRC.glob("studykit/*example*")), "no example module in the package"


def test_studykit_has_no_example_command():
    result = CliRunner().invoke(app, ["example", "--help"])
    assert result.exit_code == 2
    assert "No such command" in result.output


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
