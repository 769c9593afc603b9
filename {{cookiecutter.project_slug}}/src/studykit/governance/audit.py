"""The audit trail: one JSON line per governed edit in ``governance/audit.log``.

Each line says who (``--by`` or ``git config user.name``), when (UTC, ISO 8601),
what (the action and the new record) and the previous value, as trusted EDC
systems do (domain notes §3.3). The log is written together with its register, as
one unit, by ``journal.write_together``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from studykit.errors import RegisterError
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
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=False) + "\n"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def who(study: Study, by: str | None) -> str:
    """The person making the edit: ``--by``, else ``git config user.name`` in the study folder."""
    if by and by.strip():
        return by.strip()
    try:
        result = subprocess.run(
            ["git", "config", "user.name"],
            cwd=study.root, capture_output=True, text=True, check=False, timeout=30,
        )
        name = result.stdout.strip() if result.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        name = ""
    if not name:
        msg = "cannot tell who is making this edit: no --by NAME and no git user.name"
        raise RegisterError(msg, fix="Pass --by NAME, or set `git config user.name`.")
    return name


def read_audit(path: Path) -> list[dict]:
    """Every entry of an audit log (an empty list when there is none yet)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def appended_log(path: Path, entry: AuditEntry) -> bytes:
    """The audit log's bytes with ``entry`` appended (existing lines are never rewritten)."""
    old = path.read_bytes() if path.is_file() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return old + entry.line().encode("utf-8")
