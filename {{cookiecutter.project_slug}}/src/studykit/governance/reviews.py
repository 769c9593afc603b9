"""Reviewed disclosure findings: ``governance/reviewed.csv`` and ``studykit review add``.

The disclosure layer flags *candidates* (an e-mail, a phone number, a name); a person
decides. When they decide a candidate is not an identifier (a public helpline's address,
a number that is not a phone), ``add_review`` records that decision: the file, the code,
the row (a transcript's line) and column, a SHA-256 hash of the flagged text, who, when
and why. The text itself is never written: the hash lets validation tell the reviewed
value from a new one at the same place. Validation then reports the finding as reviewed
(severity info), so it no longer fails the run; if the text there changes, the hash
differs and the finding is an error again.

A hash is not encryption: a short value such as a phone number can be found from its
hash by trying every number, so ``governance/`` stays as private as the transcripts
(it is never deposited as it is).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from studykit.errors import RegisterError
from studykit.files import study_relative
from studykit.governance.audit import AuditEntry, timestamp, utc_now, who
from studykit.governance.journal import edit_lock, write_together
from studykit.study import Study

__all__ = ["COLUMNS", "REVIEWED_FILE", "Review", "add_review", "read_reviews", "reviews_path", "value_digest"]

REVIEWED_FILE = "reviewed.csv"
COLUMNS = ("file", "code", "row", "column", "value_sha256", "reviewer", "reviewed_on", "reason")


def value_digest(value: str) -> str:
    """The SHA-256 of the flagged text (hex): what ``reviewed.csv`` keeps instead of the text."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Review:
    """One reviewed finding: where it is, the hash of its text, who decided, when and why."""

    file: str
    code: str
    row: int | None
    column: str | None
    value_sha256: str
    reviewer: str
    reviewed_on: dt.date
    reason: str

    @property
    def key(self) -> tuple[str, str, int | None, str | None, str]:
        return (self.file, self.code, self.row, self.column, self.value_sha256)

    def cells(self) -> dict[str, str]:
        cells = {k: "" if v is None else str(v) for k, v in asdict(self).items()}
        cells["reviewed_on"] = self.reviewed_on.isoformat()
        return cells


def reviews_path(study: Study) -> Path:
    return study.governance_dir / REVIEWED_FILE


def read_reviews(path: Path) -> dict[tuple, Review]:
    """The reviews recorded in ``path`` by their key (none when the file does not exist yet)."""
    if not path.is_file():
        return {}
    label = f"{path.parent.name}/{path.name}"
    fix = "It must be a UTF-8 CSV written by `studykit review add`."
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        msg = f"cannot be read ({exc})"
        raise RegisterError(msg, path=label, fix=fix) from exc
    reviews: dict[tuple, Review] = {}
    for number, row in enumerate(rows, start=2):
        try:
            review = Review(
                file=row["file"],
                code=row["code"],
                row=int(row["row"]) if row["row"] else None,
                column=row["column"] or None,
                value_sha256=row["value_sha256"],
                reviewer=row["reviewer"],
                reviewed_on=dt.date.fromisoformat(row["reviewed_on"]),
                reason=row["reason"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = "is not a review as `studykit review add` writes it"
            fix = f"Its columns are {', '.join(COLUMNS)}; row numbers are whole numbers, dates YYYY-MM-DD."
            raise RegisterError(msg, path=label, row=number, fix=fix) from exc
        reviews[review.key] = review
    return reviews


def _file_label(study: Study, file: Path | str) -> str:
    """The file as the validation report names it: relative to the study folder."""
    path = Path(file)
    return study_relative(study, path) if path.is_absolute() else path.as_posix()


def add_review(
    study: Study,
    file: Path | str,
    *,
    row: int,
    code: str,
    reason: str,
    column: str | None = None,
    by: str | None = None,
    on: dt.date | None = None,
) -> list[Review]:
    """Record that a person reviewed the disclosure finding(s) ``code`` at ``file``, ``row``.

    The findings are found again now, so what is recorded is the hash of the text that
    is there; the text is never written. Raises ``RegisterError`` when no such finding
    is there or no reason is given. Appends to ``governance/reviewed.csv`` and the audit log.
    """
    from studykit.checks.disclosure import identifier_candidates
    from studykit.checks.run import Run

    if not reason.strip():
        msg = "a review needs a reason"
        raise RegisterError(msg, fix="Pass --reason, e.g. --reason 'public helpline, not a person'.")
    label = _file_label(study, file)
    reviewer = who(study, by)
    day = on or utc_now().date()
    found = [
        c
        for c in identifier_candidates(Run(study))
        if (c.finding.file, c.finding.code, c.finding.row, c.finding.column) == (label, code, row, column)
    ]
    if not found:
        where = f"{label}, row {row}" + (f", column {column}" if column else "")
        msg = f"there is no {code} finding at {where} to review"
        raise RegisterError(
            msg,
            fix="Copy the file, row, column and code from `studykit validate`'s report "
            "(a transcript's row is its line).",
        )
    path = reviews_path(study)
    with edit_lock(study):
        known = read_reviews(path)
        reviews = [
            Review(label, code, row, column, c.digest, reviewer, day, reason.strip())
            for c in found
            if (label, code, row, column, c.digest) not in known
        ]
        if reviews:
            _append(study, path, reviews)
    return reviews


def _append(study: Study, path: Path, reviews: Iterable[Review]) -> None:
    """Append the reviews and their audit lines: both files replaced together, or neither (under the lock)."""
    reviews = list(reviews)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_bytes() if path.is_file() else b""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not old:
        writer.writerow(COLUMNS)
    elif not old.endswith(b"\n"):
        old += b"\n"
    for review in reviews:
        writer.writerow([review.cells()[c] for c in COLUMNS])
    log = study.audit_log_path
    moment = timestamp(utc_now())
    lines = b"".join(
        AuditEntry(moment, r.reviewer, "review add", f"governance/{REVIEWED_FILE}", "", r.cells(), None,
                   r.reason).line().encode("utf-8")
        for r in reviews
    )  # fmt: skip
    old_log = log.read_bytes() if log.is_file() else b""
    if old_log and not old_log.endswith(b"\n"):
        old_log += b"\n"
    write_together(study, {path: old + buffer.getvalue().encode("utf-8"), log: old_log + lines})


