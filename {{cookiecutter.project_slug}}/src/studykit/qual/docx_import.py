"""Turn a typical Word (.docx) transcript into studykit's Markdown transcript format.

Reads paragraphs and two-column tables (speaker | words) in document order with
``python-docx``. A paragraph that starts with a speaker label (``Interviewer:``,
``P001:``, ``Jo:`` bold or plain: up to three capitalised words before a colon) starts
a turn; other paragraphs continue the turn before them. Labels become studykit speakers:

- participant ids (``P001``) stay as they are;
- ``Interviewer``/``Int``/``I``/``Researcher`` become ``INT``, ``Facilitator``/``Moderator``
  become ``FAC``, ``Note``/``Notes`` become ``NOTE``;
- ``Respondent``/``Participant``/``Interviewee`` become the participant when exactly one is present;
- any other label (often a first name) must be mapped with ``speakers={"Jo": "P001"}``
  (``--speaker Jo=P001``): the import stops rather than write a name into the data.

Documents with tracked changes are refused (deleted text can hide identifiers, and
inserted text would be lost), and the document's author properties are not copied.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from studykit.errors import MissingToolError, QualitativeDataError
from studykit.qual.transcripts import KINDS, PARTICIPANT_ID, transcript_target, write_transcript
from studykit.study import Study

RESEARCHER_LABELS = {
    "interviewer": "INT", "int": "INT", "i": "INT", "researcher": "INT", "q": "INT",
    "facilitator": "FAC", "fac": "FAC", "moderator": "FAC", "mod": "FAC",
    "note": "NOTE", "notes": "NOTE", "observer": "NOTE",
}  # fmt: skip
PARTICIPANT_LABELS = {"respondent", "participant", "interviewee", "r", "a"}
LABEL = re.compile(r"^(?P<label>[A-Za-z][A-Za-z0-9 .'_-]{0,24}?)\s*:\s*(?P<text>.*)$", re.DOTALL)
# Up to three capitalised words or an id ("Jo", "Sarah B.", "Dr Blake", "P001"): in plain text too,
# that is how a speaker is written, so it starts a turn (and an unknown one stops the import).
NAME_LIKE = re.compile(r"^[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,2}$")
TIMESTAMP = re.compile(r"^\s*(?P<stamp>\[?\(?\d{1,2}:\d{2}(?::\d{2})?\)?\]?)\s*")
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass(frozen=True)
class Block:
    """A paragraph (or table row) of the document: its text and whether it opens with bold text."""

    text: str
    bold_start: bool = False
    label: str | None = None


@dataclass
class DocxImport:
    """A converted document: the body, the speakers found, and what the user should know."""

    body: str
    speakers: list[str]
    warnings: list[str] = field(default_factory=list)
    output: Path | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "output": self.output.as_posix() if self.output else None,
            "speakers": list(self.speakers),
            "paragraphs": self.body.count("\n\n") + 1,
            "warnings": list(self.warnings),
        }


def _docx():
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - python-docx is a declared dependency
        msg = "reading .docx files needs python-docx"
        raise MissingToolError(msg, fix="Install it: pip install python-docx") from exc
    return docx


def _paragraph_block(paragraph) -> Block:
    runs = [r for r in paragraph.runs if r.text.strip()]
    bold = bool(runs) and bool(runs[0].bold)
    return Block(paragraph.text, bold)


def read_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """Paragraphs and table rows of a .docx in order, plus warnings about the file itself."""
    docx = _docx()
    try:
        document = docx.Document(str(path))
    except FileNotFoundError as exc:
        msg = "is missing"
        raise QualitativeDataError(msg, path=path, fix="Check the path of the .docx file.") from exc
    except Exception as exc:  # python-docx raises several types for a file that is not a .docx
        msg = f"is not a readable Word .docx file ({type(exc).__name__})"
        raise QualitativeDataError(
            msg, path=path, fix="Open it in Word or LibreOffice and save it as .docx (Word 2007-365)."
        ) from exc
    body = document.element.body
    if body.find(f".//{W_NS}ins") is not None or body.find(f".//{W_NS}del") is not None:
        msg = "has tracked changes"
        raise QualitativeDataError(
            msg,
            path=path,
            fix="Accept or reject all changes in Word (Review > Accept/Reject) and save before importing; "
            "deleted text can still hold identifiers.",
        )
    warnings: list[str] = []
    props = document.core_properties
    if props.author or props.last_modified_by:
        warnings.append(
            "the .docx file's properties name an author; they were not copied, but remove them from the "
            "original too before sharing it (Word: File > Info > Inspect Document)"
        )
    if body.find(f".//{W_NS}commentReference") is not None:
        warnings.append("the .docx file has comments; they were not imported")
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if hasattr(item, "runs"):
            blocks.append(_paragraph_block(item))
            continue
        for row in item.rows:
            cells = [c.text.strip() for c in row.cells]
            cells = [c for i, c in enumerate(cells) if c and c not in cells[:i]]  # merged cells repeat
            if len(cells) >= 2 and len(cells[0]) <= 25 and ":" not in cells[0][:-1]:
                blocks.append(Block(" ".join(cells[1:]), label=cells[0].rstrip(":")))
            elif cells:
                blocks.append(Block(" ".join(cells)))
    return blocks, warnings


def _speaker(label: str, mapping: Mapping[str, str], participants: list[str]) -> str | None:
    """The studykit speaker for a label, or None when it is not a speaker label we can place."""
    clean = " ".join(label.split()).strip(".")
    for key, value in mapping.items():
        if key.casefold() == clean.casefold():
            return value
    if PARTICIPANT_ID.match(clean.upper()) and clean.upper() == clean:
        return clean
    lowered = clean.casefold()
    if lowered in RESEARCHER_LABELS:
        return RESEARCHER_LABELS[lowered]
    if lowered in PARTICIPANT_LABELS and len(participants) == 1:
        return participants[0]
    return None


def _clean(text: str) -> str:
    text = text.replace("\r", "").replace("\u00a0", " ")
    text = re.sub(r"\n\s*\n+", "\n", text).strip()  # a soft line break never makes a new paragraph
    return "\\" + text if text.startswith("#") else text  # not a Markdown heading


def convert_blocks(
    blocks: Iterable[Block], *, speakers: Mapping[str, str] | None = None, participants: Iterable[str] = ()
) -> DocxImport:
    """Build a transcript body from document blocks. Raises if a label cannot be placed."""
    mapping = dict(speakers or {})
    present = list(participants)
    paragraphs: list[str] = []
    found: list[str] = []
    unplaced: dict[str, None] = {}
    warnings: list[str] = []
    for block in blocks:
        text = block.text.strip()
        if not text and block.label is None:
            continue
        stamp = ""
        if block.label is None and (m := TIMESTAMP.match(text)):
            stamp, text = m["stamp"] + " ", text[m.end() :]
        label, words = block.label, text
        if label is None and (m := LABEL.match(text)):
            candidate = m["label"].strip("* ")
            speaker = _speaker(candidate, mapping, present)
            if speaker is not None or block.bold_start or NAME_LIKE.match(candidate):
                label, words = candidate, m["text"]
        if label is None:
            if not paragraphs:
                warnings.append("text before the first speaker label was kept as an unattributed paragraph")
            paragraphs.append(_clean(stamp + words))
            continue
        speaker = _speaker(label, mapping, present)
        if speaker is None:
            unplaced[label] = None
            continue
        if speaker not in found:
            found.append(speaker)
        paragraphs.append(f"**{speaker}:** {_clean(stamp + words)}".rstrip())
    if unplaced:
        labels = ", ".join(repr(u) for u in unplaced)
        example = next(iter(unplaced))
        msg = f"has speaker labels studykit cannot place: {labels}"
        raise QualitativeDataError(
            msg,
            fix=f"Map each to a participant id or INT/FAC/NOTE, e.g. --speaker {example}=P001 "
            "(names must not reach the transcript). If one is ordinary text that starts with a word and "
            "a colon, join that paragraph to the one before it in Word.",
        )
    body = "\n\n".join(p for p in paragraphs if p) + "\n"
    return DocxImport(body, found, warnings)


def import_docx(
    study: Study,
    docx_path: Path | str,
    *,
    kind: str,
    wave: str,
    date: dt.date,
    transcript_id: str | None = None,
    interviewer: str | None = None,
    participants: Iterable[str] = (),
    duration_minutes: int | None = None,
    speakers: Mapping[str, str] | None = None,
    output: Path | str | None = None,
) -> DocxImport:
    """Convert a .docx transcript and write it (default: the study's transcripts folder, ``<id>.md``).

    Never overwrites an existing transcript. Participants present default to the
    participant ids that speak in the document.
    """
    source = Path(docx_path)
    if kind not in KINDS:
        msg = f"kind {kind!r} is not one of {', '.join(KINDS)}"
        fix = "Pass --kind interview, --kind 'focus group' or --kind 'event notes'."
        raise QualitativeDataError(msg, fix=fix)
    if study.wave(wave) is None:
        msg = f"wave {wave!r} is not a wave of study.yml ({', '.join(study.wave_ids)})"
        raise QualitativeDataError(msg, path=study.study_file, fix="Pass --wave with one of those ids.")
    present = list(participants)
    blocks, warnings = read_blocks(source)
    try:
        result = convert_blocks(blocks, speakers=speakers, participants=present)
    except QualitativeDataError as exc:
        raise QualitativeDataError(exc.message, path=source, fix=exc.fix) from exc
    spoken = [s for s in result.speakers if PARTICIPANT_ID.match(s)]
    if not present:
        present = spoken
    else:
        missing = [s for s in spoken if s not in present]
        if missing:
            result.warnings.append(f"{', '.join(missing)} speak but were not listed as participants present")
    identifier = transcript_id or source.stem
    front: dict[str, object] = {"id": identifier, "kind": kind, "wave": wave, "date": date}
    if interviewer:
        front["interviewer"] = interviewer
    front["participants"] = present
    if duration_minutes is not None:
        front["duration_minutes"] = duration_minutes
    target = Path(output) if output is not None else study.transcripts_dir / f"{identifier}.md"
    result.output = write_transcript(transcript_target(study, target), front, result.body)
    result.warnings[:0] = warnings
    return result
