"""Transcripts: front matter, body offsets, speaker turns, atomic writing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studykit.errors import QualitativeDataError
from studykit.qual.transcripts import (
    load_transcripts,
    parse_turns,
    read_transcript,
    speaker_at,
    speakers_at,
    turn_text,
    write_transcript,
)

from tests.package.qual_study import (
    FOCUS_GROUP_BODY,
    INTERVIEW_BODY,
    front_matter,
    make_qual_study,
    span,
    transcript_text,
)


def test_read_transcript_gives_front_matter_body_and_turns(tmp_path):
    study = make_qual_study(tmp_path)
    transcript = read_transcript(study.transcripts_dir / "INT-P001-T1.md")
    assert transcript.id == "INT-P001-T1"
    assert transcript.kind == "interview"
    assert transcript.wave == "T1"
    assert transcript.date == dt.date(2024, 2, 5)
    assert transcript.interviewer == "R1"
    assert transcript.participants == ("P001",)
    assert transcript.duration_minutes == 42
    assert transcript.body == INTERVIEW_BODY
    assert [t.speaker for t in transcript.turns] == ["INT", "P001", "INT", "P001"]
    first = transcript.turns[1]
    assert transcript.body[first.start : first.end].startswith("**P001:** It was busier")
    assert first.is_participant
    assert not transcript.turns[0].is_participant


def test_body_offsets_are_code_points_not_bytes(tmp_path):
    body = "**P001:** Café — naïve 😀 words.\n"
    study = make_qual_study(
        tmp_path, transcripts={"T-1": transcript_text(front_matter("T-1"), body)}
    )
    transcript = read_transcript(study.transcripts_dir / "T-1.md")
    start, end = span(body, "words")
    assert transcript.text(start, end) == "words"
    assert len(transcript) == len(body)


def test_crlf_line_endings_are_kept_so_offsets_match_the_file(tmp_path):
    body = "**INT:** Question?\r\n\r\n**P001:** Answer.\r\n"
    text = transcript_text(front_matter("T-1"), "").replace("\n", "\r\n") + body
    study = make_qual_study(tmp_path, transcripts={"T-1": text})
    transcript = read_transcript(study.transcripts_dir / "T-1.md")
    assert transcript.body == body
    assert [t.speaker for t in transcript.turns] == ["INT", "P001"]
    start, end = span(body, "Answer.")
    assert speaker_at(transcript, start, end) == "P001"


def test_unlabelled_paragraph_continues_the_turn_and_a_heading_ends_it():
    body = "# Interview\n\n**P001:** One.\n\nTwo.\n\n# Notes\n\nloose\n\n**P002**: Three.\n"
    turns = parse_turns(body)
    assert [(t.speaker, body[t.start : t.end]) for t in turns] == [
        ("P001", "**P001:** One.\n\nTwo."),
        ("P002", "**P002**: Three."),
    ]


def test_speaker_at_requires_one_turn_and_speakers_at_lists_all(tmp_path):
    study = make_qual_study(tmp_path)
    transcript = read_transcript(study.transcripts_dir / "FG-01-T2.md")
    inside = span(FOCUS_GROUP_BODY, "Hope, mostly.")
    assert speaker_at(transcript, *inside) == "P002"
    across = (FOCUS_GROUP_BODY.index("possible."), FOCUS_GROUP_BODY.index("As a manager") + 5)
    assert speaker_at(transcript, *across) is None
    assert speakers_at(transcript, *across) == ["P002", "P003"]
    assert speaker_at(transcript, 5, 5) is None


def test_turn_text_drops_the_label(tmp_path):
    study = make_qual_study(tmp_path)
    transcript = read_transcript(study.transcripts_dir / "FG-01-T2.md")
    turn = transcript.turns[1]
    expected = "Hope, mostly. People see that recovery is possible."
    assert turn_text(transcript, turn.start, turn.end) == expected


def test_load_transcripts_sorted_by_file_name(tmp_path):
    study = make_qual_study(tmp_path)
    assert [t.id for t in load_transcripts(study)] == ["FG-01-T2", "INT-P001-T1"]


def test_load_transcripts_without_folder_is_empty(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    study.transcripts_dir.rmdir()
    assert load_transcripts(study) == []


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("id: x\n---\nbody", 1, "does not start with a '---' line"),
        ("---\nid: x\nbody", 1, "no closing '---' line"),
        ("---\nid: x\nkind: [unclosed\n---\nbody", 4, "not valid YAML"),
        ("---\n- a list\n---\nbody", 2, "not a mapping"),
        ("---\nid: T-1\nkind: chat\nwave: T1\ndate: 2024-02-05\n---\n", 3, "'kind'"),
        ("---\nid: T-1\nkind: interview\nwave: T1\n---\n", 1, "'date' is missing"),
        ("---\nid: T-1\nkind: interview\nwave: T1\ndate: 5th May\n---\n", 5, "'date'"),
    ],
)
def test_bad_front_matter_names_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "T-1.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QualitativeDataError, match=message) as caught:
        read_transcript(path)
    assert caught.value.path == path
    assert caught.value.key == f"line {line}"
    assert "docs/qualitative.md" in str(caught.value)


def test_missing_transcript_is_a_clear_error(tmp_path):
    with pytest.raises(QualitativeDataError, match="is missing"):
        read_transcript(tmp_path / "nope.md")


def test_write_transcript_round_trips_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out" / "T-9.md"
    meta = front_matter("T-9", date=dt.date(2024, 2, 5))
    write_transcript(path, meta, INTERVIEW_BODY)
    transcript = read_transcript(path)
    assert transcript.body == INTERVIEW_BODY
    assert transcript.front_matter()["date"] == dt.date(2024, 2, 5)
    assert "date: 2024-02-05\n" in path.read_text(encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(QualitativeDataError, match="already exists"):
        write_transcript(path, meta, "**P001:** changed\n")
    assert path.read_bytes() == before
    write_transcript(path, meta, "**P001:** changed\n", replace=True)
    assert read_transcript(path).body == "**P001:** changed\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["T-9.md"]  # no temporary files left


def test_write_transcript_refuses_invalid_front_matter_and_writes_nothing(tmp_path):
    path = tmp_path / "T-9.md"
    with pytest.raises(QualitativeDataError, match="'kind'"):
        write_transcript(path, front_matter("T-9", kind="chat"), "text")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_extra_front_matter_keys_are_kept(tmp_path):
    path = tmp_path / "T-9.md"
    write_transcript(path, front_matter("T-9", transcriber="R2"), "x\n")
    assert read_transcript(path).extra == {"transcriber": "R2"}


PARAGRAPHS = st.lists(
    st.tuples(
        st.sampled_from(["**P001:** ", "**INT:** ", "**FG012**: ", "", "# "]),
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30),
    ),
    max_size=8,
)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paragraphs=PARAGRAPHS, newline=st.sampled_from(["\n", "\r\n"]))
def test_body_round_trips_and_turns_stay_inside_it(tmp_path, paragraphs, newline):
    body = (newline * 2).join(label + text for label, text in paragraphs) + newline
    path = tmp_path / "T-1.md"
    write_transcript(path, front_matter("T-1"), body, replace=True)
    transcript = read_transcript(path)
    assert transcript.body == body
    previous_end = -1
    for turn in transcript.turns:
        assert previous_end < turn.start < turn.end <= len(body)
        assert body.startswith("**", turn.start)
        previous_end = turn.end
