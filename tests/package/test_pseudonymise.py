"""Pseudonymised copies: consistent bracketed pseudonyms, a map and a log outside the study."""

from __future__ import annotations

import csv

import pytest
from studykit.errors import QualitativeDataError
from studykit.qual.pseudonymise import pseudonymise_transcript, read_map
from studykit.qual.transcripts import read_transcript

from tests.package.qual_study import front_matter, make_qual_study, segments_csv, transcript_text

RAW_ONE = (
    "**INT:** Tell me about your first week.\n"
    "\n"
    "**P001:** I'm Zelda Quorthwick. Bartholomew Snee showed me round; Zelda was nervous.\n"
    "Email me at zq@example.org or ring 07700 900123. I work at Fernwhistle Ward.\n"
)
RAW_TWO = (
    "**INT:** And since then?\n"
    "\n"
    "**P002:** Zelda told me Snee had left Fernwhistle Ward. My NHS number is 943 476 5919.\n"
)


def lab(tmp_path):
    """A study with its raw transcripts, identity key, map and logs in secure storage outside it."""
    secure = tmp_path / "secure"
    raw = secure / "raw"
    raw.mkdir(parents=True)
    key = secure / "identity-key.csv"
    key.write_text("participant_id,name\nP001,Zelda Quorthwick\nP002,Bartholomew Snee\n", encoding="utf-8")
    study = make_qual_study(tmp_path, design={"governance": {"identity_key": str(key)}}, transcripts={})
    first = transcript_text(front_matter("INT-P001-T1"), RAW_ONE)
    (raw / "INT-P001-T1.md").write_text(first, encoding="utf-8")
    meta = front_matter("INT-P002-T1", participants=["P002"])
    (raw / "INT-P002-T1.md").write_text(transcript_text(meta, RAW_TWO), encoding="utf-8")
    return study, raw, secure / "pseudonyms.csv", secure / "logs"


def test_copy_has_consistent_bracketed_pseudonyms_across_transcripts(tmp_path):
    study, raw, map_path, logs = lab(tmp_path)
    first = pseudonymise_transcript(study, raw / "INT-P001-T1.md", map_path=map_path, log_dir=logs)
    copy = read_transcript(first.output)
    assert first.output == study.transcripts_dir / "INT-P001-T1.md"
    assert copy.body == (
        "**INT:** Tell me about your first week.\n"
        "\n"
        "**P001:** I'm [Name1]. [Name2] showed me round; [Name1] was nervous.\n"
        "Email me at [Email1] or ring [Phone1]. I work at Fernwhistle Ward.\n"
    )
    assert copy.extra["pseudonymised"] is True
    assert copy.participants == ("P001",)

    # A place the detectors cannot know is added to the map by hand; later transcripts use it.
    with map_path.open("a", encoding="utf-8") as handle:
        handle.write("Fernwhistle Ward,place,[Ward1]\n")
    second = pseudonymise_transcript(study, raw / "INT-P002-T1.md", map_path=map_path, log_dir=logs)
    assert read_transcript(second.output).body == (
        "**INT:** And since then?\n\n"
        "**P002:** [Name1] told me [Name2] had left [Ward1]. My NHS number is [NHSNumber1].\n"
    )


def test_originals_are_untouched_and_never_overwritten(tmp_path):
    study, raw, map_path, logs = lab(tmp_path)
    source = raw / "INT-P001-T1.md"
    before = source.read_bytes()
    result = pseudonymise_transcript(study, source, map_path=map_path, log_dir=logs)
    assert source.read_bytes() == before
    copy_before = result.output.read_bytes()
    with pytest.raises(QualitativeDataError, match="already exists"):
        pseudonymise_transcript(study, source, map_path=map_path, log_dir=logs)
    assert result.output.read_bytes() == copy_before
    with pytest.raises(QualitativeDataError, match="never edits a transcript in place"):
        pseudonymise_transcript(study, result.output, map_path=map_path, log_dir=logs)


def test_log_records_every_replacement_with_line(tmp_path):
    study, raw, map_path, logs = lab(tmp_path)
    result = pseudonymise_transcript(study, raw / "INT-P001-T1.md", map_path=map_path, log_dir=logs)
    with result.log.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["kind"], r["original"], r["replacement"]) for r in rows] == [
        ("13", "name", "Zelda Quorthwick", "[Name1]"),
        ("13", "name", "Bartholomew Snee", "[Name2]"),
        ("13", "name", "Zelda", "[Name1]"),
        ("14", "email", "zq@example.org", "[Email1]"),
        ("14", "phone", "07700 900123", "[Phone1]"),
    ]
    assert {r["transcript"] for r in rows} == {"INT-P001-T1"}
    assert result.log == logs / "anonymisation-log.csv"


def test_map_rows_with_blank_pseudonym_are_kept(tmp_path):
    study, raw, map_path, logs = lab(tmp_path)
    map_path.write_text("original,kind,pseudonym\n07700 900123,phone,\n", encoding="utf-8")
    result = pseudonymise_transcript(study, raw / "INT-P001-T1.md", map_path=map_path, log_dir=logs)
    assert "ring 07700 900123." in read_transcript(result.output).body
    assert result.kept == 1
    mapping = read_map(map_path)
    assert mapping.get("07700 900123").pseudonym == ""
    assert mapping.get("Zelda Quorthwick").pseudonym == "[Name1]"


@pytest.mark.parametrize("inside", ["map", "log"])
def test_map_and_log_must_live_outside_the_study(tmp_path, inside):
    study, raw, map_path, logs = lab(tmp_path)
    if inside == "map":
        map_path = study.root / "governance" / "pseudonyms.csv"
    else:
        logs = study.root / "data" / "logs"
    with pytest.raises(QualitativeDataError, match="inside the study folder"):
        pseudonymise_transcript(study, raw / "INT-P001-T1.md", map_path=map_path, log_dir=logs)
    assert not (study.transcripts_dir / "INT-P001-T1.md").exists()
    assert not map_path.exists()


def test_default_log_dir_is_next_to_the_study(tmp_path):
    study, raw, map_path, _ = lab(tmp_path)
    result = pseudonymise_transcript(study, raw / "INT-P001-T1.md", map_path=map_path)
    assert result.log == tmp_path / "synthetic-peer-anonymisation" / "anonymisation-log.csv"
    assert result.log.is_file()


def test_missing_identity_key_is_a_warning(tmp_path):
    study, raw, map_path, logs = lab(tmp_path)
    (tmp_path / "secure" / "identity-key.csv").unlink()
    result = pseudonymise_transcript(study, raw / "INT-P001-T1.md", map_path=map_path, log_dir=logs)
    assert any("identity key not found" in w for w in result.warnings)
    assert "Zelda" in read_transcript(result.output).body  # names unknown: left for a person to see
    assert "[Email1]" in read_transcript(result.output).body


def test_warns_when_coded_segments_point_at_the_original(tmp_path):
    study, raw, map_path, logs = lab(tmp_path)
    segments = segments_csv([("S1", "INT-P001-T1", 0, 5, "C1", "R1", "")])
    study.segments_path.write_text(segments, encoding="utf-8")
    result = pseudonymise_transcript(study, raw / "INT-P001-T1.md", map_path=map_path, log_dir=logs)
    assert any("1 coded segment(s)" in w for w in result.warnings)


def test_cli_pseudonymise_prints_counts_never_originals(tmp_path):
    import json

    from studykit.cli import app
    from typer.testing import CliRunner

    study, raw, map_path, logs = lab(tmp_path)
    source = str(raw / "INT-P001-T1.md")
    args = ["qual", "pseudonymise", source, "--map", str(map_path), "--log-dir", str(logs)]
    result = CliRunner().invoke(app, [*args, "-C", str(study.root), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["replacements"] == {"email": 1, "name": 3, "phone": 1}
    assert summary["output"] == (study.transcripts_dir / "INT-P001-T1.md").as_posix()
    assert "Quorthwick" not in result.stdout
    again = CliRunner().invoke(app, [*args, "-C", str(study.root)])
    assert again.exit_code == 2
    assert "already exists" in again.stderr
