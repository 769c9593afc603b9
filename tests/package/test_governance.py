"""Governance: the registers, the GOV### checks and the one consent filter.

Every study here is synthetic: invented participant ids, committee and references.
Each scenario changes a clean base study in one way and asserts the exact findings
(or the exact exclusions) that change causes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from studykit.checks.governance import check
from studykit.checks.run import Run
from studykit.errors import DataReadError, RegisterError
from studykit.governance.consent_filter import ConsentFilter, Exclusion
from studykit.governance.coverage import in_force_on
from studykit.governance.registers import load_registers
from studykit.study import load_study

from .governance_study import (
    APPROVAL,
    CONSENT,
    CONSENT_HEADER,
    MEASURES,
    MEASURES_FILE,
    TODAY,
    WITHDRAWALS_HEADER,
    make_study,
)


def findings(root: Path) -> list[list]:
    study = load_study(root)
    return sorted(
        [[f.code, f.severity, f.file, f.row, f.column, f.value] for f in check(Run(study), today=TODAY)],
        key=lambda f: (f[2], f[3] or 0, f[0]),
    )


def messages(root: Path) -> list[str]:
    return [f.message for f in check(Run(load_study(root)), today=TODAY)]


def expiring(**changes) -> list[dict]:
    return [{**APPROVAL, **changes}]


# --- validation scenarios ------------------------------------------------------------------------

SCENARIOS = {
    "clean": ({}, []),
    "late consent: data before the first consent event": (
        {"consent": {**CONSENT, "P002": "P002,1.0,2024-02-10,yes,yes,yes,yes,yes"}},
        [["GOV002", "error", MEASURES_FILE, 3, "completed_on", "2024-02-05"]],
    ),
    "re-consent without participate stops later collection, not earlier": (
        {"extra_consent": ("P001,1.0,2024-07-01,,yes,yes,yes,",)},
        [["GOV002", "error", MEASURES_FILE, 5, "completed_on", "2024-08-05"]],
    ),
    "re-consent with the new form keeps consent in force": (
        {
            "extra_consent": ("P001,2.0,2024-09-02,yes,yes,,yes,",),
            "measures": {**MEASURES, "P001 T2": "P001,T2,2024-09-05,3"},
        },
        [],
    ),
    "partial scopes are not a collection problem": (
        {"consent": {**CONSENT, "P002": "P002,1.0,2024-02-01,yes,,,,"}},
        [],
    ),
    "consent without participate": (
        {"consent": {**CONSENT, "P002": "P002,1.0,2024-02-01,,yes,yes,yes,yes"}},
        [["GOV002", "error", MEASURES_FILE, 3, "completed_on", "2024-02-05"]],
    ),
    "withdrawal before a wave: that wave's data are an error": (
        {"withdrawals": ("P001,2024-05-01,,no further data",)},
        [["GOV003", "error", MEASURES_FILE, 5, "completed_on", "2024-08-05"]],
    ),
    "withdrawal after a wave: nothing to report": (
        {"withdrawals": ("P001,2024-09-01,,no further data",)},
        [],
    ),
    "remove all data within the window: raw rows are warnings": (
        {"withdrawals": ("P002,2024-02-10,Asked for removal,remove all data",)},
        [
            ["GOV007", "warning", MEASURES_FILE, 3, "participant_id", "P002"],
            ["GOV007", "warning", "data/participants.csv", 3, "participant_id", "P002"],
        ],
    ),
    "remove all data after the window: collected data are retained": (
        {"withdrawals": ("P002,2024-04-01,,remove all data",)},
        [],
    ),
    "unapproved form version": (
        {"consent": {**CONSENT, "P002": "P002,3.0,2024-02-01,yes,yes,yes,yes,yes"}},
        [["GOV004", "error", "governance/consent.csv", 3, "form_version", "3.0"]],
    ),
    "form version used before its amendment was approved": (
        {"consent": {**CONSENT, "P003": "P003,2.0,2024-02-01,yes,yes,yes,yes,yes"}},
        [["GOV004", "error", "governance/consent.csv", 4, "form_version", "2.0"]],
    ),
    "expired approval: later collection is outside the period": (
        {"approvals": expiring(expires_on=dt.date(2024, 6, 30), amendments=[])},
        [
            ["GOV005", "error", MEASURES_FILE, 5, "completed_on", "2024-08-05"],
            ["GOV006", "warning", "governance/ethics.yml", None, "approvals[0].expires_on", "2024-06-30"],
        ],
    ),
    "amendment extends the approval period": (
        {
            "approvals": expiring(
                expires_on=dt.date(2024, 6, 30),
                amendments=[
                    {
                        "reference": "SYN/0001/AM2",
                        "approved_on": dt.date(2024, 6, 1),
                        "expires_on": dt.date(2027, 1, 31),
                    }
                ],
            )
        },
        [],
    ),
    "approval expiring within the warning days": (
        {"approvals": expiring(expires_on=dt.date(2025, 7, 1))},
        [["GOV006", "warning", "governance/ethics.yml", None, "approvals[0].expires_on", "2025-07-01"]],
    ),
    "collection before the approval": (
        {
            "approvals": expiring(approved_on=dt.date(2024, 2, 3), amendments=[]),
            "consent": {k: v.replace("2024-02-01", "2024-02-03") for k, v in CONSENT.items()},
            "measures": {**MEASURES, "P003 T1": "P003,T1,2024-02-02,2"},
        },
        [
            ["GOV002", "error", MEASURES_FILE, 4, "completed_on", "2024-02-02"],
            ["GOV005", "error", MEASURES_FILE, 4, "completed_on", "2024-02-02"],
        ],
    ),
    "no approval recorded": (
        {"approvals": []},
        [["GOV011", "error", "governance/ethics.yml", None, "approvals", None]],
    ),
    "participant in participants.csv without consent, and the reverse": (
        {
            "consent": {
                "P001": CONSENT["P001"],
                "P002": CONSENT["P002"],
                "P009": "P009,1.0,2024-02-01,yes,,,,",
            },
            "measures": {k: v for k, v in MEASURES.items() if not k.startswith("P003")},
        },
        [
            ["GOV009", "error", "data/participants.csv", 4, "participant_id", "P003"],
            ["GOV008", "warning", "governance/consent.csv", 4, "participant_id", "P009"],
        ],
    ),
    "consent recorded after a withdrawal": (
        {
            "withdrawals": ("P001,2024-09-01,,no further data",),
            "extra_consent": ("P001,2.0,2024-10-01,yes,yes,yes,yes,",),
        },
        [["GOV010", "error", "governance/consent.csv", 5, "consented_on", "2024-10-01"]],
    ),
    "transcript before consent": (
        {"transcripts": {"INT-P002-T1": {"date": dt.date(2024, 1, 20), "participants": ["P002"]}}},
        [["GOV002", "error", "data/qualitative/transcripts/INT-P002-T1.md", None, "participants", "P002"]],
    ),
    "transcript after withdrawal": (
        {
            "withdrawals": ("P002,2024-03-01,,no further data",),
            "transcripts": {"INT-P002-T2": {"date": dt.date(2024, 3, 2), "participants": ["P002"]}},
        },
        [["GOV003", "error", "data/qualitative/transcripts/INT-P002-T2.md", None, "participants", "P002"]],
    ),
    "transcript with consent in force": (
        {"transcripts": {"INT-P002-T1": {"date": dt.date(2024, 2, 6), "participants": ["P002"]}}},
        [],
    ),
}


@pytest.mark.parametrize(("changes", "expected"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_governance_scenario(tmp_path, changes, expected):
    assert findings(make_study(tmp_path, **changes)) == expected


def test_gov002_message_names_the_first_consent(tmp_path):
    root = make_study(tmp_path, consent={**CONSENT, "P002": "P002,1.0,2024-02-10,yes,yes,yes,yes,yes"})
    assert messages(root) == [
        "P002's data dated 2024-02-05 come before any consent; their first consent is dated 2024-02-10"
    ]


def test_gov004_message_lists_the_versions_approved_then(tmp_path):
    root = make_study(tmp_path, consent={**CONSENT, "P002": "P002,3.0,2024-02-01,yes,yes,yes,yes,yes"})
    assert messages(root) == ["P002 consented on 2024-02-01 with form 3.0; approved versions then: 1.0"]


def test_gov001_malformed_register_is_one_finding(tmp_path):
    root = make_study(tmp_path, consent={**CONSENT, "P002": "P002,1.0,2024-02-01,yes,Y,yes,yes,yes"})
    assert findings(root) == [["GOV001", "error", "governance/consent.csv", 3, "audio_recording", None]]


# --- register schema -----------------------------------------------------------------------------

MALFORMED = {
    "bad date": ("consent.csv", CONSENT_HEADER + "P001,1.0,01/02/2024,yes,,,,\n", 2, "consented_on"),
    "blank date": ("consent.csv", CONSENT_HEADER + "P001,1.0,,yes,,,,\n", 2, "consented_on"),
    "not a participant id": (
        "consent.csv",
        CONSENT_HEADER + "Jo,1.0,2024-02-01,yes,,,,\n",
        2,
        "participant_id",
    ),
    "scope not yes or blank": (
        "consent.csv",
        CONSENT_HEADER + "P001,1.0,2024-02-01,ticked,,,,\n",
        2,
        "participate",
    ),
    "blank form version": ("consent.csv", CONSENT_HEADER + "P001,,2024-02-01,yes,,,,\n", 2, "form_version"),
    "missing column": (
        "consent.csv",
        "participant_id,form_version,consented_on,participate\n",
        1,
        "audio_recording",
    ),
    "unknown column": ("consent.csv", CONSENT_HEADER.strip() + ",signature\n", 1, "signature"),
    "two events on one day": (
        "consent.csv",
        CONSENT_HEADER + "P001,1.0,2024-02-01,yes,,,,\nP001,1.0,2024-02-01,yes,yes,,,\n",
        3,
        "consented_on",
    ),
    "withdrawal scope": ("withdrawals.csv", WITHDRAWALS_HEADER + "P001,2024-03-01,,stop\n", 2, "scope"),
    "withdrawal twice": (
        "withdrawals.csv",
        WITHDRAWALS_HEADER + "P001,2024-03-01,,no further data\nP001,2024-04-01,,no further data\n",
        3,
        "scope",
    ),
    "ethics version as a number": (
        "ethics.yml",
        "approvals:\n- committee: C\n  reference: R\n  approved_on: 2024-01-01\n  consent_forms: [1.10]\n",
        None,
        "approvals[0].consent_forms[0]",
    ),
    "ethics expiry before approval": (
        "ethics.yml",
        "approvals:\n- committee: C\n  reference: R\n  approved_on: 2024-01-01\n  expires_on: 2023-01-01\n",
        None,
        "approvals[0]",
    ),
    "ethics unknown key": (
        "ethics.yml",
        "approvals:\n- committee: C\n  reference: R\n  approved_on: 2024-01-01\n  expiry: 2025-01-01\n",
        None,
        "approvals[0].expiry",
    ),
    "ethics missing date": (
        "ethics.yml",
        "approvals:\n- committee: C\n  reference: R\n",
        None,
        "approvals[0].approved_on",
    ),
}


@pytest.mark.parametrize(("name", "text", "row", "field"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_register_names_file_row_and_field(tmp_path, name, text, row, field):
    root = make_study(tmp_path)
    (root / "governance" / name).write_text(text, encoding="utf-8")
    with pytest.raises(RegisterError) as caught:
        load_registers(load_study(root))
    assert (caught.value.path.as_posix(), caught.value.row, caught.value.field) == (
        f"governance/{name}",
        row,
        field,
    )


def test_missing_register_is_an_error(tmp_path):
    root = make_study(tmp_path)
    (root / "governance" / "withdrawals.csv").unlink()
    with pytest.raises(RegisterError, match=r"governance/withdrawals\.csv: is missing"):
        load_registers(load_study(root))


def test_consent_in_force_is_the_latest_event_on_or_before_the_date(tmp_path):
    root = make_study(tmp_path, extra_consent=("P001,2.0,2024-10-01,yes,,,,",))
    registers = load_registers(load_study(root))
    assert in_force_on(registers, "P001", dt.date(2024, 9, 30)).form_version == "1.0"
    assert in_force_on(registers, "P001", dt.date(2024, 10, 1)).form_version == "2.0"
    assert in_force_on(registers, "P001", dt.date(2024, 1, 31)).consented_on is None
    assert [e.form_version for e in registers.events("P001")] == ["1.0", "2.0"]


# --- the consent filter --------------------------------------------------------------------------


def measures_frame(root: Path) -> pl.DataFrame:
    return pl.read_csv(root / MEASURES_FILE, infer_schema=False)


FILTER_SCENARIOS = {
    "clean analysis keeps everything": ({}, "analysis", [], ["P001", "P002", "P003", "P001"]),
    "late consent row excluded": (
        {"consent": {**CONSENT, "P002": "P002,1.0,2024-02-10,yes,yes,yes,yes,yes"}},
        "analysis",
        [Exclusion("no_consent_at_collection", "wemwbs", 1, 1)],
        ["P001", "P003", "P001"],
    ),
    "collected after withdrawal excluded": (
        {"withdrawals": ("P001,2024-05-01,,no further data",)},
        "analysis",
        [Exclusion("no_consent_at_collection", "wemwbs", 1, 1)],
        ["P001", "P002", "P003"],
    ),
    "no further data keeps what came before": (
        {"withdrawals": ("P001,2024-09-01,,no further data",)},
        "deposit",
        [],
        ["P001", "P002", "P003", "P001"],
    ),
    "remove all data within the window vanishes": (
        {"withdrawals": ("P001,2024-08-10,,remove all data",)},
        "analysis",
        [Exclusion("removal_requested", "wemwbs", 1, 1)],
        ["P001", "P002", "P003"],
    ),
    "remove all data under delete_all vanishes entirely": (
        {"withdrawals": ("P001,2024-08-10,,remove all data",), "withdrawal_policy": {"policy": "delete_all"}},
        "analysis",
        [Exclusion("removal_requested", "wemwbs", 1, 2)],
        ["P002", "P003"],
    ),
    "delete_unanalysed keeps what was analysed": (
        {
            "withdrawals": ("P001,2024-08-10,,remove all data",),
            "withdrawal_policy": {"policy": "delete_unanalysed", "analysed_on": "2024-06-30"},
        },
        "analysis",
        [Exclusion("removal_requested", "wemwbs", 1, 1)],
        ["P001", "P002", "P003"],
    ),
    "remove all data after the window: kept for analysis": (
        {"withdrawals": ("P001,2024-09-01,,remove all data",)},
        "analysis",
        [],
        ["P001", "P002", "P003", "P001"],
    ),
    "remove all data after the window: never deposited": (
        {"withdrawals": ("P001,2024-09-01,,remove all data",)},
        "deposit",
        [Exclusion("removal_requested", "wemwbs", 1, 2)],
        ["P002", "P003"],
    ),
    "quotation needs the quotation scope": (
        {"consent": {**CONSENT, "P002": "P002,1.0,2024-02-01,yes,yes,,yes,"}},
        "quotation",
        [Exclusion("no_quotation_consent", "wemwbs", 1, 1)],
        ["P001", "P003", "P001"],
    ),
    "re-consent withdrawing quotation applies to earlier data": (
        {"extra_consent": ("P001,2.0,2024-09-02,yes,yes,,yes,",)},
        "quotation",
        [Exclusion("no_quotation_consent", "wemwbs", 1, 2)],
        ["P002", "P003"],
    ),
    "deposit needs the archiving scope": (
        {"consent": {**CONSENT, "P003": "P003,1.0,2024-02-01,yes,yes,yes,,"}},
        "deposit",
        [Exclusion("no_archiving_consent", "wemwbs", 1, 1)],
        ["P001", "P002", "P001"],
    ),
    "each row is counted once, by the first rule": (
        {
            "consent": {**CONSENT, "P001": "P001,1.0,2024-02-01,yes,yes,yes,,"},
            "withdrawals": ("P001,2024-05-01,,no further data",),
        },
        "deposit",
        [
            Exclusion("no_consent_at_collection", "wemwbs", 1, 1),
            Exclusion("no_archiving_consent", "wemwbs", 1, 1),
        ],
        ["P002", "P003"],
    ),
}


@pytest.mark.parametrize(
    ("changes", "purpose", "exclusions", "kept"), FILTER_SCENARIOS.values(), ids=FILTER_SCENARIOS.keys()
)
def test_consent_filter_scenario(tmp_path, changes, purpose, exclusions, kept):
    root = make_study(tmp_path, **changes)
    consent = ConsentFilter.from_study(load_study(root))
    result = consent.filter(
        measures_frame(root), resource="wemwbs", purpose=purpose, date_column="completed_on"
    )
    assert consent.exclusions == exclusions
    assert result.get_column("participant_id").to_list() == kept


def test_filter_summary_is_plain_data_and_accumulates(tmp_path):
    root = make_study(tmp_path, withdrawals=("P002,2024-02-10,,remove all data",))
    consent = ConsentFilter.from_study(load_study(root))
    consent.filter(measures_frame(root), resource="wemwbs", purpose="analysis", date_column="completed_on")
    people = pl.read_csv(root / "data/participants.csv", infer_schema=False)
    assert consent.filter(people, resource="participants", purpose="deposit").height == 2
    assert consent.summary() == [
        {"rule": "removal_requested", "resource": "wemwbs", "participants": 1, "rows": 1},
        {"rule": "removal_requested", "resource": "participants", "participants": 1, "rows": 1},
    ]


def test_filter_accepts_typed_dates(tmp_path):
    root = make_study(tmp_path, withdrawals=("P001,2024-05-01,,no further data",))
    frame = measures_frame(root).with_columns(pl.col("completed_on").str.to_date())
    consent = ConsentFilter.from_study(load_study(root))
    kept = consent.filter(frame, resource="wemwbs", purpose="analysis", date_column="completed_on")
    assert kept.height == 3


def test_filter_refuses_a_table_without_its_participant_column(tmp_path):
    consent = ConsentFilter.from_study(load_study(make_study(tmp_path)))
    with pytest.raises(DataReadError, match="wemwbs: has no 'participant_id' column"):
        consent.filter(pl.DataFrame({"id": ["P001"]}), resource="wemwbs", purpose="analysis")


ALLOWS = {
    # (changes, participant, scope, on, expected)
    "consented scope": ({}, "P001", "direct_quotation", None, True),
    "blank scope is no": (
        {"consent": {**CONSENT, "P001": "P001,1.0,2024-02-01,yes,,,,"}},
        "P001",
        "archiving",
        None,
        False,
    ),
    "before consent": ({}, "P001", "participate", dt.date(2024, 1, 31), False),
    "on the consent day": ({}, "P001", "participate", dt.date(2024, 2, 1), True),
    "unknown participant": ({}, "P404", "participate", None, False),
    "no further data ends participation": (
        {"withdrawals": ("P001,2024-05-01,,no further data",)},
        "P001",
        "participate",
        None,
        False,
    ),
    "no further data ends future contact": (
        {"withdrawals": ("P001,2024-05-01,,no further data",)},
        "P001",
        "future_contact",
        None,
        False,
    ),
    "no further data keeps archiving": (
        {"withdrawals": ("P001,2024-05-01,,no further data",)},
        "P001",
        "archiving",
        None,
        True,
    ),
    "remove all data ends archiving": (
        {"withdrawals": ("P001,2024-05-01,,remove all data",)},
        "P001",
        "archiving",
        None,
        False,
    ),
    "participation on a date before withdrawal": (
        {"withdrawals": ("P001,2024-05-01,,no further data",)},
        "P001",
        "participate",
        dt.date(2024, 4, 30),
        True,
    ),
}


@pytest.mark.parametrize(("changes", "pid", "scope", "on", "expected"), ALLOWS.values(), ids=ALLOWS.keys())
def test_allows(tmp_path, changes, pid, scope, on, expected):
    consent = ConsentFilter.from_study(load_study(make_study(tmp_path, **changes)))
    assert consent.allows(pid, scope, on=on) is expected


# delete_unanalysed: (analysed_on, removal requested on, collected on) -> removed?
DELETE_UNANALYSED = {
    "nothing analysed yet": (None, "2024-06-01", "2024-02-01", True),
    "request before the analysis (issue 17 item 3)": ("2025-01-01", "2024-06-01", "2024-02-01", True),
    "request on the analysis day": ("2024-06-01", "2024-06-01", "2024-02-01", True),
    "analysed before the request: kept": ("2024-05-01", "2024-06-01", "2024-02-01", False),
    "collected after the analysis": ("2024-05-01", "2024-06-01", "2024-05-20", True),
    "collected on the analysis day, analysed before the request: kept": (
        "2024-05-01",
        "2024-06-01",
        "2024-05-01",
        False,
    ),
}


@pytest.mark.parametrize(
    ("analysed_on", "requested_on", "collected_on", "removed"),
    DELETE_UNANALYSED.values(),
    ids=DELETE_UNANALYSED.keys(),
)
def test_delete_unanalysed_honours_when_removal_was_requested(
    tmp_path, analysed_on, requested_on, collected_on, removed
):
    root = make_study(
        tmp_path,
        withdrawals=(f"P002,{requested_on},,remove all data",),
        measures={"P002": f"P002,T1,{collected_on},4"},
        withdrawal_policy={"policy": "delete_unanalysed", "analysed_on": analysed_on},
    )
    consent = ConsentFilter.from_study(load_study(root))
    assert consent.removes("P002", dt.date.fromisoformat(collected_on)) is removed
    kept = consent.filter(
        measures_frame(root), resource="wemwbs", purpose="analysis", date_column="completed_on"
    )
    assert kept.height == (0 if removed else 1)
    gov007 = [
        f for f in check(Run(load_study(root)), today=TODAY) if f.code == "GOV007" and f.file == MEASURES_FILE
    ]
    assert len(gov007) == (1 if removed else 0)
