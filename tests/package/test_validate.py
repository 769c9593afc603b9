"""`studykit validate`: one test per error class on small hand-made studies, plus the report and CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from studykit.checks import Run, exit_code, validate
from studykit.checks.integrity import accept
from studykit.cli import app
from studykit.package import build_descriptor
from studykit.study import load_study
from typer.testing import CliRunner

PACKAGE_SRC = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}" / "src"

STUDY = {
    "title": "Synthetic validation study",
    "slug": "validation-study",
    "synthetic": True,
    "principal_investigator": "Dr Example Person",
    "institution": "Example Institute",
    "contact_email": "team@example.org",
    "licences": {"data": "CC-BY-4.0", "code": "MIT"},
    "waves": [
        {"id": "T1", "label": "baseline", "offset_months": 0, "window_days": {"before": 14, "after": 60}},
        {"id": "T2", "label": "4 months", "offset_months": 4, "window_days": {"before": 14, "after": 60}},
    ],
    "instruments": ["mood"],
    "archive": {"target": "UK Data Service"},
}
MOOD = {
    "id": "mood",
    "name": "Synthetic mood scale",
    "version": "1",
    "construct": "mood",
    "citation": "Invented for studykit's tests.",
    "licence": {"item_text_allowed": True, "note": "Invented for tests."},
    "response": {"min": 1, "max": 5},
    "items": [{"id": f"item_0{i}"} for i in range(1, 5)],
    "scores": [
        {
            "id": "total",
            "name": "Total",
            "items": [f"item_0{i}" for i in range(1, 5)],
            "method": "sum",
            "range": [4, 20],
        }
    ],
}
PARTICIPANTS = """participant_id,group,role,site,enrolled_on,gender,age
P001,peer worker,,A,2024-01-10,,34
P002,manager,,A,2024-01-15,,51
P003,peer worker,,B,2024-02-01,,29
"""
MEASURES = """participant_id,wave,completed_on,item_01,item_02,item_03,item_04
P001,T1,2024-01-12,3,4,2,5
P002,T1,2024-01-20,1,1,2,2
P003,T1,2024-02-03,5,5,5,4
P001,T2,2024-05-20,4,4,3,5
"""
HEADERS = {
    "data/employment.csv": "participant_id,wave,recorded_on,employed_as_peer_worker,role,contract,"
    "hours_per_week\n",
    "data/qualitative/codebook.csv": "code_id,name,parent,definition\n",
    "data/qualitative/segments.csv": "segment_id,transcript,start,end,code,coder,memo\n",
    "governance/consent.csv": "participant_id,form_version,consented_on,participate,audio_recording,"
    "direct_quotation,archiving,future_contact\n"
    "P001,1.0,2024-01-10,yes,yes,yes,yes,yes\nP002,1.0,2024-01-15,yes,yes,yes,yes,yes\n"
    "P003,1.0,2024-01-31,yes,yes,yes,yes,yes\n",
    "governance/ethics.yml": yaml.safe_dump(
        {
            "approvals": [
                {
                    "committee": "Synthetic Research Ethics Committee",
                    "reference": "SYN/0001",
                    "approved_on": "2023-12-01",
                    "expires_on": "2030-12-31",
                    "consent_forms": ["1.0"],
                    "documents": ["Consent form v1.0"],
                }
            ]
        }
    ),
    "governance/withdrawals.csv": "participant_id,withdrawn_on,reason,scope\n",
}
MEASURES_FILE = "data/measures/mood.csv"
MY_LAYERS = {"structure", "measures", "integrity"}


def make_study(
    tmp_path: Path,
    *,
    measures: str | bytes = MEASURES,
    participants: str = PARTICIPANTS,
    study: dict | None = None,
    sync: bool = True,
) -> Path:
    """A small synthetic study in ``tmp_path``; ``measures`` may be bytes to control the encoding."""
    root = tmp_path / "study"
    (root / "instruments").mkdir(parents=True)
    (root / "study.yml").write_text(yaml.safe_dump(study or STUDY), encoding="utf-8")
    (root / "instruments" / "mood.yml").write_text(yaml.safe_dump(MOOD), encoding="utf-8")
    files: dict[str, str | bytes] = {
        **HEADERS,
        "data/participants.csv": participants,
        MEASURES_FILE: measures,
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if sync:
        descriptor = build_descriptor(load_study(root))
        (root / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Checksums of every file in the study: proves validation wrote nothing."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def errors_of(root: Path, code: str | None = None) -> list[list]:
    before = snapshot(root)
    report = validate(load_study(root))
    assert snapshot(root) == before, "validation must not write anything"
    return [
        [f.code, f.file, f.row, f.column, f.message]
        for f in sorted(report.findings, key=lambda f: f.sort_key())
        if f.severity == "error" and f.layer in MY_LAYERS and (code is None or f.code == code)
    ]


def with_row(row: str, *, replace: int | None = None) -> str:
    lines = MEASURES.splitlines()
    if replace is None:
        lines.append(row)
    else:
        lines[replace - 1] = row
    return "\n".join(lines) + "\n"


def test_clean_study_is_valid_with_exit_0(tmp_path):
    root = make_study(tmp_path)
    report = validate(load_study(root))
    assert report.errors == []
    assert exit_code(report) == 0
    assert report.checked == [
        "structure", "qualitative", "reports", "measures", "governance", "access", "involvement",
        "disclosure", "integrity",
    ]  # fmt: skip


def test_str007_wrong_type(tmp_path):
    root = make_study(tmp_path, measures=with_row("P002,T1,2024-01-20,1,x,2,2", replace=3))
    assert errors_of(root) == [["STR007", MEASURES_FILE, 3, "item_02", "'x' is not a valid integer"]]


def test_str009_item_out_of_range(tmp_path):
    root = make_study(tmp_path, measures=with_row("P003,T1,2024-02-03,5,9,5,4", replace=4))
    assert errors_of(root) == [
        ["STR009", MEASURES_FILE, 4, "item_02", "'9' is not allowed in item_02: the maximum is 5"]
    ]


def test_one_bad_cell_does_not_hide_range_errors_in_its_column(tmp_path):
    rows = with_row("P002,T1,2024-01-20,1,x,2,2", replace=3)
    rows = rows.replace("P003,T1,2024-02-03,5,5,5,4", "P003,T1,2024-02-03,5,0,5,4")
    root = make_study(tmp_path, measures=rows)
    assert [e[:4] for e in errors_of(root)] == [
        ["STR007", MEASURES_FILE, 3, "item_02"],
        ["STR009", MEASURES_FILE, 4, "item_02"],
    ]


def test_str012_duplicate_participant_wave(tmp_path):
    root = make_study(tmp_path, measures=with_row("P001,T1,2024-01-13,3,3,3,3"))
    assert errors_of(root) == [
        [
            "STR012",
            MEASURES_FILE,
            6,
            "participant_id, wave",
            "participant_id, wave P001 / T1 is already used in row 2",
        ]
    ]


def test_mea002_date_outside_window(tmp_path):
    # P003 enrolled 2024-02-01: T2 target 2024-06-01, window 2024-05-18 to 2024-07-31.
    root = make_study(tmp_path, measures=with_row("P003,T2,2024-08-01,3,3,3,3"))
    assert errors_of(root) == [
        [
            "MEA002",
            MEASURES_FILE,
            6,
            "completed_on",
            "completed on 2024-08-01, outside wave T2's window 2024-05-18 to 2024-07-31 "
            "(enrolled on 2024-02-01)",
        ]
    ]


def test_mea002_window_matches_wave_window(tmp_path):
    """The vectorised window equals Wave.window, month-end clamping included (enrolled 31 January)."""
    participants = PARTICIPANTS.replace("P003,peer worker,,B,2024-02-01", "P003,peer worker,,B,2024-01-31")
    study = load_study(make_study(tmp_path, participants=participants))
    first, last = study.wave("T2").window(__import__("datetime").date(2024, 1, 31))
    for day, inside in (
        (first, True),
        (last, True),
        (first.fromordinal(first.toordinal() - 1), False),
        (last.fromordinal(last.toordinal() + 1), False),
    ):
        root = make_study(
            tmp_path / str(day),
            participants=participants,
            measures=with_row(f"P003,T2,{day.isoformat()},3,3,3,3"),
        )
        assert (errors_of(root, "MEA002") == []) is inside, day


def test_str014_unknown_participant(tmp_path):
    root = make_study(tmp_path, measures=with_row("P099,T2,2024-05-20,3,3,3,3"))
    assert errors_of(root) == [
        ["STR014", MEASURES_FILE, 6, "participant_id", "participant_id P099 is not in participants"]
    ]


def test_mea001_unknown_wave(tmp_path):
    root = make_study(tmp_path, measures=with_row("P002,T9,2024-05-20,3,3,3,3"))
    assert errors_of(root) == [
        ["MEA001", MEASURES_FILE, 6, "wave", "wave 'T9' is not in study.yml (waves: T1, T2)"]
    ]


def test_str008_required_value_blank(tmp_path):
    root = make_study(tmp_path, measures=with_row("P002,T2,,3,3,3,3"))
    assert errors_of(root) == [
        ["STR008", MEASURES_FILE, 6, "completed_on", "completed_on is blank but required"]
    ]


def test_str001_missing_file_exit_2(tmp_path):
    root = make_study(tmp_path)
    (root / MEASURES_FILE).unlink()
    report = validate(load_study(root))
    assert [[f.code, f.file, f.row, f.column, f.message] for f in report.errors] == [
        ["STR001", MEASURES_FILE, None, None, f"{MEASURES_FILE} does not exist"]
    ]
    assert exit_code(report) == 2
    assert MEASURES_FILE in report.skipped


def test_str002_unreadable_csv_exit_2(tmp_path):
    root = make_study(tmp_path, measures=b"")
    report = validate(load_study(root))
    assert [[f.code, f.file] for f in report.errors] == [["STR002", MEASURES_FILE]]
    assert "empty" in report.errors[0].message
    assert exit_code(report) == 2


def test_str004_bom_is_a_warning_only(tmp_path):
    root = make_study(tmp_path, measures=b"\xef\xbb\xbf" + MEASURES.encode())
    report = validate(load_study(root))
    assert report.errors == []
    assert [[f.code, f.file, f.severity] for f in report.warnings if f.layer in MY_LAYERS] == [
        ["STR004", MEASURES_FILE, "warning"]
    ]


def test_str003_latin1_file(tmp_path):
    participants = PARTICIPANTS.replace("P001,peer worker,,A", "P001,peer worker,Défenseur,A")
    root = make_study(tmp_path, participants=participants)
    (root / "data/participants.csv").write_bytes(participants.encode("latin-1"))
    assert errors_of(root) == [
        ["STR003", "data/participants.csv", None, None, "the file is not UTF-8 (read as Latin-1)"]
    ]


def test_str005_str006_header_typo_suggests_the_field(tmp_path):
    root = make_study(tmp_path, measures=MEASURES.replace("item_03", "item_3", 1))
    report = validate(load_study(root))
    found = [[f.code, f.file, f.row, f.column, f.message] for f in report.errors]
    assert found == [
        ["STR005", MEASURES_FILE, 1, "item_03", "the header has no column 'item_03'"],
        ["STR006", MEASURES_FILE, 1, "item_3", "column 'item_3' is not in the table's schema"],
    ]
    assert report.errors[1].fix == "Rename the column to 'item_03'."


def test_participants_findings_have_the_same_codes_as_measures(tmp_path):
    participants = PARTICIPANTS + "P004,astronaut,,B,2024-13-01,,12\nP001,manager,,A,2024-01-10,,40\n"
    root = make_study(tmp_path, participants=participants)
    found = {(e[0], e[2], e[3]) for e in errors_of(root) if e[1] == "data/participants.csv"}
    assert found == {
        ("STR010", 5, "group"),
        ("STR007", 5, "enrolled_on"),
        ("STR009", 5, "age"),
        ("STR012", 6, "participant_id"),
    }


def test_str022_descriptor_drift(tmp_path):
    root = make_study(tmp_path)
    descriptor = json.loads((root / "datapackage.json").read_text())
    descriptor["resources"] = descriptor["resources"][:1]
    (root / "datapackage.json").write_text(json.dumps(descriptor))
    codes = {e[0] for e in errors_of(root)}
    assert codes == {"STR022"}


def test_str020_missing_descriptor(tmp_path):
    root = make_study(tmp_path, sync=False)
    assert [e[:3] for e in errors_of(root)] == [["STR020", "datapackage.json", None]]


def test_findings_never_carry_a_row(tmp_path):
    root = make_study(tmp_path, measures=with_row("P001,T1,2024-01-12,3,7,2,5", replace=2))
    report = json.loads(validate(load_study(root)).to_json())
    assert report["format"] == "studykit-validation-report/1"
    finding = next(f for f in report["findings"] if f["code"] == "STR009")
    assert finding["value"] == "7"
    assert set(finding) == {
        "code",
        "layer",
        "severity",
        "file",
        "row",
        "column",
        "value",
        "rule",
        "message",
        "fix",
    }


def test_int001_changed_file_after_accept(tmp_path):
    root = make_study(tmp_path)
    study = load_study(root)
    manifest = accept(study)
    assert manifest == root / "governance" / "manifest.sha256"
    assert validate(study).codes().get("INT001") is None
    (root / MEASURES_FILE).write_text(MEASURES.replace("2024-01-12", "2024-01-13"), encoding="utf-8")
    changed = [[f.code, f.file, f.severity] for f in validate(study) if f.layer == "integrity"]
    assert changed == [["INT001", MEASURES_FILE, "warning"]]


def test_manifest_is_sha256sum_format(tmp_path):
    root = make_study(tmp_path)
    accept(load_study(root))
    line = next(
        row for row in (root / "governance/manifest.sha256").read_text().splitlines() if MEASURES_FILE in row
    )
    assert line == f"{hashlib.sha256((root / MEASURES_FILE).read_bytes()).hexdigest()}  {MEASURES_FILE}"


def test_a_crashing_layer_does_not_hide_the_others(tmp_path, monkeypatch):
    import studykit.checks.measures as measures

    def broken(run):
        return 1 / 0

    monkeypatch.setattr(measures, "check", broken)
    root = make_study(tmp_path, participants=PARTICIPANTS + "P004,astronaut,,B,2024-03-01,,40\n")
    report = validate(load_study(root))
    assert {f.code for f in report.errors if f.layer in MY_LAYERS} == {"STR000", "STR010"}
    message = next(f.message for f in report.errors if f.code == "STR000")
    assert "the measures checks did not run" in message
    assert "run with --debug" in message
    # A crashed layer means part of the study was not checked: exit 2, and the report names the layer.
    assert report.not_run == {"measures": "ZeroDivisionError: division by zero"}
    assert report.to_dict()["not_run"] == {"measures": "ZeroDivisionError: division by zero"}
    assert exit_code(report) == 2
    result = CliRunner().invoke(app, ["validate", "-C", str(root)])
    assert result.exit_code == 2
    assert "Did not run: the measures checks" in " ".join(result.stdout.split())


def test_cli_exit_codes_and_json(tmp_path):
    runner = CliRunner()
    clean = make_study(tmp_path / "clean")
    result = runner.invoke(app, ["validate", "-C", str(clean), "--format", "json"])
    assert result.exit_code == 0, result.output
    bad = make_study(tmp_path / "bad", measures=with_row("P003,T1,2024-02-03,5,9,5,4", replace=4))
    result = runner.invoke(app, ["validate", "-C", str(bad), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["counts"]["error"] == 1
    assert json.loads(result.stdout)["engines"][MEASURES_FILE] == "polars"
    result = runner.invoke(app, ["validate", "-C", str(bad)])
    assert "Tables checked by: data/employment.csv (polars)" in " ".join(result.stdout.split())
    (bad / MEASURES_FILE).unlink()
    result = runner.invoke(app, ["validate", "-C", str(bad)])
    assert result.exit_code == 2
    assert "Could not run" in result.stderr
    broken = make_study(tmp_path / "broken")
    (broken / "study.yml").write_text("title: [unclosed\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", "-C", str(broken)])
    assert result.exit_code == 2
    assert "study.yml" in result.stderr


def test_cli_output_refuses_data_folder(tmp_path):
    root = make_study(tmp_path)
    before = snapshot(root)
    result = CliRunner().invoke(app, ["validate", "-C", str(root), "--output", str(root / "data" / "r.json")])
    assert result.exit_code == 2
    assert "never writes" in result.stderr
    assert snapshot(root) == before


def test_cli_output_and_accept(tmp_path):
    root = make_study(tmp_path)
    target = tmp_path / "validation-report.json"
    result = CliRunner().invoke(app, ["validate", "-C", str(root), "--accept", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["valid"] is True
    assert (root / "governance" / "manifest.sha256").is_file()


def test_python_m_studykit_validate_streams(tmp_path):
    root = make_study(tmp_path, measures=with_row("P003,T1,2024-02-03,5,9,5,4", replace=4))
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "validate", "--study-dir", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(PACKAGE_SRC), "PATH": ""},
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [[f["code"], f["row"], f["column"]] for f in report["findings"] if f["severity"] == "error"] == [
        ["STR009", 4, "item_02"]
    ]
    assert result.stderr.startswith("Validation found 1 error(s)")


@pytest.mark.parametrize("layer", ["structure", "measures", "integrity"])
def test_every_rule_of_my_layers_has_a_fix(layer):
    from studykit.checks import load_rules

    rules = [r for r in load_rules().values() if r.layer == layer]
    assert rules
    assert all(r.fix and r.explanation and r.title for r in rules)


def test_mea003_stored_score_differs_from_items(tmp_path):
    rows = MEASURES.replace("item_04\n", "item_04,total\n", 1).splitlines()
    totals = ["14", "6", "20", "16"]  # row 3 should be 6, row 4 is 19 not 20
    measures = "\n".join([rows[0]] + [f"{r},{t}" for r, t in zip(rows[1:], totals, strict=True)]) + "\n"
    root = make_study(tmp_path, measures=measures)
    assert errors_of(root) == [
        ["MEA003", MEASURES_FILE, 4, "total", "stored total is 20 but the items give 19"]
    ]
    # The value is the cell as written, not the number it was read as.
    assert [f.value for f in validate(load_study(root)).errors] == ["20"]


def test_a_score_from_a_broken_item_is_not_checked_and_the_report_says_why(tmp_path):
    """Rule.requires: MEA003 needs readable, in-range items; where one failed, it says so instead."""
    rows = MEASURES.replace("item_04\n", "item_04,total\n", 1).splitlines()
    rows[2] = "P002,T1,2024-01-20,9,1,2,2"  # item_01 out of range: the total (6) disagrees with 14
    rows[3] = "P003,T1,2024-02-03,5,5,5,4"
    totals = ["14", "6", "20", "16"]  # row 4 is a real mismatch (19)
    measures = "\n".join([rows[0]] + [f"{r},{t}" for r, t in zip(rows[1:], totals, strict=True)]) + "\n"
    report = validate(load_study(make_study(tmp_path, measures=measures)))
    found = [[f.code, f.row, f.column] for f in report.errors if f.file == MEASURES_FILE]
    assert found == [["STR009", 3, "item_01"], ["MEA003", 4, "total"]]
    assert [n.sentence() for n in report.not_checked] == [
        f"MEA003 not checked on 1 row(s) of {MEASURES_FILE} (rows 3) because their input failed STR009 first"
    ]
    assert report.to_dict()["not_checked"] == [
        {"file": MEASURES_FILE, "code": "MEA003", "rows": [3], "because": ["STR009"]}
    ]


def test_a_row_with_the_wrong_number_of_cells_is_one_finding_and_its_cells_are_not_judged(tmp_path):
    """STR016: a short row is padded with blanks by the reader and a long one cut; either way its values
    may sit under the wrong columns, so the row's other rules wait for it (not_checked)."""
    rows = MEASURES.splitlines()
    rows[2] = "P002,T1,1,2,2,2"  # the date left out: the items moved one column left
    rows[3] = rows[3] + ",9"  # an extra cell
    report = validate(load_study(make_study(tmp_path, measures="\n".join(rows) + "\n")))
    found = [[f.code, f.row, f.message] for f in report.errors if f.file == MEASURES_FILE]
    assert found == [
        ["STR016", 3, "the row has 6 cells and the header 7: a value is missing"],
        ["STR016", 4, "the row has 8 cells and the header 7: the last 1 cell(s) were not read"],
    ]
    assert {(n.code, n.rows, n.because) for n in report.not_checked if n.file == MEASURES_FILE} == {
        ("STR007", (3,), ("STR016",))  # the first item (1) sits under completed_on: not judged a bad date
    }


def test_a_header_row_pasted_again_is_one_finding_and_its_cells_are_not_judged(tmp_path):
    rows = MEASURES.splitlines()
    rows.insert(3, rows[0])  # rows pasted from another copy of the file, its header included
    report = validate(load_study(make_study(tmp_path, measures="\n".join(rows) + "\n")))
    found = [[f.code, f.row] for f in report.findings if f.file == MEASURES_FILE]
    assert found == [["STR027", 4]]
    assert {n.code for n in report.not_checked if n.file == MEASURES_FILE and n.because == ("STR027",)} >= {
        "STR007", "STR011"
    }  # the id 'participant_id' and the date 'completed_on' are not judged


def test_findings_cover_frictionless_on_a_seeded_measures_file(tmp_path):
    """Parity: every (row, column) frictionless reports, studykit reports too, on the same file."""
    from frictionless import Package

    seeded = (
        MEASURES
        + "P002,T2,2024-05-20,6,1,x,2\n"  # out of range; not an integer
        + "P001,T1,2024-01-12,3,3,3,3\n"  # duplicate participant and wave
        + "P099,T2,2024-05-20,3,3,3,3\n"  # unknown participant
        + "P003,T2,2023-02-30,0,3,3,3\n"  # impossible date; out of range
        + "P3,T1,2024-02-03,5,5,5,5\n"  # id does not match the pattern (and is unknown)
        + "P001,T2,,3,3,3,3\n"  # required date blank
    )
    root = make_study(tmp_path, measures=seeded)
    descriptor = json.loads((root / "datapackage.json").read_text())
    for resource in descriptor["resources"]:
        resource["schema"].pop("fieldsMatch", None)
    package = Package(descriptor, basepath=str(root))
    resource = next(r for r in package.resources if r.path == MEASURES_FILE)
    reference = {
        (e.row_number, e.field_name if e.type not in ("primary-key", "foreign-key") else None)
        for e in resource.validate().tasks[0].errors
    }
    ours = {
        (f.row, None if f.code in ("STR012", "STR014") else f.column)
        for f in validate(load_study(root))
        if f.file == MEASURES_FILE and f.severity == "error"
    }
    assert len(reference) == 10
    assert reference <= ours


def test_rules_page_shows_every_rule_with_its_example():
    from studykit.checks import load_rules
    from studykit.checks.rules_page import rules_markdown

    example = {"change": "P003's age typed as a word.", "file": "data/participants.csv", "row": 4,
               "column": "age", "value": "forty", "message": "'forty' is not a valid integer"}  # fmt: skip
    page = rules_markdown({"STR007": example})
    assert all(f"\n### {code}\n" in page for code in load_rules())
    shown = "**Example.** P003's age typed as a word. `studykit validate` reports:\n\n```text\n"
    shown += "data/participants.csv, row 4, column age, "
    assert shown in page
    assert "value 'forty'\nSTR007 error: 'forty' is not a valid integer\n```" in page
    assert "(listed under `not_checked`)" in page  # MEA003 waits for readable items


def test_every_table_is_checked_by_the_polars_engine_whatever_its_size(tmp_path):
    participants = (
        PARTICIPANTS
        + "P004,astronaut,,B,2024-13-01,,12\n"
        + "P001,manager,,A,2024-01-10,,40\n"
        + "p5,other,,A,2024-01-10,,forty\n"
        + "P006,other,,A,,,\n"
        + ",other,,A,2024-01-10,,40\n"  # a blank key: one finding (required)
    )
    root = make_study(tmp_path, participants=participants)
    report = validate(load_study(root))
    assert report.engines == {
        "data/participants.csv": "polars",
        "data/employment.csv": "polars",
        MEASURES_FILE: "polars",
    }
    assert report.to_dict()["engines"]["data/participants.csv"] == "polars"
    found = [
        r[1:4] for r in report.flatten(("file", "code", "row", "column")) if r[0] == "data/participants.csv"
    ]
    assert ["STR008", 9, "participant_id"] in found
    assert ["STR011", 7, "participant_id"] in found
    assert ["STR007", 7, "age"] in found
    assert ["STR012", 6, "participant_id"] in found
    age = next(
        f for f in report.findings if f.file == "data/participants.csv" and f.row == 5 and f.column == "age"
    )
    assert (age.code, age.value, age.message) == (
        "STR009",
        "12",
        "'12' is not allowed in age: the minimum is 16",
    )


def test_a_table_with_a_feature_the_engine_lacks_goes_to_frictionless(tmp_path, monkeypatch):
    """frictionless checks such a table; its codes come from the error's type, never from its words."""
    import studykit.checks.structure as structure

    participants = PARTICIPANTS + "P004,astronaut,,B,2024-13-01,,12\nP001,manager,,A,2024-01-10,,40\n"
    root = make_study(tmp_path, participants=participants)
    monkeypatch.setattr(
        structure, "unsupported", lambda schema: "test" if "enrolled_on" in str(schema) else None
    )
    report = validate(load_study(root))
    assert report.engines["data/participants.csv"] == "frictionless"
    assert report.engines[MEASURES_FILE] == "polars"
    found = {
        (f.code, f.row, f.column)
        for f in report.findings
        if f.file == "data/participants.csv" and f.layer == "structure"
    }
    assert found == {
        ("STR018", 5, "group"),
        ("STR007", 5, "enrolled_on"),
        ("STR018", 5, "age"),
        ("STR012", 6, "participant_id"),
    }


def test_unsupported_names_the_first_feature_the_engine_lacks():
    from studykit.checks.tabular import unsupported

    plain = {"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": 1}}], "primaryKey": ["a"]}
    assert unsupported(plain) is None
    assert unsupported({"fields": [{"name": "a", "type": "datetime"}]}) == "field type 'datetime'"
    assert unsupported({"fields": [{"name": "a", "type": "date", "format": "%d/%m/%Y"}]}) == (
        "field format '%d/%m/%Y'"
    )
    assert unsupported({"fields": [], "uniqueKeys": [["a"]]}) == "schema key 'uniqueKeys'"
    assert (
        unsupported({"fields": [], "missingValues": ["", "NA"]})
        == "missingValues other than the empty string"
    )
    assert unsupported({"fields": [{"name": "a", "trueValues": ["y"]}]}) == "field property 'trueValues'"


def test_duplicate_participant_ids_still_join_measure_rows_by_id(tmp_path):
    # Repeated ids make the participants' id hashes repeat, so the measures layer joins on the
    # text itself: the duplicate is reported once, and no measure row becomes "unknown".
    doubled = PARTICIPANTS + PARTICIPANTS.splitlines()[1] + "\n"
    root = make_study(tmp_path, participants=doubled)
    report = validate(load_study(root))
    codes = {(f.code, f.file) for f in report.errors}
    assert ("STR012", "data/participants.csv") in codes
    assert not [f for f in report.errors if f.file == MEASURES_FILE], report.flatten()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: it has no header row"),
        (b"  \r\n\t\n", "is empty: it has no header row"),
        (b"\xef\xbb\xbf", "is empty: it has no header row"),
    ],
)
def test_str002_blank_files_say_they_are_empty(tmp_path, content, message):
    root = make_study(tmp_path, measures=content)
    report = validate(load_study(root))
    assert [[f.code, f.file, f.message] for f in report.errors] == [["STR002", MEASURES_FILE, message]]


def test_padded_cells_are_stripped_and_a_blank_one_is_missing(tmp_path):
    padded = MEASURES.replace("P002,T1,2024-01-20,1,1,2,2", "P002, T1 ,2024-01-20,1,\t1 ,2,  ")
    report = validate(load_study(make_study(tmp_path, measures=padded)))
    # " T1 " is T1, "\t1 " is 1; the blank item_04 is missing, which the schema allows.
    assert [f for f in report.errors if f.layer in MY_LAYERS] == []
    # Each padded cell is one warning of its own rule.
    assert [[f.code, f.row, f.column, f.severity] for f in report.findings if f.code == "STR017"] == [
        ["STR017", 3, "wave", "warning"],
        ["STR017", 3, "item_02", "warning"],
        ["STR017", 3, "item_04", "warning"],
    ]


def test_spaces_are_one_rule_in_every_table(tmp_path):
    """Participants, measures and the registers: a padded date is STR017 (read trimmed), never STR007."""
    participants = PARTICIPANTS.replace("P002,manager,,A,2024-01-15,,51", "P002,manager,,A,2024-01-15 ,,51")
    measures = MEASURES.replace("P003,T1,2024-02-03", "P003,T1, 2024-02-03")
    root = make_study(tmp_path, participants=participants, measures=measures)
    consent = root / "governance/consent.csv"
    consent.write_text(consent.read_text().replace("P003,1.0,2024-01-31", "P003,1.0,2024-01-31 "))
    report = validate(load_study(root))
    spaces = [[f.file, f.row, f.column] for f in report.findings if f.code == "STR017"]
    assert sorted(spaces) == [
        ["data/measures/mood.csv", 4, "completed_on"],
        ["data/participants.csv", 3, "enrolled_on"],
        ["governance/consent.csv", 4, "consented_on"],
    ]
    assert not [f for f in report.errors if f.code == "STR007"]


def test_each_file_is_read_once_per_validation(tmp_path, monkeypatch):
    """Each file once: later layers use what earlier ones read or recorded (checks/run.py)."""
    import studykit.tables as tables

    root = make_study(tmp_path)
    reads: list[str] = []

    def counting(original):
        def read(source, *args, **kwargs):
            reads.append(Path(str(source)).name if isinstance(source, str | Path) else "(bytes)")
            return original(source, *args, **kwargs)

        return read

    for reader in ("read_csv", "scan_csv"):
        monkeypatch.setattr(tables.pl, reader, counting(getattr(tables.pl, reader)))
    validate(load_study(root))
    assert reads.count("mood.csv") == 1
    assert reads.count("participants.csv") == 1
    assert reads.count("consent.csv") == 1


def test_shared_tables_give_the_same_findings_as_layers_run_alone(tmp_path):
    """With the memo (validate) and without it (each layer on its own), the same findings."""
    from studykit.checks import disclosure, governance, measures

    measures_text = MEASURES + "P002,T2,2024-05-30,1,,2,\nP003,T2,2023-12-01,2,2,2,2\n"
    root = make_study(tmp_path, measures=measures_text)
    (root / "governance/withdrawals.csv").write_text(
        "participant_id,withdrawn_on,reason,scope\nP002,2024-03-01,moved,no further data\n", encoding="utf-8"
    )
    study = load_study(root)
    report = validate(study)
    for module in (governance, disclosure):
        alone = list(module.check(Run(study)))
        layer = module.__name__.rsplit(".", 1)[1]
        assert [f for f in report.findings if f.layer == layer] == alone
        assert alone, f"the {layer} layer should find something here"
    assert any(f.code == "GOV003" and f.row == 6 for f in report.findings)
    assert list(measures.check(Run(study)))


# --- files a spreadsheet saved with another locale, and headers no table has (issues 16, 17) ----------


def excel_european(text: str) -> bytes:
    """``text`` as Excel saves CSV with a European locale: ';' between cells, decimal commas, Windows-1252."""
    return text.replace(",", ";").encode("cp1252")


def test_a_semicolon_csv_is_one_finding_saying_how_to_save_it_again(tmp_path):
    # Excel's European CSV: ';' between cells, a decimal comma, Windows-1252 text.
    text = MEASURES.replace("item_04", "item_04,note") + "".join(
        f"{line},\"2,5 é\"\n" for line in MEASURES.splitlines()[1:]
    )
    lines = text.splitlines()
    root = make_study(tmp_path, measures=excel_european("\n".join(lines[:1] + lines[5:]) + "\n"))
    report = validate(load_study(root))
    about = [f for f in report.findings if f.file == MEASURES_FILE]
    assert [f.code for f in about] == ["STR002"]
    assert "separated by ';'" in about[0].message
    assert "not UTF-8" in about[0].message
    assert "Comma delimited" in about[0].fix
    assert exit_code(report) == 2


def test_a_csv_with_carriage_returns_alone_is_one_finding_in_every_layer(tmp_path):
    """Excel for Mac's 'CSV (Macintosh)': lines end in a carriage return alone. Every layer that reads the
    file gets the same sentence (it used to crash three layers: STR000, exit 2 with a traceback hint)."""
    root = make_study(tmp_path, participants=PARTICIPANTS.replace("\n", "\r"))
    report = validate(load_study(root))
    assert report.not_run == {}
    about = [f for f in report.findings if f.file == "data/participants.csv"]
    assert [f.code for f in about] == ["STR002"]
    assert "carriage return alone" in about[0].message
    assert "CSV UTF-8 (Comma delimited)" in about[0].fix


def _workbook(text: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("saved", "said"),
    [
        (_workbook, "is a spreadsheet workbook (.xlsx or .ods) saved under a .csv name"),
        (lambda text: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "is an Excel 97-2003 workbook (.xls)"),
        (lambda text: text.encode("utf-16"), "is UTF-16 text (as Excel's 'Unicode Text' saves it)"),
        (lambda text: text.encode("utf-16-le"), "holds NUL bytes, so it is not a text file"),
    ],
    ids=["xlsx", "xls", "utf-16", "utf-16-without-bom"],
)
def test_a_file_that_is_not_csv_text_is_one_finding_saying_what_it_is(tmp_path, saved, said):
    """Not one 'column missing' per column: what the file is, and how to save it as CSV."""
    root = make_study(tmp_path)
    (root / "data" / "participants.csv").write_bytes(saved(PARTICIPANTS))
    report = validate(load_study(root))
    about = [f for f in report.findings if f.file == "data/participants.csv"]
    assert [f.code for f in about] == ["STR002"]
    assert about[0].message.startswith(said)
    assert "CSV UTF-8 (Comma delimited)" in about[0].fix


def test_score_on_a_semicolon_csv_names_the_separator_not_a_missing_column(tmp_path):
    root = make_study(tmp_path, measures=excel_european(MEASURES))
    result = CliRunner().invoke(app, ["score", "-C", str(root)])
    assert result.exit_code in (1, 2)
    assert "separated by ';'" in " ".join(result.stderr.split())
    assert "participant" not in result.stderr.lower().split("separated")[0]


def test_a_header_of_a_million_columns_is_refused_quickly(tmp_path):
    import time

    from studykit.errors import DataReadError
    from studykit.tables import read_text_table

    path = tmp_path / "wide.csv"
    header = ",".join(f"c{i}" for i in range(1_000_000))
    path.write_text(header + "\n" + "1," * 999_999 + "1\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(DataReadError, match="more than 10,000 columns"):
        read_text_table(path)
    assert time.perf_counter() - started < 2
