"""Reading REFI-QDA: ``.qdpx`` archives, ``.qde`` projects and ``.qdc`` codebooks into a ``RefiProject``.

Reading is lenient about the known vendor quirks (any single root ``*.qde``,
``Sources/`` in any case, a BOM) and reports everything it could not carry.
It is strict about what a file may cost: every archive entry and XML document is
checked against size and compression-ratio limits before it is read (the limits
are the input's real content, never what its headers claim), lxml's ``huge_tree``
stays off, entities are never expanded, and an entity reference left in a text is
kept as written and reported, so the text is never cut at it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from studykit.errors import QualitativeDataError
from studykit.qual.refi.model import (
    GUID,
    REFI_FIX,
    RefiCase,
    RefiCode,
    RefiCoding,
    RefiProject,
    RefiSelection,
    RefiSource,
)

MAX_XML_BYTES = 64 * 1024 * 1024
"""A project.qde or .qdc larger than this is refused (each XML text or attribute is capped at 10 MB too)."""
MAX_ENTRY_BYTES = 256 * 1024 * 1024
"""One file inside a .qdpx (a source) larger than this is refused."""
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
"""All files of a .qdpx together, expanded."""
MAX_RATIO = 100
"""Text deflates about 3 to 10 times; an entry expanding more than this (past 1 MB) is a ZIP bomb."""
_RATIO_FLOOR = 1024 * 1024
_CHUNK = 1024 * 1024
_ARCHIVE_FIX = (
    "Export the project again from your QDA software; if it really is this large, split it "
    "(export fewer documents at a time)."
)


def _too_large(size: int, limit: int, label: Path | str, *, what: str) -> QualitativeDataError:
    msg = f"{what} is {size:,} bytes, more than studykit reads ({limit:,} bytes); nothing was imported"
    return QualitativeDataError(msg, path=label, fix=_ARCHIVE_FIX)


def _check_entry(info: zipfile.ZipInfo, label: str) -> None:
    """Refuse an entry by what its header claims: too large, or compressed beyond any text."""
    where = f"entry {info.filename!r}"
    if info.file_size > MAX_ENTRY_BYTES:
        raise _too_large(info.file_size, MAX_ENTRY_BYTES, label, what=where)
    if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size // max(info.compress_size, 1)
        msg = (
            f"{where} expands {ratio:,} times ({info.compress_size:,} bytes to {info.file_size:,}), "
            f"more than any text compresses (limit {MAX_RATIO} times); it looks like a ZIP bomb "
            "and nothing was imported"
        )
        raise QualitativeDataError(msg, path=label, fix=_ARCHIVE_FIX)


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, limit: int) -> bytes:
    """An entry's bytes, read in chunks and stopped at ``limit``: a header that lies changes nothing."""
    _check_entry(info, label)
    parts: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit, label, what=f"entry {info.filename!r}")
            parts.append(chunk)
    return b"".join(parts)


# --- XML helpers -------------------------------------------------------------------------------


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _kids(element: etree._Element, *names: str) -> list[etree._Element]:
    """Child elements by local name: vendors differ in namespace use, the names are stable."""
    return [c for c in element if isinstance(c.tag, str) and _local(c) in names]


def _text(element: etree._Element) -> str:
    """An element's whole text: an unexpanded entity reference stays in it as written (``&name;``)."""
    return "".join(element.itertext())


def _kid_text(element: etree._Element, name: str) -> str | None:
    found = _kids(element, name)
    if not found:
        return None
    text = _text(found[0])
    return text if text or found[0].text is not None else None


def _parse_xml(data: bytes, label: Path | str) -> etree._Element:
    """Parse without expanding entities, without the network and without lxml's ``huge_tree``."""
    if len(data) > MAX_XML_BYTES:
        raise _too_large(len(data), MAX_XML_BYTES, label, what="the XML document")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        if exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            msg = (
                f"holds a text or attribute over 10 MB at line {exc.lineno}, more than studykit reads "
                "(no REFI-QDA value needs that much); nothing was imported"
            )
            raise QualitativeDataError(msg, path=label, fix=_ARCHIVE_FIX) from exc
        msg = f"is not well-formed XML ({exc})"
        raise QualitativeDataError(msg, path=label, fix=REFI_FIX) from exc


def _entity_warnings(root: etree._Element) -> list[str]:
    """Entity references left in the document: kept as written in the text, and said so."""
    names = sorted({f"&{e.name};" for e in root.iter(etree.Entity)})
    if not names:
        return []
    return [
        f"{len(names)} entity reference(s) ({', '.join(names[:5])}) kept as written in the imported text: "
        "studykit does not expand entities; check the text and replace them by hand"
    ]


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


def _variable_value(element: etree._Element) -> tuple[str, str] | None:
    """(type, value) of a ``VariableValue``: the type is ``Text``, ``Boolean``, ``Integer``, ..."""
    for kind in ("Text", "Boolean", "Integer", "Float", "Date", "DateTime"):
        value = _kid_text(element, f"{kind}Value")
        if value is not None:
            return kind, value.strip()
    return None


def _variable_values(
    element: etree._Element, variables: dict[str, str], kinds: dict[str, str] | None = None
) -> dict[str, str]:
    """Values by variable name; ``kinds`` (when given) receives each one's type."""
    values: dict[str, str] = {}
    for item in _kids(element, "VariableValue"):
        ref = _kids(item, "VariableRef")
        name = variables.get(ref[0].get("targetGUID", "")) if ref else None
        found = _variable_value(item)
        if name and found is not None:
            values[name] = found[1]
            if kinds is not None:
                kinds[name] = found[0]
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
    project.warnings += _entity_warnings(root)
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
            )
            refi.variables = _variable_values(source, variables, refi.variable_types)
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
        label = path.as_posix()
        for info in entries:
            _check_entry(info, label)  # every entry, before any is read
        total = sum(i.file_size for i in entries)
        if total > MAX_ARCHIVE_BYTES:
            raise _too_large(total, MAX_ARCHIVE_BYTES, label, what="the archive, expanded,")
        sources: dict[str, Callable[[], bytes]] = {}
        folders: set[str] = set()
        for info in entries:
            folder, _, name = info.filename.rpartition("/")
            if folder.lower() == "sources" and name:
                folders.add(folder)
                sources[name.lower()] = lambda info=info: _read_entry(archive, info, label, MAX_ENTRY_BYTES)
        if folders - {"sources"}:
            notes.append(
                f"sources folder is named {sorted(folders - {'sources'})[0]!r}, not 'sources' (read anyway)"
            )
        inner = archive.getinfo(projects[0])
        where = f"{label}!{projects[0]}"
        root = _parse_xml(_read_entry(archive, inner, where, MAX_XML_BYTES), where)
        project = parse_project(root, _sources_reader(sources), path.as_posix())
    project.notes[:0] = notes
    return project


def _read_bounded(path: Path, limit: int) -> bytes:
    """A file's bytes, refused unread when larger than ``limit``."""
    size = path.stat().st_size
    if size > limit:
        raise _too_large(size, limit, path, what="the file")
    return path.read_bytes()


def _read_unpacked(path: Path) -> RefiProject:
    folder = next((d for d in path.parent.iterdir() if d.is_dir() and d.name.lower() == "sources"), None)
    files = {
        f.name.lower(): lambda f=f: _read_bounded(f, MAX_ENTRY_BYTES)
        for f in (folder.iterdir() if folder else ())
        if f.is_file()
    }
    root = _parse_xml(_read_bounded(path, MAX_XML_BYTES), path)
    return parse_project(root, _sources_reader(files), path.as_posix())


def read_qdc(path: Path) -> tuple[list[RefiCode], str | None]:
    """Read a ``.qdc`` codebook: its codes (nested via ``parent``) and its ``origin``.

    GUIDs must match the REFI GUID pattern: a codebook whose GUIDs do not (the
    refi-tools example uses ``c001``) is rejected with the codes named, since
    another tool could not open what we would pass on.
    """
    path = Path(path)
    try:
        data = _read_bounded(path, MAX_XML_BYTES)
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

