"""Coding data (codebook, segments, themes) and the qualitative check layer (QUAL###)."""

from __future__ import annotations

import pytest
from studykit.checks.qualitative import check
from studykit.checks.run import Run
from studykit.errors import QualitativeDataError
from studykit.qual.coding import (
    load_codebook,
    load_coding,
    load_segments,
    load_themes,
    parse_codebook,
    theme_codes,
)

from tests.package.qual_study import (
    CODEBOOK,
    INTERVIEW_BODY,
    THEMES,
    default_segments,
    front_matter,
    make_qual_study,
    segments_csv,
    transcript_text,
)


def findings(study):
    return sorted([f.code, f.file, f.row, f.column] for f in check(Run(study)))


def coded_study(tmp_path, **changes):
    files = {"codebook": CODEBOOK, "segments": default_segments(), "themes": THEMES}
    return make_qual_study(tmp_path, **{**files, **changes})


def test_load_coding_reads_all_three_files(tmp_path):
    coding = load_coding(coded_study(tmp_path))
    assert [c.code_id for c in coding.codebook] == ["C1", "C1.1", "C2"]
    assert coding.codebook.codes["C1.1"].parent == "C1"
    assert coding.codebook.ancestors("C1.1") == ["C1"]
    assert coding.codebook.descendants("C1") == ["C1.1"]
    assert [(s.segment_id, s.code, s.row) for s in coding.segments] == [("S1", "C1.1", 2), ("S2", "C2", 3)]
    assert coding.segments[1].memo == "strong"
    assert [t.id for t in coding.themes] == ["support", "hope"]
    assert coding.themes[0].constructs == ["wemwbs.total"]
    assert theme_codes(coding.themes[0], coding.codebook) == ["C1", "C1.1"]


def test_missing_coding_files_read_as_empty(tmp_path):
    coding = load_coding(make_qual_study(tmp_path))
    assert (len(coding.codebook), coding.segments, coding.themes) == (0, [], [])


def test_clean_study_has_no_findings(tmp_path):
    assert findings(coded_study(tmp_path)) == []


def test_transcripts_without_coding_files_get_an_info(tmp_path):
    study = make_qual_study(tmp_path)
    result = list(check(Run(study)))
    assert {(f.code, f.severity, f.file) for f in result} == {
        ("QUAL040", "info", "data/qualitative/codebook.csv"),
        ("QUAL040", "info", "data/qualitative/segments.csv"),
    }


def test_qual001_unreadable_transcript_names_the_line(tmp_path):
    bad = "---\nid: BAD\nkind: chat\nwave: T1\ndate: 2024-02-05\n---\ntext\n"
    study = coded_study(tmp_path, transcripts={"BAD": bad}, segments=segments_csv([]))
    assert findings(study) == [["QUAL001", "data/qualitative/transcripts/BAD.md", 3, None]]


def test_qual002_to_qual006_transcript_metadata(tmp_path):
    meta = front_matter("OTHER", wave="T9", kind="event notes", participants=["P001", "P999"])
    body = "**NOTE:** Team meeting.\n\n**P004:** A comment.\n"
    transcripts = {"EV-1": transcript_text(meta, body)}
    study = coded_study(tmp_path, transcripts=transcripts, segments=segments_csv([]))
    file = "data/qualitative/transcripts/EV-1.md"
    assert findings(study) == [
        ["QUAL002", file, 2, "id"],
        ["QUAL003", file, 4, "wave"],  # the line of the key, as an editor numbers it
        ["QUAL004", file, 9, "participants"],  # the line of the id in the list
        ["QUAL005", file, 14, None],
        ["QUAL006", file, 3, "kind"],
    ]
    qual004 = next(f for f in check(Run(study)) if f.code == "QUAL004")
    assert qual004.value == "P999"
    assert qual004.severity == "warning"


def test_qual004_skipped_when_participants_csv_is_missing(tmp_path):
    meta = front_matter("INT-P999-T1", participants=["P999"])
    study = make_qual_study(
        tmp_path,
        transcripts={"INT-P999-T1": transcript_text(meta, "**P999:** hi\n")},
        participants=None,
        codebook=CODEBOOK,
        segments=segments_csv([]),
    )
    assert findings(study) == []


def test_a_codebook_that_cannot_be_read_is_one_finding_not_one_per_coded_segment(tmp_path):
    """Saved as Excel for Mac's 'CSV (Macintosh)' (lines ending in a carriage return alone): the codebook
    is QUAL010 once; the segments and themes that use its codes are not each reported as unknown."""
    study = coded_study(tmp_path, codebook=CODEBOOK.replace("\n", "\r"))
    found = findings(study)
    assert found == [["QUAL010", "data/qualitative/codebook.csv", None, None]]
    (finding,) = check(Run(study))
    assert "carriage return alone" in finding.message
    assert "CSV UTF-8" in finding.fix


def test_codebook_problems(tmp_path):
    codebook = (
        "code_id,name,parent,definition\n"
        "C1,Support,,\n"
        "C1,Again,,\n"  # duplicate
        "C3,Orphan,C9,\n"  # unknown parent
        "C4,Loop a,C5,\n"
        "C5,Loop b,C4,\n"  # cycle
        ",No id,,\n"
        "C2,Hope,,\n"
        "C1.1,Supervision,C1,\n"
    )
    study = coded_study(tmp_path, codebook=codebook)
    file = "data/qualitative/codebook.csv"
    assert findings(study) == [
        ["QUAL010", file, 7, "code_id"],
        ["QUAL011", file, 3, "code_id"],
        ["QUAL012", file, 4, "parent"],
        ["QUAL013", file, 5, "parent"],
    ]
    with pytest.raises(QualitativeDataError, match=r"code_id 'C1' is listed twice") as caught:
        load_codebook(study)
    assert caught.value.key == "row 3, column code_id"


def test_codebook_missing_columns(tmp_path):
    study = coded_study(tmp_path, codebook="id,label\nC1,Support\n")
    assert ["QUAL010", "data/qualitative/codebook.csv", 1, None] in findings(study)


def test_segment_problems(tmp_path):
    rows = [
        ("S1", "INT-P001-T1", 0, 10, "C1", "R1", ""),
        ("S1", "INT-P001-T1", 0, 10, "C1", "R1", ""),  # duplicate id
        ("S3", "INT-P001-T1", "ten", 10, "C1", "R1", ""),  # not a number
        ("S4", "INT-P001-T1", 10, 10, "C1", "R1", ""),  # empty span
        ("S5", "NOPE", 0, 10, "C1", "R1", ""),  # unknown transcript
        ("S6", "INT-P001-T1", 0, len(INTERVIEW_BODY) + 1, "C1", "R1", ""),  # past the end
        ("S7", "INT-P001-T1", 0, len(INTERVIEW_BODY), "C99", "R1", ""),  # unknown code, end exactly at length
        ("S8", "", 0, 10, "C1", "R1", ""),  # blank transcript
    ]
    study = coded_study(tmp_path, segments=segments_csv(rows))
    file = "data/qualitative/segments.csv"
    assert findings(study) == [
        ["QUAL020", file, 4, "start"],
        ["QUAL020", file, 5, "end"],
        ["QUAL020", file, 9, "transcript"],
        ["QUAL021", file, 3, "segment_id"],
        ["QUAL022", file, 6, "transcript"],
        ["QUAL023", file, 7, "end"],
        ["QUAL024", file, 8, "code"],
    ]
    with pytest.raises(QualitativeDataError, match="segment_id 'S1' is used twice"):
        load_segments(study)


def test_segments_of_an_unreadable_transcript_are_not_reported_twice(tmp_path):
    bad = "no front matter\n"
    study = coded_study(
        tmp_path, transcripts={"BAD": bad}, segments=segments_csv([("S1", "BAD", 0, 3, "C1", "R1", "")])
    )
    assert [f[0] for f in findings(study)] == ["QUAL001"]


def test_theme_problems(tmp_path):
    themes = THEMES + (
        "- id: broken\n"
        "  name: Broken\n"
        "  codes: [C1, C77]\n"
        "  constructs: [wemwbs.nonsense, employment.hours_per_week]\n"
        "- id: hope\n"
        "  name: Duplicate\n"
        "- id: extra\n"
        "  name: Extra\n"
        "  colour: red\n"
    )
    study = coded_study(tmp_path, themes=themes)
    file = "data/qualitative/themes.yml"
    assert findings(study) == [
        ["QUAL030", file, 13, "id"],
        ["QUAL030", file, 15, "colour"],
        ["QUAL031", file, 9, "codes"],
        ["QUAL032", file, 9, "constructs"],
    ]
    with pytest.raises(QualitativeDataError, match="theme id 'hope' is used twice"):
        load_themes(study)


def test_themes_not_a_list_or_not_yaml(tmp_path):
    study = coded_study(tmp_path, themes="support: {}\n")
    assert ["QUAL030", "data/qualitative/themes.yml", 1, None] in findings(study)
    (study.themes_path).write_text("- id: [unclosed\n", encoding="utf-8")
    assert [f[0] for f in findings(study)] == ["QUAL030"]


def test_parse_codebook_of_missing_file_is_empty(tmp_path):
    book, problems = parse_codebook(tmp_path / "none.csv")
    assert (len(book), problems) == (0, [])


# --- one owner: a codebook or segment fault gives one finding in a whole validation ----------------


def _validated(study):
    from studykit.checks import validate
    from studykit.package import write_descriptor

    write_descriptor(study)
    found = validate(study).findings
    return [(f.code, f.row, f.column) for f in found if f.file.startswith("data/qualitative/")]


def test_each_coding_fault_gives_one_finding_in_validate(tmp_path):
    codebook = CODEBOOK + "C2,Hope again,,\n,No id,,\n"  # duplicate id (row 5), blank id (row 6)
    rows = [
        ("S1", "INT-P001-T1", 0, 10, "C1", "R1", ""),
        ("S2", "INT-P001-T1", 0, 10, "ZZ", "R1", ""),  # unknown code
        ("S2", "INT-P001-T1", 0, 10, "C1", "R1", ""),  # duplicate segment id
        ("S4", "INT-P001-T1", "x", 10, "C1", "R1", ""),  # not a number
        ("S5", "INT-P001-T1", 0, 10, "C1", "R1", ""),
    ]
    study = coded_study(tmp_path, codebook=codebook, segments=segments_csv(rows))
    assert sorted(_validated(study)) == [
        ("QUAL010", 6, "code_id"),
        ("QUAL011", 5, "code_id"),
        ("QUAL020", 5, "start"),
        ("QUAL021", 4, "segment_id"),
        ("QUAL024", 3, "code"),
    ]


def test_unknown_column_and_latin1_coding_files_are_qual_findings(tmp_path):
    study = coded_study(tmp_path, segments="segment_id,transcript,start,end,code,coder,memo,colour\n")
    study.codebook_path.write_bytes("code_id,name,parent,definition\nC1,Café,,\n".encode("latin-1"))
    found = _validated(study)
    assert ("QUAL020", 1, "colour") in found
    assert ("QUAL010", None, None) in found
    assert not [code for code, _, _ in found if code.startswith("STR")]


def test_missing_coding_files_are_one_qual040_each_not_also_str001(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})  # a qualitative strand, nothing coded yet
    assert sorted(_validated(study)) == [("QUAL040", None, None), ("QUAL040", None, None)]


def test_spaces_around_a_value_in_the_codebook_are_str017_as_in_every_table(tmp_path):
    """One rule for spaces in every table: the coding files too, once per padded cell."""
    from studykit.checks import validate

    from tests.package.qual_study import CODEBOOK

    padded = CODEBOOK.replace("C2,Hope,,", "C2, Hope ,,")
    study = make_qual_study(tmp_path, codebook=padded)
    found = [
        [f.code, f.row, f.column]
        for f in validate(study).findings
        if f.file == "data/qualitative/codebook.csv" and f.code == "STR017"
    ]
    assert found == [["STR017", 4, "name"]]
