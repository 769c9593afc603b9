"""Transcripts: Markdown files with YAML front matter and speaker turns.

A transcript file looks like::

    ---
    id: INT-P001-T1
    kind: interview
    wave: T1
    date: 2024-03-04
    interviewer: R1
    participants: [P001]
    duration_minutes: 48
    ---
    **INT:** How did the first month go?

    **P001:** Busier than I expected.

The *body* is the text after the closing ``---`` line and its newline. Coded
segments index the body in Unicode code points (0-based, end exclusive), so the
body is kept byte for byte as written (no newline translation). Each paragraph
(text between blank lines) that begins with ``**LABEL:**`` starts a turn; an
unlabelled paragraph continues the turn before it, so a long answer may span
paragraphs. A label shaped like a participant id (``P001``) is a participant;
any other label (``INT``, ``FAC``, ``NOTE``) is a researcher or a note.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studykit._yaml import load_yaml, shown
from studykit.errors import ExistingDataError, QualitativeDataError
from studykit.files import is_inside, link_outside, study_relative, write_file
from studykit.study import PARTICIPANT_ID, Study

Kind = Literal["interview", "focus group", "event notes"]
KINDS: tuple[str, ...] = ("interview", "focus group", "event notes")
# ``**P001:**`` as documented; ``**P001**:`` is tolerated because word processors and
# hand editing produce it often and it is unambiguous.
TURN_LABEL = re.compile(r"\*\*(?P<speaker>[A-Za-z][A-Za-z0-9_-]*)(?::\*\*|\*\*:)[ \t]*")
_BLANK_LINES = re.compile(r"(?:\r?\n)(?:[ \t]*\r?\n)+")
FRONT_MATTER_FIX = "See docs/qualitative.md for the front matter every transcript needs."


class FrontMatter(BaseModel):
    """The YAML front matter of a transcript. Unknown keys are kept, not rejected."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    kind: Kind
    wave: str
    date: dt.date
    interviewer: str | None = None
    participants: list[Annotated[str, Field(min_length=1)]] = []
    duration_minutes: Annotated[int, Field(ge=0)] | None = None


@dataclass(frozen=True)
class Turn:
    """One speaker's turn: ``start``/``end`` are body code points, from the label to the last character."""

    speaker: str
    start: int
    end: int

    @property
    def is_participant(self) -> bool:
        """True when the label is shaped like a participant id (researchers use other labels)."""
        return bool(PARTICIPANT_ID.match(self.speaker))


@dataclass(frozen=True, eq=False)
class Transcript:
    """A transcript read from disk: its front matter, its body and the turns in the body."""

    id: str
    path: Path
    kind: Kind
    wave: str
    date: dt.date
    interviewer: str | None
    participants: tuple[str, ...]
    duration_minutes: int | None
    body: str
    turns: tuple[Turn, ...]
    body_line: int = 1
    """The file line (1-based) on which the body starts."""
    extra: Mapping[str, object] = field(default_factory=dict)
    """Front matter keys studykit does not interpret, kept as read."""
    key_lines: Mapping[str, int] = field(default_factory=dict)
    """The file line (1-based) on which each front matter key is written, and each participant id
    listed under ``participants`` (as ``participants/<id>``), for findings to point at."""

    def __len__(self) -> int:
        return len(self.body)

    def line_of(self, offset: int) -> int:
        """The file line (1-based, as an editor shows it) holding body code point ``offset``."""
        return self.body_line + self.body.count("\n", 0, max(0, offset))

    def text(self, start: int, end: int) -> str:
        return self.body[start:end]

    def front_matter(self) -> dict[str, object]:
        """The front matter as a plain mapping, in the documented key order."""
        data: dict[str, object] = {
            "id": self.id,
            "kind": self.kind,
            "wave": self.wave,
            "date": self.date,
            "interviewer": self.interviewer,
            "participants": list(self.participants),
            "duration_minutes": self.duration_minutes,
        }
        data = {k: v for k, v in data.items() if v is not None}
        data.update(self.extra)
        return data


def _error(message: str, path: Path, line: int | None, fix: str = FRONT_MATTER_FIX) -> QualitativeDataError:
    exc = QualitativeDataError(message, path=path, key=f"line {line}" if line else None, fix=fix)
    exc.line = line  # type: ignore[attr-defined]  # checks turn this into a finding's row
    return exc


def error_line(exc: QualitativeDataError) -> int | None:
    """The file line a ``QualitativeDataError`` from this module points at, if any."""
    return getattr(exc, "line", None)


def parse_turns(body: str) -> tuple[Turn, ...]:
    """Split a body into turns: a labelled paragraph starts one, an unlabelled one continues it."""
    turns: list[Turn] = []
    position = 0
    for separator in [*_BLANK_LINES.finditer(body), None]:
        stop = separator.start() if separator else len(body)
        paragraph = body[position:stop]
        lead = len(paragraph) - len(paragraph.lstrip())
        text_start = position + lead
        text_end = position + len(paragraph.rstrip())
        if text_end > text_start:
            label = TURN_LABEL.match(body, text_start, text_end)
            if label:
                turns.append(Turn(label["speaker"], text_start, text_end))
            elif turns and not body.startswith("#", text_start):
                # A paragraph without a label carries on the previous turn; a heading ends it.
                turns[-1] = Turn(turns[-1].speaker, turns[-1].start, text_end)
            elif turns:
                turns.append(Turn("", text_start, text_start))  # a break: later paragraphs are unattributed
        position = separator.end() if separator else len(body)
    return tuple(t for t in turns if t.speaker)


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """Return (front matter YAML, body, first file line of the body); raises if it is not delimited."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n").rstrip() != "---":
        msg = "does not start with a '---' line opening the YAML front matter"
        raise _error(msg, path, 1)
    offset = len(lines[0])
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip("\r\n").rstrip() == "---":
            return text[len(lines[0]) : offset], text[offset + len(line) :], number + 1
        offset += len(line)
    msg = "has no closing '---' line after its YAML front matter"
    raise _error(msg, path, 1)


def _key_line(yaml_text: str, key: object) -> int | None:
    """The line (1-based within the front matter) where a top-level key is written."""
    if not isinstance(key, str):
        return None
    for number, line in enumerate(yaml_text.splitlines(), start=1):
        if re.match(rf"{re.escape(key)}\s*:", line):
            return number
    return None


def _sentence(error: dict) -> str:
    loc = ".".join(str(part) for part in error["loc"]) or "(front matter)"
    if error["type"] == "missing":
        return f"front matter key {loc!r} is missing"
    message = re.sub(r"^Value error, ", "", error["msg"])
    return f"front matter key {loc!r}: {message[0].lower()}{message[1:]} (got {shown(error.get('input'))})"


def parse_transcript(text: str, path: Path) -> Transcript:
    """Parse the text of a transcript file; ``path`` is used for messages and ``Transcript.path``."""
    yaml_text, body, body_line = split_front_matter(text, path)
    try:
        data = load_yaml(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1  # +1 for 1-based, +1 for the opening '---'
        msg = f"front matter is not valid YAML ({getattr(exc, 'problem', exc)})"
        raise _error(msg, path, line) from exc
    if not isinstance(data, dict):
        msg = "front matter is not a mapping of keys to values"
        raise _error(msg, path, 2)
    try:
        meta = FrontMatter.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key_line = _key_line(yaml_text, first["loc"][0] if first["loc"] else None)
        line = key_line + 1 if key_line else 1
        problems = "; ".join(_sentence(e) for e in exc.errors())
        raise _error(problems, path, line) from exc
    return Transcript(
        id=meta.id,
        path=path,
        kind=meta.kind,
        wave=meta.wave,
        date=meta.date,
        interviewer=meta.interviewer,
        participants=tuple(meta.participants),
        duration_minutes=meta.duration_minutes,
        body=body,
        turns=parse_turns(body),
        body_line=body_line,
        extra=dict(meta.model_extra or {}),
        key_lines=_key_lines(yaml_text, data, meta.participants),
    )


def _key_lines(yaml_text: str, data: Mapping[str, object], participants: list[str]) -> dict[str, int]:
    """File lines of the front matter's keys and of each listed participant (``---`` is line 1)."""
    found = {key: line + 1 for key in data if isinstance(key, str) and (line := _key_line(yaml_text, key))}
    lines = yaml_text.splitlines()
    start = found.get("participants")
    if start is not None:
        for pid in participants:
            word = re.compile(rf"\b{re.escape(pid)}\b")
            at = next((n for n in range(start - 2, len(lines)) if word.search(lines[n])), None)
            found[f"participants/{pid}"] = at + 2 if at is not None else start
    return found


def refuse_outside_link(path: Path, root: Path) -> None:
    """Raise when ``path`` is a link whose target lies outside ``root`` (the study): never read it."""
    target = path.resolve()
    if target.is_relative_to(root.resolve()):
        return
    msg = f"is a link to {target.as_posix()}, outside the study; studykit does not read it"
    raise _error(
        msg, path, None, fix="Copy the transcript into the study, or remove the link if it does not belong."
    )


def read_transcript(path: Path | str, *, root: Path | None = None) -> Transcript:
    """Read one transcript. Raises ``QualitativeDataError`` naming the file and line of any problem.

    With ``root`` (the study folder), a transcript that is a link to a file outside it is refused
    unread, so data from elsewhere never enters checks, exports or a deposit.
    """
    path = Path(path)
    if root is not None:
        refuse_outside_link(path, root)
    try:
        # newline="" keeps line endings as written: segment offsets count them.
        with path.open(encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError as exc:
        msg = "is missing"
        raise _error(msg, path, None, fix="Check the transcript's file name.") from exc
    except UnicodeDecodeError as exc:
        msg = "is not UTF-8 text"
        raise _error(msg, path, None, fix="Save it as UTF-8 (plain text, Markdown).") from exc
    except OSError as exc:
        msg = f"cannot be read ({exc.strerror})"
        raise _error(msg, path, None, fix="Check its permissions.") from exc
    return parse_transcript(text, path)


def transcript_paths(study: Study) -> list[Path]:
    """Every ``*.md`` file in the study's transcripts folder, sorted by name.

    A link leading outside the study is left out, never read: validate reports it (INT006).
    """
    folder = study.transcripts_dir
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.md") if p.is_file() and link_outside(study.root, p) is None)


def load_transcripts(study: Study) -> list[Transcript]:
    """Read every transcript of a study, sorted by file name; raises on the first unreadable one.

    A transcript that is a link leading outside the study is refused, never silently left
    out: an export or a quote table without it would lose data without a word.
    """
    folder = study.transcripts_dir
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        refuse_outside_link(path, study.root)
    return [read_transcript(p, root=study.root) for p in transcript_paths(study)]


def render_transcript(front_matter: Mapping[str, object], body: str) -> str:
    """The text of a transcript file: front matter between ``---`` lines, then the body verbatim."""
    data = dict(front_matter)
    if isinstance(data.get("date"), str):
        # An ISO date given as text is written as a YAML date, as a hand-written file would have it.
        with contextlib.suppress(ValueError):  # left as text if not a date: validation reports it
            data["date"] = dt.date.fromisoformat(data["date"])
    dumped = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)
    return f"---\n{dumped}---\n{body}"


def write_transcript(
    path: Path | str,
    front_matter: Mapping[str, object],
    body: str,
    *,
    replace: bool = False,
    validate: bool = True,
) -> Path:
    """Write a transcript atomically; refuse to overwrite an existing file unless ``replace=True``.

    With ``validate`` (the default) the text is parsed back first, so a file that
    studykit could not read is never written.
    """
    path = Path(path)
    if path.exists() and not replace:
        raise _exists(path)
    text = render_transcript(front_matter, body)
    if validate:
        parse_transcript(text, path)
    try:
        return write_file(path, text, new=not replace)
    except ExistingDataError as exc:  # the name was taken meanwhile
        raise _exists(path) from exc


def transcript_target(study: Study, path: Path) -> Path:
    """Where a command may write a new transcript (``--out``): a ``.md`` file in the study's
    transcripts folder, or anywhere outside the study.

    Elsewhere in the study (``instruments/``, ``governance/``, ``reports/``) a transcript would
    be committed with the study but never checked for identifiers or consent.
    """
    if is_inside(path, study.root) and not (is_inside(path, study.transcripts_dir) and path.suffix == ".md"):
        folder = study_relative(study, study.transcripts_dir)
        msg = (
            f"is in the study but not a .md file in {folder}/: a transcript there would be committed "
            "without the identifier and consent checks"
        )
        fix = f"Leave out --out (the default is {folder}/<id>.md), or write the file outside the study."
        raise QualitativeDataError(msg, path=path, fix=fix)
    return path


def _exists(path: Path) -> QualitativeDataError:
    return QualitativeDataError(
        "already exists; studykit does not overwrite transcripts",
        path=path,
        fix="Choose another output path, or move the existing file away first.",
    )


def turns_overlapping(transcript: Transcript, start: int, end: int) -> list[Turn]:
    """The turns that share at least one code point with ``[start, end)``."""
    return [t for t in transcript.turns if t.start < end and start < t.end]


def speakers_at(transcript: Transcript, start: int, end: int) -> list[str]:
    """Distinct speakers of the turns a span overlaps, in order of appearance."""
    return list(dict.fromkeys(t.speaker for t in turns_overlapping(transcript, start, end)))


def speaker_at(transcript: Transcript, start: int, end: int) -> str | None:
    """The one speaker whose turn wholly contains ``[start, end)``; None if it spans turns or none."""
    for turn in transcript.turns:
        if turn.start <= start and end <= turn.end and start < end:
            return turn.speaker
    return None


def turn_text(transcript: Transcript, start: int, end: int) -> str:
    """The text of a span with a leading speaker label removed (for quoting)."""
    text = transcript.body[start:end]
    label = TURN_LABEL.match(text)
    return (text[label.end() :] if label else text).strip()
