"""The audit trail: one JSON line per governed edit in ``governance/audit.log``.

Each line says who (``--by`` or ``git config user.name``), when (UTC, ISO 8601),
what (the action and the new record) and the previous value, as trusted EDC
systems do (domain notes §3.3). The log is written together with its register, as
one unit, by ``journal.write_together``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from studykit.errors import RegisterError
from studykit.files import git_output
from studykit.governance.registers import SCOPES, Registers
from studykit.study import Study


@dataclass(frozen=True)
class AuditEntry:
    """One governed edit: who, when, what, on which register, and what was there before."""

    at: str
    by: str
    action: str
    register: str
    participant_id: str
    record: dict[str, object]
    previous: object
    reason: str | None = None

    def line(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False) + "\n"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def who(study: Study, by: str | None) -> str:
    """The person making the edit: ``--by``, else ``git config user.name`` in the study folder."""
    if by and by.strip():
        return by.strip()
    name = (git_output(study.root, "config", "user.name", timeout=30) or "").strip()
    if not name:
        msg = "cannot tell who is making this edit: no --by NAME and no git user.name"
        raise RegisterError(msg, fix="Pass --by NAME, or set `git config user.name`.")
    return name


def read_audit(path: Path) -> list[dict]:
    """Every entry of an audit log (an empty list when there is none yet)."""
    return [entry for _, entry in read_audit_lines(path)]


def read_audit_lines(path: Path, label: str | None = None) -> list[tuple[int, dict]]:
    """(line number, entry) of every entry; a line that is not a JSON object is a ``RegisterError``."""
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            msg = "is not an audit entry (one JSON object per line)"
            fix = "Restore the line from version control; studykit only ever appends to this file."
            raise RegisterError(msg, path=label or path.as_posix(), row=number, fix=fix)
        entries.append((number, entry))
    return entries


@dataclass(frozen=True)
class AuditGaps:
    """Where a register and the audit log disagree.

    ``unaudited``: (register file, spreadsheet row, participant) of rows no audit entry records,
    added after the first audited row of their register (rows from before studykit kept the
    trail are not counted). ``lost``: (audit line, entry) of audited edits the register lacks.
    """

    unaudited: list[tuple[str, int, str]]
    lost: list[tuple[int, dict]]


CONSENT_KEY = ("participant_id", "form_version", "consented_on", "scopes")
WITHDRAWAL_KEY = ("participant_id", "withdrawn_on", "scope")


def audit_gaps(
    registers: Registers, entries: list[tuple[int, dict]], consent_file: str, withdrawals_file: str
) -> AuditGaps:
    """Compare the consent and withdrawal registers with the audit entries of ``consent add|withdraw``.

    Each audited record must be in its register (as often as it was audited), and each
    register row after the register's first audited row must have its audit entry.
    """
    consent = registers.consent_frame.select(
        "row",
        "participant_id",
        "form_version",
        pl.col("consented_on").cast(pl.String),
        pl.concat_str(
            [pl.when(pl.col(s)).then(pl.lit(s)) for s in SCOPES], separator=",", ignore_nulls=True
        ).alias("scopes"),
    )
    withdrawals = registers.withdrawal_frame.select(
        "row", "participant_id", pl.col("withdrawn_on").cast(pl.String), "scope"
    )
    audited = {"consent add": [], "consent withdraw": []}
    for number, entry in entries:
        record = entry.get("record")
        if entry.get("action") in audited and isinstance(record, dict):
            audited[entry["action"]].append((number, entry, record))
    unaudited: list[tuple[str, int, str]] = []
    lost: list[tuple[int, dict]] = []
    for file, frame, key, action in (
        (consent_file, consent, CONSENT_KEY, "consent add"),
        (withdrawals_file, withdrawals, WITHDRAWAL_KEY, "consent withdraw"),
    ):
        records = audited[action]
        if not records:
            continue
        trail = pl.DataFrame(
            {
                "_line": [number for number, _, _ in records],
                **{name: [_cell(record.get(name)) for _, _, record in records] for name in key},
            },
            schema={"_line": pl.Int64, **dict.fromkeys(key, pl.String)},
        )
        # The n-th row with a key answers the n-th audit entry with it.
        rows = frame.with_columns(pl.int_range(pl.len()).over(key).alias("_nth"))
        trail = trail.with_columns(pl.int_range(pl.len()).over(key).alias("_nth"))
        on = [*key, "_nth"]
        matched = rows.join(trail, on=on, how="semi", nulls_equal=True)
        first = matched.get_column("row").min()
        if first is not None:
            missing = rows.join(trail, on=on, how="anti", nulls_equal=True).filter(pl.col("row") > first)
            unaudited += [
                (file, row, pid) for row, pid in missing.select("row", "participant_id").iter_rows()
            ]
        by_line = {number: entry for number, entry, _ in records}
        gone = trail.join(rows, on=on, how="anti", nulls_equal=True).get_column("_line").sort()
        lost += [(number, by_line[number]) for number in gone]
    return AuditGaps(unaudited, sorted(lost, key=lambda pair: pair[0]))


def _cell(value: object) -> str | None:
    """An audited value as the register holds it (scopes as the comma-joined ticked scopes)."""
    if isinstance(value, list):
        return ",".join(s for s in SCOPES if s in value)
    return None if value is None else str(value)


def appended_log(path: Path, entry: AuditEntry) -> bytes:
    """The audit log's bytes with ``entry`` appended (existing lines are never rewritten)."""
    old = path.read_bytes() if path.is_file() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return old + entry.line().encode("utf-8")
