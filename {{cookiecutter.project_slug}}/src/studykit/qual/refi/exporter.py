"""Export: the study's transcripts, codebook and segments as a REFI-QDA project or codebook.

Writing is strict: exports validate against the official ``Project.xsd`` /
``Codebook.xsd`` vendored in ``schemas/``, the same study always exports the same
bytes, and every front-matter key travels as a source variable, so a round trip
keeps it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from functools import cache
from pathlib import Path

import yaml
from lxml import etree

from studykit import __version__
from studykit.errors import QualitativeDataError
from studykit.qual.coding import Code, Codebook, Segment, load_codebook, load_segments, parse_codebook
from studykit.qual.exchange import ExchangeSummary, commit_files, derived_guid, export_target, read_ids
from studykit.qual.refi.model import CODEBOOK_NS, GUID, PROJECT_NS, SCHEMA_DIR
from studykit.qual.transcripts import Transcript, load_transcripts
from studykit.study import Study

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest ZIP timestamp: fixed, so exports are byte-identical
# Front matter that exports carry as source variables of a fixed type; other keys get the type of their value.
SOURCE_VARIABLES = {
    "kind": "Text",
    "wave": "Text",
    "date": "Date",
    "interviewer": "Text",
    "duration_minutes": "Integer",
}
NOT_VARIABLES = ("id", "participants")  # the source's name and its cases carry these


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


def _variable_type(value: object) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, dt.datetime):
        return "DateTime"
    if isinstance(value, dt.date):
        return "Date"
    return "Text"


def _variable_text(value: object, kind: str) -> str:
    if kind == "Boolean":
        return "true" if value else "false"
    if kind in ("Date", "DateTime"):
        return value.isoformat()  # type: ignore[attr-defined]
    if isinstance(value, list | dict):
        return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6).strip()
    return str(value)


def source_variables(
    transcripts: dict[str, Transcript], summary: ExchangeSummary
) -> dict[str, str]:
    """Every front-matter key the transcripts use, with its REFI variable type (Text when they disagree)."""
    types: dict[str, str] = dict(SOURCE_VARIABLES)
    seen: dict[str, set[str]] = {}
    for tid in sorted(transcripts):
        for name, value in transcripts[tid].front_matter().items():
            if name in NOT_VARIABLES or name in SOURCE_VARIABLES:
                continue
            if value is None:
                summary.warnings.append(f"{tid}: front-matter key {name!r} is empty and was not exported")
                continue
            seen.setdefault(name, set()).add(_variable_type(value))
    for name, kinds in seen.items():
        types[name] = kinds.pop() if len(kinds) == 1 else "Text"
    return types


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


# Characters XML 1.0 cannot hold (C0 controls but tab, LF, CR; and the two non-characters).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(value: str) -> str:
    """A value as XML can hold it: a control character (an escape sequence pasted into a
    title or a coded quotation) is written out as ``\\xNN``, as the terminal report shows
    it, instead of stopping the export. The sources' plain text keeps it as it is."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def _element(
    parent: etree._Element, tag: str, ns: str = PROJECT_NS, /, **attributes: str | None
) -> etree._Element:
    return etree.SubElement(
        parent, f"{{{ns}}}{tag}", {k: _xml(v) for k, v in attributes.items() if v is not None}
    )


def _text_element(parent: etree._Element, name: str, text: str, ns: str = PROJECT_NS) -> etree._Element:
    element = _element(parent, name, ns)
    element.text = _xml(text)
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
        name=_xml(study.title),
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

    types = source_variables(transcripts, summary)
    variables = {name: guids("variable", name, recorded=False) for name in types}
    holder = _element(root, "Variables")
    for name, kind in types.items():
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
        for name, kind in types.items():
            if values.get(name) is not None:
                _add_variable_value(source, variables[name], kind, _variable_text(values[name], kind))
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


def export_qdpx(study: Study, output: Path | None = None) -> ExchangeSummary:
    """Write the study's qualitative data as a REFI-QDA project (``.qdpx``)."""
    target = export_target(study, output, ".qdpx")
    data, summary = build_qdpx(study)
    summary.written = commit_files({target: data})
    return summary


def export_qdc(study: Study, output: Path | None = None) -> ExchangeSummary:
    """Write the study's codebook as a REFI-QDA codebook (``.qdc``)."""
    target = export_target(study, output, ".qdc")
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


