"""Reviewed disclosure findings: recorded by a hash, never by the value, then reported as reviewed."""

from __future__ import annotations

import csv
import io

from studykit.checks import validate
from studykit.checks.disclosure import check
from studykit.checks.run import Run
from studykit.cli import app
from studykit.governance.reviews import value_digest
from typer.testing import CliRunner

from tests.package.qual_study import front_matter, make_qual_study, transcript_text

HELPLINE = "jo@samaritans.org"
BODY = (
    "**INT:** Who did you call that night?\n"
    "\n"
    f"**P001:** The helpline, {HELPLINE}, they always answer.\n"
)
FILE = "data/qualitative/transcripts/INT-P001-T1.md"
REASON = "public helpline address, not a person"


def helpline_study(tmp_path, body=BODY):
    return make_qual_study(
        tmp_path, transcripts={"INT-P001-T1": transcript_text(front_matter("INT-P001-T1"), body)}
    )


def emails(study):
    return [(f.code, f.file, f.row, f.severity) for f in check(Run(study)) if f.code == "DIS001"]


def disclosure_errors(study):
    return [f.code for f in validate(study).errors if f.layer == "disclosure"]


def review(study, *extra):
    args = ["review", "add", FILE, "--code", "DIS001", "--by", "R. Reviewer", "--on", "2024-06-01",
            "--reason", REASON, "-C", str(study.root), *extra]  # fmt: skip
    return CliRunner().invoke(app, args)


def test_a_reviewed_finding_is_reported_as_reviewed_and_validate_passes(tmp_path):
    study = helpline_study(tmp_path)
    [(_, _, line, severity)] = emails(study)
    assert severity == "error"
    assert disclosure_errors(study) == ["DIS001"]
    result = review(study, "--row", str(line))
    assert result.exit_code == 0, result.output
    assert "Recorded 1 reviewed finding(s)" in result.stderr
    [finding] = [f for f in check(Run(study)) if f.code == "DIS001"]
    assert (finding.severity, finding.row) == ("info", line)
    assert finding.message.endswith(f"reviewed by R. Reviewer on 2024-06-01: {REASON}")
    assert disclosure_errors(study) == []  # validate no longer fails on it
    assert [f.code for f in validate(study) if f.severity == "info" and f.layer == "disclosure"] == ["DIS001"]


def test_the_record_holds_a_hash_and_never_the_value(tmp_path):
    study = helpline_study(tmp_path)
    [(_, _, line, _)] = emails(study)
    assert review(study, "--row", str(line)).exit_code == 0
    register = study.governance_dir / "reviewed.csv"
    rows = list(csv.DictReader(io.StringIO(register.read_text(encoding="utf-8"))))
    assert rows == [
        {"file": FILE, "code": "DIS001", "row": str(line), "column": "",
         "value_sha256": value_digest(HELPLINE), "reviewer": "R. Reviewer", "reviewed_on": "2024-06-01",
         "reason": REASON}
    ]  # fmt: skip
    for path in (register, study.audit_log_path):
        written = path.read_bytes()
        assert HELPLINE.encode() not in written
        assert b"samaritans" not in written
        assert b"jo@" not in written


def test_a_changed_value_at_the_reviewed_place_is_an_error_again(tmp_path):
    study = helpline_study(tmp_path)
    [(_, _, line, _)] = emails(study)
    assert review(study, "--row", str(line)).exit_code == 0
    transcript = study.root / FILE
    transcript.write_text(
        transcript.read_text(encoding="utf-8").replace(HELPLINE, "jo.private@example.org"), encoding="utf-8"
    )
    assert emails(study) == [("DIS001", FILE, line, "error")]


def test_review_of_a_place_without_that_finding_is_refused_and_writes_nothing(tmp_path):
    study = helpline_study(tmp_path)
    result = review(study, "--row", "1")
    assert result.exit_code == 2
    assert f"there is no DIS001 finding at {FILE}, row 1 to review" in " ".join(result.stderr.split())
    assert not (study.governance_dir / "reviewed.csv").exists()


def test_reviewing_twice_records_once(tmp_path):
    study = helpline_study(tmp_path)
    [(_, _, line, _)] = emails(study)
    assert review(study, "--row", str(line)).exit_code == 0
    again = review(study, "--row", str(line))
    assert again.exit_code == 0
    assert "Already recorded" in again.stderr
    assert len((study.governance_dir / "reviewed.csv").read_text(encoding="utf-8").splitlines()) == 2


def test_a_table_cell_is_reviewed_by_row_and_column(tmp_path):
    from tests.package.qual_study import PARTICIPANTS

    participants = PARTICIPANTS.replace("P003,manager,team lead", "P003,manager,lead (team@nhs.example.org)")
    study = make_qual_study(tmp_path, transcripts={}, participants=participants)
    where = ("data/participants.csv", 4, "role")
    assert [(f.file, f.row, f.column, f.severity) for f in check(Run(study)) if f.code == "DIS001"] == [
        (*where, "error")
    ]
    args = ["review", "add", "data/participants.csv", "--row", "4", "--column", "role", "--code", "DIS001",
            "--by", "R. Reviewer", "--reason", "team inbox", "-C", str(study.root)]  # fmt: skip
    assert CliRunner().invoke(app, args).exit_code == 0
    assert [(f.file, f.row, f.column, f.severity) for f in check(Run(study)) if f.code == "DIS001"] == [
        (*where, "info")
    ]
    assert b"team@" not in (study.governance_dir / "reviewed.csv").read_bytes()
