"""Public involvement: the log's schema as findings (INV###), the audited add, the GRIPP2 and UK Standards
tables, names only with agreement, and the report page in the preview."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from studykit.checks import exit_code, validate
from studykit.cli import app
from studykit.errors import RegisterError
from studykit.governance.audit import read_audit
from studykit.governance.gripp2 import ITEMS, write_involvement_tables
from studykit.governance.involvement import add_activity, parse_involvement, read_involvement
from studykit.report import lint_reports
from studykit.report_preview import render_preview
from studykit.study import load_study
from typer.testing import CliRunner

from tests.conftest import PACKAGE_SRC
from tests.package.governance_study import make_study
from tests.package.report_fixture import write_results_fixture

LOG_FILE = "governance/involvement.yml"
TEMPLATE = PACKAGE_SRC.parent
EXAMPLE_LOG = Path(__file__).resolve().parents[2] / "example" / "data" / "fixed" / LOG_FILE
NOW = dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.UTC)
BY = "Involvement lead (synthetic)"
runner = CliRunner()

LOG = {
    "aim": "To shape the interviews with people who have done peer work.",
    "influence": "Involvement changed the topic guide; it also slowed recruitment.",
    "contributors": [
        {"id": "C01", "role": "peer researcher", "agreed_to_be_named": True, "name": "Sam Synthetic"},
        {"id": "C02", "role": "peer researcher", "agreed_to_be_named": False, "also_participant": True},
        {"id": "C03", "role": "steering group"},
    ],
    "activities": [
        {"id": "A01", "date": dt.date(2024, 3, 4), "stage": "design", "nature": "co-production",
         "who": ["C01", "C02"], "summary": "Wrote the topic guide together."},
        {"id": "A02", "date": dt.date(2024, 9, 1), "stage": "analysis", "nature": "collaboration",
         "who": ["C02"], "summary": "Coded two transcripts."},
    ],
    "impacts": [
        {"activity": "A01", "what_changed": "A question on disclosure was added.",
         "evidence": "Topic guide v1", "valence": "positive"},
        {"activity": "A02", "what_changed": "Analysis took a month longer.", "valence": "negative"},
    ],
    "reflections": [{"by": "C02", "text": "We needed more time."},
                    {"by": "research team", "text": "Start early."}],
}  # fmt: skip


def write_log(root: Path, log: dict | str) -> Path:
    path = root / LOG_FILE
    path.write_text(log if isinstance(log, str) else yaml.safe_dump(log, sort_keys=False), encoding="utf-8")
    return path


def study_with(tmp_path: Path, log: dict | str | None = LOG) -> Path:
    root = make_study(tmp_path)
    if log is not None:
        write_log(root, log)
    return root


def inv_findings(root: Path) -> list[list]:
    report = validate(load_study(root))
    return [
        row for row in report.flatten(("code", "file", "row", "column", "severity")) if row[0][:3] == "INV"
    ]


# --- the schema as findings -----------------------------------------------------------------------


def test_a_clean_log_gives_no_finding(tmp_path):
    assert inv_findings(study_with(tmp_path)) == []


def test_no_log_gives_no_finding(tmp_path):
    assert inv_findings(study_with(tmp_path, None)) == []


def test_inv001_each_schema_error_names_file_entry_field_and_line(tmp_path):
    text = """\
aim: To involve people.
influence: Some.
contributors:
  - id: C01
    role: peer researcher
    colour: blue
activities:
  - id: A01
    date: 13/01/2024
    stage: design
    nature: coproduction
    who: [C01]
  - id: A02
    date: 2024-03-01
    stage: design
    nature: consultation
    who: [C01]
    summary: Fine.
impacts:
  - what_changed: Something.
    valence: good
reflections: [{text: ok}]
"""
    root = study_with(tmp_path, text)
    assert inv_findings(root) == [
        ["INV001", LOG_FILE, 6, "contributors[0].colour", "error"],
        ["INV001", LOG_FILE, 8, "activities[0].summary", "error"],
        ["INV001", LOG_FILE, 9, "activities[0].date", "error"],
        ["INV001", LOG_FILE, 11, "activities[0].nature", "error"],
        ["INV001", LOG_FILE, 21, "impacts[0].valence", "error"],
    ]
    report = validate(load_study(root))
    nature = next(f for f in report.findings if f.column == "activities[0].nature")
    assert nature.value == "coproduction"
    assert nature.message == (
        "activities[0].nature (entry A01): should be one of 'consultation', 'collaboration', "
        "'co-production' or 'user-led', not 'coproduction'"
    )
    assert exit_code(report) == 1


def test_inv001_a_date_that_does_not_exist_is_found_at_its_line(tmp_path):
    log = yaml.safe_dump(LOG, sort_keys=False).replace("2024-09-01", "2024-02-30")
    root = study_with(tmp_path, log)
    assert inv_findings(root) == [["INV001", LOG_FILE, 24, "activities[1].date", "error"]]


def test_inv001_a_log_that_is_not_yaml_is_one_finding_at_its_line(tmp_path):
    root = study_with(tmp_path, "aim: fine\ncontributors:\n  - id: C01\n   role: [unclosed\n")
    assert inv_findings(root) == [["INV001", LOG_FILE, 4, None, "error"]]


def test_inv002_unknown_and_repeated_ids(tmp_path):
    log = copy.deepcopy(LOG)
    log["activities"][1]["who"] = ["C02", "C09"]
    log["activities"][1]["id"] = "A01"
    log["impacts"][1]["activity"] = "A07"
    assert inv_findings(study_with(tmp_path, log)) == [
        ["INV002", LOG_FILE, 23, "activities[1].id", "error"],
        ["INV002", LOG_FILE, 29, "activities[1].who[1]", "error"],
        ["INV002", LOG_FILE, 36, "impacts[1].activity", "error"],
    ]


def test_inv003_a_name_without_agreement_is_an_error(tmp_path):
    log = copy.deepcopy(LOG)
    log["contributors"][1]["name"] = "Withheld Person"
    assert inv_findings(study_with(tmp_path, log)) == [
        ["INV003", LOG_FILE, 12, "contributors[1].name", "error"]
    ]


def test_inv004_each_empty_gripp2_item_is_a_warning_with_the_starter_log(tmp_path):
    root = make_study(tmp_path)
    shutil.copy(TEMPLATE / LOG_FILE, root / LOG_FILE)
    found = inv_findings(root)
    assert [(code, column, severity) for code, _, _, column, severity in found] == [
        ("INV004", "aim", "warning"), ("INV004", "influence", "warning"), ("INV004", "activities", "warning"),
        ("INV004", "impacts", "warning"), ("INV004", "reflections", "warning"),
    ]  # fmt: skip


def test_inv005_only_positive_outcomes_is_a_warning(tmp_path):
    log = copy.deepcopy(LOG)
    log["impacts"][1]["valence"] = "positive"
    assert [row[0] for row in inv_findings(study_with(tmp_path, log))] == ["INV005"]


def test_inv006_an_incomplete_standards_self_assessment_is_a_warning(tmp_path):
    log = {**LOG, "standards": {"impact": {"status": "met"}}}
    root = study_with(tmp_path, log)
    assert [(row[0], row[3]) for row in inv_findings(root)] == [("INV006", "standards")]
    [finding] = [f for f in validate(load_study(root)).findings if f.code == "INV006"]
    assert finding.message == (
        "the self-assessment leaves out Inclusive opportunities, Working together, Support and learning, "
        "Communications, Governance"
    )


def test_inv007_a_contributor_under_a_participant_id_is_a_warning(tmp_path):
    log = copy.deepcopy(LOG)
    log["contributors"][2]["id"] = "P002"
    log["activities"] = []
    log["impacts"] = [{"what_changed": "x", "valence": "negative"}]
    assert inv_findings(study_with(tmp_path, log)) == [
        ["INV007", LOG_FILE, 12, "contributors[2].id", "warning"],
        ["INV004", LOG_FILE, 14, "activities", "warning"],
    ]


def test_the_example_log_is_complete_and_clean():
    found = parse_involvement(EXAMPLE_LOG.read_text(encoding="utf-8"), EXAMPLE_LOG, LOG_FILE)
    assert found.problems == ()
    log = found.log
    assert log is not None
    assert {a.stage for a in log.activities} >= {"design", "data collection", "analysis"}
    assert {
        c.role
        for c in log.contributors
        if any(c.id in a.who for a in log.activities if a.stage == "data collection")
    } == {"peer researcher"}
    assert {i.valence for i in log.impacts} >= {"positive", "negative"}
    assert log.standards is not None


# --- the tables -----------------------------------------------------------------------------------


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_gripp2_table_built_from_a_small_log(tmp_path):
    root = study_with(tmp_path)
    folder = root / "reports" / "_results"
    written = write_involvement_tables(load_study(root), folder)
    assert [p.name for p in written] == [
        "involvement.md", "tbl-gripp2.csv", "tbl-gripp2.md", "tbl-ukstandards.csv", "tbl-ukstandards.md"
    ]  # fmt: skip
    table = rows(folder / "tbl-gripp2.csv")
    assert table[0] == ["No.", "Section and topic", "Item (GRIPP2 short form)", "What this study reports",
                        "Reported in"]  # fmt: skip
    assert [r[:3] for r in table[1:]] == [[str(n), topic, item] for n, topic, item, *_ in ITEMS]
    assert [r[3] for r in table[1:]] == [
        "To shape the interviews with people who have done peer work.",
        "3 contributor(s): peer researcher (2), steering group (1). 2 activities from 2024-03-04 to "
        "2024-09-01; stages: design (1), analysis (1); nature: collaboration (1), co-production (1).",
        "2 recorded change(s) to the study: 1 positive, 1 negative, 0 mixed.",
        "Involvement changed the topic guide; it also slowed recruitment.",
        "2 reflection(s), by peer researcher (1), the research team (1).",
    ]
    markdown = (folder / "tbl-gripp2.md").read_text(encoding="utf-8")
    assert markdown.splitlines()[-1] == (
        r": GRIPP2 short form\: reporting of public involvement "
        r"\(Staniszewska et al\.\, BMJ 2017\;358\:j3453\) {#tbl-gripp2}"
    )
    assert "| [Aim of involvement](#ppi-aim) |" in markdown
    assert "{#ppi-aim}" in (folder / "involvement.md").read_text(encoding="utf-8")
    assert (
        (folder / "tbl-ukstandards.md")
        .read_text(encoding="utf-8")
        .startswith("This study has not recorded a self-assessment")
    )


def test_an_empty_item_is_said_not_reported_in_the_table(tmp_path):
    root = study_with(tmp_path, {**LOG, "influence": "  ", "reflections": []})
    folder = root / "reports" / "_results"
    write_involvement_tables(load_study(root), folder)
    table = rows(folder / "tbl-gripp2.csv")
    assert table[4][3:] == ["Not reported: governance/involvement.yml has no influence.", "not reported"]
    assert table[5][3:] == ["Not reported: governance/involvement.yml has no reflections.", "not reported"]


def test_uk_standards_table_when_the_study_fills_it(tmp_path):
    standards = {key: {"status": "met", "notes": f"{key} note"} for key in (
        "inclusive_opportunities", "working_together", "support_and_learning", "communications", "impact",
        "governance")}  # fmt: skip
    standards["governance"] = {"status": "not met"}
    root = study_with(tmp_path, {**LOG, "standards": standards})
    folder = root / "reports" / "_results"
    write_involvement_tables(load_study(root), folder)
    assert rows(folder / "tbl-ukstandards.csv") == [
        ["Standard", "Self-assessment", "Notes"],
        ["Inclusive opportunities", "met", "inclusive_opportunities note"],
        ["Working together", "met", "working_together note"],
        ["Support and learning", "met", "support_and_learning note"],
        ["Communications", "met", "communications note"],
        ["Impact", "met", "impact note"],
        ["Governance", "not met", ""],
    ]
    assert "{#tbl-ukstandards}" in (folder / "tbl-ukstandards.md").read_text(encoding="utf-8")


def test_without_a_log_every_file_is_still_written_with_a_sentence(tmp_path):
    root = study_with(tmp_path, None)
    folder = root / "reports" / "_results"
    written = write_involvement_tables(load_study(root), folder)
    assert all(p.is_file() for p in written)
    assert (
        (folder / "tbl-gripp2.md")
        .read_text(encoding="utf-8")
        .startswith("This study keeps no public involvement log")
    )
    assert rows(folder / "tbl-gripp2.csv") == [["No.", "Section and topic", "Item (GRIPP2 short form)",
                                                "What this study reports", "Reported in"]]  # fmt: skip


def test_a_malformed_log_stops_the_tables_naming_the_field(tmp_path):
    root = study_with(tmp_path, {**LOG, "activities": [{**LOG["activities"][0], "nature": "advice"}]})
    with pytest.raises(RegisterError, match=r"activities\[0\]\.nature \(entry A01\): should be one of"):
        write_involvement_tables(load_study(root), root / "reports" / "_results")
    assert not (root / "reports").exists()


def test_names_appear_only_with_agreement(tmp_path):
    log = copy.deepcopy(LOG)
    log["contributors"][1]["name"] = "Never Shown"  # INV003, and still withheld
    root = study_with(tmp_path, log)
    folder = root / "reports" / "_results"
    write_involvement_tables(load_study(root), folder)
    text = "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
    assert "Never Shown" not in text
    sections = (folder / "involvement.md").read_text(encoding="utf-8")
    assert "| Sam Synthetic | peer researcher |" in sections
    assert "| C02 | peer researcher |" in sections
    assert r"Sam Synthetic \(peer researcher\)\; Peer researcher C02 | Wrote the topic guide" in sections
    assert r"- We needed more time\. (Peer researcher C02)" in sections
    # Who was also a participant is never said, only that some were.
    assert "also took part in the study as participants; the report does not say who" in sections
    assert "C02 \\(also" not in sections


def test_text_from_the_log_is_never_markup_an_include_or_a_reference(tmp_path):
    log = {**LOG, "aim": "{{< include /etc/hostname >}} *bold* @tbl-gripp2 <script>x</script> a|b"}
    root = study_with(tmp_path, log)
    folder = root / "reports" / "_results"
    write_involvement_tables(load_study(root), folder)
    aim = (folder / "involvement.md").read_text(encoding="utf-8").split("\n")[2]
    assert aim == (
        r"\{\{\< include \/etc\/hostname \>\}\} \*bold\* \@tbl\-gripp2 \<script\>x\<\/script\> a\|b"
    )


# --- the audited add ------------------------------------------------------------------------------


def test_involvement_add_writes_the_log_and_the_audit_line_together(tmp_path):
    root = make_study(tmp_path)
    text = yaml.safe_dump(LOG, sort_keys=False)
    write_log(root, "# Our involvement log: keep this comment.\n" + text)
    added = add_activity(load_study(root), on=dt.date(2025, 2, 3), stage="interpretation", nature="user-led",
                         who=["C01", "C03"], summary="Led the  theme\nworkshop.", by=BY, now=NOW)  # fmt: skip
    after = (root / LOG_FILE).read_text(encoding="utf-8")
    assert after.startswith("# Our involvement log: keep this comment.\n")
    log = read_involvement(load_study(root)).log
    assert log is not None
    assert log.activities[-1].model_dump(mode="json") == {
        "id": "A03", "date": "2025-02-03", "stage": "interpretation", "nature": "user-led",
        "who": ["C01", "C03"], "summary": "Led the theme workshop.",
    }  # fmt: skip
    assert log.activities[:2] == parse_involvement(text, root / LOG_FILE, LOG_FILE).log.activities
    [entry] = read_audit(root / "governance" / "audit.log")
    assert entry == {
        "at": "2025-06-01T09:30:00Z",
        "by": BY,
        "action": "involvement add",
        "register": LOG_FILE,
        "participant_id": "",
        "record": added.activity,
        "previous": None,
        "reason": None,
    }
    assert inv_findings(root) == []


def test_inv008_an_audited_activity_edited_away_by_hand_is_an_error(tmp_path):
    root = study_with(tmp_path)
    add_activity(load_study(root), on=dt.date(2025, 2, 3), stage="design", nature="consultation", who=["C01"],
                 summary="Read the draft.", by=BY, now=NOW)  # fmt: skip
    assert inv_findings(root) == []
    log = (root / LOG_FILE).read_text(encoding="utf-8")
    write_log(root, log.replace("Read the draft.", "Read the final draft."))
    assert inv_findings(root) == [["INV008", LOG_FILE, 14, "activities", "error"]]


def test_involvement_add_to_the_starter_log(tmp_path):
    root = make_study(tmp_path)
    starter = (TEMPLATE / LOG_FILE).read_text(encoding="utf-8")
    write_log(
        root, starter.replace("contributors: []", "contributors:\n  - {id: C01, role: peer researcher}")
    )
    add_activity(load_study(root), on=dt.date(2025, 2, 3), stage="design", nature="consultation", who=["C01"],
                 summary="Read the draft.", by=BY, now=NOW)  # fmt: skip
    log = read_involvement(load_study(root)).log
    assert log is not None
    assert [a.id for a in log.activities] == ["A01"]
    assert "# GRIPP2 item 3" in (root / LOG_FILE).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"who": ["C09"]}, "C09 is not among the contributors"),
        ({"nature": "advice"}, "nature should be one of"),
        ({"stage": "writing"}, "stage should be one of"),
        ({"on": dt.date(2025, 6, 2)}, "is in the future"),
        ({"summary": "  "}, "summary should be filled in"),
    ],
)
def test_involvement_add_refused_changes_nothing(tmp_path, change, message):
    root = study_with(tmp_path)
    before = (root / LOG_FILE).read_bytes()
    arguments = {"on": dt.date(2025, 1, 1), "stage": "design", "nature": "consultation", "who": ["C01"],
                 "summary": "Met.", **change}  # fmt: skip
    with pytest.raises(RegisterError, match=message):
        add_activity(load_study(root), by=BY, now=NOW, **arguments)
    assert (root / LOG_FILE).read_bytes() == before
    assert not (root / "governance" / "audit.log").exists()


def test_involvement_add_refused_when_the_log_has_problems(tmp_path):
    log = copy.deepcopy(LOG)
    log["impacts"][0]["activity"] = "A09"
    root = study_with(tmp_path, log)
    with pytest.raises(RegisterError, match=r"impacts\[0\]\.activity: names the activity A09"):
        add_activity(load_study(root), on=dt.date(2025, 1, 1), stage="design", nature="consultation",
                     who=["C01"], summary="Met.", by=BY, now=NOW)  # fmt: skip


def test_involvement_add_and_show_commands(tmp_path):
    root = study_with(tmp_path)
    result = runner.invoke(app, ["involvement", "add", "-C", str(root), "--date", "2025-01-10", "--stage",
                                 "dissemination", "--nature", "co-production", "--who", "C01", "--who", "C02",
                                 "--summary", "Co-wrote the summary.", "--by", BY])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "Recorded activity A03 (dissemination, co-production, 2025-01-10) in governance/involvement.yml"
        in (" ".join(result.stderr.split()))
    )
    assert read_audit(root / "governance" / "audit.log")[0]["record"]["who"] == ["C01", "C02"]
    shown = runner.invoke(app, ["involvement", "show", "-C", str(root), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    assert [a["id"] for a in summary["activities"]] == ["A01", "A02", "A03"]
    assert summary["contributors"][0] == {"id": "C01", "role": "peer researcher", "named": True,
                                          "also_participant": False}  # fmt: skip
    assert "Sam Synthetic" not in shown.stdout
    assert [i["reported"] for i in summary["gripp2"]] == [True] * 5
    text = runner.invoke(app, ["involvement", "show", "-C", str(root)], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "GRIPP2 item 5 (Reflections/critical perspective): reported" in text.stdout


def test_involvement_add_command_refusal_exits_2(tmp_path):
    root = study_with(tmp_path)
    result = runner.invoke(
        app,
        [
            "involvement",
            "add",
            "-C",
            str(root),
            "--date",
            "2025-01-10",
            "--stage",
            "design",
            "--nature",
            "advice",
            "--who",
            "C01",
            "--summary",
            "x",
            "--by",
            BY,
        ],
    )
    assert result.exit_code == 2
    assert "refused, nothing changed: nature should be one of" in " ".join(result.stderr.split())


def test_python_m_studykit_involvement_show_without_a_log(tmp_path):
    root = study_with(tmp_path, None)
    environment = {"PYTHONPATH": str(PACKAGE_SRC), "PATH": "", "COLUMNS": "200"}
    command = [sys.executable, "-m", "studykit", "involvement", "show"]
    run = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, env=environment)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert "This study has no governance/involvement.yml yet (see docs/involvement.md)." in run.stderr


# --- the report page ------------------------------------------------------------------------------


def test_preview_of_the_involvement_page_shows_all_five_items(tmp_path):
    root = make_study(tmp_path)
    shutil.copy(EXAMPLE_LOG, root / LOG_FILE)
    shutil.copytree(TEMPLATE / "reports", root / "reports")
    write_results_fixture(root / "reports")
    write_involvement_tables(load_study(root), root / "reports" / "_results")
    assert lint_reports(root / "reports").problems == ()
    render_preview(root / "reports", reason="Quarto was not found on PATH")
    page = (root / "reports" / "_preview" / "involvement.html").read_text(encoding="utf-8")
    for number, topic, item, anchor, heading in ITEMS:
        assert item in page, number
        assert f'id="{anchor}"' in page
        assert f'<a href="#{anchor}">{heading}</a>' in page
        assert topic in page
    assert '<span id="tbl-gripp2">Table 1</span>: GRIPP2 short form' in page
    assert '<span id="tbl-ukstandards">Table 5</span>' in page
    assert "Robin Example" in page
    assert "Peer researcher C02" in page


def test_the_page_passes_the_lint_without_a_log(tmp_path):
    root = make_study(tmp_path)
    shutil.copytree(TEMPLATE / "reports", root / "reports")
    write_results_fixture(root / "reports")
    write_involvement_tables(load_study(root), root / "reports" / "_results")
    assert lint_reports(root / "reports").problems == ()
