"""Governed edits of the registers: ``consent add`` and ``consent withdraw``.

An edit is checked against the registers as they are, written to a temporary copy
of the register, read back with the same reader that validation uses, and only
then put in place together with its audit line. A refused edit raises
``RegisterError`` and leaves every file byte for byte as it was.
Re-consent (a new form version, changed scopes) is a new event, never an overwrite.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from studykit.errors import RegisterError
from studykit.governance.audit import (
    AuditEntry,
    appended_log,
    commit,
    discard,
    stage,
    timestamp,
    utc_now,
    who,
)
from studykit.governance.registers import (
    PARTICIPANT_ID,
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
    return path.relative_to(study.root).as_posix()


def _refuse(
    message: str, *, study: Study, path: Path, field: str | None = None, fix: str | None = None
) -> NoReturn:
    sentence = f"refused, nothing changed: {message}"
    raise RegisterError(sentence, path=_label(study, path), field=field, fix=fix)


def _check_common(study: Study, path: Path, participant_id: str, day: dt.date, today: dt.date) -> None:
    if not PARTICIPANT_ID.match(participant_id):
        _refuse(
            f"{participant_id!r} is not a participant id",
            study=study,
            path=path,
            field="participant_id",
            fix="Use the pseudonymous id from data/participants.csv, e.g. P001.",
        )
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
) -> AuditEntry:
    """Record a consent event (a new row: re-consent never overwrites) and audit it."""
    now = now or utc_now()
    path = study.consent_path
    registers = load_registers(study)
    _check_common(study, path, participant_id, consented_on, now.date())
    scopes = list(dict.fromkeys(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        _refuse(
            f"unknown scope(s) {', '.join(unknown)}",
            study=study,
            path=path,
            fix=f"Scopes are: {', '.join(SCOPES)}.",
        )
    if not form_version.strip():
        _refuse("the consent form version is blank", study=study, path=path, field="form_version")
    withdrawal = registers.withdrawn_by(participant_id, consented_on)
    if withdrawal is not None:
        _refuse(
            f"{participant_id} withdrew ({withdrawal.scope}) on {withdrawal.withdrawn_on}, which is final",
            study=study,
            path=path,
            field="consented_on",
            fix="Check the date; a participant who rejoins is enrolled again under a new id.",
        )
    if not registers.ethics.approves_form(form_version, consented_on):
        _refuse(
            f"consent form {form_version} was not approved by ethics on {consented_on}",
            study=study,
            path=path,
            field="form_version",
            fix="Check the version, or record the approval or amendment in governance/ethics.yml first.",
        )
    event = ConsentEvent(participant_id, form_version.strip(), consented_on, frozenset(scopes))
    cells = {
        "participant_id": participant_id,
        "form_version": event.form_version,
        "consented_on": consented_on.isoformat(),
        **{s: "yes" if s in event.scopes else "" for s in SCOPES},
    }
    previous = registers.latest(participant_id)
    entry = AuditEntry(
        at=timestamp(now),
        by=who(study, by),
        action="consent add",
        register=_label(study, path),
        participant_id=participant_id,
        record=event.record(),
        previous=previous.record() if previous else None,
        reason=reason,
    )
    _write(study, path, cells, entry, lambda staged: read_consent_frame(staged, _label(study, path)))
    return entry


def withdraw(
    study: Study,
    participant_id: str,
    *,
    withdrawn_on: dt.date,
    scope: str,
    reason: str | None = None,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> AuditEntry:
    """Record a withdrawal ("no further data" or "remove all data") and audit it."""
    now = now or utc_now()
    path = study.withdrawals_path
    registers = load_registers(study)
    _check_common(study, path, participant_id, withdrawn_on, now.date())
    scope = scope.strip().lower().replace("-", " ").replace("_", " ")
    if scope not in WITHDRAWAL_SCOPES:
        _refuse(
            f"{scope!r} is not a withdrawal scope",
            study=study,
            path=path,
            field="scope",
            fix='Use "no further data" or "remove all data".',
        )
    _check_withdrawal(study, registers, participant_id, withdrawn_on, scope)
    record = Withdrawal(participant_id, withdrawn_on, scope, reason)  # type: ignore[arg-type]
    cells = {
        "participant_id": participant_id,
        "withdrawn_on": withdrawn_on.isoformat(),
        "reason": reason or "",
        "scope": scope,
    }
    earlier = registers.withdrawals_of(participant_id)
    entry = AuditEntry(
        at=timestamp(now),
        by=who(study, by),
        action="consent withdraw",
        register=_label(study, path),
        participant_id=participant_id,
        record=record.record(),
        previous=[w.record() for w in earlier] or None,
        reason=reason,
    )
    _write(study, path, cells, entry, lambda staged: read_withdrawals(staged, _label(study, path)))
    return entry


def _check_withdrawal(study: Study, registers: Registers, pid: str, day: dt.date, scope: str) -> None:
    path = study.withdrawals_path
    if registers.consent_on(pid, day) is None:
        first = registers.events(pid)
        hint = f"their first consent is dated {first[0].consented_on}" if first else "no consent event"
        _refuse(
            f"{pid} has no consent on or before {day} ({hint})",
            study=study,
            path=path,
            field="withdrawn_on",
            fix="Check the participant id and the date.",
        )
    removal = registers.removal(pid)
    if removal is not None:
        _refuse(
            f"{pid} already asked to remove all data on {removal.withdrawn_on}",
            study=study,
            path=path,
            field="scope",
            fix="Nothing more to record; see docs/governance.md for erasure.",
        )
    same = [w for w in registers.withdrawals_of(pid) if w.scope == scope]
    if same:
        _refuse(
            f"{pid} already withdrew ({scope}) on {same[0].withdrawn_on}",
            study=study,
            path=path,
            field="scope",
        )


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
    study: Study, path: Path, cells: dict[str, str], entry: AuditEntry, reread: Callable[[Path], object]
) -> None:
    """Stage the register and the audit log, validate the staged register, then replace both."""
    log = study.audit_log_path
    staged_register = stage(path, _row_bytes(path, cells))
    staged_log: Path | None = None
    try:
        reread(staged_register)  # the same reader validation uses: a malformed result raises here
        staged_log = stage(log, appended_log(log, entry))
    except BaseException:
        discard(staged_register, *([staged_log] if staged_log else []))
        raise
    commit(staged_register, path)
    commit(staged_log, log)
