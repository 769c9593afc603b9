"""REFI-QDA import and export: round trip, the reference fixture, vendor quirks, schema validity.

Every project used here is synthetic. The shared hand-authored fixture (from the public
Ornio-app/qdpx-toolkit repository, MIT) sits beside the checkout in CI; the tests carry
their own copy of its shape in ``OWN_PROJECT`` so they mean the same on a clone without it.
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from studykit.cli import app
from studykit.errors import QualitativeDataError
from studykit.governance.audit import read_audit
from studykit.qual import exchange, refi
from studykit.qual.refi.align import _Aligned
from studykit.qual.transcripts import load_transcripts, read_transcript
from studykit.study import Study
from typer.testing import CliRunner

from tests.package.qual_study import (
    CODEBOOK,
    FOCUS_GROUP_BODY,
    INTERVIEW_BODY,
    default_segments,
    make_qual_study,
    segments_csv,
    span,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
SCHEMAS = TEMPLATE / "src" / "studykit" / "qual" / "schemas"
SHARED_FIXTURE = REPO.parent / "shared" / "fixtures" / "refi-qda" / "hand-authored"

# The element types of the reference fixture, in a project of our own: nested codes, a case
# with variables, overlapping text selections, a memo linked to a selection, and picture,
# PDF, audio and video sources whose files are absent.
OWN_TEXT = "Diet and health are closely linked in this interview."
OWN_FILE = "11111111-1111-1111-1111-111111111111.txt"
OWN_PROJECT = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Own sample" creationDateTime="2024-01-15T10:00:00Z">
  <Users><User guid="10000000-0000-0000-0000-000000000001" name="Researcher A"/></Users>
  <CodeBook><Codes>
    <Code guid="20000000-0000-0000-0000-000000000001" name="Topics" isCodable="false">
      <Code guid="20000000-0000-0000-0000-000000000002" name="Health" isCodable="true" color="#33cc33">
        <Description>Anything about physical or mental health</Description>
        <Code guid="20000000-0000-0000-0000-000000000003" name="Diet" isCodable="true">
          <Description>Food and eating habits</Description>
        </Code>
      </Code>
      <Code guid="20000000-0000-0000-0000-000000000004" name="Wellbeing" isCodable="true"/>
    </Code>
  </Codes></CodeBook>
  <Variables>
    <Variable guid="30000000-0000-0000-0000-000000000001" name="Age" typeOfVariable="Integer"/>
  </Variables>
  <Cases>
    <Case guid="d0000000-0000-0000-0000-000000000001" name="Participant 1">
      <VariableValue>
        <VariableRef targetGUID="30000000-0000-0000-0000-000000000001"/><IntegerValue>34</IntegerValue>
      </VariableValue>
      <SourceRef targetGUID="40000000-0000-0000-0000-000000000001"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="40000000-0000-0000-0000-000000000001" name="Interview 1.txt"
                plainTextPath="internal://11111111-1111-1111-1111-111111111111.txt"
                creationDateTime="2024-01-15T10:05:00Z">
      <PlainTextSelection guid="50000000-0000-0000-0000-000000000001" name="Diet and health"
                          startPosition="0" endPosition="15">
        <Coding guid="60000000-0000-0000-0000-000000000001"
                creatingUser="10000000-0000-0000-0000-000000000001">
          <CodeRef targetGUID="20000000-0000-0000-0000-000000000002"/>
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="50000000-0000-0000-0000-000000000002" name="health are closely"
                          startPosition="9" endPosition="23">
        <Coding guid="60000000-0000-0000-0000-000000000002"
                creatingUser="10000000-0000-0000-0000-000000000001">
          <CodeRef targetGUID="20000000-0000-0000-0000-000000000003"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
    <PictureSource guid="40000000-0000-0000-0000-000000000002" name="photo.jpg"
                   path="internal://22222222-2222-2222-2222-222222222222.jpg">
      <PictureSelection guid="50000000-0000-0000-0000-000000000003"
                        firstX="1" firstY="2" secondX="3" secondY="4">
        <Coding guid="60000000-0000-0000-0000-000000000003">
          <CodeRef targetGUID="20000000-0000-0000-0000-000000000004"/>
        </Coding>
      </PictureSelection>
    </PictureSource>
    <PDFSource guid="40000000-0000-0000-0000-000000000003" name="doc.pdf"
               path="internal://33333333-3333-3333-3333-333333333333.pdf"/>
    <AudioSource guid="40000000-0000-0000-0000-000000000004" name="interview.m4a" path="relative:///a.m4a">
      <AudioSelection guid="50000000-0000-0000-0000-000000000006" begin="1000" end="5000"/>
    </AudioSource>
    <VideoSource guid="40000000-0000-0000-0000-000000000005" name="clip.mp4" path="absolute:///v/clip.mp4"/>
  </Sources>
  <Notes>
    <Note guid="a0000000-0000-0000-0000-000000000001" name="Research memo">
      <PlainTextContent>Remember to follow up on diet-related comments.</PlainTextContent>
    </Note>
  </Notes>
  <Links>
    <Link guid="b0000000-0000-0000-0000-000000000001" direction="OneWay"
          originGUID="a0000000-0000-0000-0000-000000000001"
          targetGUID="50000000-0000-0000-0000-000000000001"/>
  </Links>
</Project>
"""


BY = "Test coder"  # who imports, for the audit log


def _empty_study(tmp_path: Path, name: str = "target") -> Study:
    return make_qual_study(tmp_path / name, transcripts={})


def _coded_study(tmp_path: Path) -> Study:
    return make_qual_study(tmp_path / "source", codebook=CODEBOOK, segments=default_segments())


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _own_qdpx(tmp_path: Path) -> Path:
    return _zip(
        tmp_path / "own.qdpx",
        {"project.qde": OWN_PROJECT.encode(), f"sources/{OWN_FILE}": OWN_TEXT.encode()},
    )


def _shared_qdpx(tmp_path: Path) -> Path:
    entries = {"project.qde": (SHARED_FIXTURE / "project.qde").read_bytes()}
    for source in (SHARED_FIXTURE / "sources").iterdir():
        entries[f"sources/{source.name}"] = source.read_bytes()
    return _zip(tmp_path / "shared.qdpx", entries)


# The shared fixture is added when present (CI); our own copy of its shape always runs.
REFERENCE_PROJECTS = [_own_qdpx] + ([_shared_qdpx] if SHARED_FIXTURE.is_dir() else [])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _xsd(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def _project_xml(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("project.qde")


def _segments_by_name(study: Study) -> set[tuple]:
    """Segments as (transcript, start, end, code name, coder, memo): independent of ids."""
    names = {r["code_id"]: r["name"] for r in _rows(study.codebook_path)}
    return {
        (r["transcript"], int(r["start"]), int(r["end"]), names[r["code"]], r["coder"], r["memo"])
        for r in _rows(study.segments_path)
    }


def _codes_by_name(study: Study) -> set[tuple]:
    rows = _rows(study.codebook_path)
    names = {r["code_id"]: r["name"] for r in rows}
    return {(r["name"], names.get(r["parent"], ""), r["definition"]) for r in rows}


# --- export ---------------------------------------------------------------------------------


def test_export_qdpx_validates_against_project_xsd(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    summary = refi.export_qdpx(study, tmp_path / "out.qdpx")
    data = (tmp_path / "out.qdpx").read_bytes()
    document = etree.fromstring(_project_xml(data))
    schema = _xsd("Project.xsd")
    assert schema.validate(document), schema.error_log
    assert summary.counts == {"codes": 3, "transcripts": 2, "segments": 2, "coders": 2, "participants": 3}


def test_export_qdpx_container_follows_refi_rules(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    data, _ = refi.build_qdpx(study)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names[0] == "project.qde"
        texts = [n for n in names if n != "project.qde"]
        assert all(n.startswith("sources/") and n.count("/") == 1 and n.endswith(".txt") for n in texts)
        bodies = {archive.read(n).decode("utf-8") for n in texts}
        assert not any(archive.read(n).startswith(b"\xef\xbb\xbf") for n in texts)
    assert bodies == {INTERVIEW_BODY, FOCUS_GROUP_BODY}
    root = etree.fromstring(_project_xml(data))
    ns = {"q": refi.PROJECT_NS}
    start, end = span(INTERVIEW_BODY, "Supervision every week.")
    selection = root.find(f".//q:PlainTextSelection[@startPosition='{start}']", ns)
    assert selection is not None
    assert selection.get("endPosition") == str(end)  # exclusive end, as QualCoder writes
    # nested code and a case per participant linked to the transcripts they are in
    assert root.find(".//q:Code[@name='Support']/q:Code[@name='Supervision']", ns) is not None
    assert {c.get("name") for c in root.iterfind(".//q:Case", ns)} == {"P001", "P002", "P003"}


def test_export_is_byte_identical_and_guids_are_stable(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    first, _ = refi.build_qdpx(study)
    second, _ = refi.build_qdpx(study)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {i.date_time for i in archive.infolist()} == {refi.ZIP_TIME}
    code_guid = str(uuid.uuid5(exchange.STUDYKIT_NAMESPACE, "synthetic-peer/code/C1"))
    assert f'guid="{code_guid}"'.encode() in _project_xml(first)


def test_export_qdc_validates_against_codebook_xsd(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    refi.export_qdc(study, tmp_path / "codes.qdc")
    document = etree.parse(str(tmp_path / "codes.qdc"))
    schema = _xsd("Codebook.xsd")
    assert schema.validate(document), schema.error_log
    ns = {"c": refi.CODEBOOK_NS}
    assert document.find("c:Codes/c:Code[@name='Support']/c:Code[@name='Supervision']", ns) is not None


def test_export_reports_segments_it_cannot_place(tmp_path: Path) -> None:
    bad = segments_csv([("S1", "INT-P001-T1", 0, 9999, "C1", "R1", ""), ("S2", "NOPE", 0, 5, "C1", "R1", "")])
    study = make_qual_study(tmp_path, codebook=CODEBOOK, segments=bad)
    _, summary = refi.build_qdpx(study)
    assert summary.counts["segments"] == 0
    assert any("S1 not exported" in w and "past the end" in w for w in summary.warnings)
    assert any("S2 not exported" in w and "does not exist" in w for w in summary.warnings)


def test_export_output_must_end_in_qdpx(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    with pytest.raises(QualitativeDataError, match=r"must end in \.qdpx"):
        refi.export_qdpx(study, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


# --- round trip -------------------------------------------------------------------------------


def test_round_trip_preserves_codes_sources_selections_and_codings(tmp_path: Path) -> None:
    original = _coded_study(tmp_path)
    refi.export_qdpx(original, tmp_path / "x.qdpx")
    target = _empty_study(tmp_path)
    summary = refi.import_qdpx(target, tmp_path / "x.qdpx", by=BY)

    assert summary.warnings == []
    assert _codes_by_name(target) == _codes_by_name(original)
    assert _segments_by_name(target) == _segments_by_name(original)
    before = {t.id: t for t in load_transcripts(original)}
    after = {t.id: t for t in load_transcripts(target)}
    assert after.keys() == before.keys()
    for tid, transcript in before.items():
        assert after[tid].body == transcript.body
        assert after[tid].front_matter() == transcript.front_matter()

    # Exporting the imported study gives the same project: same GUIDs, same bytes.
    assert refi.build_qdpx(target)[0] == refi.build_qdpx(original)[0]


def test_reimport_into_the_same_study_keeps_its_ids(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    before = _rows(study.codebook_path)
    segments = _segments_by_name(study)
    refi.export_qdpx(study, tmp_path / "x.qdpx")
    refi.import_qdpx(study, tmp_path / "x.qdpx", replace=True, by=BY)
    assert _rows(study.codebook_path) == before  # C1, C1.1, C2: not re-slugged
    assert _segments_by_name(study) == segments
    assert exchange.read_ids(study)[("code", "C1")] == exchange.derived_guid(study, "code", "C1")


def test_reimport_with_new_guids_keeps_code_ids_by_name(tmp_path: Path) -> None:
    # ATLAS.ti 26 regenerates every GUID on export.
    study = _coded_study(tmp_path)
    data, _ = refi.build_qdpx(study)
    xml = _project_xml(data).decode()
    for number, code in enumerate(("C1", "C1.1", "C2"), start=1):
        new_guid = f"aaaaaaaa-0000-0000-0000-{number:012d}"
        xml = xml.replace(exchange.derived_guid(study, "code", code), new_guid)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    path = _zip(tmp_path / "atlas.qdpx", {**entries, "project.qde": xml.encode()})
    refi.import_qdpx(study, path, replace=True, by=BY)
    assert [r["code_id"] for r in _rows(study.codebook_path)] == ["C1", "C1.1", "C2"]
    assert exchange.read_ids(study)[("code", "C2")] == "aaaaaaaa-0000-0000-0000-000000000003"


def test_round_trip_keeps_foreign_guids(tmp_path: Path) -> None:
    study = _empty_study(tmp_path)
    refi.import_qdpx(study, _own_qdpx(tmp_path), by=BY)
    xml = _project_xml(refi.build_qdpx(study)[0]).decode()
    for guid in (
        "20000000-0000-0000-0000-000000000001",  # codes
        "20000000-0000-0000-0000-000000000003",
        "40000000-0000-0000-0000-000000000001",  # the text source
        "50000000-0000-0000-0000-000000000001",  # selections
        "50000000-0000-0000-0000-000000000002",
        "60000000-0000-0000-0000-000000000001",  # codings
        "60000000-0000-0000-0000-000000000002",
        "10000000-0000-0000-0000-000000000001",  # the user
    ):
        assert f'"{guid}"' in xml
    assert refi.schema_errors(xml.encode()) == []


def test_several_codings_of_one_selection_stay_one_selection(tmp_path: Path) -> None:
    start, end = span(INTERVIEW_BODY, "Supervision every week.")
    rows = [
        ("S1", "INT-P001-T1", start, end, "C1", "R1", ""),
        ("S2", "INT-P001-T1", start, end, "C2", "R2", ""),
    ]
    study = make_qual_study(tmp_path / "a", codebook=CODEBOOK, segments=segments_csv(rows))
    root = etree.fromstring(_project_xml(refi.build_qdpx(study)[0]))
    selections = root.findall(f".//{{{refi.PROJECT_NS}}}PlainTextSelection")
    assert len(selections) == 1
    assert len(selections[0].findall(f"{{{refi.PROJECT_NS}}}Coding")) == 2


# --- import: the reference fixture ---------------------------------------------------------------


@pytest.mark.parametrize("build", REFERENCE_PROJECTS, ids=lambda f: f.__name__.strip("_"))
def test_reference_project_imports_text_and_reports_the_rest(tmp_path: Path, build) -> None:
    study = _empty_study(tmp_path)
    summary = refi.import_qdpx(study, build(tmp_path), by=BY)

    transcript = read_transcript(study.transcripts_dir / "Interview-1.md")
    assert transcript.body == OWN_TEXT
    assert transcript.kind == "interview"
    segments = {(r["start"], r["end"], r["code"]): r for r in _rows(study.segments_path)}
    assert set(segments) == {("0", "15", "health"), ("9", "23", "diet")}  # overlapping, as given
    assert transcript.body[0:15] == "Diet and health"
    assert segments[("0", "15", "health")]["coder"] == "Researcher A"
    assert segments[("0", "15", "health")]["memo"] == "Remember to follow up on diet-related comments."
    codes = {r["code_id"]: r for r in _rows(study.codebook_path)}
    assert codes["diet"]["parent"] == "health"
    assert codes["health"]["parent"] == "topics"
    assert codes["diet"]["definition"] == "Food and eating habits"

    text = "\n".join(summary.warnings)
    for kind in ("picture source 'photo.jpg'", "PDF source 'doc.pdf'", "audio source", "video source"):
        assert f"{kind}" in text
    assert "not in the archive" in text  # the picture and PDF files are absent
    assert "Interview-1: check the front matter: kind (set to interview)" in text
    assert "'Participant 1' is not shaped like a participant id" in text
    assert {"case": "Participant 1", "participant_id": "", "variable": "Age", "value": "34"} in _rows(
        study.refi_cases_path
    )


def test_import_of_unpacked_project_file(tmp_path: Path) -> None:
    folder = tmp_path / "unpacked"
    (folder / "sources").mkdir(parents=True)
    (folder / "project.qde").write_text(OWN_PROJECT, encoding="utf-8")
    (folder / "sources" / "11111111-1111-1111-1111-111111111111.txt").write_text(OWN_TEXT, encoding="utf-8")
    study = _empty_study(tmp_path)
    summary = exchange.import_file(study, folder / "project.qde", by=BY)
    assert summary.counts["segments"] == 2


def test_inline_text_and_whole_document_coding(tmp_path: Path) -> None:
    project = b"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="inline">
  <CodeBook><Codes>
    <Code guid="20000000-0000-0000-0000-000000000001" name="Whole" isCodable="true"/>
  </Codes></CodeBook>
  <Sources><TextSource guid="40000000-0000-0000-0000-000000000009" name="Memo T2.rtf">
    <PlainTextContent>Short text.</PlainTextContent>
    <Coding guid="60000000-0000-0000-0000-000000000009">
      <CodeRef targetGUID="20000000-0000-0000-0000-000000000001"/>
    </Coding>
  </TextSource></Sources>
</Project>"""
    study = _empty_study(tmp_path)
    summary = refi.import_qdpx(study, _zip(tmp_path / "i.qdpx", {"project.qde": project}), by=BY)
    transcript = read_transcript(study.transcripts_dir / "Memo-T2.md")
    assert (transcript.body, transcript.wave) == ("Short text.", "T2")
    assert [(r["start"], r["end"], r["code"]) for r in _rows(study.segments_path)] == [("0", "11", "whole")]
    assert any("whole document" in n for n in summary.notes)


def test_participants_come_from_cases_named_like_ids(tmp_path: Path) -> None:
    project = OWN_PROJECT.replace('name="Participant 1"', 'name="P001"')
    path = _zip(
        tmp_path / "p.qdpx",
        {"project.qde": project.encode(), f"sources/{OWN_FILE}": OWN_TEXT.encode()},
    )
    study = _empty_study(tmp_path)
    refi.import_qdpx(study, path, by=BY)
    assert read_transcript(study.transcripts_dir / "Interview-1.md").participants == ("P001",)


# --- import: vendor quirks ------------------------------------------------------------------------

# NVivo writes a BOM and CRLF; vendors disagree on counting CRLF. Each selection's name is its text.
QUIRK_TEXT = "Line one about hope.\r\nLine two about support.\r\nLine three about supervision.\r\n"
QUIRK_LF = QUIRK_TEXT.replace("\r\n", "\n")


def _quirk_selection(guid: int, name: str, start: int, end: int) -> str:
    return (
        f'<PlainTextSelection guid="50000000-0000-0000-0000-{guid:012d}" name="{name}" '
        f'startPosition="{start}" endPosition="{end}"><Coding guid="60000000-0000-0000-0000-{guid:012d}">'
        '<CodeRef targetGUID="20000000-0000-0000-0000-000000000001"/></Coding></PlainTextSelection>'
    )


def _quirk_project(selections: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="NVivo-like">
  <CodeBook><Codes>
    <Code guid="20000000-0000-0000-0000-000000000001" name="Topic" isCodable="true"/>
  </Codes></CodeBook>
  <Sources><TextSource guid="40000000-0000-0000-0000-000000000001" name="T1 P001.txt"
    plainTextPath="internal://AAAAAAAA-1111-1111-1111-111111111111.txt">{selections}</TextSource></Sources>
</Project>""".encode()


def test_quirks_inner_name_capital_sources_bom_and_crlf_drift(tmp_path: Path) -> None:
    crlf_two = QUIRK_TEXT.index("support")  # offsets counting CRLF as two characters
    lf_one = QUIRK_LF.index("supervision")  # offsets counting CRLF as one (ATLAS.ti)
    drifted = QUIRK_LF.index("hope") + 1  # neither: NVivo-style drift by one
    far = 0  # names "support" but points at the start: its text is elsewhere
    selections = "".join(
        [
            _quirk_selection(1, "support", crlf_two, crlf_two + 7),
            _quirk_selection(2, "supervision", lf_one, lf_one + 11),
            _quirk_selection(3, "hope", drifted, drifted + 4),
            _quirk_selection(4, "support", far, far + 7),
        ]
    )
    path = _zip(
        tmp_path / "nvivo.qdpx",
        {
            "Project.qde": _quirk_project(selections),
            "Sources/aaaaaaaa-1111-1111-1111-111111111111.txt": b"\xef\xbb\xbf" + QUIRK_TEXT.encode(),
        },
    )
    study = _empty_study(tmp_path)
    summary = refi.import_qdpx(study, path, by=BY)

    transcript = read_transcript(study.transcripts_dir / "T1-P001.md")
    assert transcript.body == QUIRK_LF  # BOM gone, line ends LF
    assert transcript.wave == "T1"  # the wave id in the source name
    placed = {transcript.body[int(r["start"]) : int(r["end"])] for r in _rows(study.segments_path)}
    assert placed == {"support", "supervision", "hope"}
    assert len(_rows(study.segments_path)) == 3  # the far one is not imported
    assert "project file is named 'Project.qde'" in "\n".join(summary.notes)
    assert "sources folder is named 'Sources'" in "\n".join(summary.notes)
    assert "byte order mark removed" in "\n".join(summary.notes)
    warnings = "\n".join(summary.warnings)
    assert "16..20 -> 15..19 (re-aligned by -1 against its text)" in warnings
    assert "(offsets counted CRLF as one character)" in warnings
    assert "selection 50000000-0000-0000-0000-000000000004" in warnings
    assert "not imported rather than shifted" in warnings


@pytest.mark.parametrize("origin", ["NVivo for Windows 12.6", "some other tool"])
def test_nvivo_positions_count_emoji_twice(tmp_path: Path, origin: str) -> None:
    # NVivo counts UTF-16 code units: each emoji shifts later positions by one. Its selections
    # have no names to check against, so the reading is chosen by origin or by word boundaries.
    text = "Great news \U0001f600\U0001f600 today. Jab booked \U0001f489 for Friday. Feeling calm."
    units = text.encode("utf-16-le")
    wanted = ["today", "Jab booked", "Feeling calm"]
    selections = ""
    for number, phrase in enumerate(wanted, start=1):
        start = len(text[: text.index(phrase)].encode("utf-16-le")) // 2
        end = start + len(phrase)
        assert units[2 * start : 2 * end].decode("utf-16-le") == phrase
        selections += _quirk_selection(number, "", start, end)
    project = _quirk_project(selections).replace(b'name="NVivo-like"', f'origin="{origin}" name="x"'.encode())
    path = _zip(
        tmp_path / "emoji.qdpx",
        {"project.qde": project, "sources/aaaaaaaa-1111-1111-1111-111111111111.txt": text.encode()},
    )
    study = _empty_study(tmp_path)
    summary = refi.import_qdpx(study, path, by=BY)
    body = read_transcript(study.transcripts_dir / "T1-P001.md").body
    assert sorted(body[int(r["start"]) : int(r["end"])] for r in _rows(study.segments_path)) == sorted(wanted)
    assert any("UTF-16 code units" in n for n in summary.notes)


@pytest.mark.parametrize(
    ("start", "end", "expected", "how"),
    [
        (6, 9, (6, 9), ""),  # exclusive end
        (6, 8, (6, 9), "inclusive"),  # inclusive end, detected from the name
    ],
)
def test_align_selection_detects_inclusive_ends(start: int, end: int, expected: tuple, how: str) -> None:
    placed = refi.align_selection("alpha one beta", start, end, "one")
    assert isinstance(placed, _Aligned)
    assert (placed.start, placed.end) == expected
    assert how in placed.how


def test_align_selection_refuses_offsets_outside_the_text() -> None:
    assert "outside the source" in refi.align_selection("short", 2, 50, None)


def test_selection_named_with_a_label_keeps_its_offsets() -> None:
    placed = refi.align_selection("Diet and health", 0, 4, "Region of interest")
    assert isinstance(placed, _Aligned)
    assert (placed.start, placed.end, placed.how) == (0, 4, "")


# --- import: safety and bad input -----------------------------------------------------------------


def test_import_refuses_to_overwrite_without_replace(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    before = study.codebook_path.read_bytes(), study.segments_path.read_bytes()
    with pytest.raises(QualitativeDataError, match=r"would overwrite codebook\.csv, segments\.csv"):
        refi.import_qdpx(study, _own_qdpx(tmp_path), by=BY)
    assert (study.codebook_path.read_bytes(), study.segments_path.read_bytes()) == before
    assert not (study.transcripts_dir / "Interview-1.md").exists()
    assert not study.refi_ids_path.exists()

    refi.import_qdpx(study, _own_qdpx(tmp_path), replace=True, by=BY)
    assert {r["name"] for r in _rows(study.codebook_path)} == {"Topics", "Health", "Diet", "Wellbeing"}


def test_import_is_recorded_in_the_audit_log(tmp_path: Path) -> None:
    study = _empty_study(tmp_path)
    refi.import_qdpx(study, _own_qdpx(tmp_path), by=BY)
    entries = read_audit(study.audit_log_path)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["by"], entry["action"], entry["register"]) == (BY, "qual import", "own.qdpx")
    assert entry["record"]["counts"]["segments"] == 2
    assert "data/qualitative/transcripts/Interview-1.md" in entry["record"]["written"]
    assert entry["previous"] is None
    with pytest.raises(QualitativeDataError):
        refi.import_qdpx(study, _own_qdpx(tmp_path), by=BY)  # refused: no second entry
    assert len(read_audit(study.audit_log_path)) == 1


def test_import_refuses_to_overwrite_a_transcript(tmp_path: Path) -> None:
    study = _empty_study(tmp_path)
    refi.import_qdpx(study, _own_qdpx(tmp_path), by=BY)
    study.codebook_path.write_text("code_id,name,parent,definition\n", encoding="utf-8")
    study.segments_path.write_text("segment_id,transcript,start,end,code,coder,memo\n", encoding="utf-8")
    with pytest.raises(QualitativeDataError, match=r"overwrite Interview-1\.md"):
        refi.import_qdpx(study, _own_qdpx(tmp_path), by=BY)


def test_header_only_files_count_as_empty(tmp_path: Path) -> None:
    study = make_qual_study(
        tmp_path,
        transcripts={},
        codebook="code_id,name,parent,definition\n",
        segments="segment_id,transcript,start,end,code,coder,memo\n",
    )
    assert refi.import_qdpx(study, _own_qdpx(tmp_path), by=BY).counts["segments"] == 2


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"sources/a.txt": b"x"}, "holds no project.qde"),
        ({"a.qde": b"<Project/>", "b.qde": b"<Project/>"}, "2 .qde files"),
        ({"project.qde": b"<Project"}, "not well-formed XML"),
        ({"project.qde": b"<CodeBook/>"}, "root element is <CodeBook>"),
    ],
)
def test_broken_qdpx_is_a_clear_error(tmp_path: Path, entries: dict, message: str) -> None:
    study = _empty_study(tmp_path)
    with pytest.raises(QualitativeDataError, match=message):
        refi.import_qdpx(study, _zip(tmp_path / "bad.qdpx", entries), by=BY)
    assert list(study.transcripts_dir.iterdir()) == []


def test_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.qdpx").write_text("hello", encoding="utf-8")
    with pytest.raises(QualitativeDataError, match="not a ZIP archive"):
        refi.read_qdpx(tmp_path / "x.qdpx")


def test_missing_text_file_is_reported(tmp_path: Path) -> None:
    study = _empty_study(tmp_path)
    summary = refi.import_qdpx(study, _zip(tmp_path / "m.qdpx", {"project.qde": OWN_PROJECT.encode()}), by=BY)
    assert any("text source 'Interview 1.txt' not carried" in w for w in summary.warnings)
    assert summary.counts["transcripts"] == 0


# --- QDC ------------------------------------------------------------------------------------------

# The shape of refi-tools' example_codebook.qdc: nested, coloured, but GUIDs like "c001".
BAD_QDC = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="hand made">
  <Codes>
    <Code guid="c001" name="Emotions" isCodable="true" color="#FF0000">
      <Code guid="c002" name="Joy" isCodable="true"/>
    </Code>
  </Codes>
</CodeBook>
"""


def test_qdc_with_bad_guids_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.qdc").write_text(BAD_QDC, encoding="utf-8")
    study = _empty_study(tmp_path)
    message = r"2 code\(s\) have a GUID .*'Emotions' \(guid 'c001'\)"
    with pytest.raises(QualitativeDataError, match=message) as info:
        exchange.import_file(study, tmp_path / "bad.qdc", by=BY)
    assert "Export the codebook again" in (info.value.fix or "")
    assert not exchange.has_rows(study.codebook_path)


def test_qdc_round_trip(tmp_path: Path) -> None:
    original = _coded_study(tmp_path)
    refi.export_qdc(original, tmp_path / "c.qdc")
    target = _empty_study(tmp_path)
    summary = exchange.import_file(target, tmp_path / "c.qdc", by=BY)
    assert summary.counts == {"codes": 3}
    assert _codes_by_name(target) == _codes_by_name(original)


def test_unknown_file_kind_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(QualitativeDataError, match="not a file studykit can import"):
        exchange.import_file(_empty_study(tmp_path), tmp_path / "x.nvp", by=BY)


def test_vendored_schemas_keep_their_provenance() -> None:
    assert "QDA-XML version 1.0" in (SCHEMAS / "Project.xsd").read_text(encoding="utf-8")
    note = (SCHEMAS / "LICENSE-REFI-QDA.txt").read_text(encoding="utf-8")
    assert "MIT" in note
    assert "openqda/refi-tools" in note


# --- command line ---------------------------------------------------------------------------------


def test_cli_export_then_import(tmp_path: Path) -> None:
    runner = CliRunner()
    source = _coded_study(tmp_path)
    out = tmp_path / "study.qdpx"
    result = runner.invoke(app, ["qual", "export", "--qdpx", "-o", str(out), "-C", str(source.root)])
    assert result.exit_code == 0, result.output
    assert "Exported" in result.output
    target = _empty_study(tmp_path)
    command = ["qual", "import", str(out), "-C", str(target.root), "--by", BY]
    result = runner.invoke(app, [*command, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"segments": 2' in result.output
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert "--replace" in result.output


def test_cli_export_defaults_to_the_git_ignored_exports_folder(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    for flag, name in (("--qdc", "synthetic-peer.qdc"), ("--qdpx", "synthetic-peer.qdpx")):
        result = CliRunner().invoke(app, ["qual", "export", flag, "-C", str(study.root)])
        assert result.exit_code == 0, result.output
        assert (study.root / "exports" / name).is_file()
        assert not (study.root / name).exists()
    ignored = (TEMPLATE / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "exports/" in ignored


# --- hostile inputs: refused quickly, with a sentence naming what (issue 16) ------------------------


def _one_source_project(text_element: str = "", selections: str = "") -> bytes:
    """A project with one text source: inline text (``text_element``) or the file of ``OWN_FILE``."""
    path = "" if text_element else f' plainTextPath="internal://{OWN_FILE}"'
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Hostile">
  <CodeBook><Codes>
    <Code guid="20000000-0000-0000-0000-000000000001" name="Topic" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="40000000-0000-0000-0000-000000000001" name="Interview 1.txt"{path}>
      {text_element}{selections}
    </TextSource>
  </Sources>
</Project>
""".encode()


def test_zip_bomb_entry_is_refused_by_name_before_it_is_expanded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", _one_source_project())
        archive.writestr(f"sources/{OWN_FILE}", b"a" * (4 * 1024 * 1024))  # 4 MB in about 4 KB
    assert bomb.stat().st_size < 64 * 1024
    study = _empty_study(tmp_path)
    with pytest.raises(
        QualitativeDataError, match=rf"entry 'sources/{OWN_FILE}' expands [\d,]+ times"
    ) as info:
        exchange.import_file(study, bomb, by=BY)
    assert "ZIP bomb" in info.value.message
    assert list(study.transcripts_dir.iterdir()) == []


def test_entry_larger_than_its_header_claims_is_stopped_at_the_limit(tmp_path: Path) -> None:
    # A header may lie about the size: reading stops at the limit, whatever it says.
    archive_path = _zip(tmp_path / "big.qdpx", {"project.qde": b"<Project " + b" " * 64 + b"/>"})
    with zipfile.ZipFile(archive_path) as archive:
        info = archive.getinfo("project.qde")
        from studykit.qual.refi import reader

        with pytest.raises(QualitativeDataError, match=r"entry 'project\.qde' is [\d,]+ bytes"):
            reader._read_entry(archive, info, "big.qdpx", limit=16)


def test_qdc_with_a_huge_attribute_is_refused(tmp_path: Path) -> None:
    # lxml's huge_tree stays off: a value over 10 MB is refused with a sentence, not parsed.
    path = tmp_path / "huge.qdc"
    path.write_bytes(
        b'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="'
        + b"x" * (11 * 1024 * 1024)
        + b'"><Codes/></CodeBook>'
    )
    with pytest.raises(QualitativeDataError, match="text or attribute over 10 MB at line 1"):
        refi.read_qdc(path)


def test_qdc_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "large.qdc"
    with path.open("wb") as handle:  # sparse: no disk space, and never read
        handle.truncate(refi.MAX_XML_BYTES + 1)
    with pytest.raises(QualitativeDataError, match=r"the file is [\d,]+ bytes, more than studykit reads"):
        refi.read_qdc(path)


def test_entity_reference_in_imported_text_is_kept_and_reported(tmp_path: Path) -> None:
    project = _one_source_project(
        "<PlainTextContent>Hello &who; and the rest of the interview.</PlainTextContent>"
    ).replace(b"<Project ", b'<!DOCTYPE Project [<!ENTITY who "Jo Bloggs">]>\n<Project ', 1)
    qdpx = _zip(tmp_path / "entity.qdpx", {"project.qde": project})
    study = _empty_study(tmp_path)
    summary = exchange.import_file(study, qdpx, by=BY)
    transcript = read_transcript(study.transcripts_dir / "Interview-1.md")
    assert transcript.body == "Hello &who; and the rest of the interview."
    assert any("&who;" in w and "kept as written" in w for w in summary.warnings)
    assert not summary.lossless


def test_alignment_is_linear_in_the_text(tmp_path: Path) -> None:
    # 2 MB of CRLF text, 200 selections whose offsets count CRLF as one character: each is
    # re-aligned against its name. Re-indexing the text per selection took about a minute.
    import time

    lines = [f"Line {n}: the participant talks about support number {n}." for n in range(36_000)]
    text = "\r\n".join(lines)
    assert len(text) > 2_000_000
    chosen = range(0, 36_000, 180)
    lf = text.replace("\r\n", "\n")
    selections = []
    for number, n in enumerate(chosen):
        start = lf.index(lines[n]) + 1  # drifted by one: found again by its name
        selections.append(
            f'<PlainTextSelection guid="50000000-0000-0000-0000-{number:012d}" name="{lines[n]}" '
            f'startPosition="{start}" endPosition="{start + len(lines[n])}">'
            f'<Coding guid="60000000-0000-0000-0000-{number:012d}">'
            '<CodeRef targetGUID="20000000-0000-0000-0000-000000000001"/></Coding></PlainTextSelection>'
        )
    qdpx = _zip(
        tmp_path / "long.qdpx",
        {
            "project.qde": _one_source_project(selections="".join(selections)),
            f"sources/{OWN_FILE}": text.encode(),
        },
    )
    study = _empty_study(tmp_path)
    began = time.perf_counter()
    summary = exchange.import_file(study, qdpx, by=BY)
    elapsed = time.perf_counter() - began
    assert summary.counts["segments"] == 200
    body = read_transcript(study.transcripts_dir / "Interview-1.md").body
    assert all(body[int(r["start"]) : int(r["end"])].startswith("Line ") for r in _rows(study.segments_path))
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_transcript_linked_outside_the_study_is_never_read_or_exported(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    outside = tmp_path / "elsewhere" / "secret.md"
    outside.parent.mkdir()
    outside.write_text(
        (study.transcripts_dir / "INT-P001-T1.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    link = study.transcripts_dir / "LINKED.md"
    link.symlink_to(outside)
    target = tmp_path / "out.qdpx"
    with pytest.raises(QualitativeDataError, match=r"is a link to .*secret\.md, outside the study") as info:
        refi.export_qdpx(study, target)
    assert "LINKED.md" in str(info.value.path)
    assert not target.exists()

    from studykit.checks import validate

    findings = [f for f in validate(study).findings if f.file == "data/qualitative/transcripts/LINKED.md"]
    assert [f.code for f in findings] == ["INT006"]  # one finding for one fault, from integrity
    assert "secret.md, outside the study" in findings[0].message


# --- round trip: every loss counted and named (issue 17) ---------------------------------------------


def test_round_trip_keeps_extra_front_matter(tmp_path: Path) -> None:
    text = (
        "---\nid: INT-P001-T1\nkind: interview\nwave: T1\ndate: 2024-02-05\nparticipants: [P001]\n"
        "pseudonymised: true\nconsented_on: 2024-01-10\nsessions: 2\nsites: [S1, S2]\n"
        "note: second visit\n---\n"
        + INTERVIEW_BODY
    )
    source = make_qual_study(tmp_path / "source", transcripts={"INT-P001-T1": text})
    out = tmp_path / "out.qdpx"
    exported = refi.export_qdpx(source, out)
    assert exported.lossless
    target = _empty_study(tmp_path)
    summary = refi.import_qdpx(target, out, by=BY)
    back = read_transcript(target.transcripts_dir / "INT-P001-T1.md")
    original = read_transcript(source.transcripts_dir / "INT-P001-T1.md")
    assert back.front_matter() == original.front_matter()
    assert back.extra["pseudonymised"] is True
    assert summary.lossless, summary.to_dict()


def test_reimport_names_the_segment_the_export_left_out(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    with study.segments_path.open("a", encoding="utf-8") as handle:
        handle.write("S9,INT-P001-T1,0,5,NOPE,R1,\n")  # unknown code: not exported
    out = tmp_path / "out.qdpx"
    exported = refi.export_qdpx(study, out)
    assert any("segment S9 not exported" in w for w in exported.warnings)
    summary = refi.import_qdpx(study, out, replace=True, by=BY)
    assert summary.losses == [
        "1 segment(s) of segments.csv are not in the imported file and were removed: S9"
    ]
    assert not summary.lossless
    assert summary.to_dict()["losses"] == summary.losses
    record = read_audit(study.audit_log_path)[-1]["record"]
    assert record["lost"] == 1


def test_reimport_names_front_matter_keys_it_drops(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    out = tmp_path / "out.qdpx"
    refi.export_qdpx(study, out)  # exported before the key was added
    path = study.transcripts_dir / "INT-P001-T1.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("wave: T1\n", "wave: T1\npseudonymised: true\n"),
        encoding="utf-8",
    )
    summary = refi.import_qdpx(study, out, replace=True, by=BY)
    assert "INT-P001-T1: front-matter key(s) dropped: pseudonymised" in summary.losses
    assert not [loss for loss in summary.losses if "FG-01-T2" in loss]  # unchanged: nothing named


def test_reimport_names_front_matter_values_it_replaces(tmp_path: Path) -> None:
    study = _coded_study(tmp_path)
    out = tmp_path / "out.qdpx"
    refi.export_qdpx(study, out)
    path = study.transcripts_dir / "INT-P001-T1.md"
    path.write_text(path.read_text(encoding="utf-8").replace("wave: T1\n", "wave: T2\n"), encoding="utf-8")
    summary = refi.import_qdpx(study, out, replace=True, by=BY)
    assert summary.losses == ["INT-P001-T1: front-matter value(s) replaced: wave ('T2' -> 'T1')"]


def test_console_says_nothing_was_lost_only_when_nothing_was(tmp_path: Path) -> None:
    from rich.console import Console
    from studykit.render import exchange_text

    def shown(summary: exchange.ExchangeSummary) -> str:
        console = Console(width=200, record=True)
        console.print(exchange_text(summary.to_dict()))
        return console.export_text()

    clean = exchange.ExchangeSummary("import", tmp_path / "a.qdpx")
    assert "Nothing was lost." in shown(clean)
    lossy = exchange.ExchangeSummary("import", tmp_path / "a.qdpx", losses=["1 segment(s) ... removed: S9"])
    text = shown(lossy)
    assert "Nothing was lost." not in text
    assert "Lost from the study (1)" in text
    assert "S9" in text


def test_import_never_writes_through_a_linked_folder(tmp_path: Path) -> None:
    study = _empty_study(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    study.transcripts_dir.rmdir()
    study.transcripts_dir.symlink_to(outside, target_is_directory=True)
    with pytest.raises(QualitativeDataError, match=r"resolves to .*outside.*, outside the study"):
        exchange.import_file(study, _own_qdpx(tmp_path), by=BY)
    assert list(outside.iterdir()) == []
    assert not study.segments_path.exists()


def test_import_waits_for_the_governance_lock(tmp_path: Path, monkeypatch) -> None:
    import subprocess
    import sys

    from studykit.errors import RegisterError
    from studykit.governance import journal

    study = _empty_study(tmp_path)
    lock = journal.work_dir(study) / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
         "l.acquire(); print('held', flush=True); time.sleep(30)", str(lock)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(journal, "LOCK_TIMEOUT", 0.3)
        with pytest.raises(RegisterError, match="another studykit command has held the lock"):
            exchange.import_file(study, _own_qdpx(tmp_path), by=BY)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert not study.segments_path.exists()
    assert not study.audit_log_path.exists()
