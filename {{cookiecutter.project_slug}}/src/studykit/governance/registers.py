"""The three governance registers: consent events, withdrawals and ethics approvals.

``load_registers(study)`` reads ``governance/consent.csv``, ``governance/withdrawals.csv``
and ``governance/ethics.yml`` and returns one frozen ``Registers``. A malformed
register is a ``RegisterError`` naming the file, the row (as a spreadsheet shows
it) and the field: nothing downstream may run on registers it cannot trust.

Consent is a list of *events*, never a mutable flag: re-consent with a new form
version is a new row, and the consent in force on a date is the latest event on or
before that date. A scope left blank means no (default deny).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import polars as pl
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from studykit._yaml import SAFE_LOADER
from studykit.errors import DataReadError, RegisterError
from studykit.study import Study
from studykit.tables import TextTable, cast, read_text_table

Scope = Literal["participate", "audio_recording", "direct_quotation", "archiving", "future_contact"]
SCOPES: tuple[Scope, ...] = (
    "participate", "audio_recording", "direct_quotation", "archiving", "future_contact",
)
NO_FURTHER_DATA = "no further data"
REMOVE_ALL_DATA = "remove all data"
WithdrawalScope = Literal["no further data", "remove all data"]
WITHDRAWAL_SCOPES: tuple[WithdrawalScope, ...] = (NO_FURTHER_DATA, REMOVE_ALL_DATA)
PARTICIPANT_ID = re.compile(r"^[A-Z]{1,4}[0-9]{2,6}$")
YES, NO = "yes", "no"

CONSENT_COLUMNS = ("participant_id", "form_version", "consented_on", *SCOPES)
CONSENT_OPTIONAL = ("source", "notes")
WITHDRAWAL_COLUMNS = ("participant_id", "withdrawn_on", "reason", "scope")
WITHDRAWAL_OPTIONAL = ("received_by", "notes")
REGISTERS_DOC = "See docs/governance.md for the columns of each register."


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


@dataclass(frozen=True)
class Registers:
    """The consent, withdrawal and ethics registers of a study, read and checked."""

    consent: tuple[ConsentEvent, ...] = ()
    withdrawals: tuple[Withdrawal, ...] = ()
    ethics: Ethics = field(default_factory=Ethics)

    @property
    def participants(self) -> set[str]:
        """Everyone named in the consent or withdrawal register."""
        return {e.participant_id for e in self.consent} | {w.participant_id for w in self.withdrawals}

    @cached_property
    def _events(self) -> dict[str, list[ConsentEvent]]:
        # Indexed once: checks and the filter ask about every row of every table.
        index: dict[str, list[ConsentEvent]] = {}
        for event in sorted(self.consent, key=lambda e: e.consented_on):
            index.setdefault(event.participant_id, []).append(event)
        return index

    @cached_property
    def _withdrawals(self) -> dict[str, list[Withdrawal]]:
        index: dict[str, list[Withdrawal]] = {}
        for withdrawal in sorted(self.withdrawals, key=lambda w: w.withdrawn_on):
            index.setdefault(withdrawal.participant_id, []).append(withdrawal)
        return index

    def events(self, participant_id: str) -> list[ConsentEvent]:
        """A participant's consent events, oldest first."""
        return list(self._events.get(participant_id, ()))

    def latest(self, participant_id: str) -> ConsentEvent | None:
        events = self.events(participant_id)
        return events[-1] if events else None

    def consent_on(self, participant_id: str, day: dt.date) -> ConsentEvent | None:
        """The consent event in force on ``day``: the latest one on or before it."""
        earlier = [e for e in self.events(participant_id) if e.consented_on <= day]
        return earlier[-1] if earlier else None

    def withdrawals_of(self, participant_id: str) -> list[Withdrawal]:
        """A participant's withdrawals, oldest first."""
        return list(self._withdrawals.get(participant_id, ()))

    def withdrawn_by(self, participant_id: str, day: dt.date) -> Withdrawal | None:
        """The first withdrawal on or before ``day``, if any (any scope stops collection)."""
        earlier = [w for w in self.withdrawals_of(participant_id) if w.withdrawn_on <= day]
        return earlier[0] if earlier else None

    def removal(self, participant_id: str) -> Withdrawal | None:
        """The participant's first "remove all data" withdrawal, if any."""
        return next((w for w in self.withdrawals_of(participant_id) if w.removes_data), None)

    def in_force(self, participant_id: str, scope: str, day: dt.date) -> bool:
        """Consent for ``scope`` in force on ``day``: latest event has it, and no withdrawal yet."""
        event = self.consent_on(participant_id, day)
        return event is not None and event.has(scope) and self.withdrawn_by(participant_id, day) is None


# --- reading -------------------------------------------------------------------------------------


def _label(study: Study, path: Path) -> str:
    try:
        return path.relative_to(study.root).as_posix()
    except ValueError:
        return path.as_posix()


def _read(path: Path, label: str) -> TextTable:
    try:
        return read_text_table(path, file_label=label)
    except DataReadError as exc:
        raise RegisterError(exc.message, path=label, fix=exc.fix or REGISTERS_DOC) from exc


def _check_header(table: TextTable, label: str, required: Iterable[str], optional: Iterable[str]) -> None:
    required, known = list(required), [*required, *optional]
    for column in required:
        if column not in table.header:
            msg = "the header row lacks this column"
            raise RegisterError(
                msg, path=label, row=1, field=column,
                fix=f"The header must be: {','.join(required)}. {REGISTERS_DOC}",
            )
    for column in table.header:
        if column not in known:
            msg = "is not a column of this register"
            raise RegisterError(
                msg, path=label, row=1, field=column,
                fix=f"Rename or remove it; known columns: {', '.join(known)}.",
            )


def _dates(frame: pl.DataFrame, column: str, label: str) -> list[dt.date | None]:
    typed, failures = cast(frame, {column: "date"})
    if failures:
        bad = failures[0]
        msg = f"{bad.value!r} is not a date"
        raise RegisterError(
            msg, path=label, row=bad.row, field=column,
            fix="Write dates as YYYY-MM-DD, e.g. 2024-03-31.",
        )
    return typed.get_column(column).to_list()


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
            msg, path=label, row=row, field="participant_id",
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
                msg, path=label, row=row, field=scope,
                fix="Write yes where the participant ticked the box; leave it blank (no) otherwise.",
            )
    return frozenset(scopes)


def read_consent(path: Path, label: str | None = None) -> tuple[ConsentEvent, ...]:
    """Read consent.csv: one row per consent event, each scope ``yes`` or blank (no)."""
    label = label or path.as_posix()
    table = _read(path, label)
    _check_header(table, label, CONSENT_COLUMNS, CONSENT_OPTIONAL)
    dates = _dates(table.frame, "consented_on", label)
    events: list[ConsentEvent] = []
    seen: dict[tuple[str, dt.date], int] = {}
    # Whole columns as lists, and each distinct combination of scope cells read once:
    # consent.csv has a row per participant (hundreds of thousands in large studies).
    columns = [table.frame.get_column(c).to_list() for c in ("participant_id", "form_version", *SCOPES)]
    scope_sets: dict[tuple[str | None, ...], frozenset[str]] = {}
    # When every id is well formed (checked over the column) the per-row check can be skipped.
    ids_valid = bool(
        table.frame.get_column("participant_id").str.contains(PARTICIPANT_ID.pattern).fill_null(False).all()
    )
    for index, (pid_cell, version_cell, *cells) in enumerate(zip(*columns, strict=True)):
        row = index + 2
        day = dates[index]
        pid = pid_cell if ids_valid else _participant(pid_cell, label, row)
        version = _required(version_cell, label, row, "form_version")
        day = _required_date(day, label, row, "consented_on")
        key = tuple(cells)
        scopes = scope_sets.get(key)
        if scopes is None:
            scopes = scope_sets[key] = _scopes(dict(zip(SCOPES, cells, strict=True)), label, row)
        if (pid, day) in seen:
            msg = f"a second consent event for {pid} on {day} (the first is row {seen[pid, day]})"
            raise RegisterError(
                msg,
                path=label, row=row, field="consented_on",
                fix="Keep one event per participant and day: merge the rows, or correct the date.",
            )
        seen[pid, day] = row
        events.append(ConsentEvent(pid, version, day, scopes, row))
    return tuple(events)


def read_withdrawals(path: Path, label: str | None = None) -> tuple[Withdrawal, ...]:
    """Read withdrawals.csv: participant, date, reason, scope (no further data | remove all data)."""
    label = label or path.as_posix()
    table = _read(path, label)
    _check_header(table, label, WITHDRAWAL_COLUMNS, WITHDRAWAL_OPTIONAL)
    dates = _dates(table.frame, "withdrawn_on", label)
    withdrawals: list[Withdrawal] = []
    seen: dict[tuple[str, str], int] = {}
    for index, (record, day) in enumerate(zip(table.frame.iter_rows(named=True), dates, strict=True)):
        row = index + 2
        pid = _participant(record["participant_id"], label, row)
        day = _required_date(day, label, row, "withdrawn_on")
        scope = (_required(record["scope"], label, row, "scope")).lower()
        if scope not in WITHDRAWAL_SCOPES:
            msg = f"{record['scope']!r} is not a withdrawal scope"
            raise RegisterError(
                msg, path=label, row=row, field="scope",
                fix='Write "no further data" or "remove all data".',
            )
        if (pid, scope) in seen:
            msg = f"{pid} already has a {scope!r} withdrawal in row {seen[pid, scope]}"
            raise RegisterError(
                msg,
                path=label, row=row, field="scope", fix="Keep one row per participant and scope.",
            )
        seen[pid, scope] = row
        withdrawals.append(Withdrawal(pid, day, scope, record["reason"], row))  # type: ignore[arg-type]
    return tuple(withdrawals)


def _yaml_location(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def read_ethics(path: Path, label: str | None = None) -> Ethics:
    """Read ethics.yml: approvals with their committee, reference, period, forms and amendments."""
    label = label or path.as_posix()
    fix = "See the commented example in governance/ethics.yml and docs/governance.md."
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError as exc:
        msg = "is missing"
        raise RegisterError(msg, path=label, fix="Create it: " + fix) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        msg = f"is not valid YAML ({getattr(exc, 'problem', exc)})"
        raise RegisterError(
            msg, path=label,
            row=mark.line + 1 if mark else None, fix="Fix the syntax there.",
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
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "is not a key studykit knows"
        elif first["type"] == "missing":
            message = "is missing"
        raise RegisterError(message, path=label, field=_yaml_location(first["loc"]), fix=fix) from exc


def load_registers(study: Study) -> Registers:
    """Read and check the consent, withdrawal and ethics registers of a study."""
    return Registers(
        consent=read_consent(study.consent_path, _label(study, study.consent_path)),
        withdrawals=read_withdrawals(study.withdrawals_path, _label(study, study.withdrawals_path)),
        ethics=read_ethics(study.ethics_path, _label(study, study.ethics_path)),
    )
