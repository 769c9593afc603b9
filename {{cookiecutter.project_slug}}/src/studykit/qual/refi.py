"""REFI-QDA exchange: import and export QDPX projects and QDC codebooks.

REFI-QDA is the exchange standard of NVivo, ATLAS.ti, MAXQDA, QualCoder and
others. A ``.qdpx`` file is a ZIP holding ``project.qde`` (XML, namespace
``urn:QDA-XML:project:1.0``) and a flat ``sources/`` folder; a ``.qdc`` file is a
codebook alone (namespace ``urn:QDA-XML:codebook:1.0``).

Mapping to a study (docs/qualitative-exchange.md):

- ``Code`` -> a ``codebook.csv`` row (``code_id`` a slug of the name, made unique;
  nested codes give ``parent``; ``Description`` -> ``definition``).
- ``TextSource`` -> ``transcripts/<id>.md`` (the plain text is the body).
- ``PlainTextSelection`` x ``Coding`` -> one ``segments.csv`` row each
  (``coder`` = the user's name; notes linked to the selection or coding -> ``memo``).
- ``Case`` named like a participant id and linked by ``SourceRef`` -> the
  transcript's ``participants``; other case variables -> ``refi-cases.csv``.
- GUIDs go to ``refi-ids.csv`` (kind, id, guid), so exporting again keeps them.

Reading is lenient about the known vendor quirks (any single root ``*.qde``,
``Sources/`` in any case, a BOM, CRLF offset drift, inclusive end positions) and
reports everything it could not carry. Writing is strict: exports validate
against the official ``Project.xsd`` / ``Codebook.xsd`` vendored in ``schemas/``,
and the same study always exports the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from studykit import __version__
from studykit.errors import QualitativeDataError
from studykit.files import study_relative, write_files
from studykit.governance.audit import AuditEntry, appended_log, timestamp, utc_now, who
from studykit.qual.coding import (
    CODEBOOK_COLUMNS,
    SEGMENT_COLUMNS,
    Code,
    Codebook,
    Segment,
    load_codebook,
    load_segments,
    parse_codebook,
)
from studykit.qual.transcripts import (
    KINDS,
    PARTICIPANT_ID,
    load_transcripts,
    parse_transcript,
    render_transcript,
    transcript_paths,
)
from studykit.study import Study

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).parent / "schemas"
GUID = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\})$"
)
# Stable GUIDs for exports: uuid5(this namespace, "<study slug>/<kind>/<id>").
STUDYKIT_NAMESPACE = uuid.UUID("8f0b6c52-3f7e-5b8e-9d59-6a3e2f1c4b10")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest ZIP timestamp: fixed, so exports are byte-identical
IDS_COLUMNS = ("kind", "id", "guid")
CASES_COLUMNS = ("case", "participant_id", "variable", "value")
# Front matter that exports carry as source variables, so a round trip keeps it.
SOURCE_VARIABLES = {
    "kind": "Text",
    "wave": "Text",
    "date": "Date",
    "interviewer": "Text",
    "duration_minutes": "Integer",
}
SOURCE_EXTENSIONS = (".txt", ".docx", ".doc", ".rtf", ".odt", ".pdf", ".md", ".html", ".htm")
REFI_FIX = "Export the project again from your QDA software (File > Export > REFI-QDA project)."


# --- the summary both directions return -------------------------------------------------------


@dataclass
class ExchangeSummary:
    """What an import or export did: files written, counts, and what could not be carried."""

    action: str
    source: Path
    written: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """Data loss and things to check (REFI-QDA §7: a tool must warn about what it drops)."""
    notes: list[str] = field(default_factory=list)
    """What was adjusted on the way (quirks tolerated), for the record."""

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "source": self.source.as_posix(),
            "written": [p.as_posix() for p in self.written],
            "counts": dict(self.counts),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


# --- what a REFI-QDA project holds (the part studykit reads) ----------------------------------


@dataclass
class RefiCode:
    guid: str
    name: str
    parent: str | None
    description: str
    color: str | None = None
    codable: bool = True


@dataclass
class RefiCoding:
    guid: str
    code: str
    user: str | None
    memos: list[str] = field(default_factory=list)


@dataclass
class RefiSelection:
    guid: str
    start: int
    end: int
    name: str | None
    user: str | None
    codings: list[RefiCoding] = field(default_factory=list)
    memos: list[str] = field(default_factory=list)


@dataclass
class RefiSource:
    guid: str
    name: str
    text: str | None
    created: str | None
    selections: list[RefiSelection] = field(default_factory=list)
    whole_codings: list[RefiCoding] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class RefiCase:
    guid: str
    name: str | None
    sources: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class RefiProject:
    """A parsed project: users, codes, text sources and cases, plus what was not carried."""

    name: str
    origin: str | None = None
    created: str | None = None
    users: dict[str, str] = field(default_factory=dict)
    codes: list[RefiCode] = field(default_factory=list)
    sources: list[RefiSource] = field(default_factory=list)
    cases: list[RefiCase] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- XML helpers -------------------------------------------------------------------------------


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _kids(element: etree._Element, *names: str) -> list[etree._Element]:
    """Child elements by local name: vendors differ in namespace use, the names are stable."""
    return [c for c in element if isinstance(c.tag, str) and _local(c) in names]


def _kid_text(element: etree._Element, name: str) -> str | None:
    found = _kids(element, name)
    return found[0].text if found and found[0].text is not None else None


def _parse_xml(data: bytes, label: Path | str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        msg = f"is not well-formed XML ({exc})"
        raise QualitativeDataError(msg, path=label, fix=REFI_FIX) from exc


@cache
def _schema(kind: str) -> etree.XMLSchema:
    name = "Project.xsd" if kind == "project" else "Codebook.xsd"
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / name)))


def schema_errors(xml: bytes, kind: str = "project") -> list[str]:
    """Errors of an XML document against the vendored ``Project.xsd`` (or ``Codebook.xsd``); [] if valid."""
    schema = _schema(kind)
    document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


# --- reading ----------------------------------------------------------------------------------


def _decode_source(data: bytes, name: str, project: RefiProject) -> str:
    """Source text: UTF-8 (BOM stripped, as NVivo and QualCoder write one), else a reported fallback."""
    if data.startswith(b"\xef\xbb\xbf"):
        project.notes.append(f"source {name!r}: UTF-8 byte order mark removed")
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        project.warnings.append(
            f"source {name!r} is not UTF-8 (REFI-QDA §9.1.2 requires it); "
            "read as Windows-1252: check its accents"
        )
        return data.decode("cp1252", errors="replace")


def _internal(path_attr: str | None) -> str | None:
    """The file name inside ``sources/`` of an ``internal://`` reference."""
    if path_attr and path_attr.lower().startswith("internal://"):
        return path_attr[len("internal://") :].lstrip("/")
    return None


def _codes(parent: etree._Element, parent_guid: str | None, out: list[RefiCode]) -> None:
    """Codes in document order, each with its parent's GUID (the nesting gives the hierarchy)."""
    for element in _kids(parent, "Code"):
        guid = element.get("guid") or ""
        out.append(
            RefiCode(
                guid=guid,
                name=(element.get("name") or "").strip() or guid,
                parent=parent_guid,
                description=(_kid_text(element, "Description") or "").strip(),
                color=element.get("color"),
                codable=(element.get("isCodable") or "true").strip().lower() not in ("false", "0"),
            )
        )
        _codes(element, guid, out)


def _note_refs(element: etree._Element, notes: dict[str, str]) -> list[str]:
    return [notes[r.get("targetGUID", "")] for r in _kids(element, "NoteRef") if r.get("targetGUID") in notes]


def _codings(element: etree._Element, notes: dict[str, str], default_user: str | None) -> list[RefiCoding]:
    found = []
    for coding in _kids(element, "Coding"):
        ref = _kids(coding, "CodeRef")
        found.append(
            RefiCoding(
                guid=coding.get("guid") or "",
                code=ref[0].get("targetGUID", "") if ref else "",
                user=coding.get("creatingUser") or default_user,
                memos=_note_refs(coding, notes),
            )
        )
    return found


def _variable_value(element: etree._Element) -> str | None:
    for kind in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue"):
        value = _kid_text(element, kind)
        if value is not None:
            return value.strip()
    return None


def _variable_values(element: etree._Element, variables: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in _kids(element, "VariableValue"):
        ref = _kids(item, "VariableRef")
        name = variables.get(ref[0].get("targetGUID", "")) if ref else None
        value = _variable_value(item)
        if name and value is not None:
            values[name] = value
    return values


def _count_codings(element: etree._Element) -> int:
    return sum(1 for e in element.iter() if isinstance(e.tag, str) and _local(e) == "Coding")


def parse_project(
    root: etree._Element, read_source: Callable[[str], bytes | None], label: str
) -> RefiProject:
    """Turn a ``project.qde`` tree into a ``RefiProject``; ``read_source`` fetches ``sources/`` files."""
    if _local(root) != "Project":
        msg = f"is not a REFI-QDA project: its root element is <{_local(root)}>, not <Project>"
        raise QualitativeDataError(msg, path=label, fix=REFI_FIX)
    project = RefiProject(
        name=root.get("name") or "", origin=root.get("origin"), created=root.get("creationDateTime")
    )
    for users in _kids(root, "Users"):
        for user in _kids(users, "User"):
            project.users[user.get("guid", "")] = user.get("name") or user.get("id") or user.get("guid", "")

    # Notes first: selections, codings and links point at them.
    notes: dict[str, str] = {}
    for group in _kids(root, "Notes"):
        for note in _kids(group, "Note"):
            text = _kid_text(note, "PlainTextContent")
            if text is None and (inner := _internal(note.get("plainTextPath"))):
                raw = read_source(inner)
                text = _decode_source(raw, note.get("name") or inner, project) if raw is not None else None
            notes[note.get("guid", "")] = (text or note.get("name") or "").strip()
    used_notes: set[str] = set()

    for book in _kids(root, "CodeBook"):
        for codes in _kids(book, "Codes"):
            _codes(codes, None, project.codes)
    folders = [c.name for c in project.codes if not c.codable]
    if folders:
        project.notes.append(
            f"{len(folders)} folder code(s) (not codable) imported as ordinary codes: {folders}"
        )
    coloured = sum(1 for c in project.codes if c.color)
    if coloured:
        project.warnings.append(
            f"code colours not carried ({coloured} code(s)): codebook.csv has no colour column"
        )
    code_notes = sum(
        1 for e in root.iter() if isinstance(e.tag, str) and _local(e) == "Code" and _kids(e, "NoteRef")
    )
    if code_notes:
        project.warnings.append(f"memos attached to {code_notes} code(s) not carried")

    variables: dict[str, str] = {}
    for group in _kids(root, "Variables"):
        for variable in _kids(group, "Variable"):
            variables[variable.get("guid", "")] = variable.get("name") or variable.get("guid", "")

    for group in _kids(root, "Cases"):
        for case in _kids(group, "Case"):
            project.cases.append(
                RefiCase(
                    guid=case.get("guid", ""),
                    name=case.get("name"),
                    sources=[r.get("targetGUID", "") for r in _kids(case, "SourceRef")],
                    values=_variable_values(case, variables),
                )
            )
            if _kids(case, "CodeRef") or _kids(case, "SelectionRef"):
                project.warnings.append(
                    f"case {case.get('name') or case.get('guid')!r}: "
                    "its code and selection links are not carried"
                )

    # Links join notes to selections (NVivo annotations, the reference fixture): memo text by target.
    linked: dict[str, list[str]] = {}
    link_count = 0
    for group in _kids(root, "Links"):
        for link in _kids(group, "Link"):
            origin, target = link.get("originGUID", ""), link.get("targetGUID", "")
            if origin in notes:
                linked.setdefault(target, []).append(notes[origin])
                used_notes.add(origin)
            elif target in notes:
                linked.setdefault(origin, []).append(notes[target])
                used_notes.add(target)
            else:
                link_count += 1
    if link_count:
        project.warnings.append(f"{link_count} link(s) between codes or sources not carried")

    for group in _kids(root, "Sources"):
        for source in group:
            if not isinstance(source.tag, str):
                continue
            kind = _local(source)
            name = source.get("name") or source.get("guid", "")
            if kind != "TextSource":
                _report_other_source(source, kind, name, read_source, project)
                continue
            text = _kid_text(source, "PlainTextContent")
            text = text.removeprefix("\ufeff") if text is not None else None
            plain = source.get("plainTextPath")
            if text is None and plain:
                inner = _internal(plain)
                raw = read_source(inner) if inner else None
                if raw is None:
                    where = "is not in the archive" if inner else f"is outside the archive ({plain})"
                    project.warnings.append(
                        f"text source {name!r} not carried: its text file {where}; "
                        f"{len(_kids(source, 'PlainTextSelection'))} selection(s) lost"
                    )
                    continue
                text = _decode_source(raw, name, project)
            if text is None:
                project.warnings.append(f"text source {name!r} not carried: it has no plain text")
                continue
            refi = RefiSource(
                guid=source.get("guid", ""),
                name=name,
                text=text,
                created=source.get("creationDateTime"),
                variables=_variable_values(source, variables),
            )
            for selection in _kids(source, "PlainTextSelection"):
                guid = selection.get("guid", "")
                memos = _note_refs(selection, notes) + linked.get(guid, [])
                description = _kid_text(selection, "Description")
                if description and description.strip():  # ATLAS.ti 26 and MAXQDA keep memos here
                    memos.append(description.strip())
                codings = _codings(selection, notes, selection.get("creatingUser"))
                for coding in codings:
                    coding.memos += linked.get(coding.guid, [])
                try:
                    start, end = (
                        int(selection.get("startPosition", "")),
                        int(selection.get("endPosition", "")),
                    )
                except ValueError:
                    project.warnings.append(
                        f"source {name!r}: selection {guid} not carried: its positions are not whole numbers"
                    )
                    continue
                refi.selections.append(
                    RefiSelection(
                        guid, start, end, selection.get("name"), selection.get("creatingUser"), codings, memos
                    )
                )
            refi.whole_codings = _codings(source, notes, source.get("creatingUser"))
            for ref in [*_kids(source, "NoteRef"), *_kids(source, "PlainTextSelection")]:
                used_notes.update(r.get("targetGUID", "") for r in ref.iter() if _local(r) == "NoteRef")
            if _kids(source, "NoteRef"):
                project.warnings.append(f"source {name!r}: memos on the whole document not carried")
            project.sources.append(refi)

    for element in root.iter():
        if (
            isinstance(element.tag, str)
            and _local(element) == "NoteRef"
            and _local(element.getparent()) == "Coding"
        ):
            used_notes.add(element.get("targetGUID", ""))
    unused = [g for g in notes if g not in used_notes]
    if unused:
        project.warnings.append(f"{len(unused)} note(s) not linked to a text selection not carried (memos)")
    for kind, what in (("Sets", "set(s)"), ("Graphs", "graph(s)")):
        count = sum(len(list(g)) for g in _kids(root, kind))
        if count:
            project.warnings.append(f"{count} {what} not carried")
    return project


def _report_other_source(
    source: etree._Element,
    kind: str,
    name: str,
    read_source: Callable[[str], bytes | None],
    project: RefiProject,
) -> None:
    """Pictures, PDFs, audio and video: studykit keeps text transcripts only, so say what is dropped."""
    what = {
        "PictureSource": "picture",
        "PDFSource": "PDF",
        "AudioSource": "audio",
        "VideoSource": "video",
    }.get(kind, kind)
    selections = sum(1 for e in source.iter() if isinstance(e.tag, str) and _local(e).endswith("Selection"))
    missing = ""
    inner = _internal(source.get("path"))
    if inner and read_source(inner) is None:
        missing = " (its file is not in the archive either)"
    project.warnings.append(
        f"{what} source {name!r} not carried{missing}: {selections} selection(s) and "
        f"{_count_codings(source)} coding(s) lost; studykit imports text sources only"
    )


def _sources_reader(names: dict[str, Callable[[], bytes]]) -> Callable[[str], bytes | None]:
    def read(name: str) -> bytes | None:
        opener = names.get(name.lower())
        return opener() if opener else None

    return read


def read_qdpx(path: Path) -> RefiProject:
    """Read a ``.qdpx`` archive (or a ``.qde`` file with its ``sources/`` folder beside it)."""
    path = Path(path)
    if not path.exists():
        msg = "is missing"
        raise QualitativeDataError(msg, path=path, fix="Check the file name.")
    if path.suffix.lower() == ".qde":
        return _read_unpacked(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        msg = "is not a QDPX file: it is not a ZIP archive"
        raise QualitativeDataError(msg, path=path, fix=REFI_FIX) from exc
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        projects = [
            i.filename for i in entries if "/" not in i.filename and i.filename.lower().endswith(".qde")
        ]
        if len(projects) != 1:
            found = (
                "no project.qde" if not projects else f"{len(projects)} .qde files ({', '.join(projects)})"
            )
            msg = f"is not a REFI-QDA project: its root holds {found}; it must hold exactly one"
            raise QualitativeDataError(msg, path=path, fix=REFI_FIX)
        notes: list[str] = []
        if projects[0] != "project.qde":
            notes.append(f"project file is named {projects[0]!r}, not 'project.qde' (read anyway)")
        sources: dict[str, Callable[[], bytes]] = {}
        folders: set[str] = set()
        for info in entries:
            folder, _, name = info.filename.rpartition("/")
            if folder.lower() == "sources" and name:
                folders.add(folder)
                sources[name.lower()] = lambda info=info: archive.read(info)
        if folders - {"sources"}:
            notes.append(
                f"sources folder is named {sorted(folders - {'sources'})[0]!r}, not 'sources' (read anyway)"
            )
        root = _parse_xml(archive.read(projects[0]), f"{path.as_posix()}!{projects[0]}")
        project = parse_project(root, _sources_reader(sources), path.as_posix())
    project.notes[:0] = notes
    return project


def _read_unpacked(path: Path) -> RefiProject:
    folder = next((d for d in path.parent.iterdir() if d.is_dir() and d.name.lower() == "sources"), None)
    files = {f.name.lower(): f.read_bytes for f in folder.iterdir() if f.is_file()} if folder else {}
    return parse_project(_parse_xml(path.read_bytes(), path), _sources_reader(files), path.as_posix())


def read_qdc(path: Path) -> tuple[list[RefiCode], str | None]:
    """Read a ``.qdc`` codebook: its codes (nested via ``parent``) and its ``origin``.

    GUIDs must match the REFI GUID pattern: a codebook whose GUIDs do not (the
    refi-tools example uses ``c001``) is rejected with the codes named, since
    another tool could not open what we would pass on.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        msg = "is missing"
        raise QualitativeDataError(msg, path=path, fix="Check the file name.") from exc
    root = _parse_xml(data, path)
    if _local(root) != "CodeBook":
        msg = f"is not a REFI-QDA codebook: its root element is <{_local(root)}>, not <CodeBook>"
        raise QualitativeDataError(
            msg,
            path=path,
            fix="Export the codebook again as REFI-QDA codebook (.qdc).",
        )
    codes: list[RefiCode] = []
    for group in _kids(root, "Codes"):
        _codes(group, None, codes)
    bad = [c for c in codes if not GUID.match(c.guid)]
    if bad:
        listed = ", ".join(f"{c.name!r} (guid {c.guid!r})" for c in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        msg = (
            f"{len(bad)} code(s) have a GUID that is not a REFI-QDA GUID (8-4-4-4-12 hex digits): "
            f"{listed}{more}"
        )
        raise QualitativeDataError(
            msg,
            path=path,
            key="Code@guid",
            fix="Export the codebook again from your QDA software, or give each code a GUID such as "
            "'3F2504E0-4F89-11D3-9A0C-0305E82C3301'.",
        )
    if not codes:
        msg = "holds no codes"
        raise QualitativeDataError(msg, path=path, fix="Export a codebook that has codes.")
    return codes, root.get("origin")


# --- offsets: re-aligning selections against the text -----------------------------------------


def _to_lf(text: str) -> tuple[str, list[int]]:
    """Text with CRLF and CR as LF, and the map from each original offset to the new one."""
    mapping: list[int] = []
    out: list[str] = []
    i = 0
    while i < len(text):
        mapping.append(len(out))
        if text[i] == "\r":
            if i + 1 < len(text) and text[i + 1] == "\n":
                mapping.append(len(out))
                i += 1
            out.append("\n")
        else:
            out.append(text[i])
        i += 1
    mapping.append(len(out))
    return "".join(out), mapping


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _hint(name: str | None) -> str:
    """A selection's name as a hint of its text: NVivo, QualCoder, ATLAS.ti write (the start of) the text."""
    if not name:
        return ""
    return _squash(name.rstrip().removesuffix("...").removesuffix("…"))


def _pattern(hint: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(re.escape(w) for w in hint.split()), re.IGNORECASE)


@dataclass(frozen=True)
class _Aligned:
    start: int
    end: int
    how: str  # "" when the offsets were taken as written


def align_selection(original: str, start: int, end: int, name: str | None) -> _Aligned | str:
    """Offsets of a selection in the LF-normalised text, or a sentence saying why it cannot be placed.

    The standard's positions are code points; vendors differ on whether CRLF counts
    as one or two and whether the end is inclusive. When the selection's name holds
    its text, every reading is checked against it and a drifted selection is moved to
    where its text is (near the given offsets); a selection whose text is elsewhere
    is refused rather than silently shifted.
    """
    text, mapping = _to_lf(original)
    if start < 0 or end < start:
        return f"positions {start}..{end} are reversed or negative"
    readings: list[tuple[int, int, str]] = []
    if end <= len(original):
        readings.append((mapping[start], mapping[end], ""))
    if end <= len(text) and "\r" in original:
        readings.append((start, end, "offsets counted CRLF as one character"))
    if end + 1 <= len(original):
        readings.append((mapping[start], mapping[end + 1], "end position read as inclusive"))
    if end + 1 <= len(text) and "\r" in original:
        readings.append((start, end + 1, "offsets counted CRLF as one character, end inclusive"))
    hint = _hint(name)
    if hint:
        for s, e, how in readings:
            if _squash(text[s:e]) == hint:
                return _Aligned(s, e, how)
        for s, e, how in readings:
            if "inclusive" in how:
                continue
            selected = _squash(text[s:e])
            # A truncated name, or a label longer than the selection that starts the same way.
            if selected and (selected.startswith(hint) or hint.startswith(selected)):
                return _Aligned(s, e, how)
        matches = list(_pattern(hint).finditer(text))
        if matches:
            expected = mapping[min(start, len(original))]
            window = text.count("\n", 0, expected) + original.count("\r", 0, min(start, len(original))) + 2
            best = min(matches, key=lambda m: abs(m.start() - expected))
            if abs(best.start() - expected) <= window:
                length = end - start
                new_end = (
                    best.end()
                    if abs((best.end() - best.start()) - length) <= window
                    else best.start() + length
                )
                shift = best.start() - expected
                return _Aligned(
                    best.start(), min(new_end, len(text)), f"re-aligned by {shift:+d} against its text"
                )
            return (
                f"its text {name!r} is not at positions {start}..{end} nor near them "
                f"(nearest at {best.start()}); not imported rather than shifted"
            )
        # The name is not in the text at all: a label, not the selected text. Trust the offsets.
    if readings and readings[0][2] == "":
        return _Aligned(readings[0][0], readings[0][1], "")
    if readings:
        return _Aligned(readings[0][0], readings[0][1], readings[0][2])
    return f"positions {start}..{end} lie outside the source ({len(original)} characters)"


def utf16_positions(text: str) -> Callable[[int], int]:
    """Map a UTF-16 code-unit offset to a code-point offset of ``text``.

    NVivo counts positions in UTF-16 code units, so each character beyond U+FFFF
    (emoji, common in social-media text) counts twice. Offsets past the end stay
    past the end, so they are reported rather than clipped.
    """
    table: list[int] = []
    for index, character in enumerate(text):
        table.append(index)
        if ord(character) > 0xFFFF:
            table.append(index)  # the second unit of a surrogate pair: same character
    table.append(len(text))
    return lambda unit: table[unit] if 0 <= unit < len(table) else len(text) + unit - len(table) + 1


def _on_word_boundaries(text: str, spans: Iterable[tuple[int, int]]) -> int:
    """How many spans start and end between words: the evidence for one way of counting positions."""
    count = 0
    for start, end in spans:
        if 0 <= start < end <= len(text):
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            count += not before.isalnum() and not after.isalnum()
    return count


def counts_utf16(source: RefiSource, origin: str | None) -> bool:
    """True when a source's positions are best read as UTF-16 code units (NVivo), not code points.

    It only matters when the text has characters beyond U+FFFF. NVivo is known to
    count that way; for other tools, the reading that puts more selections on word
    boundaries wins.
    """
    if not source.text or not any(ord(c) > 0xFFFF for c in source.text):
        return False
    if origin and "nvivo" in origin.lower():
        return True
    spans = [(s.start, s.end) for s in source.selections]
    to_points = utf16_positions(source.text)
    as_units = [(to_points(a), to_points(b)) for a, b in spans]
    return _on_word_boundaries(source.text, as_units) > _on_word_boundaries(source.text, spans)


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


def read_ids(study: Study) -> dict[tuple[str, str], str]:
    """The study's REFI GUID register: (kind, id) -> GUID. Missing file: empty."""
    path = study.refi_ids_path
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            (row.get("kind") or "", row.get("id") or ""): (row.get("guid") or "").strip()
            for row in csv.DictReader(handle)
        }


def csv_text(columns: Iterable[str], rows: Iterable[dict[str, object]]) -> str:
    """CSV text (header first, LF line ends) as studykit writes its tables."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in writer.fieldnames})
    return buffer.getvalue()


def has_rows(path: Path) -> bool:
    """True when a CSV file exists with at least one data row (a header alone counts as empty)."""
    if not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)
        return any(any(cell.strip() for cell in row) for row in rows)


def refuse_overwrite(paths: Iterable[Path], replace: bool) -> None:
    """Raise when an import would overwrite study data and ``--replace`` was not given."""
    if replace:
        return
    taken = [p for p in paths if (has_rows(p) if p.suffix == ".csv" else p.exists())]
    if taken:
        names = ", ".join(p.name for p in taken[:5]) + (
            f" and {len(taken) - 5} more" if len(taken) > 5 else ""
        )
        msg = f"the import would overwrite {names}; nothing was written"
        raise QualitativeDataError(
            msg,
            path=taken[0].parent,
            fix="Run it again with --replace to replace them (commit or back up first).",
        )


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
    """Refuse overwrites (unless ``replace``), then write the files and an audit-log entry together.

    Who is asked first (``by`` or ``git config user.name``), so a refusal writes nothing.
    """
    refuse_overwrite([p for p in files if p != study.refi_ids_path], replace)
    author = who(study, by)
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
        },
        previous={"replaced": replaced} if replaced else None,
    )
    log = study.audit_log_path
    written = commit_files({**files, log: appended_log(log, entry)}, within=study.root)
    summary.written = [p for p in written if p != log]
    return summary


# --- import: project -> study files -----------------------------------------------------------


def derived_guid(study: Study, kind: str, local: str) -> str:
    """The GUID an export gives an item that came with no GUID: stable for the study, kind and id."""
    return str(uuid.uuid5(STUDYKIT_NAMESPACE, f"{study.slug}/{kind}/{local}"))


def _known_by_guid(study: Study) -> dict[tuple[str, str], str]:
    """Ids of the study's codes and transcripts by GUID: recorded at import, or as its exports derive them."""
    known = {(kind, guid.lower()): local for (kind, local), guid in read_ids(study).items()}
    book, _ = parse_codebook(study.codebook_path)
    for code in book:
        known.setdefault(("code", derived_guid(study, "code", code.code_id)), code.code_id)
    for path in transcript_paths(study):
        known.setdefault(("transcript", derived_guid(study, "transcript", path.stem)), path.stem)
    return known


def code_rows(
    study: Study, codes: list[RefiCode]
) -> tuple[dict[str, str], list[dict[str, object]], list[dict[str, object]]]:
    """Code ids by GUID, ``codebook.csv`` rows and GUID-register rows for a list of codes.

    A code the study already has keeps its id (found by GUID, recorded or derived,
    else by name); any other gets a slug of its name, made unique.
    """
    by_guid = _known_by_guid(study)
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


def _transcript_id(name: str, taken: set[str]) -> str:
    stem = name
    for extension in SOURCE_EXTENSIONS:
        if stem.lower().endswith(extension):
            stem = stem[: -len(extension)]
            break
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
    return front, check


def segment_order(row: dict[str, object]) -> tuple[str, int, int, str]:
    """Sort key of a new segments row: transcript, start, end, code."""
    return (str(row["transcript"]), int(str(row["start"])), int(str(row["end"])), str(row["code"]))


def _memo(*parts: Iterable[str]) -> str | None:
    seen = list(dict.fromkeys(m for group in parts for m in group if m))
    return "\n\n".join(seen) or None


def plan_project_import(
    study: Study, project: RefiProject, source: Path
) -> tuple[dict[Path, bytes], ExchangeSummary]:
    """The files an import of ``project`` would write, and its summary. Writes nothing."""
    summary = ExchangeSummary("import", source, warnings=list(project.warnings), notes=list(project.notes))
    by_guid = _known_by_guid(study)
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
        body, _ = _to_lf(original)
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
            placed = align_selection(original, start, end, selection.name)
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

    segments.sort(key=segment_order)
    width = max(4, len(str(len(segments))))
    for number, row in enumerate(segments, start=1):
        row["segment_id"] = f"S{number:0{width}d}"
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


def codebook_files(study: Study, codes: list[RefiCode]) -> tuple[dict[Path, bytes], list[str]]:
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


def import_file(
    study: Study, path: Path, *, replace: bool = False, coder: str | None = None, by: str | None = None
) -> ExchangeSummary:
    """Import an exchange file, by its kind: ``.qdpx``/``.qde`` project, ``.qdc`` codebook, Taguette CSV.

    ``by`` names who imports, for the audit log (default: ``git config user.name``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".qdpx", ".qde"):
        return import_qdpx(study, path, replace=replace, by=by)
    if suffix == ".qdc":
        return import_qdc(study, path, replace=replace, by=by)
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


# --- export: study files -> QDPX / QDC --------------------------------------------------------


class _Guids:
    """GUIDs for export: those recorded at import when still valid, else uuid5 of slug, kind and id."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.known = read_ids(study)
        self.used: set[str] = set()
        self.given: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, local: str, *, recorded: bool = True) -> str:
        if (kind, local) in self.given:
            return self.given[(kind, local)]
        guid = self.known.get((kind, local), "") if recorded else ""
        if not GUID.match(guid) or guid.lower() in self.used:
            guid = derived_guid(self.study, kind, local)
        self.used.add(guid.lower())
        self.given[(kind, local)] = guid
        return guid


def _element(
    parent: etree._Element, tag: str, ns: str = PROJECT_NS, /, **attributes: str | None
) -> etree._Element:
    return etree.SubElement(parent, f"{{{ns}}}{tag}", {k: v for k, v in attributes.items() if v is not None})


def _text_element(parent: etree._Element, name: str, text: str, ns: str = PROJECT_NS) -> etree._Element:
    element = _element(parent, name, ns)
    element.text = text
    return element


def _code_tree(parent: etree._Element, codebook: Codebook, guids: _Guids, ns: str) -> None:
    """Codes nested by parent; a code whose parent is missing (or on a cycle) sits at the top."""
    placed: set[str] = set()

    def add(container: etree._Element, code: Code) -> None:
        placed.add(code.code_id)
        element = _element(
            container, "Code", ns, guid=guids("code", code.code_id), name=code.name, isCodable="true"
        )
        if code.definition.strip():
            _text_element(element, "Description", code.definition.strip(), ns)
        for child in codebook.children(code.code_id):
            if child.code_id not in placed:
                add(element, child)

    for code in codebook:
        if code.code_id not in placed and (code.parent is None or code.parent not in codebook):
            add(parent, code)
    for code in codebook:  # parents on a cycle: never reached from the top
        if code.code_id not in placed:
            add(parent, code)


def _xml_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True, standalone=True)


def build_codebook_xml(study: Study, codebook: Codebook | None = None) -> bytes:
    """The study's codebook as a REFI-QDA ``.qdc`` document (valid against ``Codebook.xsd``)."""
    codebook = codebook if codebook is not None else load_codebook(study)
    if not len(codebook):
        msg = "has no codes to export"
        raise QualitativeDataError(msg, path=study.codebook_path, fix="Add codes to codebook.csv first.")
    root = etree.Element(
        f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"studykit {__version__}"
    )
    _code_tree(_element(root, "Codes", CODEBOOK_NS), codebook, _Guids(study), CODEBOOK_NS)
    return _xml_bytes(root)


def _add_variable_value(parent: etree._Element, guid: str, kind: str, value: str) -> None:
    holder = _element(parent, "VariableValue")
    _element(holder, "VariableRef", targetGUID=guid)
    _text_element(holder, f"{kind}Value", value)


def build_qdpx(study: Study) -> tuple[bytes, ExchangeSummary]:
    """The study's transcripts, codebook and segments as QDPX bytes (deterministic), and a summary."""
    summary = ExchangeSummary("export", study.root)
    transcripts = {t.id: t for t in load_transcripts(study)}
    codebook = load_codebook(study)
    segments = load_segments(study)
    if not transcripts:
        msg = "holds no transcripts to export"
        raise QualitativeDataError(msg, path=study.transcripts_dir, fix="Add transcripts first.")
    guids = _Guids(study)
    root = etree.Element(
        f"{{{PROJECT_NS}}}Project",
        nsmap={None: PROJECT_NS},
        name=study.title,
        origin=f"studykit {__version__}",
    )

    kept: list[Segment] = []
    for segment in segments:
        transcript = transcripts.get(segment.transcript)
        problem = None
        if transcript is None:
            problem = f"transcript {segment.transcript!r} does not exist"
        elif segment.code not in codebook:
            problem = f"code {segment.code!r} is not in the codebook"
        elif segment.end > len(transcript.body):
            problem = f"end {segment.end} is past the end of the transcript body ({len(transcript.body)})"
        if problem:
            summary.warnings.append(f"segment {segment.segment_id} not exported: {problem}")
        else:
            kept.append(segment)

    coders = sorted({s.coder for s in kept if s.coder})
    if coders:
        users = _element(root, "Users")
        for coder in coders:
            _element(users, "User", guid=guids("user", coder), name=coder)
    if len(codebook):
        _code_tree(_element(_element(root, "CodeBook"), "Codes"), codebook, guids, PROJECT_NS)

    variables = {name: guids("variable", name, recorded=False) for name in SOURCE_VARIABLES}
    holder = _element(root, "Variables")
    for name, kind in SOURCE_VARIABLES.items():
        _element(holder, "Variable", guid=variables[name], name=name, typeOfVariable=kind)

    source_guids = {tid: guids("transcript", tid) for tid in sorted(transcripts)}
    participants: dict[str, list[str]] = {}
    for tid in sorted(transcripts):
        for participant in transcripts[tid].participants:
            participants.setdefault(participant, []).append(tid)
    if participants:
        cases = _element(root, "Cases")
        for participant in sorted(participants):
            case = _element(cases, "Case", guid=guids("case", participant), name=participant)
            for tid in participants[participant]:
                _element(case, "SourceRef", targetGUID=source_guids[tid])

    notes: list[tuple[str, str, str]] = []
    sources_element = _element(root, "Sources")
    files: dict[str, bytes] = {}
    for tid in sorted(transcripts):
        transcript = transcripts[tid]
        guid = source_guids[tid]
        files[f"sources/{guid}.txt"] = transcript.body.encode("utf-8")
        source = _element(
            sources_element, "TextSource", guid=guid, name=tid, plainTextPath=f"internal://{guid}.txt"
        )
        # Segments that were one selection at import (same recorded GUID, same span) stay one;
        # otherwise segments with the same span form one selection with several codings.
        groups: dict[tuple[str, int, int], list[Segment]] = {}
        for segment in sorted(
            (s for s in kept if s.transcript == tid), key=lambda s: (s.start, s.end, s.segment_id)
        ):
            recorded = guids.known.get(("selection", segment.segment_id), "")
            key = (recorded if GUID.match(recorded) else "", segment.start, segment.end)
            groups.setdefault(key, []).append(segment)
        for (recorded, _, _), members in groups.items():
            first = members[0]
            if recorded:
                selection_guid = guids("selection", first.segment_id)
            else:
                selection_guid = guids("selection", f"{tid}:{first.start}:{first.end}", recorded=False)
            selection = _element(
                source,
                "PlainTextSelection",
                guid=selection_guid,
                name=_selection_name(transcript.body[first.start : first.end]),
                startPosition=str(first.start),
                endPosition=str(first.end),
            )
            for segment in members:
                coding = _element(
                    selection,
                    "Coding",
                    guid=guids("coding", segment.segment_id),
                    creatingUser=guids("user", segment.coder) if segment.coder else None,
                )
                _element(coding, "CodeRef", targetGUID=guids("code", segment.code))
                if segment.memo and segment.memo.strip():
                    # Named after its coding's GUID, so a re-import and export keeps it too.
                    note_guid = guids("note", guids("coding", segment.segment_id), recorded=False)
                    notes.append((note_guid, segment.memo.strip()))
                    _element(coding, "NoteRef", targetGUID=note_guid)
        values = transcript.front_matter()
        for name, kind in SOURCE_VARIABLES.items():
            if values.get(name) is not None:
                _add_variable_value(source, variables[name], kind, str(values[name]))
    if notes:
        holder = _element(root, "Notes")
        for note_guid, memo in notes:
            note = _element(holder, "Note", guid=note_guid, name=f"Memo: {_selection_name(memo)[:60]}")
            _text_element(note, "PlainTextContent", memo)

    xml = _xml_bytes(root)
    problems = schema_errors(xml, "project")
    if problems:  # a bug in this module, not in the study: stop rather than write an invalid file
        msg = f"the export does not validate against Project.xsd ({problems[0]})"
        raise QualitativeDataError(
            msg,
            path=study.root,
            fix="Please report this as a studykit bug.",
        )
    summary.counts = {
        "codes": len(codebook),
        "transcripts": len(transcripts),
        "segments": len(kept),
        "coders": len(coders),
        "participants": len(participants),
    }
    return _zip({"project.qde": xml, **files}), summary


def _selection_name(text: str) -> str:
    """A selection's name: its text (squashed, cut at 200 characters), as QualCoder and NVivo write it."""
    words = " ".join(text.split())
    return words if len(words) <= 200 else words[:199] + "…"


def _zip(entries: dict[str, bytes]) -> bytes:
    """A ZIP with entries in a fixed order and fixed timestamps and permissions: same input, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries, key=lambda n: (n != "project.qde", n)):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def _export_target(study: Study, output: Path | None, suffix: str) -> Path:
    target = Path(output) if output is not None else study.root / f"{study.slug}{suffix}"
    if target.suffix.lower() != suffix:
        msg = f"must end in {suffix}"
        raise QualitativeDataError(msg, path=target, fix=f"Give an output file name ending in {suffix}.")
    if target.exists() and not target.is_file():
        msg = "is a folder"
        raise QualitativeDataError(msg, path=target, fix=f"Give a file name ending in {suffix}.")
    return target


def export_qdpx(study: Study, output: Path | None = None) -> ExchangeSummary:
    """Write the study's qualitative data as a REFI-QDA project (``.qdpx``)."""
    target = _export_target(study, output, ".qdpx")
    data, summary = build_qdpx(study)
    summary.written = commit_files({target: data})
    return summary


def export_qdc(study: Study, output: Path | None = None) -> ExchangeSummary:
    """Write the study's codebook as a REFI-QDA codebook (``.qdc``)."""
    target = _export_target(study, output, ".qdc")
    book, problems = parse_codebook(study.codebook_path)
    if problems:
        load_codebook(study)  # raises with the first problem, named by file and row
    xml = build_codebook_xml(study, book)
    errors = schema_errors(xml, "codebook")
    if errors:
        msg = f"the export does not validate against Codebook.xsd ({errors[0]})"
        raise QualitativeDataError(
            msg,
            path=study.codebook_path,
            fix="Please report this as a studykit bug.",
        )
    summary = ExchangeSummary("export", study.root, counts={"codes": len(book)})
    summary.written = commit_files({target: xml})
    return summary


__all__ = [
    "ExchangeSummary",
    "RefiProject",
    "align_selection",
    "build_codebook_xml",
    "build_qdpx",
    "export_qdc",
    "export_qdpx",
    "import_file",
    "import_qdc",
    "import_qdpx",
    "read_qdc",
    "read_qdpx",
    "schema_errors",
]
