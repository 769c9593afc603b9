"""The whole-column consent filter agrees with the per-participant questions, row by row.

``ConsentFilter.filter`` decides every row at once (as-of joins on the consent events);
``allows``/``collected_with_consent``/``removes`` answer one participant at a time. Here a
participant with many consent events, withdrawals of both scopes, rows without a date and rows
without an id are run through both and must agree exactly.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from studykit.governance.consent_filter import PURPOSE_SCOPE, ConsentFilter
from studykit.governance.registers import ConsentEvent, Registers, Withdrawal
from studykit.study import Withdrawal as WithdrawalPolicy

D = dt.date
ALL = frozenset({"participate", "audio_recording", "direct_quotation", "archiving"})


def _registers() -> Registers:
    consent = (
        # SYN-001 changes their mind many times: participate comes and goes.
        ConsentEvent("SYN-001", "v1", D(2024, 1, 10), ALL),
        ConsentEvent("SYN-001", "v1", D(2024, 2, 10), frozenset({"archiving"})),
        ConsentEvent("SYN-001", "v2", D(2024, 3, 10), ALL),
        ConsentEvent("SYN-001", "v2", D(2024, 4, 10), frozenset({"participate"})),
        ConsentEvent("SYN-001", "v2", D(2024, 5, 10), ALL),
        ConsentEvent("SYN-002", "v1", D(2024, 1, 5), ALL),
        ConsentEvent("SYN-003", "v1", D(2024, 1, 5), frozenset({"participate", "archiving"})),
        ConsentEvent("SYN-004", "v1", D(2024, 2, 1), ALL),
    )
    withdrawals = (
        Withdrawal("SYN-002", D(2024, 3, 1), "no further data"),
        Withdrawal("SYN-003", D(2024, 2, 1), "remove all data"),
        Withdrawal("SYN-003", D(2024, 4, 1), "no further data"),
    )
    return Registers(consent=consent, withdrawals=withdrawals)


def _frame() -> pl.DataFrame:
    people = ["SYN-001", "SYN-002", "SYN-003", "SYN-004", "SYN-999", None]
    days = [None, *(D(2024, 1, 1) + dt.timedelta(days=d) for d in range(0, 160, 6))]
    rows = [(pid, day) for day in days for pid in people]
    return pl.DataFrame(
        {"participant_id": [p for p, _ in rows], "completed_on": [d for _, d in rows]},
        schema={"participant_id": pl.String, "completed_on": pl.Date},
    ).with_row_index("n")


def _expected(consent: ConsentFilter, frame: pl.DataFrame, purpose: str) -> list[int]:
    kept = []
    for n, pid, day in frame.iter_rows():
        # A row of a dated table without its date is never covered (``None`` asks about the
        # participant at their first consent, as for an undated table).
        if pid is None or day is None or not consent.collected_with_consent(pid, day):
            continue
        removal = consent.registers.removal(pid)
        if purpose == "analysis" and consent.removes(pid, day):
            continue
        if purpose != "analysis" and removal is not None:
            continue
        if purpose in PURPOSE_SCOPE and not consent.allows(pid, PURPOSE_SCOPE[purpose]):
            continue
        kept.append(n)
    return kept


@pytest.mark.parametrize("purpose", ["analysis", "quotation", "deposit"])
@pytest.mark.parametrize("policy", ["retain_collected", "delete_all", "delete_unanalysed"])
def test_filter_matches_per_row_questions(purpose: str, policy: str) -> None:
    frame = _frame()
    settings = WithdrawalPolicy(policy=policy, analysed_on=D(2024, 1, 20), removal_window_days=14)
    consent = ConsentFilter(_registers(), settings)
    kept = consent.filter(frame, resource="m", purpose=purpose, date_column="completed_on")
    assert kept.get_column("n").to_list() == _expected(ConsentFilter(_registers(), settings), frame, purpose)
    assert sum(e.rows for e in consent.exclusions) == frame.height - kept.height


def test_filter_text_dates_and_undated_frames() -> None:
    frame = _frame()
    text = frame.with_columns(pl.col("completed_on").cast(pl.String))
    options = {"resource": "m", "purpose": "analysis", "date_column": "completed_on"}
    dated = ConsentFilter(_registers()).filter(frame, **options)
    as_text = ConsentFilter(_registers()).filter(text, **options)
    assert as_text.get_column("n").to_list() == dated.get_column("n").to_list()
    undated = ConsentFilter(_registers()).filter(frame, resource="m", purpose="analysis")
    reference = ConsentFilter(_registers())
    expected = [
        n
        for n, pid, _ in frame.iter_rows()
        if pid is not None
        and reference.collected_with_consent(pid, None)
        and not reference.removes(pid, None)
    ]
    assert undated.get_column("n").to_list() == expected
