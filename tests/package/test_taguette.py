"""Taguette imports: codebook (CSV and QDC) and highlights located in the transcripts. All synthetic."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from studykit.errors import QualitativeDataError
from studykit.qual import exchange, refi, taguette
from studykit.study import Study

from tests.package.qual_study import (
    CODEBOOK,
    FOCUS_GROUP_BODY,
    INTERVIEW_BODY,
    make_qual_study,
)

# As Taguette writes them (taguette/export.py): the codebook CSV columns and the highlights CSV columns.
CODEBOOK_CSV = (
    "tag,description,number of highlights,number of documents\n"
    "support,Sources of support at work,3,2\n"
    "support.supervision,Regular supervision,1,1\n"
    "hope,,1,1\n"
)


BY = "Test coder"  # who imports, for the audit log


def _taguette_qdc(tags: list[str]) -> str:
    codes = "".join(f'    <Code guid="{taguette.tag_guid(t)}" name="{t}" isCodable="true"/>\n' for t in tags)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="Taguette 1.4.1">\n'
        f"  <Codes>\n{codes}  </Codes>\n  <Sets/>\n</CodeBook>\n"
    )


def _highlights(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["id,document,tag,content"]
    for row in rows:
        lines.append(",".join('"' + v.replace('"', '""') + '"' for v in row))
    return "\n".join(lines) + "\n"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _study(tmp_path: Path, **files: str) -> Study:
    return make_qual_study(tmp_path, **files)


def test_tag_guid_matches_taguette() -> None:
    expected = str(uuid.uuid5(uuid.UUID("51B2B2B7-27EB-4ECB-9D56-E75B0A0496C2"), "hope")).upper()
    assert taguette.tag_guid("hope") == expected


def test_codebook_csv_import(tmp_path: Path) -> None:
    study = _study(tmp_path)
    (tmp_path / "codebook.csv").write_text(CODEBOOK_CSV, encoding="utf-8")
    summary = exchange.import_file(study, tmp_path / "codebook.csv", by=BY)
    assert summary.counts == {"codes": 3}
    rows = _rows(study.codebook_path)
    assert [(r["code_id"], r["name"], r["parent"], r["definition"]) for r in rows] == [
        ("support", "support", "", "Sources of support at work"),
        ("support_supervision", "support.supervision", "", "Regular supervision"),
        ("hope", "hope", "", ""),
    ]
    guids = {(r["kind"], r["id"]): r["guid"] for r in _rows(study.refi_ids_path)}
    assert guids[("code", "hope")] == taguette.tag_guid("hope")


def test_codebook_qdc_from_taguette_gives_the_same_codes_and_guids(tmp_path: Path) -> None:
    study = _study(tmp_path)
    (tmp_path / "codebook.qdc").write_text(_taguette_qdc(["support", "hope"]), encoding="utf-8")
    summary = exchange.import_file(study, tmp_path / "codebook.qdc", by=BY)
    assert "Taguette codebook" in summary.notes[0]
    assert [r["name"] for r in _rows(study.codebook_path)] == ["support", "hope"]
    # Exporting keeps Taguette's GUIDs, so Taguette and other tools see the same codes.
    xml = refi.build_codebook_xml(study).decode()
    assert taguette.tag_guid("hope") in xml


def test_codebook_csv_without_a_tag_column_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "codes.csv").write_text("label,notes\nhope,x\n", encoding="utf-8")
    with pytest.raises(QualitativeDataError, match=r"has no tag column \(looked for tag, name, path"):
        taguette.read_codebook_csv(tmp_path / "codes.csv")


def test_highlights_are_located_in_transcript_bodies(tmp_path: Path) -> None:
    study = _study(tmp_path)
    rows = [
        # Taguette drops the Markdown asterisks of the speaker label and may break lines differently.
        ("1", "INT-P001-T1.md", "support", "P001: Supervision every\nweek."),
        ("1", "INT-P001-T1.md", "hope", "P001: Supervision every\nweek."),  # same highlight, second tag
        ("2", "FG-01-T2", "hope", "Hope, mostly."),
        ("3", "FG-01-T2", "hope", "Words nobody said."),
        ("4", "Unknown document", "hope", "Hope"),
        ("5", "FG-01-T2", "", "People see"),
    ]
    (tmp_path / "highlights.csv").write_text(_highlights(rows), encoding="utf-8")
    summary = exchange.import_file(study, tmp_path / "highlights.csv", coder="R1", by=BY)

    segments = _rows(study.segments_path)
    placed = {(s["transcript"], s["code"], s["coder"]): (int(s["start"]), int(s["end"])) for s in segments}
    start, end = placed[("INT-P001-T1", "support", "R1")]
    assert INTERVIEW_BODY[start:end] == "P001:** Supervision every week."
    assert placed[("INT-P001-T1", "hope", "R1")] == (start, end)
    start, end = placed[("FG-01-T2", "hope", "R1")]
    assert FOCUS_GROUP_BODY[start:end] == "Hope, mostly."
    assert len(segments) == 3
    warnings = "\n".join(summary.warnings)
    assert "highlight 3 not imported: its text was not found in transcript FG-01-T2" in warnings
    assert "document 'Unknown document' not imported: no transcript has that id" in warnings
    assert "1 highlight(s) without a tag not imported" in warnings
    assert "the study had no codebook: its 2 tag(s) became codes" in summary.notes
    assert {r["name"] for r in _rows(study.codebook_path)} == {"support", "hope"}


def test_highlights_use_the_existing_codebook_by_name(tmp_path: Path) -> None:
    study = _study(tmp_path, codebook=CODEBOOK)
    rows = [("1", "FG-01-T2", "Hope", "Hope, mostly."), ("2", "FG-01-T2", "Risk", "talks differently")]
    (tmp_path / "highlights.csv").write_text(_highlights(rows), encoding="utf-8")
    summary = taguette.import_highlights(study, tmp_path / "highlights.csv", by=BY)
    assert [(s["code"], s["coder"]) for s in _rows(study.segments_path)] == [("C2", "")]
    assert any("tag 'Risk' is not in the codebook" in w for w in summary.warnings)
    assert study.codebook_path.read_text(encoding="utf-8") == CODEBOOK  # untouched


def test_ambiguous_highlight_is_coded_at_the_first_place_and_reported(tmp_path: Path) -> None:
    study = _study(tmp_path)
    (tmp_path / "h.csv").write_text(_highlights([("7", "INT-P001-T1", "q", "INT:")]), encoding="utf-8")
    summary = taguette.import_highlights(study, tmp_path / "h.csv", by=BY)
    assert any("occurs 2 times" in w and "check it" in w for w in summary.warnings)
    first = _rows(study.segments_path)[0]
    assert (first["start"], first["end"]) == (
        str(INTERVIEW_BODY.index("INT:")),
        str(INTERVIEW_BODY.index("INT:") + 4),
    )


def test_highlights_refuse_to_overwrite_segments(tmp_path: Path) -> None:
    study = _study(
        tmp_path,
        codebook=CODEBOOK,
        segments="segment_id,transcript,start,end,code,coder,memo\nS1,FG-01-T2,0,5,C2,R1,\n",
    )
    before = study.segments_path.read_bytes()
    (tmp_path / "h.csv").write_text(
        _highlights([("1", "FG-01-T2", "Hope", "Hope, mostly.")]), encoding="utf-8"
    )
    with pytest.raises(QualitativeDataError, match=r"would overwrite segments\.csv"):
        taguette.import_highlights(study, tmp_path / "h.csv", by=BY)
    assert study.segments_path.read_bytes() == before
    summary = taguette.import_highlights(study, tmp_path / "h.csv", replace=True, by=BY)
    assert len(_rows(study.segments_path)) == 1
    # The segment the highlights do not hold is named as lost, never "Nothing was lost."
    lost = "1 segment(s) of segments.csv are not in the imported file and were removed: S1"
    assert summary.losses == [lost]
    assert not summary.lossless


def test_highlights_csv_missing_columns_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("id,document,content\n1,FG-01-T2,Hope\n", encoding="utf-8")
    with pytest.raises(QualitativeDataError, match=r"lacks the column\(s\) tag"):
        taguette.read_highlights_csv(tmp_path / "h.csv")


def test_locate_ignores_whitespace_and_emphasis() -> None:
    body = "**P002:** Hope,\n  mostly. Hope again."
    assert taguette.locate(body, "P002: Hope, mostly.") == [(2, 25)]
    assert taguette.locate(body, "Hope") == [(10, 14), (26, 30)]
    assert taguette.locate(body, "   ") == []
