"""Write a pseudonymised copy of a transcript, with a pseudonym map and an anonymisation log.

Follows the UK Data Service's advice on anonymising qualitative data:

- replace identifiers with visible, bracketed pseudonyms (``[Name1]``, ``[Email1]``), never blanks;
- use the same pseudonym for the same person everywhere: the *map* file (CSV
  ``original,kind,pseudonym``) is read before and extended after each run, so every
  transcript pseudonymised with one map agrees. A person reviews the map: a blank
  pseudonym means "not an identifier, keep it", and rows added by hand (a workplace,
  a town) are replaced wherever they appear;
- keep the unedited original: the transcript is never edited in place and an existing
  output is never overwritten;
- keep an anonymisation log of every replacement, stored apart from the data. The map
  and the log hold real identifiers, so both must live outside the study folder
  (by default in ``../<slug>-anonymisation/``), never be reached through a link, and
  stay out of git: a map or log in a git work tree that git does not ignore is warned about.

The map, the log and the copy are staged together and moved into place map first, so a
failure never leaves a pseudonymised copy whose pseudonyms the map does not record.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from studykit.errors import QualitativeDataError
from studykit.files import git_exposed, is_inside, refuse_unsafe_target, write_file, write_files
from studykit.qual.coding import parse_segments
from studykit.qual.identifiers import (
    find_identifiers,
    name_variants,
    read_identity_key,
    resolve_key_path,
)
from studykit.qual.transcripts import parse_transcript, read_transcript, render_transcript, transcript_target
from studykit.study import Study

MAP_COLUMNS = ("original", "kind", "pseudonym")
LOG_NAME = "anonymisation-log.csv"
LOG_COLUMNS = (
    "logged_at", "transcript", "source", "output", "line", "start", "end", "kind", "original", "replacement",
)  # fmt: skip
PREFIX = {
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "postcode": "Postcode",
    "nhs_number": "NHSNumber",
    "date_of_birth": "DateOfBirth",
    "url": "URL",
}


@dataclass
class MapEntry:
    original: str
    kind: str
    pseudonym: str
    """Blank: reviewed, not an identifier, left as it is."""


@dataclass
class PseudonymMap:
    """Originals (whitespace-normalised) to pseudonyms, in file order."""

    entries: dict[str, MapEntry] = field(default_factory=dict)

    def get(self, original: str) -> MapEntry | None:
        return self.entries.get(_normal(original))

    def add(self, original: str, kind: str, pseudonym: str) -> MapEntry:
        entry = MapEntry(_normal(original), kind, pseudonym)
        self.entries[entry.original] = entry
        return entry

    def next_pseudonym(self, kind: str) -> str:
        prefix = PREFIX.get(kind, "Redacted")
        used = [
            int(m[1])
            for e in self.entries.values()
            if (m := re.fullmatch(rf"\[{re.escape(prefix)}(\d+)\]", e.pseudonym))
        ]
        return f"[{prefix}{max(used, default=0) + 1}]"


@dataclass(frozen=True)
class Replacement:
    line: int
    start: int
    end: int
    kind: str
    original: str
    pseudonym: str


@dataclass(frozen=True)
class PseudonymiseResult:
    """What a run did: the files it wrote and every replacement (originals included: keep it private)."""

    source: Path
    output: Path
    log: Path
    map_path: Path
    replacements: list[Replacement]
    kept: int
    """Candidates left unchanged because the map marks them as not identifying."""
    new_map_entries: int
    warnings: list[str]

    def to_dict(self) -> dict[str, object]:
        """Counts and paths only: the originals stay in the log outside the study."""
        return {
            "source": self.source.as_posix(),
            "output": self.output.as_posix(),
            "log": self.log.as_posix(),
            "map": self.map_path.as_posix(),
            "replacements": dict(sorted(Counter(r.kind for r in self.replacements).items())),
            "kept": self.kept,
            "new_map_entries": self.new_map_entries,
            "warnings": list(self.warnings),
        }


def _normal(text: str) -> str:
    return " ".join(text.split())


def read_map(path: Path) -> PseudonymMap:
    """Read a pseudonym map; a file that does not exist yet is an empty map."""
    mapping = PseudonymMap()
    if not path.is_file():
        return mapping
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"original", "pseudonym"} <= set(reader.fieldnames or []):
            msg = "pseudonym map lacks the columns original and pseudonym"
            raise QualitativeDataError(msg, path=path, fix="Its header row must be: original,kind,pseudonym.")
        for row in reader:
            original = _normal(row.get("original") or "")
            if original:
                kind, pseudonym = (row.get("kind") or "other").strip(), (row.get("pseudonym") or "").strip()
                mapping.add(original, kind, pseudonym)
    return mapping


def _csv_text(columns: tuple[str, ...], rows: list[dict[str, object]], *, header: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def map_text(mapping: PseudonymMap) -> str:
    """The pseudonym map as CSV (``original,kind,pseudonym``)."""
    rows: list[dict[str, object]] = [
        {"original": e.original, "kind": e.kind, "pseudonym": e.pseudonym} for e in mapping.entries.values()
    ]
    return _csv_text(MAP_COLUMNS, rows)


def write_map(path: Path, mapping: PseudonymMap) -> None:
    write_file(path, map_text(mapping))


def default_log_dir(study: Study) -> Path:
    """``../<slug>-anonymisation/`` next to the study folder."""
    return study.root.resolve().parent / f"{study.slug}-anonymisation"


def _outside_study(study: Study, path: Path, what: str, option: str) -> None:
    """Refuse a private file inside the study, by its name or through a link."""
    if is_inside(path, study.root):
        msg = f"the {what} would be inside the study folder, but it holds real identifiers"
        raise QualitativeDataError(
            msg, path=path, fix=f"Pass {option} with a path outside the study (it must never be deposited)."
        )


def _git_warning(path: Path, what: str) -> str | None:
    tree = git_exposed(path)
    if tree is None:
        return None
    return (
        f"the {what} {path.as_posix()} is inside the git repository {tree.as_posix()} and git does not "
        "ignore it: a commit would publish the real identifiers it holds. Move it out of the repository, "
        "or add it to that repository's .gitignore."
    )


def _identity_names(study: Study, warnings: list[str]) -> list[str]:
    configured = study.governance.identity_key
    if configured is None:
        return []
    try:
        return sorted(set(read_identity_key(resolve_key_path(configured, study.root)).values()))
    except QualitativeDataError as exc:
        warnings.append(f"{exc.sentence()} Names from the identity key were not searched.")
        return []


def _manual_spans(body: str, mapping: PseudonymMap) -> list[tuple[int, int, MapEntry]]:
    """Where the map's hand-added originals occur (whole words, any spacing)."""
    spans = []
    for entry in sorted(mapping.entries.values(), key=lambda e: len(e.original), reverse=True):
        words = r"\s+".join(re.escape(w) for w in entry.original.split())
        for m in re.finditer(rf"(?<![\w-]){words}(?![\w-])", body):
            spans.append((m.start(), m.end(), entry))
    return spans


def plan_replacements(
    body: str, mapping: PseudonymMap, names: list[str], *, first_line: int = 1
) -> tuple[list[Replacement], int, int]:
    """Decide every replacement for a body, extending ``mapping``; returns (replacements, kept, new entries).

    Names take the pseudonym of the person they belong to, so "Zelda", "Quorthwick"
    and "Zelda Quorthwick" all become the same ``[NameN]``.
    """
    owner = name_variants(names)
    chosen: list[tuple[int, int, str, MapEntry]] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return not any(start < e and s < end for s, e in taken)

    for start, end, entry in _manual_spans(body, mapping):
        if free(start, end):
            taken.append((start, end))
            chosen.append((start, end, entry.kind, entry))
    new_entries = 0
    for match in find_identifiers(body, names=names):
        if not free(match.start, match.end):
            continue
        original = _normal(body[match.start : match.end])
        entry = mapping.get(original)
        if entry is None:
            person = owner.get(original) if match.kind == "name" else None
            person_entry = mapping.get(person) if person else None
            if person_entry is None:
                pseudonym = mapping.next_pseudonym(match.kind)
                if person and person != original:
                    mapping.add(person, "name", pseudonym)
                    new_entries += 1
            else:
                pseudonym = person_entry.pseudonym
            entry = mapping.add(original, match.kind, pseudonym)
            new_entries += 1
        taken.append((match.start, match.end))
        chosen.append((match.start, match.end, match.kind, entry))
    replacements: list[Replacement] = []
    kept = 0
    for start, end, kind, entry in sorted(chosen, key=lambda c: c[0]):
        if not entry.pseudonym:
            kept += 1
            continue
        line = first_line + body.count("\n", 0, start)
        replacements.append(Replacement(line, start, end, kind, body[start:end], entry.pseudonym))
    return replacements, kept, new_entries


def apply_replacements(body: str, replacements: list[Replacement]) -> str:
    """The body with each replacement made (they do not overlap)."""
    parts: list[str] = []
    position = 0
    for r in sorted(replacements, key=lambda r: r.start):
        parts.append(body[position : r.start])
        parts.append(r.pseudonym)
        position = r.end
    parts.append(body[position:])
    return "".join(parts)


def _log_text(path: Path, rows: list[dict[str, object]]) -> str:
    """The anonymisation log with ``rows`` appended (earlier lines are kept as they are)."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    return old + _csv_text(LOG_COLUMNS, rows, header=not old)


def pseudonymise_transcript(
    study: Study,
    transcript_path: Path | str,
    *,
    map_path: Path | str,
    output: Path | str | None = None,
    log_dir: Path | str | None = None,
) -> PseudonymiseResult:
    """Write a pseudonymised copy of a transcript and log every replacement outside the study.

    The copy goes to ``output`` (default: the study's transcripts folder, ``<id>.md``);
    the original is never changed and an existing file is never overwritten.
    """
    source = Path(transcript_path)
    transcript = read_transcript(source)
    map_file = Path(map_path)
    logs = Path(log_dir) if log_dir is not None else default_log_dir(study)
    target = transcript_target(
        study, Path(output) if output is not None else study.transcripts_dir / f"{transcript.id}.md"
    )
    _outside_study(study, map_file, "pseudonym map", "--map")
    _outside_study(study, logs, "anonymisation log", "--log-dir")
    log = logs / LOG_NAME
    for path in (map_file, log, target):
        refuse_unsafe_target(path, study.root if is_inside(path, study.root) else None)
    if target.resolve() == source.resolve():
        msg = "the pseudonymised copy would replace the original; studykit never edits a transcript in place"
        raise QualitativeDataError(msg, path=source, fix="Pass --out with another path for the copy.")
    if target.exists():
        msg = "already exists; studykit does not overwrite transcripts"
        raise QualitativeDataError(msg, path=target, fix="Choose another --out path, or move that file away.")

    warnings: list[str] = []
    names = _identity_names(study, warnings)
    mapping = read_map(map_file)
    replacements, kept, new_entries = plan_replacements(
        transcript.body, mapping, names, first_line=transcript.body_line
    )
    body = apply_replacements(transcript.body, replacements)
    front = transcript.front_matter()
    front["pseudonymised"] = True
    text = render_transcript(front, body)
    parse_transcript(text, target)  # never write a copy studykit could not read back

    segments, _ = parse_segments(study.segments_path)
    coded = sum(1 for s in segments if s.transcript == transcript.id)
    if coded and replacements:
        warnings.append(
            f"{coded} coded segment(s) refer to transcript {transcript.id!r}; their offsets count the "
            "original text, not the pseudonymised copy. Pseudonymise before coding, or recode the copy."
        )
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    rows: list[dict[str, object]] = [
        {
            "logged_at": now,
            "transcript": transcript.id,
            "source": source.resolve().as_posix(),
            "output": target.resolve().as_posix(),
            "line": r.line,
            "start": r.start,
            "end": r.end,
            "kind": r.kind,
            "original": r.original,
            "replacement": r.pseudonym,
        }
        for r in replacements
    ]
    # Map first, then the log, then the copy: a failure part-way never leaves a copy without its map.
    write_files({map_file: map_text(mapping), log: _log_text(log, rows), target: text}, new=[target])
    exposed = (_git_warning(map_file, "pseudonym map"), _git_warning(log, "anonymisation log"))
    warnings.extend(w for w in exposed if w)
    return PseudonymiseResult(source, target, log, map_file, replacements, kept, new_entries, warnings)
