"""The neutral centre of qualitative exchange: the summary, dispatch, ids and the write-and-commit step.

Adapters (``qual/refi/`` for REFI-QDA, ``qual/taguette.py`` for Taguette) turn a
file into the study files an import would write, plus an ``ExchangeSummary``;
this module gives them what they share and never depends on a format:

- ``ExchangeSummary``: what an import or export did, what it could not carry and
  what it lost (REFI-QDA §7: a tool must warn about data loss), with ``to_dict()``;
- ids: code ids from names, the GUID register (``refi-ids.csv``), stable GUIDs;
- ``commit_import``: refuse overwrites unless asked, name every row and key the
  replacement would lose, then write every file and the audit entry as one step;
- ``import_file`` / ``export_file``: the one entry point per direction, by file kind.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from studykit.errors import QualitativeDataError
from studykit.files import product_target, study_relative, write_files
from studykit.governance.audit import AuditEntry, appended_log, timestamp, utc_now, who
from studykit.governance.journal import edit_lock, write_together
from studykit.qual.coding import CODEBOOK_COLUMNS, parse_codebook
from studykit.qual.transcripts import parse_transcript, read_transcript, transcript_paths
from studykit.study import Study

IDS_COLUMNS = ("kind", "id", "guid")
SOURCE_EXTENSIONS = (".txt", ".docx", ".doc", ".rtf", ".odt", ".pdf", ".md", ".html", ".htm")
# Stable GUIDs for exports: uuid5(this namespace, "<study slug>/<kind>/<id>").
STUDYKIT_NAMESPACE = uuid.UUID("8f0b6c52-3f7e-5b8e-9d59-6a3e2f1c4b10")
EXPORTS_FOLDER = "exports"
"""Where exports go by default: git-ignored in a study, since a .qdpx holds the transcripts."""
_NAMED = 10  # how many lost items a sentence names before "and N more"


# --- the summary every import and export returns ------------------------------------------------


@dataclass
class ExchangeSummary:
    """What an import or export did: files written, counts, what was not carried and what was lost."""

    action: str
    source: Path
    written: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """Not carried, or to check (REFI-QDA §7: a tool must warn about what it drops)."""
    notes: list[str] = field(default_factory=list)
    """What was adjusted on the way (quirks tolerated), for the record."""
    losses: list[str] = field(default_factory=list)
    """What the study held before an import and no longer holds after it, each item named."""

    @property
    def lossless(self) -> bool:
        """True when nothing was dropped, replaced away or left to check."""
        return not self.warnings and not self.losses

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "source": self.source.as_posix(),
            "written": [p.as_posix() for p in self.written],
            "counts": dict(self.counts),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "losses": list(self.losses),
            "lossless": self.lossless,
        }


@dataclass
class ExchangeCode:
    """A code as every exchange format carries it: GUID, name, parent GUID, description."""

    guid: str
    name: str
    parent: str | None
    description: str
    color: str | None = None
    codable: bool = True


def named(items: Iterable[object]) -> str:
    """Items as a list a person reads: the first few by name, then how many more."""
    listed = [str(i) for i in items]
    more = f" and {len(listed) - _NAMED} more" if len(listed) > _NAMED else ""
    return ", ".join(listed[:_NAMED]) + more


# --- ids, slugs and the GUID register -----------------------------------------------------------


def slug(name: str, *, separator: str = "_", lower: bool = True) -> str:
    """A code or transcript id from a name: letters and digits joined by ``separator``."""
    text = name.lower() if lower else name
    allowed = r"[^a-z0-9]+" if lower else r"[^A-Za-z0-9]+"
    value = re.sub(allowed, separator, text).strip(separator)
    if not value:
        return "x"
    return value if value[0].isalpha() else f"x{separator}{value}"


def unique(base: str, taken: set[str], separator: str = "_") -> str:
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}{separator}{number}", number + 1
    taken.add(candidate)
    return candidate


def strip_extension(name: str) -> str:
    """A source's name without a document extension (``Interview 1.txt`` -> ``Interview 1``)."""
    for extension in SOURCE_EXTENSIONS:
        if name.lower().endswith(extension):
            return name[: -len(extension)]
    return name


def read_ids(study: Study) -> dict[tuple[str, str], str]:
    """The study's GUID register: (kind, id) -> GUID. Missing file: empty."""
    path = study.refi_ids_path
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            (row.get("kind") or "", row.get("id") or ""): (row.get("guid") or "").strip()
            for row in csv.DictReader(handle)
        }


def derived_guid(study: Study, kind: str, local: str) -> str:
    """The GUID an export gives an item that came with no GUID: stable for the study, kind and id."""
    return str(uuid.uuid5(STUDYKIT_NAMESPACE, f"{study.slug}/{kind}/{local}"))


def known_by_guid(study: Study) -> dict[tuple[str, str], str]:
    """Ids of the study's codes and transcripts by GUID: recorded at import, or as its exports derive them."""
    known = {(kind, guid.lower()): local for (kind, local), guid in read_ids(study).items()}
    book, _ = parse_codebook(study.codebook_path)
    for code in book:
        known.setdefault(("code", derived_guid(study, "code", code.code_id)), code.code_id)
    for path in transcript_paths(study):
        known.setdefault(("transcript", derived_guid(study, "transcript", path.stem)), path.stem)
    return known


def code_rows(
    study: Study, codes: list[ExchangeCode]
) -> tuple[dict[str, str], list[dict[str, object]], list[dict[str, object]]]:
    """Code ids by GUID, ``codebook.csv`` rows and GUID-register rows for a list of codes.

    A code the study already has keeps its id (found by GUID, recorded or derived,
    else by name); any other gets a slug of its name, made unique.
    """
    by_guid = known_by_guid(study)
    # ATLAS.ti makes new GUIDs on every export: then a code keeps the id of the study's code of that name.
    book, _ = parse_codebook(study.codebook_path)
    by_name = {c.name.strip().casefold(): c.code_id for c in book}
    code_ids: dict[str, str] = {}
    taken: set[str] = set()
    for code in codes:
        previous = by_guid.get(("code", code.guid.lower()))
        if previous and previous not in taken:
            code_ids[code.guid] = previous
            taken.add(previous)
    for code in codes:
        previous = by_name.get(code.name.strip().casefold())
        if code.guid not in code_ids and previous and previous not in taken:
            code_ids[code.guid] = previous
            taken.add(previous)
    for code in codes:
        if code.guid not in code_ids:
            code_ids[code.guid] = unique(slug(code.name), taken)
    codebook: list[dict[str, object]] = [
        {
            "code_id": code_ids[c.guid],
            "name": c.name,
            "parent": code_ids.get(c.parent or ""),
            "definition": c.description,
        }
        for c in codes
    ]
    ids: list[dict[str, object]] = [{"kind": "code", "id": code_ids[c.guid], "guid": c.guid} for c in codes]
    return code_ids, codebook, ids


def codebook_files(study: Study, codes: list[ExchangeCode]) -> tuple[dict[Path, bytes], list[str]]:
    """``codebook.csv`` and the GUID register for a list of codes (other register entries are kept)."""
    _, codebook, ids = code_rows(study, codes)
    kept = [
        {"kind": kind, "id": local, "guid": guid}
        for (kind, local), guid in read_ids(study).items()
        if kind != "code"
    ]
    warnings = []
    coloured = sum(1 for c in codes if c.color)
    if coloured:
        warnings.append(f"code colours not carried ({coloured} code(s)): codebook.csv has no colour column")
    return {
        study.codebook_path: csv_text(CODEBOOK_COLUMNS, codebook).encode("utf-8"),
        study.refi_ids_path: csv_text(IDS_COLUMNS, [*ids, *kept]).encode("utf-8"),
    }, warnings


def segment_order(row: dict[str, object]) -> tuple[str, int, int, str]:
    """Sort key of a new segments row: transcript, start, end, code."""
    return (str(row["transcript"]), int(str(row["start"])), int(str(row["end"])), str(row["code"]))


def number_segments(segments: list[dict[str, object]]) -> None:
    """Sort new segment rows and give them ids ``S0001``, ``S0002``, ... in that order."""
    segments.sort(key=segment_order)
    width = max(4, len(str(len(segments))))
    for number, row in enumerate(segments, start=1):
        row["segment_id"] = f"S{number:0{width}d}"


# --- CSV text ------------------------------------------------------------------------------------


def csv_text(columns: Iterable[str], rows: Iterable[dict[str, object]]) -> str:
    """CSV text (header first, LF line ends) as studykit writes its tables."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in writer.fieldnames})
    return buffer.getvalue()


def _csv_rows(text: str) -> list[dict[str, str]]:
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(io.StringIO(text))]


def has_rows(path: Path) -> bool:
    """True when a CSV file exists with at least one data row (a header alone counts as empty)."""
    if not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)
        return any(any(cell.strip() for cell in row) for row in rows)


# --- the write-and-commit step ------------------------------------------------------------------


def refuse_overwrite(paths: Iterable[Path], replace: bool) -> None:
    """Raise when an import would overwrite study data and ``--replace`` was not given."""
    if replace:
        return
    taken = [p for p in paths if (has_rows(p) if p.suffix == ".csv" else p.exists())]
    if taken:
        msg = f"the import would overwrite {named(p.name for p in taken)}; nothing was written"
        raise QualitativeDataError(
            msg,
            path=taken[0].parent,
            fix="Run it again with --replace to replace them (commit or back up first).",
        )


def refuse_outside(study: Study, files: Iterable[Path]) -> None:
    """Raise when a file an import would write resolves outside the study (a linked folder or file)."""
    root = study.root.resolve()
    for path in files:
        target = path.resolve()
        if not target.is_relative_to(root):
            msg = f"resolves to {target.as_posix()}, outside the study; nothing was written"
            raise QualitativeDataError(
                msg, path=path, fix="Replace the link with a real folder or file inside the study."
            )


def _old_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


def replacement_losses(study: Study, files: dict[Path, bytes]) -> list[str]:
    """What the study holds now and would no longer hold once ``files`` replace their old versions.

    Segments are compared by transcript, span and code (an import renumbers them),
    codes by id, transcripts by their front-matter keys and values and their body. Each loss names
    the items, so the summary never says "Nothing was lost." over a deleted row.
    """
    losses: list[str] = []
    new_segments = files.get(study.segments_path)
    if new_segments is not None and study.segments_path.is_file():
        incoming = {
            (r.get("transcript"), r.get("start"), r.get("end"), r.get("code"))
            for r in _csv_rows(new_segments.decode("utf-8"))
        }
        gone = [
            r.get("segment_id") or f"row {n}"
            for n, r in enumerate(_csv_rows(_old_text(study.segments_path)), start=2)
            if (r.get("transcript"), r.get("start"), r.get("end"), r.get("code")) not in incoming
        ]
        if gone:
            losses.append(
                f"{len(gone)} segment(s) of segments.csv are not in the imported file and were removed: "
                f"{named(gone)}"
            )
    new_codebook = files.get(study.codebook_path)
    if new_codebook is not None and study.codebook_path.is_file():
        incoming_codes = {r.get("code_id") for r in _csv_rows(new_codebook.decode("utf-8"))}
        gone = [
            r["code_id"]
            for r in _csv_rows(_old_text(study.codebook_path))
            if r.get("code_id") and r["code_id"] not in incoming_codes
        ]
        if gone:
            losses.append(
                f"{len(gone)} code(s) of codebook.csv are not in the imported file and were removed: "
                f"{named(gone)}"
            )
    for path, data in files.items():
        if path.parent != study.transcripts_dir or not path.is_file():
            continue
        try:
            old = read_transcript(path, root=study.root)
        except QualitativeDataError:
            continue  # an unreadable transcript has nothing studykit could compare
        new = parse_transcript(data.decode("utf-8"), path)
        before, after = old.front_matter(), new.front_matter()
        dropped = [k for k in before if k not in after]
        if dropped:
            losses.append(f"{path.stem}: front-matter key(s) dropped: {named(dropped)}")
        changed = [
            f"{k} ({before[k]!r} -> {after[k]!r})" for k in before if k in after and before[k] != after[k]
        ]
        if changed:
            losses.append(f"{path.stem}: front-matter value(s) replaced: {named(changed)}")
        if old.body != new.body:
            losses.append(f"{path.stem}: the transcript text was replaced by the imported text")
    return losses


def commit_files(files: dict[Path, bytes], *, within: Path | None = None) -> list[Path]:
    """Write every file to a temporary sibling first, then move all into place (``files.write_files``).

    A failure while writing leaves the study untouched; the moves are renames
    within one folder, so each file is either old or new, never half written.
    ``within``: the folder every file must stay in (the study, for an import).
    """
    return write_files(files, within=within)


def commit_import(
    study: Study, files: dict[Path, bytes], summary: ExchangeSummary, *, replace: bool, by: str | None
) -> ExchangeSummary:
    """Refuse overwrites (unless ``replace``), name what the replacement loses, write files and audit entry.

    Who is asked first (``by`` or ``git config user.name``), so a refusal writes nothing.
    """
    refuse_outside(study, files)
    refuse_overwrite([p for p in files if p != study.refi_ids_path], replace)
    author = who(study, by)
    # Under the governance lock, files and audit line are written as one unit (governance/journal.py),
    # so an import beside a consent edit never loses an audit line.
    with edit_lock(study):
        summary.losses += replacement_losses(study, files)
        replaced = sorted(
            study_relative(study, p)
            for p in files
            if (has_rows(p) if p.suffix == ".csv" else p.exists())
        )
        entry = AuditEntry(
            at=timestamp(utc_now()),
            by=author,
            action="qual import",
            register=summary.source.name,
            participant_id="",
            record={
                "source": summary.source.name,
                "counts": dict(summary.counts),
                "written": sorted(study_relative(study, p) for p in files),
                "not_carried": len(summary.warnings),
                "lost": len(summary.losses),
            },
            previous={"replaced": replaced} if replaced else None,
        )
        for path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
        log = study.audit_log_path
        write_together(study, {**files, log: appended_log(log, entry)})
    summary.written = list(files)
    return summary


def export_target(study: Study, output: Path | None, suffix: str) -> Path:
    """Where an export goes: ``output``, else ``exports/<slug><suffix>`` (git-ignored in a study)."""
    target = Path(output) if output is not None else study.root / EXPORTS_FOLDER / f"{study.slug}{suffix}"
    if target.suffix.lower() != suffix:
        msg = f"must end in {suffix}"
        raise QualitativeDataError(msg, path=target, fix=f"Give an output file name ending in {suffix}.")
    if target.exists() and not target.is_file():
        msg = "is a folder"
        raise QualitativeDataError(msg, path=target, fix=f"Give a file name ending in {suffix}.")
    if output is not None:
        product_target(study, target, product="an exchange file", example=f"-o coding{suffix}")
    return target


# --- dispatch ------------------------------------------------------------------------------------


def import_file(
    study: Study, path: Path, *, replace: bool = False, coder: str | None = None, by: str | None = None
) -> ExchangeSummary:
    """Import an exchange file, by its kind: ``.qdpx``/``.qde`` project, ``.qdc`` codebook, Taguette CSV.

    ``by`` names who imports, for the audit log (default: ``git config user.name``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".qdpx", ".qde", ".qdc"):
        from studykit.qual import refi

        if suffix == ".qdc":
            return refi.import_qdc(study, path, replace=replace, by=by)
        return refi.import_qdpx(study, path, replace=replace, by=by)
    if suffix == ".csv":
        from studykit.qual.taguette import import_taguette_csv

        return import_taguette_csv(study, path, replace=replace, coder=coder, by=by)
    msg = f"is not a file studykit can import (got {suffix or 'no extension'})"
    raise QualitativeDataError(
        msg,
        path=path,
        fix="Give a REFI-QDA project (.qdpx), a codebook (.qdc), "
        "or a Taguette codebook or highlights export (.csv).",
    )


def export_file(study: Study, kind: str = "qdpx", output: Path | None = None) -> ExchangeSummary:
    """Export the study as a REFI-QDA project (``kind="qdpx"``) or its codebook alone (``"qdc"``)."""
    from studykit.qual import refi

    if kind == "qdc":
        return refi.export_qdc(study, output)
    return refi.export_qdpx(study, output)


__all__ = [
    "EXPORTS_FOLDER",
    "ExchangeCode",
    "ExchangeSummary",
    "code_rows",
    "codebook_files",
    "commit_files",
    "commit_import",
    "csv_text",
    "derived_guid",
    "export_file",
    "export_target",
    "has_rows",
    "import_file",
    "read_ids",
    "replacement_losses",
    "slug",
]
