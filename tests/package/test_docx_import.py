"""Importing .docx transcripts (built here with python-docx) into the Markdown transcript format."""

from __future__ import annotations

import datetime as dt

import docx
import pytest
from studykit.errors import QualitativeDataError
from studykit.qual.docx_import import import_docx
from studykit.qual.transcripts import read_transcript

from tests.package.qual_study import make_qual_study

DAY = dt.date(2024, 2, 5)


def interview_docx(path, *, author=""):
    document = docx.Document()
    document.core_properties.author = author
    document.add_heading("Interview transcript", level=1)
    document.add_paragraph("Interviewer: How did the first month go?")
    document.add_paragraph("Respondent: Busier than I expected.")
    document.add_paragraph("The team made space for me, though.")
    paragraph = document.add_paragraph()
    paragraph.add_run("Interviewer:").bold = True
    paragraph.add_run(" What helped most?")
    document.add_paragraph("[00:12:30] Respondent: Supervision: every week.")
    document.add_paragraph("")
    document.save(path)
    return path


def test_import_docx_interview(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    source = interview_docx(tmp_path / "INT-P001-T1.docx")
    result = import_docx(study, source, kind="interview", wave="T1", date=DAY, participants=["P001"],
                         interviewer="R1", duration_minutes=40)  # fmt: skip
    transcript = read_transcript(result.output)
    assert result.output == study.transcripts_dir / "INT-P001-T1.md"
    assert transcript.body == (
        "Interview transcript\n"
        "\n"
        "**INT:** How did the first month go?\n"
        "\n"
        "**P001:** Busier than I expected.\n"
        "\n"
        "The team made space for me, though.\n"
        "\n"
        "**INT:** What helped most?\n"
        "\n"
        "**P001:** [00:12:30] Supervision: every week.\n"
    )
    assert [t.speaker for t in transcript.turns] == ["INT", "P001", "INT", "P001"]
    assert (transcript.id, transcript.kind, transcript.wave) == ("INT-P001-T1", "interview", "T1")
    assert (transcript.date, transcript.interviewer) == (DAY, "R1")
    assert (transcript.participants, transcript.duration_minutes) == (("P001",), 40)


def test_focus_group_table_and_speaker_map(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    lines = [("FAC", "What does peer support add?"), ("Kit", "Hope."), ("P003", "Another way to talk.")]
    for row, (who, words) in zip(table.rows, lines, strict=True):
        row.cells[0].text, row.cells[1].text = who, words
    source = tmp_path / "group.docx"
    document.save(source)
    result = import_docx(study, source, kind="focus group", wave="T2", date=DAY, transcript_id="FG-01-T2",
                         speakers={"Kit": "P002"})  # fmt: skip
    transcript = read_transcript(result.output)
    assert transcript.body == (
        "**FAC:** What does peer support add?\n\n**P002:** Hope.\n\n**P003:** Another way to talk.\n"
    )
    assert transcript.participants == ("P002", "P003")  # taken from who speaks


def test_unmapped_name_label_stops_the_import_and_writes_nothing(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.add_run("Zelda:").bold = True
    paragraph.add_run(" I have worked here two years.")
    source = tmp_path / "INT-X.docx"
    document.save(source)
    with pytest.raises(QualitativeDataError, match=r"cannot place: 'Zelda'.*--speaker Zelda=P001") as caught:
        import_docx(study, source, kind="interview", wave="T1", date=DAY)
    assert caught.value.path == source
    assert list(study.transcripts_dir.iterdir()) == []


def test_refuses_to_overwrite(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    source = interview_docx(tmp_path / "INT-P001-T1.docx")
    import_docx(study, source, kind="interview", wave="T1", date=DAY, participants=["P001"])
    with pytest.raises(QualitativeDataError, match="already exists"):
        import_docx(study, source, kind="interview", wave="T1", date=DAY, participants=["P001"])


def test_author_property_is_warned_about_not_copied(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    source = interview_docx(tmp_path / "INT-P001-T1.docx", author="Zelda Quorthwick")
    result = import_docx(study, source, kind="interview", wave="T1", date=DAY, participants=["P001"])
    assert any("properties name an author" in w for w in result.warnings)
    assert "Quorthwick" not in result.output.read_text(encoding="utf-8")


def test_tracked_changes_are_refused(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    document = docx.Document()
    paragraph = document.add_paragraph("Interviewer: hello")
    word = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    deleted = paragraph._p.makeelement(f"{word}del", {})
    paragraph._p.append(deleted)
    source = tmp_path / "tracked.docx"
    document.save(source)
    with pytest.raises(QualitativeDataError, match="has tracked changes"):
        import_docx(study, source, kind="interview", wave="T1", date=DAY)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"kind": "chat"}, "kind 'chat'"), ({"wave": "T9"}, "wave 'T9' is not a wave")],
)
def test_bad_options_are_named(tmp_path, changes, message):
    study = make_qual_study(tmp_path, transcripts={})
    source = interview_docx(tmp_path / "INT-P001-T1.docx")
    options = {"kind": "interview", "wave": "T1", "date": DAY, **changes}
    with pytest.raises(QualitativeDataError, match=message):
        import_docx(study, source, **options)


def test_not_a_docx(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    source = tmp_path / "notes.docx"
    source.write_text("plain text", encoding="utf-8")
    with pytest.raises(QualitativeDataError, match=r"not a readable Word \.docx"):
        import_docx(study, source, kind="interview", wave="T1", date=DAY)


def test_cli_import_docx(tmp_path):
    import json

    from studykit.cli import app
    from typer.testing import CliRunner

    study = make_qual_study(tmp_path, transcripts={})
    source = interview_docx(tmp_path / "interview.docx")
    args = [
        "qual", "import-docx", str(source), "--kind", "interview", "--wave", "T1", "--date", "2024-02-05",
        "--id", "INT-P001-T1", "-p", "P001", "--speaker", "Respondent=P001", "-C", str(study.root),
    ]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["speakers"] == ["INT", "P001"]
    assert read_transcript(study.transcripts_dir / "INT-P001-T1.md").date == DAY
    bad = CliRunner().invoke(app, [*args[:-2], "--speaker", "nonsense", "-C", str(study.root)])
    assert bad.exit_code == 2
    assert "is not LABEL=ID" in bad.stderr


def _first_week_docx(path, layout):
    """The same interview as a new team types it: plain paragraphs, bold labels, or a two-column table."""
    lines = [("Interviewer", "How are things at work?"), ("Jo", "Good, my manager Sarah Blake helps a lot.")]
    document = docx.Document()
    if layout == "table":
        table = document.add_table(rows=len(lines), cols=2)
        for row, (who, words) in zip(table.rows, lines, strict=True):
            row.cells[0].text, row.cells[1].text = who, words
    for who, words in lines if layout != "table" else ():
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{who}:").bold = layout == "bold"
        paragraph.add_run(f" {words}")
    document.save(path)
    return path


@pytest.mark.parametrize("layout", ["plain", "bold", "table"])
def test_unknown_speaker_label_stops_the_import_in_every_layout(tmp_path, layout):
    study = make_qual_study(tmp_path, transcripts={})
    source = _first_week_docx(tmp_path / "INT-P001-T1.docx", layout)
    with pytest.raises(QualitativeDataError, match=r"cannot place: 'Jo'.*--speaker Jo=P001"):
        import_docx(study, source, kind="interview", wave="T1", date=DAY, participants=["P001"])
    assert list(study.transcripts_dir.iterdir()) == []


@pytest.mark.parametrize("layout", ["plain", "bold", "table"])
def test_mapped_speaker_gets_their_own_turn_in_every_layout(tmp_path, layout):
    study = make_qual_study(tmp_path, transcripts={})
    source = _first_week_docx(tmp_path / "INT-P001-T1.docx", layout)
    result = import_docx(study, source, kind="interview", wave="T1", date=DAY, speakers={"Jo": "P001"})
    transcript = read_transcript(result.output)
    assert [t.speaker for t in transcript.turns] == ["INT", "P001"]
    assert "Jo:" not in transcript.body


def test_lower_case_text_before_a_colon_continues_the_turn(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    document = docx.Document()
    document.add_paragraph("Interviewer: What mattered?")
    document.add_paragraph("P001: Three things.")
    document.add_paragraph("first of all: being listened to.")
    source = tmp_path / "INT-P001-T1.docx"
    document.save(source)
    result = import_docx(study, source, kind="interview", wave="T1", date=DAY)
    assert read_transcript(result.output).body.endswith(
        "**P001:** Three things.\n\nfirst of all: being listened to.\n"
    )
