"""Governed edits: `consent add`, `consent withdraw`, the audit log, and the status commands.

A refused edit must change nothing: the bytes of every register and of audit.log
are compared before and after. All ids, names and committees are invented.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from studykit.cli import app
from studykit.errors import RegisterError
from studykit.governance.audit import read_audit
from studykit.governance.edits import add_consent, withdraw
from studykit.governance.registers import load_registers
from studykit.governance.status import consent_status, ethics_status
from studykit.study import load_study
from typer.testing import CliRunner

from .governance_study import APPROVAL, make_study

NOW = dt.datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
BY = "Data Manager (synthetic)"
GOVERNED = (
    "governance/consent.csv",
    "governance/withdrawals.csv",
    "governance/ethics.yml",
    "governance/audit.log",
)
PACKAGE_SRC = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}" / "src"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """The bytes of every governed file (None when absent) and the governance folder's listing.

    The listing leaves out the lock file (git-ignored, kept between edits) and nothing else:
    a staged file or journal left behind shows.
    """
    files: dict[str, bytes | None] = {
        name: (root / name).read_bytes() if (root / name).exists() else None for name in GOVERNED
    }
    listing = [p for p in (root / "governance").rglob("*") if p.name != "lock" and p.name != ".studykit"]
    files["listing"] = "\n".join(sorted(p.relative_to(root).as_posix() for p in listing)).encode()
    return files


def test_consent_add_appends_a_row_and_an_audit_line(tmp_path):
    root = make_study(tmp_path, consent={})
    before = (root / "governance/consent.csv").read_bytes()
    edit = add_consent(
        load_study(root),
        "P001",
        form_version="1.0",
        consented_on=dt.date(2024, 2, 1),
        scopes=["participate", "archiving"],
        by=BY,
        now=NOW,
    )
    after = (root / "governance/consent.csv").read_bytes()
    assert after == before + b"P001,1.0,2024-02-01,yes,,,yes,\n"
    assert read_audit(root / "governance/audit.log") == [
        {
            "at": "2025-06-01T09:30:15Z",
            "by": BY,
            "action": "consent add",
            "register": "governance/consent.csv",
            "participant_id": "P001",
            "record": {
                "participant_id": "P001",
                "form_version": "1.0",
                "consented_on": "2024-02-01",
                "scopes": ["participate", "archiving"],
            },
            "previous": None,
            "reason": None,
        }
    ]
    assert edit.entry.previous is None
    assert edit.warnings == ()


def test_re_consent_is_a_new_event_with_the_previous_one_audited(tmp_path):
    root = make_study(tmp_path)
    study = load_study(root)
    add_consent(
        study,
        "P001",
        form_version="2.0",
        consented_on=dt.date(2024, 9, 2),
        scopes=["participate", "audio_recording"],
        by=BY,
        reason="Amendment AM1 form",
        now=NOW,
    )
    registers = load_registers(study)
    assert [(e.form_version, e.consented_on) for e in registers.events("P001")] == [
        ("1.0", dt.date(2024, 2, 1)),
        ("2.0", dt.date(2024, 9, 2)),
    ]
    (line,) = read_audit(root / "governance/audit.log")
    assert line["previous"] == {
        "participant_id": "P001",
        "form_version": "1.0",
        "consented_on": "2024-02-01",
        "scopes": ["participate", "audio_recording", "direct_quotation", "archiving", "future_contact"],
    }
    assert line["reason"] == "Amendment AM1 form"


def test_withdraw_appends_and_audits_previous_withdrawals(tmp_path):
    root = make_study(tmp_path, withdrawals=("P001,2024-05-01,Moved on,no further data",))
    withdraw(
        load_study(root),
        "P001",
        withdrawn_on=dt.date(2024, 6, 1),
        scope="remove-all-data",
        reason="Asked in writing",
        by=BY,
        now=NOW,
    )
    assert (root / "governance/withdrawals.csv").read_text(encoding="utf-8").splitlines()[-1] == (
        "P001,2024-06-01,Asked in writing,remove all data"
    )
    (line,) = read_audit(root / "governance/audit.log")
    assert line["action"] == "consent withdraw"
    assert line["record"] == {
        "participant_id": "P001",
        "withdrawn_on": "2024-06-01",
        "scope": "remove all data",
        "reason": "Asked in writing",
    }
    assert line["previous"] == [
        {
            "participant_id": "P001",
            "withdrawn_on": "2024-05-01",
            "scope": "no further data",
            "reason": "Moved on",
        }
    ]


def test_audit_log_only_grows(tmp_path):
    root = make_study(tmp_path)
    study = load_study(root)
    withdraw(study, "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=BY, now=NOW)
    first = (root / "governance/audit.log").read_bytes()
    withdraw(study, "P003", withdrawn_on=dt.date(2024, 6, 2), scope="no further data", by=BY, now=NOW)
    second = (root / "governance/audit.log").read_bytes()
    assert second.startswith(first)
    assert [e["participant_id"] for e in read_audit(root / "governance/audit.log")] == ["P002", "P003"]


def test_edit_keeps_crlf_line_endings_and_bom(tmp_path):
    root = make_study(tmp_path)
    path = root / "governance/withdrawals.csv"
    path.write_bytes(b"\xef\xbb\xbfparticipant_id,withdrawn_on,reason,scope\r\n")
    withdraw(
        load_study(root),
        "P002",
        withdrawn_on=dt.date(2024, 6, 1),
        scope="no further data",
        reason="Too busy, sorry",
        by=BY,
        now=NOW,
    )
    assert path.read_bytes() == (
        b"\xef\xbb\xbfparticipant_id,withdrawn_on,reason,scope\r\n"
        b'P002,2024-06-01,"Too busy, sorry",no further data\r\n'
    )


def test_who_comes_from_git_config(tmp_path, monkeypatch):
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Synthetic Researcher\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = make_study(tmp_path)
    edit = withdraw(
        load_study(root), "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", now=NOW
    )
    assert edit.entry.by == "Synthetic Researcher"


REFUSED = {
    "unapproved form version": (
        "add",
        {"participant_id": "P001", "form_version": "3.0", "consented_on": dt.date(2024, 9, 2)},
        "P001 consented on 2024-09-02 with form 3.0; approved versions then: 1.0, 2.0",
    ),
    "new form before its amendment": (
        "add",
        {"participant_id": "P001", "form_version": "2.0", "consented_on": dt.date(2024, 8, 1)},
        "P001 consented on 2024-08-01 with form 2.0; approved versions then: 1.0",
    ),
    "consent after a withdrawal": (
        "add",
        {"participant_id": "P009", "form_version": "1.0", "consented_on": dt.date(2024, 7, 1)},
        "P009 consented on 2024-07-01 but withdrew (no further data) on 2024-06-01",
    ),
    "two events on one day": (
        "add",
        {"participant_id": "P001", "form_version": "1.0", "consented_on": dt.date(2024, 2, 1)},
        "a second consent event for P001 on 2024-02-01 (the first is row 2)",
    ),
    "future date": (
        "add",
        {"participant_id": "P004", "form_version": "1.0", "consented_on": dt.date(2025, 6, 2)},
        "the date 2025-06-02 is in the future",
    ),
    "bad participant id": (
        "add",
        {"participant_id": "p-1", "form_version": "1.0", "consented_on": dt.date(2024, 2, 1)},
        "'p-1' is not a participant id",
    ),
    "unknown scope": (
        "add",
        {
            "participant_id": "P004",
            "form_version": "1.0",
            "consented_on": dt.date(2024, 2, 1),
            "scopes": ["participate", "quotes"],
        },
        "unknown scope(s) quotes",
    ),
    "withdrawal before consent": (
        "withdraw",
        {"participant_id": "P001", "withdrawn_on": dt.date(2024, 1, 20), "scope": "no further data"},
        "P001 withdrew on 2024-01-20, before any consent event",
    ),
    "withdrawal of someone never consented": (
        "withdraw",
        {"participant_id": "P004", "withdrawn_on": dt.date(2024, 3, 1), "scope": "no further data"},
        "P004 withdrew on 2024-03-01, before any consent event",
    ),
    "same withdrawal twice": (
        "withdraw",
        {"participant_id": "P009", "withdrawn_on": dt.date(2024, 7, 1), "scope": "no further data"},
        "P009 already has a 'no further data' withdrawal in row 2",
    ),
    "anything after remove all data": (
        "withdraw",
        {"participant_id": "P003", "withdrawn_on": dt.date(2024, 7, 1), "scope": "no further data"},
        "P003 already asked to remove all data on 2024-06-01",
    ),
    "unknown withdrawal scope": (
        "withdraw",
        {"participant_id": "P001", "withdrawn_on": dt.date(2024, 7, 1), "scope": "pause"},
        "'pause' is not a withdrawal scope",
    ),
}


@pytest.mark.parametrize(("kind", "arguments", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_edit_changes_nothing(tmp_path, kind, arguments, message):
    root = make_study(
        tmp_path,
        extra_consent=("P009,1.0,2024-02-01,yes,,,,",),
        withdrawals=("P009,2024-06-01,,no further data", "P003,2024-06-01,,remove all data"),
    )
    # One earlier edit so audit.log exists and its bytes can be compared too.
    add_consent(
        load_study(root),
        "P002",
        form_version="2.0",
        consented_on=dt.date(2024, 9, 3),
        scopes=["participate"],
        by=BY,
        now=NOW,
    )
    before = snapshot(root)
    arguments = dict(arguments)
    pid = arguments.pop("participant_id")
    study = load_study(root)
    if kind == "add":
        arguments = {"scopes": ["participate"], **arguments}
    edit = add_consent if kind == "add" else withdraw
    with pytest.raises(RegisterError) as caught:
        edit(study, pid, **arguments, by=BY, now=NOW)
    assert message in caught.value.message
    assert snapshot(root) == before


def test_edit_refused_when_no_one_can_be_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "empty-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = make_study(tmp_path)
    before = snapshot(root)
    with pytest.raises(RegisterError, match="cannot tell who is making this edit"):
        withdraw(load_study(root), "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", now=NOW)
    assert snapshot(root) == before


def test_edit_refused_when_a_register_is_already_malformed(tmp_path):
    root = make_study(tmp_path, withdrawals=("P001,someday,,no further data",))
    before = snapshot(root)
    with pytest.raises(RegisterError) as caught:
        add_consent(
            load_study(root),
            "P004",
            form_version="1.0",
            consented_on=dt.date(2024, 2, 1),
            scopes=["participate"],
            by=BY,
            now=NOW,
        )
    assert (caught.value.path.as_posix(), caught.value.row, caught.value.field) == (
        "governance/withdrawals.csv",
        2,
        "withdrawn_on",
    )
    assert snapshot(root) == before


def test_edit_whose_staged_register_does_not_read_back_changes_nothing(tmp_path, monkeypatch):
    # Fault injection: the staged register is checked with the same reader validation uses.
    import studykit.governance.edits as edits

    root = make_study(tmp_path)
    before = snapshot(root)
    monkeypatch.setattr(
        edits, "_row_bytes", lambda path, cells: path.read_bytes() + b"P004,1.0,not-a-date,yes,,,,\n"
    )
    with pytest.raises(RegisterError) as caught:
        add_consent(
            load_study(root),
            "P004",
            form_version="1.0",
            consented_on=dt.date(2024, 2, 1),
            scopes=["participate"],
            by=BY,
            now=NOW,
        )
    assert (caught.value.path.as_posix(), caught.value.row, caught.value.field) == (
        "governance/consent.csv",
        5,
        "consented_on",
    )
    assert snapshot(root) == before


# --- status --------------------------------------------------------------------------------------


def test_consent_status_states(tmp_path):
    root = make_study(
        tmp_path,
        consent={
            "P001": "P001,1.0,2024-02-01,yes,yes,,yes,",
            "P002": "P002,1.0,2024-02-01,yes,,,,",
            "P009": "P009,1.0,2024-02-01,yes,,,,",
        },
        withdrawals=("P002,2024-06-01,,remove all data",),
    )
    rows = {r.participant_id: r for r in consent_status(load_study(root))}
    assert {pid: (r.state, r.enrolled) for pid, r in rows.items()} == {
        "P001": ("consented", True),
        "P002": ("removal requested", True),
        "P003": ("no consent", True),
        "P009": ("consented", False),
    }
    assert rows["P001"].scopes_now == {
        "participate": True,
        "audio_recording": True,
        "direct_quotation": False,
        "archiving": True,
        "future_contact": False,
    }


def test_consent_status_of_an_unknown_participant_is_an_error(tmp_path):
    with pytest.raises(RegisterError, match="P404 is in neither"):
        consent_status(load_study(make_study(tmp_path)), "P404")


@pytest.mark.parametrize(
    ("expires_on", "today", "state", "days_left"),
    [
        (dt.date(2026, 12, 31), dt.date(2025, 6, 1), "active", 578),
        (dt.date(2025, 7, 1), dt.date(2025, 6, 1), "expiring", 30),
        (dt.date(2025, 5, 31), dt.date(2025, 6, 1), "expired", -1),
        (dt.date(2026, 12, 31), dt.date(2024, 1, 1), "not yet started", 1095),
    ],
)
def test_ethics_status(tmp_path, expires_on, today, state, days_left):
    root = make_study(tmp_path, approvals=[{**APPROVAL, "expires_on": expires_on}])
    (row,) = ethics_status(load_study(root), today=today)
    assert (row.state, row.days_left, row.consent_forms) == (state, days_left, ("1.0", "2.0"))


# --- command line --------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_consent_add_then_status_json(tmp_path):
    root = make_study(tmp_path, consent={})
    result = runner.invoke(
        app,
        [
            "consent",
            "add",
            "P001",
            "--form-version",
            "1.0",
            "--on",
            "2024-02-01",
            "--scope",
            "participate",
            "-s",
            "direct_quotation",
            "--by",
            BY,
            "-C",
            str(root),
        ],
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "Recorded consent on form 1.0 dated 2024-02-01 (participate, direct_quotation) for P001" in said
    status = runner.invoke(app, ["consent", "status", "P001", "--format", "json", "-C", str(root)])
    assert status.exit_code == 0
    (row,) = json.loads(status.stdout)
    assert (row["state"], row["scopes_now"]["direct_quotation"], row["scopes_now"]["archiving"]) == (
        "consented",
        True,
        False,
    )


def test_cli_refused_edit_exits_2_and_changes_nothing(tmp_path):
    root = make_study(tmp_path)
    before = snapshot(root)
    result = runner.invoke(
        app,
        [
            "consent",
            "withdraw",
            "P001",
            "--scope",
            "remove all data",
            "--on",
            "2024-01-01",
            "--by",
            BY,
            "-C",
            str(root),
        ],
    )
    assert result.exit_code == 2
    assert "refused, nothing changed: P001 withdrew on 2024-01-01, before any consent event" in " ".join(
        result.stderr.split()
    )
    assert snapshot(root) == before


def test_cli_ethics_status_as_a_real_process(tmp_path):
    root = make_study(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "ethics", "status", "--format", "json", "-C", str(root)],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(PACKAGE_SRC), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["reference"], row["consent_forms"], row["amendments"]) == (
        "SYN/0001",
        ["1.0", "2.0"],
        ["SYN/0001/AM1 (2024-09-01)"],
    )


# --- what a team sees in its first week (issue 17) ----------------------------------------------


def test_consent_status_dates_a_removal_that_followed_a_no_further_data(tmp_path):
    root = make_study(
        tmp_path,
        withdrawals=("P002,2024-05-01,,no further data", "P002,2024-06-01,,remove all data"),
    )
    (row,) = consent_status(load_study(root), "P002")
    assert (row.state, row.state_since) == ("removal requested", dt.date(2024, 6, 1))
    assert row.to_dict()["state_since"] == "2024-06-01"
    table = runner.invoke(app, ["consent", "status", "-C", str(root)])
    p002 = " ".join(table.stdout.split("P002", 1)[1].split("P003", 1)[0].split())  # its row, however wrapped
    assert p002.endswith("removal requested 2024-06-01")
    assert "2024-05-01" not in p002


def test_consent_add_for_someone_not_in_participants_csv_records_and_warns(tmp_path):
    root = make_study(tmp_path)
    edit = add_consent(
        load_study(root),
        "P004",
        form_version="1.0",
        consented_on=dt.date(2024, 2, 1),
        scopes=["participate"],
        by=BY,
        now=NOW,
    )
    assert [(w.code, w.message) for w in edit.warnings] == [
        ("GOV008", "P004 is not in data/participants.csv")
    ]
    assert (root / "governance/consent.csv").read_text().endswith("P004,1.0,2024-02-01,yes,,,,\n")
    result = runner.invoke(
        app,
        [
            "consent",
            "add",
            "P005",
            "-f",
            "1.0",
            "--on",
            "2024-02-01",
            "-s",
            "participate",
            "--by",
            BY,
            "-C",
            str(root),
        ],
    )
    assert result.exit_code == 0
    said = " ".join(result.stderr.split())
    assert "Recorded consent on form 1.0 dated 2024-02-01 (participate) for P005" in said
    assert "Warning (GOV008): P005 is not in data/participants.csv." in said


def test_cli_ethics_status_without_an_approval_says_so_in_a_sentence(tmp_path):
    root = make_study(tmp_path, approvals=[])
    result = runner.invoke(app, ["ethics", "status", "-C", str(root)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert " ".join(result.stderr.split()) == (
        "No ethics approval is recorded in governance/ethics.yml: add the committee, reference, dates and "
        "approved consent form versions (see docs/governance.md)."
    )
