"""Governed edits of the registers: ``consent add`` and ``consent withdraw``.

An edit holds the governance folder's lock (``journal.edit_lock``) from reading the
registers to replacing them. It stages the register with its new row, reads it back
with the reader validation uses, and runs validation's own register rules on the staged
registers (``checks.governance.register_findings``: GOV004 form approved, GOV010 consent
after withdrawal, GOV012 withdrawal before consent): a problem the new row would bring
is a refusal, and a participant not in participants.csv (GOV008) a warning. Only then
are the register and its audit line written, as one unit (``journal.write_together``).
A refused edit raises ``RegisterError`` and leaves every file byte for byte as it was.
Re-consent (a new form version, changed scopes) is a new event, never an overwrite.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from studykit.checks.findings import Finding
from studykit.errors import RegisterError
from studykit.files import study_relative
from studykit.governance.audit import AuditEntry, appended_log, timestamp, utc_now, who
from studykit.governance.journal import edit_lock, write_together
from studykit.governance.registers import (
    SCOPES,
    WITHDRAWAL_SCOPES,
    ConsentEvent,
    Registers,
    Withdrawal,
    load_registers,
    read_consent_frame,
    read_withdrawals,
)
from studykit.study import Study

# Validation's register rules an edit may not break with its new row, and those it only reports.
REFUSED = frozenset({"GOV004", "GOV010", "GOV012"})
WARNED = frozenset({"GOV008"})


@dataclass(frozen=True)
class Edit:
    """A recorded edit: its audit entry, and what validation will warn about (never a refusal)."""

    entry: AuditEntry
    warnings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The audit entry as recorded, with the warnings validation will give about it."""
        return {**self.entry.to_dict(), "warnings": [dataclasses.asdict(w) for w in self.warnings]}


def event_date(value: str | None, now: dt.datetime | None = None) -> dt.date:
    """The date given on the command line (YYYY-MM-DD), or today in UTC."""
    if value is None:
        return (now or utc_now()).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        msg = f"--on {value!r} is not a date"
        raise RegisterError(msg, fix="Write it as YYYY-MM-DD.") from exc


def _label(study: Study, path: Path) -> str:
    return study_relative(study, path)


def _refuse(
    message: str,
    *,
    study: Study,
    path: Path,
    row: int | None = None,
    field: str | None = None,
    fix: str | None = None,
) -> NoReturn:
    sentence = f"refused, nothing changed: {message}"
    raise RegisterError(sentence, path=_label(study, path), row=row, field=field, fix=fix)


def _check_date(study: Study, path: Path, day: dt.date, today: dt.date) -> None:
    if day > today:
        _refuse(f"the date {day} is in the future", study=study, path=path, fix="Use the real date.")


def add_consent(
    study: Study,
    participant_id: str,
    *,
    form_version: str,
    consented_on: dt.date,
    scopes: Iterable[str],
    by: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Edit:
    """Record a consent event (a new row: re-consent never overwrites) and audit it."""
    now = now or utc_now()
    path = study.consent_path
    author = who(study, by)
    _check_date(study, path, consented_on, now.date())
    scopes = list(dict.fromkeys(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        _refuse(
            f"unknown scope(s) {', '.join(unknown)}",
            study=study,
            path=path,
            fix=f"Scopes are: {', '.join(SCOPES)}.",
        )
    event = ConsentEvent(participant_id, form_version.strip(), consented_on, frozenset(scopes))
    cells = {
        "participant_id": participant_id,
        "form_version": event.form_version,
        "consented_on": consented_on.isoformat(),
        **{s: "yes" if s in event.scopes else "" for s in SCOPES},
    }
    with edit_lock(study):
        registers = load_registers(study)
        previous = registers.latest(participant_id)
        entry = AuditEntry(
            at=timestamp(now),
            by=author,
            action="consent add",
            register=_label(study, path),
            participant_id=participant_id,
            record=event.record(),
            previous=previous.record() if previous else None,
            reason=reason,
        )

        def staged(file: Path) -> Registers:
            return Registers(
                read_consent_frame(file, _label(study, path)), registers.withdrawals, registers.ethics
            )

        warnings = _write(study, path, cells, entry, registers, staged)
    return Edit(entry, warnings)


def withdraw(
    study: Study,
    participant_id: str,
    *,
    withdrawn_on: dt.date,
    scope: str,
    reason: str | None = None,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> Edit:
    """Record a withdrawal ("no further data" or "remove all data") and audit it."""
    now = now or utc_now()
    path = study.withdrawals_path
    author = who(study, by)
    _check_date(study, path, withdrawn_on, now.date())
    scope = scope.strip().lower().replace("-", " ").replace("_", " ")
    if scope not in WITHDRAWAL_SCOPES:
        _refuse(
            f"{scope!r} is not a withdrawal scope",
            study=study,
            path=path,
            field="scope",
            fix='Use "no further data" or "remove all data".',
        )
    record = Withdrawal(participant_id, withdrawn_on, scope, reason)  # type: ignore[arg-type]
    cells = {
        "participant_id": participant_id,
        "withdrawn_on": withdrawn_on.isoformat(),
        "reason": reason or "",
        "scope": scope,
    }
    with edit_lock(study):
        registers = load_registers(study)
        removal = registers.removal(participant_id)
        if removal is not None:
            _refuse(
                f"{participant_id} already asked to remove all data on {removal.withdrawn_on}",
                study=study,
                path=path,
                field="scope",
                fix="Nothing more to record; see docs/governance.md for erasure.",
            )
        earlier = registers.withdrawals_of(participant_id)
        entry = AuditEntry(
            at=timestamp(now),
            by=author,
            action="consent withdraw",
            register=_label(study, path),
            participant_id=participant_id,
            record=record.record(),
            previous=[w.record() for w in earlier] or None,
            reason=reason,
        )

        def staged(file: Path) -> Registers:
            withdrawals = read_withdrawals(file, _label(study, path))
            return Registers(registers.consent_frame, withdrawals, registers.ethics)

        warnings = _write(study, path, cells, entry, registers, staged)
    return Edit(entry, warnings)


def _row_bytes(path: Path, cells: dict[str, str]) -> bytes:
    """The register's bytes with one row appended, in its own header order, encoding and line ending."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding, text = "utf-8", raw[3:].decode("utf-8")
    else:
        try:
            encoding, text = "utf-8", raw.decode("utf-8")
        except UnicodeDecodeError:
            encoding, text = "latin-1", raw.decode("latin-1")
    header = next(csv.reader(io.StringIO(text)), [])
    ending = "\r\n" if "\r\n" in text else "\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerow([cells.get(column.strip(), "") for column in header])
    separator = b"" if not raw or raw.endswith(b"\n") else ending.encode()
    return raw + separator + buffer.getvalue().encode(encoding)


def _write(
    study: Study,
    path: Path,
    cells: dict[str, str],
    entry: AuditEntry,
    registers: Registers,
    staged_registers: Callable[[Path], Registers],
) -> tuple[Finding, ...]:
    """Stage the register and the audit log, judge the staged registers, then replace both as one unit.

    Returns the warnings validation will give about the participant (GOV008).
    """
    from studykit.checks.governance import register_findings

    log = study.audit_log_path
    warnings: list[Finding] = []

    def judge(staged: dict[Path, Path]) -> None:
        try:
            after = staged_registers(staged[path])
        except RegisterError as exc:
            _refuse(exc.message, study=study, path=path, row=exc.row, field=exc.field, fix=exc.fix)
        # Every register rule is about one participant's rows: judging theirs alone is exact.
        found = list(register_findings(study, after.for_participants([entry.participant_id])))
        new = [f for f in found if f.code in REFUSED]
        if new:  # only what the new row brings: what was wrong before is validation's to report
            narrowed = registers.for_participants([entry.participant_id])
            before = {_key(f) for f in register_findings(study, narrowed)}
            new = [f for f in new if _key(f) not in before]
        # What the new row itself breaks first, then what it breaks elsewhere (an earlier consent).
        new.sort(key=lambda f: f.file != _label(study, path))
        if new:
            first = new[0]
            where = study.root / first.file
            _refuse(first.message, study=study, path=where, row=first.row, field=first.column, fix=first.fix)
        warnings.extend(f for f in found if f.code in WARNED and f.value == entry.participant_id)

    write_together(study, {path: _row_bytes(path, cells), log: appended_log(log, entry)}, check=judge)
    return tuple(warnings)


def _key(finding: Finding) -> tuple:
    return (finding.code, finding.file, finding.row, finding.column, finding.value)
