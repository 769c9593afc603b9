"""The three governance registers: consent events, withdrawals and ethics approvals.

``load_registers(study)`` reads ``governance/consent.csv``, ``governance/withdrawals.csv``
and ``governance/ethics.yml`` and returns one frozen ``Registers``. A malformed
register is a ``RegisterError`` naming the file, the row (as a spreadsheet shows
it) and the field: nothing downstream may run on registers it cannot trust.

Consent is a list of *events*, never a mutable flag: re-consent with a new form
version is a new row. Whether consent was in force on a date is decided in one place,
``coverage.in_force``. A scope left blank means no (default deny).

A consent register can hold hundreds of thousands of rows, so it is read, checked
and held as a polars frame (``Registers.consent_frame``); the checks and the consent
filter work on that frame whole. ``ConsentEvent`` objects are built only for the
rows someone asks about.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import product
from pathlib import Path
from typing import Annotated, Literal

import polars as pl
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from studykit._yaml import load_yaml, read_yaml_text, yaml_fix
from studykit.errors import DataReadError, RegisterError
from studykit.files import LINK_OUTSIDE_FIX, leads_out_of_study, link_outside_sentence, study_relative
from studykit.study import PARTICIPANT_ID, Study, error_sentence
from studykit.tables import FIRST_DATA_ROW, TextTable, cast, read_text_table, spreadsheet_row

Scope = Literal["participate", "audio_recording", "direct_quotation", "archiving", "future_contact"]
SCOPES: tuple[Scope, ...] = (
    "participate",
    "audio_recording",
    "direct_quotation",
    "archiving",
    "future_contact",
)
NO_FURTHER_DATA = "no further data"
REMOVE_ALL_DATA = "remove all data"
WithdrawalScope = Literal["no further data", "remove all data"]
WITHDRAWAL_SCOPES: tuple[WithdrawalScope, ...] = (NO_FURTHER_DATA, REMOVE_ALL_DATA)
YES, NO = "yes", "no"
# The cells a scope column may hold besides blank: those whose lower() is yes or no, which are
# exactly their ASCII case variants (no other character lower-cases to these letters).
YES_CELLS = tuple("".join(letters) for letters in product(*((c, c.upper()) for c in YES)))
NO_CELLS = tuple("".join(letters) for letters in product(*((c, c.upper()) for c in NO)))

CONSENT_COLUMNS = ("participant_id", "form_version", "consented_on", *SCOPES)
CONSENT_OPTIONAL = ("source", "notes")
WITHDRAWAL_COLUMNS = ("participant_id", "withdrawn_on", "reason", "scope")
WITHDRAWAL_OPTIONAL = ("received_by", "notes", "decision", "decided_by", "decided_on")
# The data protection officer's decision on a "remove all data" request (blank: not decided yet).
ERASE, RETAIN = "erase", "retain"
DECISIONS = (ERASE, RETAIN)
REGISTERS_DOC = "See docs/governance.md for the columns of each register."
# The consent register as a frame: one row per event, in register order; ``row`` is the
# spreadsheet row (null for events made in code rather than read from a file).
CONSENT_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.String(),
    "form_version": pl.String(),
    "consented_on": pl.Date(),
    **{scope: pl.Boolean() for scope in SCOPES},
    "row": pl.Int64(),
}
WITHDRAWAL_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.String(),
    "withdrawn_on": pl.Date(),
    "scope": pl.String(),
    "row": pl.Int64(),
}


@dataclass(frozen=True)
class ConsentEvent:
    """One row of consent.csv: what a participant agreed to, on which form, on which day."""

    participant_id: str
    form_version: str
    consented_on: dt.date
    scopes: frozenset[str]
    row: int | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def record(self) -> dict[str, object]:
        """The event as plain JSON-ready data (audit log, status output)."""
        return {
            "participant_id": self.participant_id,
            "form_version": self.form_version,
            "consented_on": self.consented_on.isoformat(),
            "scopes": [s for s in SCOPES if s in self.scopes],
        }


@dataclass(frozen=True)
class Withdrawal:
    """One row of withdrawals.csv."""

    participant_id: str
    withdrawn_on: dt.date
    scope: WithdrawalScope
    reason: str | None = None
    row: int | None = None
    decision: str | None = None
    decided_by: str | None = None
    decided_on: dt.date | None = None

    @property
    def removes_data(self) -> bool:
        return self.scope == REMOVE_ALL_DATA

    def record(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "withdrawn_on": self.withdrawn_on.isoformat(),
            "scope": self.scope,
            "reason": self.reason,
        }


def _form_version(value: object) -> object:
    # YAML reads 1.10 as the number 1.1: a version must be written as text to survive.
    if isinstance(value, int | float) and not isinstance(value, bool):
        msg = f'write consent form versions in quotes (e.g. "{value}") so YAML keeps them as written'
        raise ValueError(msg)  # noqa: TRY004 (pydantic turns ValueError into a located error)
    return value


FormVersion = Annotated[str, BeforeValidator(_form_version), Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Amendment(_Model):
    """A substantial amendment: new consent form versions or documents, perhaps a later end date."""

    reference: Annotated[str, Field(min_length=1)]
    approved_on: dt.date
    expires_on: dt.date | None = None
    consent_forms: list[FormVersion] = []
    documents: list[str] = []


class Approval(_Model):
    """A favourable ethics opinion: committee, reference, period and what it approved."""

    committee: Annotated[str, Field(min_length=1)]
    reference: Annotated[str, Field(min_length=1)]
    approved_on: dt.date
    expires_on: dt.date | None = None
    consent_forms: list[FormVersion] = []
    documents: list[str] = []
    amendments: list[Amendment] = []

    @model_validator(mode="after")
    def _dates_in_order(self) -> Approval:
        if self.expires_on is not None and self.expires_on < self.approved_on:
            msg = f"expires_on {self.expires_on} is before approved_on {self.approved_on}"
            raise ValueError(msg)
        for amendment in self.amendments:
            if amendment.approved_on < self.approved_on:
                msg = f"amendment {amendment.reference!r} is approved before the approval itself"
                raise ValueError(msg)
        return self

    @property
    def ends_on(self) -> dt.date | None:
        """Last day of the approval period, extended by any amendment; None means open-ended."""
        if self.expires_on is None:
            return None
        return max([self.expires_on, *(a.expires_on for a in self.amendments if a.expires_on)])

    def covers(self, day: dt.date) -> bool:
        return self.approved_on <= day and (self.ends_on is None or day <= self.ends_on)

    def approves_form(self, version: str, day: dt.date) -> bool:
        """Whether ``version`` of the consent form was approved and in its period on ``day``."""
        if not self.covers(day):
            return False
        return version in self.consent_forms or any(
            a.approved_on <= day and version in a.consent_forms for a in self.amendments
        )

    def form_versions(self) -> list[str]:
        versions = list(self.consent_forms)
        for amendment in self.amendments:
            versions.extend(v for v in amendment.consent_forms if v not in versions)
        return versions


class Ethics(_Model):
    """governance/ethics.yml: every approval and its amendments."""

    approvals: list[Approval] = []

    def approves_form(self, version: str, day: dt.date) -> bool:
        return any(a.approves_form(version, day) for a in self.approvals)

    def covers(self, day: dt.date) -> bool:
        return any(a.covers(day) for a in self.approvals)


def events_frame(events: Iterable[ConsentEvent]) -> pl.DataFrame:
    """The consent register as a frame (``CONSENT_SCHEMA``), one row per event in the order given."""
    events = list(events)
    return pl.DataFrame(
        {
            "participant_id": [e.participant_id for e in events],
            "form_version": [e.form_version for e in events],
            "consented_on": [e.consented_on for e in events],
            **{scope: [scope in e.scopes for e in events] for scope in SCOPES},
            "row": [e.row for e in events],
        },
        schema=CONSENT_SCHEMA,
    )


@cache
def _scope_set(bits: int) -> frozenset[str]:
    # One frozenset per combination of scopes (32 at most), shared by every event that has it.
    return frozenset(scope for index, scope in enumerate(SCOPES) if bits >> index & 1)


class _FrameEvents:
    """The ``ConsentEvent`` of each row of a consent frame, built when first asked for and kept."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame
        self._built: dict[int, ConsentEvent] = {}

    @cached_property
    def _columns(self) -> tuple[list, ...]:
        # Whole columns as lists, once: reading rows one at a time costs far more when a caller
        # (consent status, say) goes on to ask about every participant.
        bits = pl.sum_horizontal(pl.col(scope).cast(pl.Int64) * (1 << i) for i, scope in enumerate(SCOPES))
        frame = self._frame.with_columns(bits.alias("_bits"))
        names = ("participant_id", "form_version", "consented_on", "_bits", "row")
        return tuple(frame.get_column(name).to_list() for name in names)

    def all(self) -> tuple[ConsentEvent, ...]:
        """Every row's event, in frame order."""
        events = tuple(
            self._built.get(position) or ConsentEvent(pid, version, day, _scope_set(bits), row)
            for position, (pid, version, day, bits, row) in enumerate(zip(*self._columns, strict=True))
        )
        self._built = dict(enumerate(events))
        return events

    def __getitem__(self, position: int) -> ConsentEvent:
        event = self._built.get(position)
        if event is None:
            ids, versions, days, bits, rows = self._columns
            event = ConsentEvent(
                ids[position], versions[position], days[position], _scope_set(bits[position]), rows[position]
            )
            self._built[position] = event
        return event


@dataclass(frozen=True, init=False, eq=False)
class Registers:
    """The consent, withdrawal and ethics registers of a study, read and checked.

    ``consent`` is given as ``ConsentEvent``s (tests, small registers) or as a frame
    (``CONSENT_SCHEMA``, as ``read_consent_frame`` returns it); either way the register is
    held as ``consent_frame``, and the events as objects only when asked for.
    """

    consent_frame: pl.DataFrame
    withdrawals: tuple[Withdrawal, ...]
    ethics: Ethics
    _event_at: Sequence[ConsentEvent] | _FrameEvents = field(repr=False)
    _found: dict[str, tuple[ConsentEvent, ...]] = field(repr=False)

    def __init__(
        self,
        consent: Iterable[ConsentEvent] | pl.DataFrame = (),
        withdrawals: Iterable[Withdrawal] = (),
        ethics: Ethics | None = None,
    ) -> None:
        event_at: Sequence[ConsentEvent] | _FrameEvents
        if isinstance(consent, pl.DataFrame):
            frame = consent.select(list(CONSENT_SCHEMA))
            event_at = _FrameEvents(frame)
        else:
            event_at = tuple(consent)
            frame = events_frame(event_at)
        # Frozen: fields are set as the dataclass's own __init__ would set them.
        object.__setattr__(self, "consent_frame", frame)
        object.__setattr__(self, "withdrawals", tuple(withdrawals))
        object.__setattr__(self, "ethics", Ethics() if ethics is None else ethics)
        object.__setattr__(self, "_event_at", event_at)
        # Each participant's events once found: callers (the filter, status) ask again and again.
        object.__setattr__(self, "_found", {})

    @cached_property
    def consent(self) -> tuple[ConsentEvent, ...]:
        """Every consent event, in register order (all built at once: the frame is cheaper for many)."""
        if isinstance(self._event_at, _FrameEvents):
            return self._event_at.all()
        return tuple(self._event_at)  # the events given

    @cached_property
    def withdrawal_frame(self) -> pl.DataFrame:
        """The withdrawals as a frame (``WITHDRAWAL_SCHEMA``), in register order."""
        return pl.DataFrame(
            {
                "participant_id": [w.participant_id for w in self.withdrawals],
                "withdrawn_on": [w.withdrawn_on for w in self.withdrawals],
                "scope": [w.scope for w in self.withdrawals],
                "row": [w.row for w in self.withdrawals],
            },
            schema=WITHDRAWAL_SCHEMA,
        )

    @cached_property
    def plain_consent(self) -> pl.DataFrame:
        """(participant_id, first_consent) of everyone whose consent to participate, once given, stands.

        Each of their events includes participate and they never withdrew, so their data dated
        on or after their first consent were collected with consent in force. Most participants
        are plain: checks and the filter need a closer look only at the others.
        """
        withdrawing = sorted({w.participant_id for w in self.withdrawals})
        return (
            self.consent_frame.lazy()
            .group_by("participant_id")
            .agg(
                pl.col("consented_on").min().alias("first_consent"),
                pl.col("participate").all().alias("_plain"),
            )
            .filter(pl.col("_plain") & ~pl.col("participant_id").is_in(withdrawing))
            .drop("_plain")
            .collect()
        )

    @property
    def participants(self) -> set[str]:
        """Everyone named in the consent or withdrawal register."""
        consenting = self.consent_frame.get_column("participant_id").unique().to_list()
        return set(consenting) | {w.participant_id for w in self.withdrawals}

    def for_participants(self, participant_ids: Iterable[str]) -> Registers:
        """These participants' part of the registers: the same answers about them, cheaper to index."""
        wanted = set(participant_ids)
        return Registers(
            self.consent_frame.filter(pl.col("participant_id").is_in(sorted(wanted))),
            [w for w in self.withdrawals if w.participant_id in wanted],
            self.ethics,
        )

    @cached_property
    def _by_participant(self) -> tuple[list[str], list[int]]:
        # Register positions ordered by participant, then date (ties in register order), found
        # by bisection: cheaper to build than a dict of lists when the register is large.
        ordered = (
            self.consent_frame.select("participant_id", "consented_on")
            .with_row_index("position")
            .sort("participant_id", "consented_on", maintain_order=True)
        )
        return ordered.get_column("participant_id").to_list(), ordered.get_column("position").to_list()

    @cached_property
    def _withdrawals(self) -> dict[str, list[Withdrawal]]:
        index: dict[str, list[Withdrawal]] = {}
        for withdrawal in sorted(self.withdrawals, key=lambda w: w.withdrawn_on):
            index.setdefault(withdrawal.participant_id, []).append(withdrawal)
        return index

    def events(self, participant_id: str) -> list[ConsentEvent]:
        """A participant's consent events, oldest first."""
        found = self._found.get(participant_id)
        if found is None:
            ids, positions = self._by_participant
            start = bisect_left(ids, participant_id)
            end = bisect_right(ids, participant_id, start)
            found = self._found[participant_id] = tuple(self._event_at[p] for p in positions[start:end])
        return list(found)

    def latest(self, participant_id: str) -> ConsentEvent | None:
        events = self.events(participant_id)
        return events[-1] if events else None

    def withdrawals_of(self, participant_id: str) -> list[Withdrawal]:
        """A participant's withdrawals, oldest first."""
        return list(self._withdrawals.get(participant_id, ()))

    def removal(self, participant_id: str) -> Withdrawal | None:
        """The participant's first "remove all data" withdrawal, if any."""
        return next((w for w in self.withdrawals_of(participant_id) if w.removes_data), None)


# --- reading -------------------------------------------------------------------------------------


def _label(study: Study, path: Path) -> str:
    return study_relative(study, path)


# How a register file is read: ``read_text_table``, or a reader that keeps what a run has read.
Reader = Callable[..., TextTable]


def _read(path: Path, label: str, read: Reader = read_text_table) -> TextTable:
    try:
        return read(path, file_label=label)
    except DataReadError as exc:
        raise RegisterError(exc.message, path=label, fix=exc.fix or REGISTERS_DOC) from exc


def _check_header(table: TextTable, label: str, required: Iterable[str], optional: Iterable[str]) -> None:
    required, known = list(required), [*required, *optional]
    for column in required:
        if column not in table.header:
            msg = "the header row lacks this column"
            raise RegisterError(
                msg,
                path=label,
                row=1,
                field=column,
                fix=f"The header must be: {','.join(required)}. {REGISTERS_DOC}",
            )
    for column in table.header:
        if column not in known:
            msg = "is not a column of this register"
            raise RegisterError(
                msg,
                path=label,
                row=1,
                field=column,
                fix=f"Rename or remove it; known columns: {', '.join(known)}.",
            )


def _typed_dates(frame: pl.DataFrame, column: str, label: str) -> pl.Series:
    """The column as dates; the first cell that is not a date is an error (before any row check)."""
    typed, failures = cast(frame.select(column), {column: "date"})
    if failures:
        bad = failures[0]
        msg = f"{bad.value!r} is not a date"
        raise RegisterError(
            msg,
            path=label,
            row=bad.row,
            field=column,
            fix="Write dates as YYYY-MM-DD, e.g. 2024-03-31.",
        )
    return typed.get_column(column)


def _required(value: str | None, label: str, row: int, column: str) -> str:
    if value is None:
        msg = "is blank but required"
        raise RegisterError(msg, path=label, row=row, field=column, fix="Fill in the cell.")
    return value


def _required_date(value: dt.date | None, label: str, row: int, column: str) -> dt.date:
    if value is None:
        msg = "is blank but required"
        raise RegisterError(msg, path=label, row=row, field=column, fix="Fill in the date.")
    return value


def _participant(value: str | None, label: str, row: int) -> str:
    pid = _required(value, label, row, "participant_id")
    if not PARTICIPANT_ID.match(pid):
        msg = f"{pid!r} is not a participant id"
        raise RegisterError(
            msg,
            path=label,
            row=row,
            field="participant_id",
            fix="Use the pseudonymous id from data/participants.csv (1-4 capitals, 2-6 digits, e.g. P001).",
        )
    return pid


def _scopes(record: dict[str, str | None], label: str, row: int) -> frozenset[str]:
    """The scopes ticked ``yes`` in one consent row; anything but yes or blank is an error."""
    scopes = set()
    for scope in SCOPES:
        cell = (record[scope] or "").lower()
        if cell == YES:
            scopes.add(scope)
        elif cell not in ("", NO):
            msg = f"{record[scope]!r} is not yes or blank"
            raise RegisterError(
                msg,
                path=label,
                row=row,
                field=scope,
                fix="Write yes where the participant ticked the box; leave it blank (no) otherwise.",
            )
    return frozenset(scopes)


def read_consent_frame(
    path: Path, label: str | None = None, *, read: Reader = read_text_table
) -> pl.DataFrame:
    """Read consent.csv into a frame (``CONSENT_SCHEMA``): one row per consent event.

    Each scope is ``yes`` or blank (no). A malformed row is the ``RegisterError`` that reading
    row by row would meet first: a cell that is not a date anywhere, else the first bad row,
    and within it the participant id, form version, date, scopes, then a second event of the
    same participant on the same day.
    """
    label = label or path.as_posix()
    table = _read(path, label, read)
    _check_header(table, label, CONSENT_COLUMNS, CONSENT_OPTIONAL)
    text = table.frame.with_columns(_typed_dates(table.frame, "consented_on", label))
    _check_consent_rows(text, label)
    return (
        text.lazy()
        .select(
            "participant_id",
            "form_version",
            "consented_on",
            *(pl.col(scope).is_in(YES_CELLS).fill_null(value=False) for scope in SCOPES),
            pl.int_range(FIRST_DATA_ROW, pl.len() + FIRST_DATA_ROW, dtype=pl.Int64).alias("row"),
        )
        .collect()
    )


def read_consent(path: Path, label: str | None = None) -> tuple[ConsentEvent, ...]:
    """Read consent.csv as ``ConsentEvent``s (``read_consent_frame`` is cheaper for large registers)."""
    return Registers(read_consent_frame(path, label)).consent


def _check_consent_rows(frame: pl.DataFrame, label: str) -> None:
    """Raise the ``RegisterError`` of the first malformed row of consent.csv (dates already typed).

    Whole-column tests find the rows that may be malformed (a superset of those that are);
    only those rows are then checked one at a time, in order, by the per-row checks, so the
    error, its row and its field are those of a row-by-row reading.
    """
    maybe_bad = (
        ~pl.col("participant_id").str.contains(PARTICIPANT_ID.pattern).fill_null(value=False)
        | pl.col("form_version").is_null()
        | pl.col("consented_on").is_null()
        | pl.any_horizontal(
            ~pl.col(scope).fill_null("").is_in(["", *YES_CELLS, *NO_CELLS]) for scope in SCOPES
        )
    )
    # One pass over the columns answers whether there is anything to look for at all.
    ids, bad = (
        frame.lazy()
        .select(pl.col("participant_id").n_unique(), maybe_bad.any().alias("bad"))
        .collect()
        .row(0)
    )
    key = ["participant_id", "consented_on"]
    indexed = frame.with_row_index("index")
    repeats = indexed.clear()
    if ids < frame.height:  # only a participant with several events can repeat a day
        repeats = indexed.filter(~pl.struct(key).is_first_distinct()).head(1)
    # Rows after the first repeated (participant, day) cannot be reached by a row-by-row reading.
    last = repeats.item(0, "index") if repeats.height else frame.height
    suspects = indexed.lazy().head(last + 1).filter(maybe_bad).collect() if bad else indexed.clear()
    for record in suspects.iter_rows(named=True):
        # A suspect that passes every check (an id the whole-column test is stricter about) is no error.
        row = spreadsheet_row(record["index"])
        _participant(record["participant_id"], label, row)
        _required(record["form_version"], label, row, "form_version")
        _required_date(record["consented_on"], label, row, "consented_on")
        _scopes(record, label, row)
    if repeats.height:
        # Every row before it passed, so its participant and day are valid.
        pid, day = repeats.item(0, "participant_id"), repeats.item(0, "consented_on")
        first = indexed.filter((pl.col("participant_id") == pid) & (pl.col("consented_on") == day))
        earlier = spreadsheet_row(first.item(0, "index"))
        msg = f"a second consent event for {pid} on {day} (the first is row {earlier})"
        raise RegisterError(
            msg,
            path=label,
            row=spreadsheet_row(last),
            field="consented_on",
            fix="Keep one event per participant and day: merge the rows, or correct the date.",
        )


def read_withdrawals(
    path: Path, label: str | None = None, *, read: Reader = read_text_table
) -> tuple[Withdrawal, ...]:
    """Read withdrawals.csv: participant, date, reason, scope (no further data | remove all data)."""
    label = label or path.as_posix()
    table = _read(path, label, read)
    _check_header(table, label, WITHDRAWAL_COLUMNS, WITHDRAWAL_OPTIONAL)
    dates = _typed_dates(table.frame, "withdrawn_on", label).to_list()
    decided = (
        _typed_dates(table.frame, "decided_on", label).to_list()
        if "decided_on" in table.header
        else [None] * table.frame.height
    )
    withdrawals: list[Withdrawal] = []
    seen: dict[tuple[str, str], int] = {}
    for index, (record, day) in enumerate(zip(table.frame.iter_rows(named=True), dates, strict=True)):
        row = spreadsheet_row(index)
        pid = _participant(record["participant_id"], label, row)
        day = _required_date(day, label, row, "withdrawn_on")
        scope = (_required(record["scope"], label, row, "scope")).lower()
        if scope not in WITHDRAWAL_SCOPES:
            msg = f"{record['scope']!r} is not a withdrawal scope"
            raise RegisterError(
                msg,
                path=label,
                row=row,
                field="scope",
                fix='Write "no further data" or "remove all data".',
            )
        if (pid, scope) in seen:
            msg = f"{pid} already has a {scope!r} withdrawal in row {seen[pid, scope]}"
            raise RegisterError(
                msg,
                path=label,
                row=row,
                field="scope",
                fix="Keep one row per participant and scope.",
            )
        seen[pid, scope] = row
        decision = _decision(record, decided[index], label, row)
        withdrawals.append(
            Withdrawal(pid, day, scope, record["reason"], row, *decision)  # type: ignore[arg-type]
        )
    return tuple(withdrawals)


def _decision(
    record: dict[str, str | None], decided_on: dt.date | None, label: str, row: int
) -> tuple[str | None, str | None, dt.date | None]:
    """(decision, decided_by, decided_on) of one withdrawal row; all blank when not decided (or old files)."""
    decision = (record.get("decision") or "").strip().lower() or None
    decided_by = (record.get("decided_by") or "").strip() or None
    if decision is not None and decision not in DECISIONS:
        msg = f"{record['decision']!r} is not a decision"
        raise RegisterError(
            msg, path=label, row=row, field="decision", fix='Write "erase" or "retain" (or leave it blank).'
        )
    if decision is not None and (decided_by is None or decided_on is None):
        missing = "decided_by" if decided_by is None else "decided_on"
        msg = "a decision needs who made it and when"
        raise RegisterError(msg, path=label, row=row, field=missing, fix="Fill in decided_by and decided_on.")
    return decision, decided_by, decided_on


def _yaml_location(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def read_ethics(path: Path, label: str | None = None) -> Ethics:
    """Read ethics.yml: approvals with their committee, reference, period, forms and amendments."""
    label = label or path.as_posix()
    fix = "See the commented example in governance/ethics.yml and docs/governance.md."
    if (target := leads_out_of_study(path)) is not None:
        raise RegisterError(link_outside_sentence(target), path=label, fix=LINK_OUTSIDE_FIX)
    try:
        data = load_yaml(read_yaml_text(path))
    except FileNotFoundError as exc:
        msg = "is missing"
        raise RegisterError(msg, path=label, fix="Create it: " + fix) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        msg = f"is not valid YAML ({getattr(exc, 'problem', exc)})"
        raise RegisterError(
            msg,
            path=label,
            row=mark.line + 1 if mark else None,
            fix=yaml_fix(exc),
        ) from exc
    if data is None:
        return Ethics()
    if not isinstance(data, dict):
        msg = "is not a mapping with an approvals list"
        raise RegisterError(msg, path=label, fix=fix)
    try:
        return Ethics.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = error_sentence(first)
        raise RegisterError(message, path=label, field=_yaml_location(first["loc"]), fix=fix) from exc


def load_registers(study: Study, *, read: Reader = read_text_table) -> Registers:
    """Read and check the consent, withdrawal and ethics registers of a study.

    ``read`` reads the CSV registers (validation passes one that reuses what the run has read).
    """
    return Registers(
        consent=read_consent_frame(study.consent_path, _label(study, study.consent_path), read=read),
        withdrawals=read_withdrawals(
            study.withdrawals_path, _label(study, study.withdrawals_path), read=read
        ),
        ethics=read_ethics(study.ethics_path, _label(study, study.ethics_path)),
    )
