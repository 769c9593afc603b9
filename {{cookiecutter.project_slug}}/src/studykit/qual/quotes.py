"""Exemplar quotations for a theme, only from participants who consented to being quoted.

A coded segment can be quoted when it lies wholly inside one participant's turn
(so it can be attributed, also in focus groups) and the consent filter allows
``direct_quotation`` for that participant: consent was in force on the date of
the transcript, the latest consent still includes quotation, and no withdrawal
asks for the data to be removed. Every quotation carries its source reference
(transcript id, start, end, speaker), so a report can cite it and an erasure can
find it.
"""

from __future__ import annotations

from dataclasses import dataclass

from studykit.errors import QualitativeDataError
from studykit.governance.consent_filter import ConsentFilter
from studykit.qual.coding import Segment, load_codebook, load_segments, load_themes, theme_codes
from studykit.qual.transcripts import PARTICIPANT_ID, Transcript, load_transcripts, speaker_at, turn_text
from studykit.study import Study

QUOTATION_SCOPE = "direct_quotation"


@dataclass(frozen=True)
class Quote:
    theme: str
    transcript: str
    start: int
    end: int
    speaker: str
    text: str
    code: str
    segment_id: str
    wave: str
    kind: str

    @property
    def reference(self) -> str:
        """``transcript:start-end (speaker)``: where the quotation comes from."""
        return f"{self.transcript}:{self.start}-{self.end} ({self.speaker})"


def may_quote(consent: ConsentFilter, participant_id: str, transcript: Transcript) -> bool:
    """Quotation consent in force when the data were collected and still now, and no removal due."""
    return (
        consent.allows(participant_id, QUOTATION_SCOPE, on=transcript.date)
        and consent.allows(participant_id, QUOTATION_SCOPE)
        and not consent.removes(participant_id, transcript.date)
    )


def quotable_segments(study: Study, theme_id: str) -> list[tuple[Segment, Transcript, str]]:
    """Every segment of a theme that may be quoted, with its transcript and speaker, in file order."""
    themes = {t.id: t for t in load_themes(study)}
    if theme_id not in themes:
        known = ", ".join(themes) or "none"
        msg = f"has no theme {theme_id!r}"
        raise QualitativeDataError(msg, path=study.themes_path, fix=f"Use one of the theme ids: {known}.")
    codes = set(theme_codes(themes[theme_id], load_codebook(study)))
    transcripts = {t.id: t for t in load_transcripts(study)}
    consent = ConsentFilter.from_study(study)
    found: list[tuple[Segment, Transcript, str]] = []
    for segment in load_segments(study):
        transcript = transcripts.get(segment.transcript)
        if segment.code not in codes or transcript is None or segment.end > len(transcript):
            continue
        speaker = speaker_at(transcript, segment.start, segment.end)
        if speaker is None or not PARTICIPANT_ID.match(speaker):
            continue  # spans several turns, or a researcher's words: not attributable to one participant
        if may_quote(consent, speaker, transcript):
            found.append((segment, transcript, speaker))
    return found


def exemplar_quotes(study: Study, theme_id: str, *, limit: int = 3) -> list[Quote]:
    """Up to ``limit`` quotations for a theme, one per participant before any participant's second.

    Deterministic: segments are taken in the order of segments.csv.
    """
    candidates = quotable_segments(study, theme_id)
    chosen: list[tuple[Segment, Transcript, str]] = []
    spans: set[tuple[str, int, int]] = set()
    speakers: set[str] = set()
    for first_pass in (True, False):
        for segment, transcript, speaker in candidates:
            span = (transcript.id, segment.start, segment.end)
            if len(chosen) >= limit or span in spans or (first_pass and speaker in speakers):
                continue
            chosen.append((segment, transcript, speaker))
            spans.add(span)
            speakers.add(speaker)
    return [
        Quote(
            theme=theme_id,
            transcript=transcript.id,
            start=segment.start,
            end=segment.end,
            speaker=speaker,
            text=turn_text(transcript, segment.start, segment.end),
            code=segment.code,
            segment_id=segment.segment_id,
            wave=transcript.wave,
            kind=transcript.kind,
        )
        for segment, transcript, speaker in chosen
    ]
