"""Import: a REFI-QDA project or codebook into the study's transcripts, codebook and segments.

Mapping (docs/qualitative-exchange.md):

- ``Code`` -> a ``codebook.csv`` row (``code_id`` a slug of the name, made unique;
  nested codes give ``parent``; ``Description`` -> ``definition``).
- ``TextSource`` -> ``transcripts/<id>.md`` (the plain text is the body; its
  variables are the front matter, other variables kept as extra front-matter keys).
- ``PlainTextSelection`` x ``Coding`` -> one ``segments.csv`` row each
  (``coder`` = the user's name; notes linked to the selection or coding -> ``memo``).
- ``Case`` named like a participant id and linked by ``SourceRef`` -> the
  transcript's ``participants``; other case variables -> ``refi-cases.csv``.
- GUIDs go to ``refi-ids.csv`` (kind, id, guid), so exporting again keeps them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from studykit._yaml import SAFE_LOADER
from studykit.qual.coding import CODEBOOK_COLUMNS, SEGMENT_COLUMNS
from studykit.qual.exchange import (
    IDS_COLUMNS,
    ExchangeSummary,
    code_rows,
    codebook_files,
    commit_import,
    csv_text,
    known_by_guid,
    number_segments,
    strip_extension,
    unique,
)
from studykit.qual.refi.align import SourceText, counts_utf16, utf16_positions
from studykit.qual.refi.model import RefiCase, RefiProject, RefiSource
from studykit.qual.refi.reader import read_qdc, read_qdpx
from studykit.qual.transcripts import KINDS, PARTICIPANT_ID, parse_transcript, render_transcript
from studykit.study import Study

CASES_COLUMNS = ("case", "participant_id", "variable", "value")
FRONT_MATTER_KEYS = ("id", "kind", "wave", "date", "interviewer", "participants", "duration_minutes")


def _transcript_id(name: str, taken: set[str]) -> str:
    stem = strip_extension(name)
    # Transcript ids allow letters, digits, '_', '.' and '-' (transcripts.FrontMatter).
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem.strip()).strip("-_.") or "transcript"
    return unique(value, taken, "-")


def _front_matter(
    source: RefiSource, transcript_id: str, study: Study, project: RefiProject, cases: list[RefiCase]
) -> tuple[dict[str, object], list[str]]:
    """Front matter from what the project knows; the rest defaulted, each default named for the user."""
    values = source.variables
    check: list[str] = []
    kind = values.get("kind")
    if kind not in KINDS:
        kind = "interview"
        check.append("kind (set to interview)")
    wave = values.get("wave")
    if not wave:
        tokens = set(re.split(r"[^A-Za-z0-9]+", source.name))
        found = [w for w in study.wave_ids if w in tokens]
        wave = found[0] if len(found) == 1 else "unknown"
        check.append(f"wave (set to {wave})")
    date = values.get("date")
    try:
        date_value = dt.date.fromisoformat((date or "")[:10])
    except ValueError:
        stamp = source.created or project.created or ""
        try:
            date_value = dt.date.fromisoformat(stamp[:10])
            check.append(f"date (set to {date_value}, when the source was added to the QDA project)")
        except ValueError:
            date_value = dt.datetime.now(dt.UTC).date()
            check.append(f"date (set to today, {date_value})")
    participants = [p.strip() for p in values.get("participants", "").split(",") if p.strip()]
    if not participants:
        participants = [
            c.name for c in cases if source.guid in c.sources and c.name and PARTICIPANT_ID.match(c.name)
        ]
    front: dict[str, object] = {"id": transcript_id, "kind": kind, "wave": wave, "date": date_value}
    if values.get("interviewer"):
        front["interviewer"] = values["interviewer"]
    front["participants"] = participants
    if (minutes := values.get("duration_minutes", "")).isdigit():
        front["duration_minutes"] = int(minutes)
    for name, value in values.items():
        if name not in FRONT_MATTER_KEYS:
            front[name] = _typed(value, source.variable_types.get(name, "Text"))
    return front, check


def _typed(value: str, kind: str) -> object:
    """A variable's value as front matter holds it: booleans and numbers typed, lists as lists."""
    if kind == "Boolean":
        return value.strip().lower() in ("true", "1")
    if kind == "Date":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    if kind in ("Integer", "Float"):
        try:
            return int(value) if kind == "Integer" else float(value)
        except ValueError:
            return value
    if kind == "Text" and value[:1] in ("[", "{"):
        # studykit exports a list or mapping as YAML flow text; read it back as one.
        try:
            parsed = yaml.load(value, Loader=SAFE_LOADER)
        except yaml.YAMLError:
            return value
        return parsed if isinstance(parsed, list | dict) else value
    return value


def _memo(*parts: Iterable[str]) -> str | None:
    seen = list(dict.fromkeys(m for group in parts for m in group if m))
    return "\n\n".join(seen) or None


def plan_project_import(
    study: Study, project: RefiProject, source: Path
) -> tuple[dict[Path, bytes], ExchangeSummary]:
    """The files an import of ``project`` would write, and its summary. Writes nothing."""
    summary = ExchangeSummary("import", source, warnings=list(project.warnings), notes=list(project.notes))
    by_guid = known_by_guid(study)
    code_ids, codebook, ids = code_rows(study, project.codes)

    files: dict[Path, bytes] = {}
    segments: list[dict[str, object]] = []
    transcript_ids: set[str] = set()
    unknown_codes = 0
    uncoded = 0
    participants_seen: set[str] = set()
    for refi in project.sources:
        previous = by_guid.get(("transcript", refi.guid.lower()))
        transcript_id = (
            previous
            if previous and previous not in transcript_ids
            else _transcript_id(refi.name, transcript_ids)
        )
        transcript_ids.add(transcript_id)
        original = refi.text or ""
        indexed = SourceText(original)
        body = indexed.text
        if body != original:
            summary.notes.append(f"{transcript_id}: line endings converted to LF; offsets mapped accordingly")
        front, check = _front_matter(refi, transcript_id, study, project, project.cases)
        participants_seen.update(str(p) for p in front["participants"])  # type: ignore[attr-defined]
        if check:
            summary.warnings.append(f"{transcript_id}: check the front matter: {', '.join(check)}")
        path = study.transcripts_dir / f"{transcript_id}.md"
        text = render_transcript(front, body)
        parse_transcript(text, path)  # never write a transcript studykit could not read back
        files[path] = text.encode("utf-8")
        ids.append({"kind": "transcript", "id": transcript_id, "guid": refi.guid})

        moved: list[str] = []
        use_units = refi.selections and counts_utf16(refi, project.origin)
        to_points = utf16_positions(original) if use_units else None
        if to_points:
            summary.notes.append(
                f"{transcript_id}: positions read as UTF-16 code units (characters beyond U+FFFF, such as "
                "emoji, count twice, as NVivo counts them) and converted to code points"
            )
        for selection in refi.selections:
            start, end = selection.start, selection.end
            if to_points:
                start, end = to_points(start), to_points(end)
            placed = indexed.align(start, end, selection.name)
            if isinstance(placed, str):
                summary.warnings.append(
                    f"{transcript_id}: selection {selection.guid} ({len(selection.codings)} coding(s)) "
                    f"not imported: {placed}"
                )
                continue
            if placed.how:
                moved.append(
                    f"{selection.start}..{selection.end} -> {placed.start}..{placed.end} ({placed.how})"
                )
            if placed.end <= placed.start:
                summary.warnings.append(f"{transcript_id}: empty selection {selection.guid} not imported")
                continue
            if not selection.codings:
                uncoded += 1
            for coding in selection.codings:
                if coding.code not in code_ids:
                    unknown_codes += 1
                    continue
                segments.append(
                    {
                        "transcript": transcript_id,
                        "start": placed.start,
                        "end": placed.end,
                        "code": code_ids[coding.code],
                        "coder": project.users.get(coding.user or "", coding.user),
                        "memo": _memo(coding.memos, selection.memos),
                        "_selection": selection.guid,
                        "_coding": coding.guid,
                    }
                )
        for coding in refi.whole_codings:
            if coding.code in code_ids and body:
                segments.append(
                    {
                        "transcript": transcript_id,
                        "start": 0,
                        "end": len(body),
                        "code": code_ids[coding.code],
                        "coder": project.users.get(coding.user or "", coding.user),
                        "memo": _memo(coding.memos),
                        "_selection": None,
                        "_coding": coding.guid,
                    }
                )
                summary.notes.append(
                    f"{transcript_id}: a coding of the whole document became a segment of the body"
                )
        if moved:
            summary.warnings.append(
                f"{transcript_id}: {len(moved)} selection(s) re-aligned; check them: " + "; ".join(moved)
            )
    if unknown_codes:
        summary.warnings.append(f"{unknown_codes} coding(s) point to codes not in the codebook; not imported")
    if uncoded:
        summary.warnings.append(f"{uncoded} selection(s) without a code not imported (segments need a code)")

    number_segments(segments)
    for row in segments:
        if row["_selection"]:
            ids.append({"kind": "selection", "id": row["segment_id"], "guid": row["_selection"]})
        ids.append({"kind": "coding", "id": row["segment_id"], "guid": row["_coding"]})
    users = sorted({str(r["coder"]) for r in segments if r["coder"]})
    by_name = {name: guid for guid, name in project.users.items()}
    ids += [{"kind": "user", "id": u, "guid": by_name[u]} for u in users if u in by_name]

    case_rows: list[dict[str, object]] = []
    for case in project.cases:
        name = case.name or case.guid
        participant = name if PARTICIPANT_ID.match(name) else None
        if participant:
            ids.append({"kind": "case", "id": participant, "guid": case.guid})
        elif case.sources:
            summary.warnings.append(
                f"case {name!r} is not shaped like a participant id (e.g. P001): "
                "not added to any transcript's "
                "participants"
            )
        case_rows += [
            {"case": name, "participant_id": participant, "variable": k, "value": v}
            for k, v in case.values.items()
        ]
    files[study.codebook_path] = csv_text(CODEBOOK_COLUMNS, codebook).encode("utf-8")
    files[study.segments_path] = csv_text(SEGMENT_COLUMNS, segments).encode("utf-8")
    files[study.refi_ids_path] = csv_text(IDS_COLUMNS, [r for r in ids if r["guid"]]).encode("utf-8")
    if case_rows:
        files[study.refi_cases_path] = csv_text(CASES_COLUMNS, case_rows).encode("utf-8")
        summary.notes.append(
            f"{len(case_rows)} case variable value(s) written to {study.refi_cases_path.name} "
            "(compare them with participants.csv)"
        )
    summary.counts = {
        "codes": len(codebook),
        "transcripts": len(project.sources),
        "segments": len(segments),
        "coders": len(users),
        "participants": len(participants_seen),
        "cases": len(project.cases),
    }
    return files, summary


def import_qdpx(study: Study, path: Path, *, replace: bool = False, by: str | None = None) -> ExchangeSummary:
    """Import a REFI-QDA project into the study's transcripts, codebook and segments."""
    project = read_qdpx(path)
    files, summary = plan_project_import(study, project, Path(path))
    return commit_import(study, files, summary, replace=replace, by=by)


def import_qdc(study: Study, path: Path, *, replace: bool = False, by: str | None = None) -> ExchangeSummary:
    """Import a REFI-QDA codebook (``.qdc``, from any tool, Taguette included) into ``codebook.csv``."""
    codes, origin = read_qdc(path)
    summary = ExchangeSummary("import", Path(path))
    if origin and origin.lower().startswith("taguette"):
        summary.notes.append("Taguette codebook: its tags are flat, each tag path became one code")
    files, more = codebook_files(study, codes)
    summary.warnings += more
    summary.counts = {"codes": len(codes)}
    return commit_import(study, files, summary, replace=replace, by=by)
