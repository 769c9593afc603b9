"""Consent in force at collection: the one rule (``in_force``) that decides whether a row is covered.

Validation (GOV002, GOV003, GOV010, GOV012), the consent filter and the governed edits all
ask ``in_force``, so a row is judged the same wherever it is judged:

- the consent in force on a day is the participant's latest consent event on or before it;
- a row is **covered** when that event has the scope asked about (``participate`` for
  collection) and the participant had not withdrawn, in either scope, on or before that day;
- a row of a dated table without a participant id or without a readable date is
  **unknown**: consent at collection cannot be shown, so it is never covered (validation
  leaves the blank or unreadable cell to the structure layer, the filter drops the row);
- a row about a participant rather than an occasion (``participants.csv``: ``dated=False``)
  is judged on the participant's first consent date.

Verdicts, in the order they win: unknown, withdrawn, no consent, scope not given, covered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from studykit.governance.registers import Registers

COVERED = "covered"
UNKNOWN = "unknown"
WITHDRAWN = "withdrawn"
NO_CONSENT = "no consent"
NO_SCOPE = "scope not given"
VERDICTS = (UNKNOWN, WITHDRAWN, NO_CONSENT, NO_SCOPE, COVERED)

# What ``in_force`` adds to each row. The details (event in force, first withdrawal on or
# before the day) are given for every row that is not covered; a covered row of a participant
# whose consent is plain (``Registers.plain_consent``) is decided without looking them up, and
# they are null unless ``all_details`` is asked for.
DETAILS: dict[str, pl.DataType] = {
    "verdict": pl.String(),
    "on": pl.Date(),
    "first_consent": pl.Date(),
    "consented_on": pl.Date(),
    "form_version": pl.String(),
    "withdrawn_on": pl.Date(),
    "withdrawal_scope": pl.String(),
}


def in_force(
    rows: pl.DataFrame,
    registers: Registers,
    *,
    scope: str = "participate",
    dated: bool = True,
    all_details: bool = False,
) -> pl.DataFrame:
    """``rows`` (``participant_id``, ``day``) with the verdict and its details (``DETAILS``), in order.

    ``on`` is the day judged: ``day``, or with ``dated=False`` the participant's first consent.
    Whole columns at once: only the rows of participants whose consent is not plain go
    through the as-of join on the consent events (all rows with ``all_details``).
    """
    frame = rows.select(pl.col("participant_id").cast(pl.String), pl.col("day").cast(pl.Date)).with_row_index(
        "_index"
    )
    if dated:
        frame = frame.with_columns(pl.col("day").alias("on"))
    else:
        frame = frame.join(_firsts(registers), on="participant_id", how="left", maintain_order="left")
        frame = frame.with_columns(pl.col("first_consent").alias("on")).drop("first_consent")
    plain = _plain(frame, registers, "" if all_details else scope)
    hard = _decide(frame.filter(~plain), registers, scope, dated=dated)
    if hard.height == frame.height:
        return hard.sort("_index").select("participant_id", "day", *DETAILS)
    # Most rows are plainly covered: start from that and put the decided rows in their places.
    where = hard.get_column("_index")
    columns = {name: pl.repeat(None, frame.height, dtype=kind, eager=True) for name, kind in DETAILS.items()}
    columns["verdict"] = pl.repeat(COVERED, frame.height, dtype=pl.String, eager=True)
    for name, column in columns.items():
        column.scatter(where, hard.get_column(name))
    columns["on"] = frame.get_column("on")
    return (
        frame.select("participant_id", "day")
        .with_columns(column.alias(name) for name, column in columns.items())
        .select("participant_id", "day", *DETAILS)
    )


def _firsts(registers: Registers) -> pl.DataFrame:
    """(participant_id, first_consent) of everyone with a consent event."""
    return registers.consent_frame.group_by("participant_id").agg(
        pl.col("consented_on").min().alias("first_consent")
    )


def _plain(frame: pl.DataFrame, registers: Registers, scope: str) -> pl.Series:
    """Rows certainly covered: participate asked of a plain participant, on or after the first consent.

    ``scope`` blank: none (every row is looked up).
    """
    if scope != "participate":
        return pl.Series([False] * frame.height, dtype=pl.Boolean)
    return (
        frame.lazy()
        .select("participant_id", "on")
        .join(registers.plain_consent.lazy(), on="participant_id", how="left", maintain_order="left")
        .select((pl.col("on") >= pl.col("first_consent")).fill_null(value=False))
        .collect()
        .to_series()
    )


def _decide(frame: pl.DataFrame, registers: Registers, scope: str, *, dated: bool) -> pl.DataFrame:
    """The verdict and details of each row: an as-of join on the consent events, then the first withdrawal."""
    who = frame.get_column("participant_id").drop_nulls().unique().implode()
    events = (
        registers.consent_frame.filter(pl.col("participant_id").is_in(who))
        .select(
            "participant_id",
            pl.col("consented_on").alias("_event_on"),
            "form_version",
            pl.col(scope).alias("_has_scope"),
        )
        .sort("_event_on", maintain_order=True)
    )
    # A participant's first withdrawal (any scope) ends collection from its day on.
    withdrawn = (
        registers.withdrawal_frame.sort("withdrawn_on", maintain_order=True)
        .group_by("participant_id", maintain_order=True)
        .first()
        .select("participant_id", "withdrawn_on", pl.col("scope").alias("withdrawal_scope"))
    )
    frame = frame.join(_firsts(registers), on="participant_id", how="left")
    known = pl.col("participant_id").is_not_null() & pl.col("on").is_not_null()
    joined = pl.concat(
        [
            frame.filter(known)
            .sort("on")
            # Both sides are sorted by date; polars cannot verify that within groups, hence no check.
            .join_asof(
                events,
                left_on="on",
                right_on="_event_on",
                by="participant_id",
                strategy="backward",
                check_sortedness=False,
            ),
            frame.filter(~known),
        ],
        how="diagonal_relaxed",
    ).join(withdrawn, on="participant_id", how="left")
    after_withdrawal = (pl.col("on") >= pl.col("withdrawn_on")).fill_null(value=False)
    undated = UNKNOWN if dated else NO_CONSENT
    verdict = (
        pl.when(pl.col("participant_id").is_null())
        .then(pl.lit(UNKNOWN))
        .when(pl.col("on").is_null())
        .then(pl.lit(undated))
        .when(after_withdrawal)
        .then(pl.lit(WITHDRAWN))
        .when(pl.col("_event_on").is_null())
        .then(pl.lit(NO_CONSENT))
        .when(~pl.col("_has_scope"))
        .then(pl.lit(NO_SCOPE))
        .otherwise(pl.lit(COVERED))
    )
    return joined.with_columns(
        verdict.alias("verdict"), pl.col("_event_on").alias("consented_on")
    ).with_columns(
        # The withdrawal is a detail only once it has happened.
        pl.when(after_withdrawal).then(pl.col("withdrawn_on")).alias("withdrawn_on"),
        pl.when(after_withdrawal).then(pl.col("withdrawal_scope")).alias("withdrawal_scope"),
    )


@dataclass(frozen=True)
class Coverage:
    """``in_force`` for one participant on one day."""

    verdict: str
    on: dt.date | None
    first_consent: dt.date | None
    consented_on: dt.date | None
    form_version: str | None
    withdrawn_on: dt.date | None
    withdrawal_scope: str | None

    @property
    def covered(self) -> bool:
        return self.verdict == COVERED


def in_force_on(
    registers: Registers, participant_id: str, day: dt.date | None, *, scope: str = "participate"
) -> Coverage:
    """``in_force`` asked about one participant: on ``day``, or (``None``) at their first consent."""
    row = pl.DataFrame(
        {"participant_id": [participant_id], "day": [day]},
        schema={"participant_id": pl.String, "day": pl.Date},
    )
    result = in_force(row, registers, scope=scope, dated=day is not None, all_details=True)
    return Coverage(**result.select(*DETAILS).row(0, named=True))
