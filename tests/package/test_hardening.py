"""Issues 16 and 17, tried as an attacker and a new user: products never replace study files,
spreadsheet formulas in data are flagged, odd files are read or refused with a sentence."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from studykit.checks import validate
from studykit.checks.tabular import EMPTY_ROW_FIX
from studykit.cli import app
from studykit.errors import (
    InstrumentDefinitionError,
    QualitativeDataError,
    RegisterError,
    StudyConfigError,
    UnsafePathError,
)
from studykit.export import export_study
from studykit.governance.registers import read_ethics
from studykit.instruments.model import load_definition
from studykit.package import drift
from studykit.qual import refi
from studykit.qual.docx_import import import_docx
from studykit.qual.exchange import export_target
from studykit.qual.pseudonymise import pseudonymise_transcript
from studykit.study import load_study
from typer.testing import CliRunner

from tests.package.qual_study import CODEBOOK, make_qual_study, segments_csv
from tests.package.test_docx_import import DAY, interview_docx
from tests.package.test_validate import PARTICIPANTS, STUDY, make_study, snapshot


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def said(result) -> str:
    return " ".join(result.stderr.split())


# --- every -o/--output that writes a product: never a study-owned path ------------------------------


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["codebook", "-o"], "study.yml"),
        (["codebook", "--format", "html", "-o"], "governance/consent.csv"),
        (["score", "-o"], "data/participants.csv"),
        (["score", "-o"], "datapackage.json"),
        (["export", "--to", "csv"], "data"),
        (["export", "--to", "csv"], "."),
        (["export", "--to", "spss"], "instruments"),
        (["survey", "dictionary", "--to", "redcap", "-o"], "data/dictionary.csv"),
    ],
)
def test_every_product_output_refuses_study_owned_paths_and_changes_nothing(tmp_path, command, target):
    root = make_study(tmp_path)
    before = snapshot(root)
    result = invoke(*command, str(root / target), "-C", str(root))
    assert result.exit_code == 2, result.output
    assert "is one of the study's own files" in said(result)
    assert "Choose another path" in said(result)
    assert snapshot(root) == before


def test_product_output_outside_the_study_folders_is_written(tmp_path):
    root = make_study(tmp_path)
    result = invoke("codebook", "-o", str(root / "codebook.md"), "-C", str(root))
    assert result.exit_code == 0, result.output
    assert (root / "codebook.md").read_text(encoding="utf-8").startswith("# Codebook")


def test_qual_export_refuses_a_study_owned_target(tmp_path):
    root = make_study(tmp_path)
    with pytest.raises(UnsafePathError, match="study's own files"):
        export_target(load_study(root), root / "governance" / "coding.qdpx", ".qdpx")


# --- STR025: a text cell a spreadsheet would run as a formula ---------------------------------------


def formula_warnings(root) -> list[tuple]:
    report = validate(load_study(root))
    return sorted((f.file, f.row, f.column, f.value) for f in report.findings if f.code == "STR025")


def test_str025_flags_formula_cells_in_text_columns_of_every_table(tmp_path):
    participants = (
        "participant_id,group,role,site,enrolled_on,gender,age\n"
        'P001,peer worker,=HYPERLINK("http://x"),A,2024-01-10,,34\n'
        "P002,manager,+cmd,A,2024-01-15,@me,51\n"
        "P003,peer worker,-cmd,B,2024-02-01,,29\n"
    )
    root = make_study(tmp_path, participants=participants)
    codebook = root / "data" / "qualitative" / "codebook.csv"
    codebook.write_text(codebook.read_text(encoding="utf-8") + "c1,Code,,=1+1\n", encoding="utf-8")
    assert formula_warnings(root) == [
        ("data/participants.csv", 2, "role", '=HYPERLINK("http://x")'),
        ("data/participants.csv", 3, "gender", "@me"),
        ("data/participants.csv", 3, "role", "+cmd"),
        ("data/participants.csv", 4, "role", "-cmd"),
        ("data/qualitative/codebook.csv", 2, "definition", "=1+1"),
    ]
    report = validate(load_study(root))
    assert {f.severity for f in report.findings if f.code == "STR025"} == {"warning"}


def test_str025_leaves_numbers_dashes_and_number_columns_alone(tmp_path):
    participants = (
        "participant_id,group,role,site,enrolled_on,gender,age\n"
        "P001,peer worker,- team lead,A,2024-01-10,,34\n"
        "P002,manager,-3,A,2024-01-15,a=b,51\n"
        "P003,peer worker,,B,2024-02-01,,29\n"
    )
    assert formula_warnings(make_study(tmp_path, participants=participants)) == []


def test_str025_reads_the_registers(tmp_path):
    root = make_study(tmp_path)
    consent = root / "governance" / "consent.csv"
    consent.write_text(consent.read_text(encoding="utf-8").replace("P003,1.0", "P003,=2+5"), encoding="utf-8")
    assert ("governance/consent.csv", 4, "form_version", "=2+5") in formula_warnings(root)


@pytest.mark.parametrize(
    "command", [["codebook", "-o"], ["score", "-o"], ["survey", "dictionary", "--to", "qualtrics", "-o"]]
)
def test_every_product_output_is_refused_in_a_missing_folder_a_folder_or_a_link(tmp_path, command):
    root = make_study(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(victim)
    for target, sentence in [
        (tmp_path / "typo" / "out.txt", "its folder does not exist"),
        (tmp_path, "is a folder"),
        (tmp_path / "link.txt", "link"),
    ]:
        result = invoke(*command, str(target), "-C", str(root))
        assert result.exit_code == 2, result.output
        assert sentence in said(result)
    assert not (tmp_path / "typo").exists()
    assert victim.read_text(encoding="utf-8") == "keep\n"


# --- a study file that is a link out of the study is never read ---------------------------------------


def link_out(root, relative: str, outside) -> None:
    """Move a study file outside and leave a link to it in its place."""
    outside.mkdir(exist_ok=True)
    moved = outside / relative.replace("/", "_")
    (root / relative).rename(moved)
    (root / relative).symlink_to(moved)


def test_a_linked_study_yml_leading_outside_is_refused(tmp_path):
    root = make_study(tmp_path)
    link_out(root, "study.yml", tmp_path / "elsewhere")
    with pytest.raises(StudyConfigError, match="outside the study; studykit does not read it"):
        load_study(root)


def test_a_linked_instrument_leading_outside_is_refused(tmp_path):
    root = make_study(tmp_path)
    link_out(root, "instruments/mood.yml", tmp_path / "elsewhere")
    with pytest.raises(InstrumentDefinitionError, match="outside the study"):
        load_definition(root / "instruments" / "mood.yml")


def test_a_linked_ethics_yml_leading_outside_is_refused(tmp_path):
    root = make_study(tmp_path)
    outside = tmp_path / "secret.yml"
    outside.write_text("approvals: []\n", encoding="utf-8")
    (root / "governance" / "ethics.yml").unlink(missing_ok=True)
    (root / "governance" / "ethics.yml").symlink_to(outside)
    with pytest.raises(RegisterError, match="outside the study"):
        read_ethics(root / "governance" / "ethics.yml")


def test_a_linked_datapackage_json_leading_outside_is_a_finding_and_not_read(tmp_path):
    root = make_study(tmp_path)
    link_out(root, "datapackage.json", tmp_path / "elsewhere")
    report = validate(load_study(root))
    found = [(f.code, f.message) for f in report.findings if f.file == "datapackage.json"]
    assert len(found) == 1
    assert found[0][0] == "STR002"
    assert "outside the study; studykit does not read it" in found[0][1]
    assert drift(load_study(root))[0].startswith("datapackage.json is a link to")


def test_a_link_inside_the_study_is_still_read(tmp_path):
    root = make_study(tmp_path)
    (root / "governance" / "study-copy.yml").write_bytes((root / "study.yml").read_bytes())
    (root / "study.yml").unlink()
    (root / "study.yml").symlink_to(root / "governance" / "study-copy.yml")
    assert load_study(root).root == root


# --- a product on stdout is exactly the file -o writes ------------------------------------------------


def test_codebook_on_stdout_is_the_file_o_writes_escape_sequences_included(tmp_path):
    root = make_study(tmp_path, study={**STUDY, "title": "[/oops] Peer [laughs] \x1b[31m Study"})
    piped = invoke("codebook", "-C", str(root))
    assert piped.exit_code == 0, piped.output
    assert invoke("codebook", "-C", str(root), "-o", str(tmp_path / "codebook.md")).exit_code == 0
    assert piped.stdout == (tmp_path / "codebook.md").read_text(encoding="utf-8")
    assert "# Codebook: [/oops] Peer [laughs] \x1b[31m Study" in piped.stdout


# --- CSV files as spreadsheets save them ---------------------------------------------------------------


def test_str026_trailing_empty_columns_are_one_warning_and_ignored(tmp_path):
    padded = "\n".join(line + ",,," for line in PARTICIPANTS.splitlines()) + "\n"
    root = make_study(tmp_path, participants=padded)
    consent = root / "governance" / "consent.csv"
    consent.write_text(
        "\n".join(line + ",," for line in consent.read_text(encoding="utf-8").splitlines()) + "\n",
        encoding="utf-8",
    )
    report = validate(load_study(root))
    found = sorted((f.file, f.code, f.row) for f in report.findings if f.layer == "structure")
    assert found == [("data/participants.csv", "STR026", 1), ("governance/consent.csv", "STR026", 1)]
    assert not [f for f in report.findings if f.severity == "error"]


def test_an_unnamed_column_with_values_is_still_reported(tmp_path):
    participants = PARTICIPANTS.replace("age\n", "age,\n", 1).replace(",34\n", ",34,x\n")
    report = validate(load_study(make_study(tmp_path, participants=participants)))
    assert [f.code for f in report.findings if f.layer == "structure"] == ["STR006"]


def test_excel_csv_with_bom_crlf_and_a_quoted_header_reads_as_the_plain_file(tmp_path):
    lines = PARTICIPANTS.splitlines()
    lines[0] = ",".join(f'"{name}"' for name in lines[0].split(","))
    excel = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
    root = make_study(tmp_path)
    (root / "data" / "participants.csv").write_bytes(excel)
    report = validate(load_study(root))
    assert [f.code for f in report.findings if f.layer == "structure"] == ["STR004"]


# --- YAML files as editors save them -----------------------------------------------------------------


def test_study_yml_saved_as_utf16_with_a_bom_is_read(tmp_path):
    root = make_study(tmp_path)
    text = (root / "study.yml").read_text(encoding="utf-8")
    (root / "study.yml").write_bytes(text.encode("utf-16"))
    assert load_study(root).title == STUDY["title"]


def test_study_yml_in_latin1_is_a_sentence_with_its_line(tmp_path):
    root = make_study(tmp_path)
    text = (root / "study.yml").read_text(encoding="utf-8")
    (root / "study.yml").write_bytes(("# Étude\n" + text).encode("latin-1"))
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2
    assert "study.yml, line " in said(result)
    assert "not UTF-8 text: byte 0xc9 cannot be read" in said(result)
    assert "Save the file again as UTF-8" in said(result)
    assert "unexpected error" not in said(result)


@pytest.mark.parametrize("relative", ["instruments/mood.yml", "governance/ethics.yml"])
def test_every_yaml_file_in_latin1_is_a_sentence_not_a_crash(tmp_path, relative):
    root = make_study(tmp_path)
    path = root / relative
    text = path.read_text(encoding="utf-8") if path.exists() else "approvals: []\n"
    path.write_bytes(("# Comité\n" + text).encode("latin-1"))
    result = invoke("validate", "-C", str(root), "--format", "json")
    assert "unexpected error" not in said(result)
    report = json.loads(result.stdout)
    found = [f for f in report["findings"] if f["file"] == relative]
    assert found, report["findings"]
    assert "not UTF-8 text" in found[0]["message"]
    assert found[0]["fix"].startswith("Save the file again as UTF-8")


def test_a_tab_in_study_yml_says_to_indent_with_spaces(tmp_path):
    root = make_study(tmp_path)
    text = (root / "study.yml").read_text(encoding="utf-8")
    (root / "study.yml").write_text(text.replace("\n  ", "\n\t", 1), encoding="utf-8")
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 2
    assert "Indent with spaces, not tabs" in said(result)


# --- messages a new user can act on --------------------------------------------------------------------


def test_a_value_that_differs_only_in_capitals_names_the_allowed_one_and_ids_are_said_in_words(tmp_path):
    participants = (
        "participant_id,group,role,site,enrolled_on,gender,age\n"
        "P001,Peer Worker,,A,2024-01-10,,34\n"
        "P3,manager,,A,2024-01-15,,51\n"
        "P003,nurse,,B,2024-02-01,,29\n"
    )
    report = validate(load_study(make_study(tmp_path, participants=participants)))
    said_of = {(f.row, f.code): f.message for f in report.findings if f.code in ("STR010", "STR011")}
    assert said_of[2, "STR010"] == (
        "'Peer Worker' is not allowed in group: write 'peer worker' (capitals and spaces must match exactly)"
    )
    assert said_of[3, "STR011"] == (
        "'P3' is not allowed in participant_id: an id is 1 to 4 capital letters then 2 to 6 digits, "
        "such as P001 or FG012"
    )
    assert said_of[4, "STR010"].startswith("'nurse' is not allowed in group: allowed values are peer worker")


def test_segments_of_a_transcript_linked_outside_are_not_called_unknown(tmp_path):
    study = make_qual_study(
        tmp_path,
        codebook=CODEBOOK,
        segments=segments_csv(
            [("S1", "INT-P001-T1", 0, 5, "C1", "R1", ""), ("S2", "INT-P001-T1", 6, 9, "C2", "R1", "")]
        ),
    )
    transcript = study.transcripts_dir / "INT-P001-T1.md"
    elsewhere = tmp_path / "elsewhere.md"
    transcript.rename(elsewhere)
    transcript.symlink_to(elsewhere)
    report = validate(study)
    codes = {f.code for f in report.findings}
    assert "QUAL022" not in codes
    assert "INT006" in codes


# --- a new transcript goes to the transcripts folder or out of the study -----------------------------


@pytest.mark.parametrize(
    "relative", ["instruments/int.yml", "governance/int.md", "data/qualitative/transcripts/x.txt"]
)
def test_import_docx_out_elsewhere_in_the_study_is_refused(tmp_path, relative):
    study = make_qual_study(tmp_path, transcripts={})
    source = interview_docx(tmp_path / "INT-P001-T1.docx")
    with pytest.raises(QualitativeDataError, match="without the identifier and consent checks"):
        import_docx(study, source, kind="interview", wave="T1", date=DAY, participants=["P001"],
                    output=study.root / relative)  # fmt: skip
    assert not (study.root / relative).exists()


def test_import_docx_out_outside_the_study_is_written(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    source = interview_docx(tmp_path / "INT-P001-T1.docx")
    result = import_docx(study, source, kind="interview", wave="T1", date=DAY, participants=["P001"],
                         output=tmp_path / "review copy.md")  # fmt: skip
    assert result.output == tmp_path / "review copy.md"


def test_pseudonymise_out_elsewhere_in_the_study_is_refused(tmp_path):
    study = make_qual_study(tmp_path)
    transcript = study.transcripts_dir / "INT-P001-T1.md"
    with pytest.raises(QualitativeDataError, match=r"not a \.md file in data/qualitative/transcripts/"):
        pseudonymise_transcript(
            study, transcript, map_path=tmp_path / "map.csv", output=study.root / "reports" / "x.md",
            log_dir=tmp_path / "logs",
        )  # fmt: skip
    assert not (tmp_path / "map.csv").exists()


# --- control characters in what goes into XML ------------------------------------------------------


def test_qdpx_export_writes_control_characters_out_instead_of_crashing(tmp_path):
    codebook = CODEBOOK.replace("C2,Hope,,", "C2,Hope \x1b[31m,,")
    study = make_qual_study(tmp_path, codebook=codebook, design={"title": "Peer \x1b[31m [/oops] study"})
    data, _ = refi.build_qdpx(study)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        project = archive.read("project.qde")
    assert refi.schema_errors(project) == []
    assert b'name="Peer \\x1b[31m [/oops] study"' in project
    assert b'name="Hope \\x1b[31m"' in project


# --- very long cells in exports ---------------------------------------------------------------------


def test_spss_export_cuts_a_value_longer_than_spss_holds_and_says_so(tmp_path):
    import pyreadstat

    long = "é" * 20_000  # 40,000 bytes: more than SPSS's 32,767
    participants = PARTICIPANTS.replace("P001,peer worker,,", f"P001,peer worker,{long},", 1)
    root = make_study(tmp_path, participants=participants)
    result = export_study(load_study(root), "spss", tmp_path / "out")
    frame, _ = pyreadstat.read_sav(tmp_path / "out" / "participants.sav")
    role = frame["role"].tolist()
    assert role[0] == "é" * 16_383
    assert [c.sentence() for c in result.cuts if c.variable == "role"] == [
        "participants.sav: the value in 1 row(s) of role was cut to 32767 bytes."
    ]


def test_a_row_of_only_separators_says_to_delete_the_row(tmp_path):
    root = make_study(tmp_path, participants=PARTICIPANTS + ",,,,,,\n")
    report = validate(load_study(root))
    required = [f for f in report.findings if f.code == "STR008"]
    assert {(f.row, f.column) for f in required} == {(5, "participant_id"), (5, "group"), (5, "enrolled_on")}
    assert {f.fix for f in required} == {EMPTY_ROW_FIX}
    assert "delete the row" in EMPTY_ROW_FIX


def test_a_blank_required_cell_in_a_filled_row_says_to_fill_it(tmp_path):
    participants = PARTICIPANTS.replace("P002,manager,,A,2024-01-15", "P002,,,A,2024-01-15")
    report = validate(load_study(make_study(tmp_path, participants=participants)))
    (required,) = [f for f in report.findings if f.code == "STR008"]
    assert required.fix == "Fill in the cell: this column cannot be left blank."
