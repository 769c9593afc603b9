"""Exemplar quotations: only attributable segments, only with quotation consent, with their source."""

from __future__ import annotations

import pytest
from studykit.errors import QualitativeDataError
from studykit.qual.quotes import exemplar_quotes

from tests.package.qual_study import (
    CODEBOOK,
    FOCUS_GROUP_BODY,
    INTERVIEW_BODY,
    THEMES,
    front_matter,
    make_qual_study,
    segments_csv,
    span,
    transcript_text,
)

CONSENT_HEADER = (
    "participant_id,form_version,consented_on,participate,audio_recording,direct_quotation,archiving,"
    "future_contact\n"
)
ACROSS = (FOCUS_GROUP_BODY.index("possible."), FOCUS_GROUP_BODY.index("As a") + 4)  # P002 into P003
NO_WITHDRAWALS = "participant_id,withdrawn_on,reason,scope\n"
SECOND_INTERVIEW = "**INT:** Anything else?\n\n**P001:** Supervision kept me going.\n"


def consent(*rows: str) -> str:
    return CONSENT_HEADER + "".join(f"{r}\n" for r in rows)


ALL_CONSENT = consent(
    "P001,1.0,2024-01-08,yes,yes,yes,yes,",
    "P002,1.0,2024-01-08,yes,yes,yes,yes,",
    "P003,1.0,2024-01-15,yes,yes,yes,yes,",
)


def quote_study(tmp_path, consent_text=ALL_CONSENT, withdrawals=NO_WITHDRAWALS, rows=None):
    transcripts = {
        "INT-P001-T1": transcript_text(front_matter("INT-P001-T1"), INTERVIEW_BODY),
        "INT-P001-T2": transcript_text(
            front_matter("INT-P001-T2", wave="T2", date="2024-06-03"), SECOND_INTERVIEW
        ),
        "FG-01-T2": transcript_text(
            front_matter(
                "FG-01-T2", kind="focus group", wave="T2", date="2024-05-20", participants=["P002", "P003"]
            ),
            FOCUS_GROUP_BODY,
        ),
    }
    if rows is None:
        rows = [
            ("S1", "INT-P001-T1", *span(INTERVIEW_BODY, "Supervision every week."), "C1.1", "R1", ""),
            ("S2", "INT-P001-T2", *span(SECOND_INTERVIEW, "Supervision kept me going."), "C1.1", "R1", ""),
            ("S3", "FG-01-T2", *span(FOCUS_GROUP_BODY, "As a manager I notice the team"), "C1", "R2", ""),
            ("S4", "FG-01-T2", *span(FOCUS_GROUP_BODY, "Hope, mostly."), "C2", "R2", ""),
            # researcher's words, and a span across two speakers: never quotable
            ("S5", "INT-P001-T1", *span(INTERVIEW_BODY, "What helped most?"), "C1", "R1", ""),
            ("S6", "FG-01-T2", *ACROSS, "C1", "R2", ""),
        ]
    files = {
        "governance/consent.csv": consent_text,
        "governance/withdrawals.csv": withdrawals,
        "governance/ethics.yml": "",
    }
    return make_qual_study(
        tmp_path,
        transcripts=transcripts,
        codebook=CODEBOOK,
        segments=segments_csv(rows),
        themes=THEMES,
        extra_files=files,
    )


def test_quotes_come_with_their_source_one_per_participant_first(tmp_path):
    quotes = exemplar_quotes(quote_study(tmp_path), "support")
    assert [(q.transcript, q.speaker, q.text, q.segment_id) for q in quotes] == [
        ("INT-P001-T1", "P001", "Supervision every week.", "S1"),
        ("FG-01-T2", "P003", "As a manager I notice the team", "S3"),
        ("INT-P001-T2", "P001", "Supervision kept me going.", "S2"),
    ]
    first = quotes[0]
    assert (first.start, first.end) == span(INTERVIEW_BODY, "Supervision every week.")
    assert first.reference == f"INT-P001-T1:{first.start}-{first.end} (P001)"
    assert (first.theme, first.code, first.wave, first.kind) == ("support", "C1.1", "T1", "interview")


def test_limit(tmp_path):
    assert [q.segment_id for q in exemplar_quotes(quote_study(tmp_path), "support", limit=1)] == ["S1"]


def test_no_quotation_consent_no_quote(tmp_path):
    text = consent(
        "P001,1.0,2024-01-08,yes,yes,,yes,",  # participation yes, quotation blank: default deny
        "P002,1.0,2024-01-08,yes,yes,yes,yes,",
        "P003,1.0,2024-01-15,yes,yes,yes,yes,",
    )
    assert [q.speaker for q in exemplar_quotes(quote_study(tmp_path, text), "support")] == ["P003"]


def test_quotation_consent_must_be_in_force_at_the_interview(tmp_path):
    text = consent(
        "P001,1.0,2024-01-08,yes,yes,,yes,",
        "P001,2.0,2024-04-01,yes,yes,yes,yes,",  # quotation only from April: T1 interview (Feb) excluded
        "P003,1.0,2024-01-15,yes,yes,yes,yes,",
    )
    quotes = exemplar_quotes(quote_study(tmp_path, text), "support")
    assert [(q.transcript, q.speaker) for q in quotes] == [("INT-P001-T2", "P001"), ("FG-01-T2", "P003")]


def test_later_withdrawal_of_quotation_consent_removes_quotes(tmp_path):
    text = consent(
        "P001,1.0,2024-01-08,yes,yes,yes,yes,",
        "P001,2.0,2024-09-01,yes,yes,,yes,",  # re-consent without quotation
        "P003,1.0,2024-01-15,yes,yes,yes,yes,",
    )
    assert [q.speaker for q in exemplar_quotes(quote_study(tmp_path, text), "support")] == ["P003"]


def test_removal_request_removes_quotes(tmp_path):
    withdrawals = "participant_id,withdrawn_on,reason,scope\nP003,2024-06-10,moved on,remove all data\n"
    quotes = exemplar_quotes(quote_study(tmp_path, withdrawals=withdrawals), "support")
    assert "P003" not in {q.speaker for q in quotes}


def test_researcher_words_and_cross_turn_spans_are_never_quoted(tmp_path):
    quotes = exemplar_quotes(quote_study(tmp_path), "support", limit=10)
    assert {q.segment_id for q in quotes} == {"S1", "S2", "S3"}


def test_unknown_theme_is_an_error(tmp_path):
    with pytest.raises(QualitativeDataError, match=r"has no theme 'nope'.*support, hope"):
        exemplar_quotes(quote_study(tmp_path), "nope")
