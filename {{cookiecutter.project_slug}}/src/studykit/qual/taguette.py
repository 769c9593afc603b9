"""Taguette exchange: import a Taguette codebook (CSV or QDC) and its highlights (CSV).

Taguette has no REFI-QDA project export. It exports its codebook as
``codebook.csv`` (``tag, description, number of highlights, number of documents``)
or ``codebook.qdc`` (flat: each code's name is the full tag path), and its
highlights as CSV (``id, document, tag, content``: one row per highlight and
tag). Highlights carry their text but no positions, so each one is found in the
body of the transcript named by ``document`` to get ``start``/``end``; a
highlight that cannot be found (or not in one place) is reported, never guessed
silently. A Taguette ``.qdc`` codebook is REFI-QDA: ``studykit.qual.exchange.import_file`` sends it
to the REFI-QDA adapter; this adapter never imports that one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from studykit.errors import DataReadError, QualitativeDataError
from studykit.qual.coding import CODEBOOK_COLUMNS, SEGMENT_COLUMNS, parse_codebook
from studykit.qual.exchange import (
    IDS_COLUMNS,
    ExchangeCode,
    ExchangeSummary,
    code_rows,
    codebook_files,
    commit_import,
    csv_text,
    has_rows,
    number_segments,
    read_ids,
    strip_extension,
)
from studykit.qual.transcripts import Transcript, load_transcripts
from studykit.study import Study
from studykit.tables import read_text_table, spreadsheet_row

# Taguette's own namespace for codebook GUIDs (taguette/export.py): uuid5(this, tag path), upper case.
TAGUETTE_NAMESPACE = uuid.UUID("51B2B2B7-27EB-4ECB-9D56-E75B0A0496C2")
NAME_COLUMNS = ("tag", "name", "path")
HIGHLIGHT_COLUMNS = ("id", "document", "tag", "content")
TAGUETTE_FIX = "Export it again from Taguette (Export codebook / Export highlights, as CSV)."


def tag_guid(path: str) -> str:
    """The GUID Taguette gives a tag in its QDC export, so both imports agree."""
    return str(uuid.uuid5(TAGUETTE_NAMESPACE, path)).upper()


@dataclass(frozen=True)
class Highlight:
    """One row of a Taguette highlights export (one highlight, one tag)."""

    id: str
    document: str
    tag: str | None
    content: str
    row: int


def _columns(header: list[str]) -> dict[str, str]:
    """Lower-cased column name -> column as written (Taguette capitalises in some versions)."""
    return {h.strip().lower(): h for h in header}


def read_codebook_csv(path: Path) -> list[ExchangeCode]:
    """Codes of a Taguette ``codebook.csv``: a ``tag`` (or ``name``, ``path``) column, ``description``."""
    table = read_text_table(path)
    columns = _columns(table.header)
    name_column = next((columns[c] for c in NAME_COLUMNS if c in columns), None)
    if name_column is None:
        msg = f"has no tag column (looked for {', '.join(NAME_COLUMNS)}; found {', '.join(table.header)})"
        raise QualitativeDataError(msg, path=path, key="row 1", fix=TAGUETTE_FIX)
    description = columns.get("description")
    codes: dict[str, ExchangeCode] = {}
    for raw in table.frame.to_dicts():
        name = (raw.get(name_column) or "").strip()
        if name and name not in codes:
            text = (raw.get(description) or "").strip() if description else ""
            codes[name] = ExchangeCode(guid=tag_guid(name), name=name, parent=None, description=text)
    if not codes:
        msg = "holds no tags"
        raise QualitativeDataError(msg, path=path, fix=TAGUETTE_FIX)
    return list(codes.values())


def read_highlights_csv(path: Path) -> list[Highlight]:
    """Rows of a Taguette highlights export; a missing column is an error naming it."""
    table = read_text_table(path)
    columns = _columns(table.header)
    missing = [c for c in HIGHLIGHT_COLUMNS if c not in columns]
    if missing:
        msg = f"is not a Taguette highlights export: it lacks the column(s) {', '.join(missing)}"
        raise QualitativeDataError(msg, path=path, key="row 1", fix=TAGUETTE_FIX)
    found = []
    for index, raw in enumerate(table.frame.to_dicts()):
        found.append(
            Highlight(
                id=(raw.get(columns["id"]) or "").strip(),
                document=(raw.get(columns["document"]) or "").strip(),
                tag=(raw.get(columns["tag"]) or "").strip() or None,
                content=raw.get(columns["content"]) or "",
                row=spreadsheet_row(index),
            )
        )
    return found


def locate(body: str, content: str) -> list[tuple[int, int]]:
    """Every place ``content`` occurs in ``body``, ignoring differences in whitespace and Markdown emphasis.

    Taguette turns highlighted HTML into plain text, so line breaks become spaces
    or newlines and the ``**P001:**`` speaker labels lose their asterisks.
    """
    words = content.replace("*", " ").split()
    if not words:
        return []
    pattern = re.compile(r"[\s*_]+".join(re.escape(w) for w in words))
    return [(m.start(), m.end()) for m in pattern.finditer(body)]


def _document_index(transcripts: list[Transcript]) -> dict[str, Transcript]:
    """Transcripts by the names a Taguette document may carry: the id, the file name, lower-cased."""
    index: dict[str, Transcript] = {}
    for transcript in transcripts:
        for name in (transcript.id, transcript.path.stem, transcript.path.name):
            index.setdefault(name.lower(), transcript)
    return index


def _find_transcript(document: str, index: dict[str, Transcript]) -> Transcript | None:
    name = strip_extension(document.strip().lower())
    return index.get(name) or index.get(re.sub(r"[^a-z0-9_.-]+", "-", name).strip("-"))


def _code_lookup(study: Study) -> dict[str, str]:
    """Code id by tag: Taguette tags match a code's name (or id), case-insensitively."""
    book, problems = parse_codebook(study.codebook_path)
    if problems:
        first = problems[0]
        raise QualitativeDataError(first.message, path=first.file, key=f"row {first.row}", fix=first.fix)
    lookup: dict[str, str] = {}
    for code in book:
        lookup.setdefault(code.name.strip().lower(), code.code_id)
        lookup.setdefault(code.code_id.lower(), code.code_id)
    return lookup


def import_highlights(
    study: Study, path: Path, *, replace: bool = False, coder: str | None = None, by: str | None = None
) -> ExchangeSummary:
    """Import Taguette highlights as coded segments of the study's transcripts.

    Tags are matched to codes by name; when the study has no codebook yet, the tags
    become its codebook. Highlights whose document is not a transcript, whose text
    is not in it, or whose tag is not a code are reported and not imported.
    """
    path = Path(path)
    summary = ExchangeSummary("import", path)
    highlights = read_highlights_csv(path)
    transcripts = load_transcripts(study)
    index = _document_index(transcripts)
    files: dict[Path, bytes] = {}

    lookup = _code_lookup(study) if has_rows(study.codebook_path) else {}
    if not lookup:
        tags = list(dict.fromkeys(h.tag for h in highlights if h.tag))
        codes = [ExchangeCode(guid=tag_guid(t), name=t, parent=None, description="") for t in tags]
        code_ids, codebook, ids = code_rows(study, codes)
        lookup = {c.name.lower(): code_ids[c.guid] for c in codes}
        kept = [{"kind": k, "id": i, "guid": g} for (k, i), g in read_ids(study).items() if k != "code"]
        if codes:
            files[study.codebook_path] = csv_text(CODEBOOK_COLUMNS, codebook).encode("utf-8")
            files[study.refi_ids_path] = csv_text(IDS_COLUMNS, [*ids, *kept]).encode("utf-8")
            summary.notes.append(f"the study had no codebook: its {len(codes)} tag(s) became codes")

    segments: list[dict[str, object]] = []
    places: dict[tuple[str, str], tuple[int, int] | None] = {}
    unmatched_documents: dict[str, int] = {}
    untagged = 0
    for highlight in highlights:
        if highlight.tag is None:
            untagged += 1
            continue
        transcript = _find_transcript(highlight.document, index)
        if transcript is None:
            unmatched_documents[highlight.document] = unmatched_documents.get(highlight.document, 0) + 1
            continue
        code = lookup.get(highlight.tag.lower())
        if code is None:
            summary.warnings.append(
                f"row {highlight.row}: highlight {highlight.id} not imported: tag {highlight.tag!r} "
                "is not in the codebook (import the Taguette codebook first, or add the code)"
            )
            continue
        key = (transcript.id, highlight.id)
        if key not in places:  # one highlight has one row per tag: locate it once
            found = locate(transcript.body, highlight.content)
            places[key] = found[0] if found else None
            if not found:
                summary.warnings.append(
                    f"row {highlight.row}: highlight {highlight.id} not imported: its text was not found in "
                    f"transcript {transcript.id} ({_preview(highlight.content)})"
                )
            elif len(found) > 1:
                summary.warnings.append(
                    f"row {highlight.row}: highlight {highlight.id}: its text occurs {len(found)} times in "
                    f"transcript {transcript.id}; coded at the first ({found[0][0]}..{found[0][1]}): check it"
                )
        place = places[key]
        if place is None:
            continue
        segments.append(
            {"transcript": transcript.id, "start": place[0], "end": place[1], "code": code, "coder": coder}
        )
    for document, count in unmatched_documents.items():
        summary.warnings.append(
            f"{count} highlight row(s) of document {document!r} not imported: no transcript has that id "
            "(rename the transcript or the document so they match)"
        )
    if untagged:
        summary.warnings.append(f"{untagged} highlight(s) without a tag not imported (segments need a code)")

    number_segments(segments)
    files[study.segments_path] = csv_text(SEGMENT_COLUMNS, segments).encode("utf-8")
    summary.counts = {
        "highlights": len({(h.document, h.id) for h in highlights}),
        "segments": len(segments),
        "transcripts": len({r["transcript"] for r in segments}),
    }
    return commit_import(study, files, summary, replace=replace, by=by)


def _preview(text: str, limit: int = 60) -> str:
    words = " ".join(text.split())
    return repr(words if len(words) <= limit else words[: limit - 1] + "…")


def import_codebook_csv(
    study: Study, path: Path, *, replace: bool = False, by: str | None = None
) -> ExchangeSummary:
    """Import a Taguette ``codebook.csv`` into ``codebook.csv`` (tags are flat: one code each)."""
    path = Path(path)
    codes = read_codebook_csv(path)
    files, warnings = codebook_files(study, codes)
    summary = ExchangeSummary("import", path, warnings=warnings, counts={"codes": len(codes)})
    return commit_import(study, files, summary, replace=replace, by=by)


def import_taguette_csv(
    study: Study, path: Path, *, replace: bool = False, coder: str | None = None, by: str | None = None
) -> ExchangeSummary:
    """Import a Taguette CSV export: highlights when it has ``content``, else a codebook."""
    try:
        header = set(_columns(read_text_table(Path(path)).header))
    except DataReadError as exc:
        raise QualitativeDataError(exc.message, path=path, fix=exc.fix or TAGUETTE_FIX) from exc
    if {"content", "document"} <= header:
        return import_highlights(study, path, replace=replace, coder=coder, by=by)
    return import_codebook_csv(study, path, replace=replace, by=by)


__all__ = [
    "Highlight",
    "import_codebook_csv",
    "import_highlights",
    "import_taguette_csv",
    "locate",
    "read_codebook_csv",
    "read_highlights_csv",
    "tag_guid",
]
