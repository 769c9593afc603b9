"""One consent rule: validation, the consent filter and the governed edits give the same answer.

Each scenario is a small timeline for one participant (consent events, withdrawals) and one
candidate row, with the answer expected of ``coverage.in_force``:

- a **data row** (a measure row collected on a day, or without a readable date) is judged by
  ``in_force`` over a frame, by ``coverage`` for one row, by validation (GOV002/GOV003 on that
  row) and by the consent filter (kept for analysis, whole-table and one row at a time);
- a **register row** (a consent event or a withdrawal) is judged by validation (GOV004, GOV010,
  GOV012 on that row, the register written by hand) and by the edit command that would add it
  (refused with the very sentence validation gives, or recorded), and ``in_force`` on the row's
  own date says why (withdrawn already, or no consent event in force).

Every id, date and committee is invented (governance_study.APPROVAL: form 1.0 approved from
2024-01-15, form 2.0 from its amendment of 2024-09-01, until 2026-12-31).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from studykit.checks.governance import check
from studykit.checks.run import Run
from studykit.errors import RegisterError
from studykit.governance import coverage as rule
from studykit.governance.consent_filter import ConsentFilter
from studykit.governance.edits import add_consent, withdraw
from studykit.governance.registers import load_registers
from studykit.study import load_study

from .governance_study import MEASURES_FILE, TODAY, make_study

ALL = "yes,yes,yes,yes,yes"
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def consent(day: str, scopes: str = ALL, form: str = "1.0") -> str:
    return f"P001,{form},{day},{scopes}"


def quit_(day: str, scope: str = "no further data") -> str:
    return f"P001,{day},,{scope}"


# (consent rows, withdrawal rows, completed_on, verdict)
DATA = {
    "no consent at all": ((), (), "2024-03-01", rule.NO_CONSENT),
    "consent before collection": ((consent("2024-02-01"),), (), "2024-03-01", rule.COVERED),
    "consent on the collection day": ((consent("2024-03-01"),), (), "2024-03-01", rule.COVERED),
    "consent after collection": ((consent("2024-04-01"),), (), "2024-03-01", rule.NO_CONSENT),
    "row without a date": ((consent("2024-02-01"),), (), "", rule.UNKNOWN),
    "row with an impossible date": ((consent("2024-02-01"),), (), "2024-02-30", rule.UNKNOWN),
    "no further data before collection": (
        (consent("2024-02-01"),), (quit_("2024-02-15"),), "2024-03-01", rule.WITHDRAWN,
    ),
    "no further data on the collection day": (
        (consent("2024-02-01"),), (quit_("2024-03-01"),), "2024-03-01", rule.WITHDRAWN,
    ),
    "no further data after collection": (
        (consent("2024-02-01"),), (quit_("2024-04-01"),), "2024-03-01", rule.COVERED,
    ),
    "remove all data before collection": (
        (consent("2024-02-01"),), (quit_("2024-02-15", "remove all data"),), "2024-03-01", rule.WITHDRAWN,
    ),
    "remove all data after collection (outside the removal window)": (
        (consent("2024-02-01"),), (quit_("2024-04-01", "remove all data"),), "2024-03-01", rule.COVERED,
    ),
    "no further data, then remove all data": (
        (consent("2024-02-01"),),
        (quit_("2024-02-15"), quit_("2024-05-01", "remove all data")),
        "2024-03-01",
        rule.WITHDRAWN,
    ),
    "withdrawal before the first consent": (
        (consent("2024-02-15"),), (quit_("2024-02-10"),), "2024-03-01", rule.WITHDRAWN,
    ),
    "consent without participate": (
        (consent("2024-02-01", ",yes,yes,yes,"),), (), "2024-03-01", rule.NO_SCOPE,
    ),
    "re-consent dropping participate": (
        (consent("2024-02-01"), consent("2024-02-20", ",,,yes,")), (), "2024-03-01", rule.NO_SCOPE,
    ),
    "re-consent restoring participate": (
        (consent("2024-02-01", ",,,yes,"), consent("2024-02-20", "yes,,,,")), (), "2024-03-01", rule.COVERED,
    ),
    "only participate ticked": ((consent("2024-02-01", "yes,,,,"),), (), "2024-03-01", rule.COVERED),
    "consent on a form ethics never approved (GOV004 is on the consent row)": (
        (consent("2024-02-01", form="3.0"),), (), "2024-03-01", rule.COVERED,
    ),
}  # fmt: skip
COLLECTION_CODES = {rule.NO_CONSENT: "GOV002", rule.NO_SCOPE: "GOV002", rule.WITHDRAWN: "GOV003"}


def study_with(tmp_path: Path, consents, withdrawals, completed_on: str | None = None) -> Path:
    measures = {} if completed_on is None else {"row": f"P001,T1,{completed_on},3"}
    return make_study(
        tmp_path,
        consent={str(i): row for i, row in enumerate(consents)},
        withdrawals=tuple(withdrawals),
        measures=measures,
        withdrawal_policy={"policy": "retain_collected", "removal_window_days": 14},
    )


@pytest.mark.parametrize(
    ("consents", "withdrawals", "completed_on", "verdict"), DATA.values(), ids=DATA.keys()
)
def test_a_data_row_gets_one_answer_everywhere(tmp_path, consents, withdrawals, completed_on, verdict):
    root = study_with(tmp_path, consents, withdrawals, completed_on)
    study = load_study(root)
    registers = load_registers(study)
    day = dt.date.fromisoformat(completed_on) if completed_on and completed_on != "2024-02-30" else None
    rows = pl.DataFrame(
        {"participant_id": ["P001"], "day": [day]}, schema={"participant_id": pl.String, "day": pl.Date}
    )

    # the rule itself, over a frame and for one row
    assert in_force_verdict(rows, registers) == verdict
    if day is not None:
        assert rule.in_force_on(registers, "P001", day).verdict == verdict
    # validation: GOV002/GOV003 on the row (a missing or impossible date is the structure layer's)
    on_row = {f.code for f in check(Run(study), today=TODAY) if f.file == MEASURES_FILE and f.row == 2}
    assert on_row & {"GOV002", "GOV003"} == (
        {COLLECTION_CODES[verdict]} if verdict in COLLECTION_CODES else set()
    )
    # the consent filter: kept for analysis exactly when covered, whole table and one row
    consent_filter = ConsentFilter.from_study(study)
    table = pl.read_csv(root / MEASURES_FILE, infer_schema=False)
    kept = consent_filter.filter(table, resource="m", purpose="analysis", date_column="completed_on")
    assert (kept.height == 1) == (verdict == rule.COVERED)
    if day is not None:
        assert consent_filter.collected_with_consent("P001", day) == (verdict == rule.COVERED)
        assert consent_filter.allows("P001", "participate", on=day) == (verdict == rule.COVERED)


def in_force_verdict(rows: pl.DataFrame, registers) -> str:
    return rule.in_force(rows, registers).get_column("verdict").item()


# (earlier consent rows, earlier withdrawal rows, the new row, the codes it brings to validation; the edit
# is refused with the sentence of the first, the one on its own row)
REGISTER = {
    "form approved on the day": ((), (), ("add", "1.0", "2024-02-01"), None),
    "form ethics never approved": ((), (), ("add", "3.0", "2024-02-01"), "GOV004"),
    "new form before its amendment": ((consent("2024-02-01"),), (), ("add", "2.0", "2024-08-01"), "GOV004"),
    "new form after its amendment": ((consent("2024-02-01"),), (), ("add", "2.0", "2024-09-02"), None),
    "consent after no further data": (
        (consent("2024-02-01"),), (quit_("2024-05-01"),), ("add", "1.0", "2024-06-01"), "GOV010",
    ),
    "consent after remove all data": (
        (consent("2024-02-01"),), (quit_("2024-05-01", "remove all data"),), ("add", "1.0", "2024-06-01"),
        "GOV010",
    ),
    "consent on the withdrawal day": (
        (consent("2024-02-01"),), (quit_("2024-05-01"),), ("add", "1.0", "2024-05-01"), "GOV010",
    ),
    "withdrawal after consent": (
        (consent("2024-02-01"),), (), ("withdraw", "no further data", "2024-05-01"), None,
    ),
    "withdrawal on the consent day (the consent is then dated on a withdrawal day)": (
        (consent("2024-02-01"),), (), ("withdraw", "no further data", "2024-02-01"), "GOV010",
    ),
    "withdrawal before any consent (the consent is then after a withdrawal too)": (
        (consent("2024-02-01"),), (), ("withdraw", "no further data", "2024-01-20"), "GOV012 GOV010",
    ),
    "withdrawal of someone never consented": (
        (), (), ("withdraw", "remove all data", "2024-03-01"), "GOV012",
    ),
    "no further data, then remove all data": (
        (consent("2024-02-01"),), (quit_("2024-05-01"),), ("withdraw", "remove all data", "2024-06-01"), None,
    ),
}  # fmt: skip
REGISTER_CODES = {"GOV004", "GOV010", "GOV012"}


@pytest.mark.parametrize(("consents", "withdrawals", "new", "code"), REGISTER.values(), ids=REGISTER.keys())
def test_a_register_row_gets_one_answer_from_validation_and_the_edit(
    tmp_path, consents, withdrawals, new, code
):
    kind, what, day = new
    row = consent(day, form=what) if kind == "add" else quit_(day, what)
    register = "governance/consent.csv" if kind == "add" else "governance/withdrawals.csv"
    at = (len(consents) if kind == "add" else len(withdrawals)) + 2

    # validation, the row typed into the register by hand: what it adds to what was found before
    by_hand = study_with(tmp_path / "by-hand", (*consents, row) if kind == "add" else consents,
                         (*withdrawals, row) if kind == "withdraw" else withdrawals)  # fmt: skip
    edited = study_with(tmp_path / "edited", consents, withdrawals)
    study = load_study(edited)
    before = {(f.code, f.file, f.row) for f in check(Run(study), today=TODAY)}
    found = [
        f for f in check(Run(load_study(by_hand)), today=TODAY)
        if f.code in REGISTER_CODES and (f.code, f.file, f.row) not in before
    ]  # fmt: skip
    assert {f.code for f in found} == set(code.split() if code else ())
    found.sort(key=lambda f: f.file != register)  # the edit names what its own row breaks first
    # on the new row itself, unless it makes an earlier row wrong (a consent now after a withdrawal)
    assert all((f.file, f.row) == (register, at) or f.code == "GOV010" for f in found)

    # the edit command, on the registers without the row
    if kind == "add":
        record = lambda: add_consent(  # noqa: E731
            study, "P001", form_version=what, consented_on=dt.date.fromisoformat(day), scopes=["participate",
            "audio_recording", "direct_quotation", "archiving", "future_contact"], by="Synthetic", now=NOW,
        )  # fmt: skip
    else:
        record = lambda: withdraw(  # noqa: E731
            study, "P001", withdrawn_on=dt.date.fromisoformat(day), scope=what, by="Synthetic", now=NOW
        )
    if code is None:
        record()
        assert (edited / register).read_bytes() == (by_hand / register).read_bytes()
    else:
        with pytest.raises(RegisterError) as refused:
            record()
        assert refused.value.message == f"refused, nothing changed: {found[0].message}"

    # in_force on the row's own date says why
    registers = load_registers(load_study(by_hand))
    judged = rule.in_force_on(registers, "P001", dt.date.fromisoformat(day))
    if kind == "add":
        assert (judged.verdict == rule.WITHDRAWN) == (code == "GOV010")
    else:
        assert (judged.consented_on is None) == ("GOV012" in (code or ""))
        assert judged.verdict == rule.WITHDRAWN  # nothing is collected from the day of a withdrawal



def test_sharing_drops_a_removal_request_that_analysis_keeps(tmp_path):
    """The "sharing" purpose (exports) never holds anyone who asked to remove all data."""
    root = make_study(
        tmp_path, withdrawals=(quit_("2024-06-01", "remove all data"),),
        withdrawal_policy={"policy": "retain_collected"},
    )  # fmt: skip
    study = load_study(root)
    keep = ConsentFilter.from_study(study)
    pid = keep.registers.withdrawals[0].participant_id
    rows = pl.DataFrame({"participant_id": [pid], "completed_on": ["2024-02-01"]})
    assert keep.filter(rows, resource="m", purpose="analysis", date_column="completed_on").height == 1
    assert keep.filter(rows, resource="m", purpose="sharing", date_column="completed_on").height == 0
