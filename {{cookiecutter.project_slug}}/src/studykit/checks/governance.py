"""Governance layer: consent, withdrawals and ethics approvals against the data (codes GOV###).

Every dated piece of participant data (a measure row, an employment row, a
transcript) must have been collected while its participant's consent to
participate was in force, before any withdrawal, and inside an ethics approval
period; every consent event must use a form version ethics had approved on that
day. Data of a "remove all data" withdrawal still in ``data/`` are a warning that
the erasure procedure is due (docs/governance.md explains why not an error).
Unreadable cells are skipped here: the structure layer reports them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run, dated_rows
from studykit.errors import RegisterError, StudykitError
from studykit.files import study_relative
from studykit.governance import coverage
from studykit.governance.audit import audit_gaps, read_audit_lines
from studykit.governance.consent_filter import ConsentFilter
from studykit.governance.coverage import in_force
from studykit.governance.journal import leftovers
from studykit.governance.registers import Approval, Ethics, Registers, load_registers
from studykit.study import Study
from studykit.tables import FIRST_DATA_ROW, cast

DOC = "See docs/governance.md."

MALFORMED = Rule(
    "GOV001",
    "governance",
    "Register malformed",
    "error",
    "A governance register (consent.csv, withdrawals.csv, ethics.yml) does not follow its schema, so no "
    "consent rule can be checked.",
    "Correct the register at the row and field named; studykit consent add/withdraw keep it valid.",
)
NO_CONSENT = Rule(
    "GOV002",
    "governance",
    "Collected without consent in force",
    "error",
    "Data were collected on a date when the participant's consent to participate was not in force: no "
    "consent event on or before that date, or the latest one does not include participate.",
    "Check the collection date and the consent register; data collected without consent must not be used "
    "(record the consent if it was given and missed, with its real date).",
)
AFTER_WITHDRAWAL = Rule(
    "GOV003",
    "governance",
    "Collected after withdrawal",
    "error",
    "Data are dated on or after the participant's withdrawal; nothing may be collected after a withdrawal.",
    "Check the date; if the data really were collected after the withdrawal, remove them and tell the "
    "data protection officer.",
)
FORM_NOT_APPROVED = Rule(
    "GOV004",
    "governance",
    "Consent form version not approved",
    "error",
    "A consent event uses a form version that no ethics approval or amendment covered on the consent date.",
    "Correct the form version, or record the approval (or amendment) covering it in governance/ethics.yml.",
)
OUTSIDE_APPROVAL = Rule(
    "GOV005",
    "governance",
    "Collected outside an approval period",
    "error",
    "Data are dated outside every ethics approval period (before approval or after expiry).",
    "Check the date; record an extension as an amendment with a new expires_on in governance/ethics.yml.",
)
APPROVAL_EXPIRING = Rule(
    "GOV006",
    "governance",
    "Ethics approval expiring",
    "warning",
    "An ethics approval ends within governance.ethics_expiry_warning_days of today, or every approval has "
    "ended.",
    "Apply for an extension in time and record it as an amendment with the new expires_on.",
)
ERASURE_DUE = Rule(
    "GOV007",
    "governance",
    "Data to remove still present",
    "warning",
    "The participant asked to remove all data and the withdrawal policy removes this row. studykit already "
    "leaves it out of analysis, reports and deposits; the raw copy is still here.",
    "Once the data protection officer has decided (studykit consent decide PID --decision erase), run "
    "studykit consent erase PID to list every copy and studykit consent erase PID --apply to erase and log "
    "it (docs/governance.md).",
)
NOT_ENROLLED = Rule(
    "GOV008",
    "governance",
    "Participant not in participants.csv",
    "warning",
    "A participant named in a governance register has no row in data/participants.csv.",
    "Add the participant to data/participants.csv, or correct the id in the register.",
)
NO_CONSENT_EVENT = Rule(
    "GOV009",
    "governance",
    "Participant without consent",
    "error",
    "A participant in data/participants.csv has no consent event in governance/consent.csv.",
    "Record their consent with `studykit consent add`, or remove the participant.",
)
CONSENT_AFTER_WITHDRAWAL = Rule(
    "GOV010",
    "governance",
    "Consent recorded after withdrawal",
    "error",
    "A consent event is dated after the participant withdrew; a withdrawal is final in studykit.",
    "Correct the date; a participant who rejoins is enrolled again under a new id.",
)
NO_APPROVAL = Rule(
    "GOV011",
    "governance",
    "No ethics approval recorded",
    "error",
    "The study holds consent events or data but governance/ethics.yml lists no approval.",
    "Record the approval (committee, reference, dates, consent form versions) in governance/ethics.yml.",
)
WITHDRAWAL_WITHOUT_CONSENT = Rule(
    "GOV012",
    "governance",
    "Withdrawal without earlier consent",
    "warning",
    "A withdrawal is dated before any consent event of the participant.",
    "Check the withdrawal date and the consent register.",
)
AUDITED_CHANGE_MISSING = Rule(
    "GOV013",
    "governance",
    "Audited edit missing from its register",
    "error",
    "governance/audit.log records a consent event or withdrawal (studykit consent add or withdraw) that the "
    "register does not hold: the change was lost, for example overwritten by a hand edit.",
    "Put the row back in the register: the audit entry's record holds every cell. If the row was corrected "
    "by hand, keep the audited row and record the correction as a new event.",
)
UNAUDITED_ROW = Rule(
    "GOV014",
    "governance",
    "Register row without audit entry",
    "warning",
    "A row was added to consent.csv or withdrawals.csv after studykit began keeping that register's audit "
    "trail, but no audit entry records it: it was typed in by hand, or its audit line was lost. Rows from "
    "before the first audited row are not counted.",
    "Check the row against the signed form or the request; record changes with studykit consent add or "
    "withdraw, which audit them.",
)
INTERRUPTED_EDIT = Rule(
    "GOV015",
    "governance",
    "Files left by an interrupted edit",
    "warning",
    "governance/.studykit/ holds files of an edit that was interrupted: staged copies of a register or of "
    "the audit log (pseudonymous personal data, git-ignored), or the journal of an edit that was committed "
    "but not finished.",
    "Run studykit consent status (or any consent edit): it finishes a committed edit and deletes what an "
    "uncommitted one left.",
)
register(
    MALFORMED,
    NO_CONSENT,
    AFTER_WITHDRAWAL,
    FORM_NOT_APPROVED,
    OUTSIDE_APPROVAL,
    APPROVAL_EXPIRING,
    ERASURE_DUE,
    NOT_ENROLLED,
    NO_CONSENT_EVENT,
    CONSENT_AFTER_WITHDRAWAL,
    NO_APPROVAL,
    WITHDRAWAL_WITHOUT_CONSENT,
    AUDITED_CHANGE_MISSING,
    UNAUDITED_ROW,
    INTERRUPTED_EDIT,
)


@dataclass(frozen=True)
class Collected:
    """One dated piece of a participant's data: a table row, or a transcript they took part in."""

    file: str
    row: int | None
    column: str
    participant_id: str
    collected_on: dt.date


def _label(study: Study, path: Path) -> str:
    return study_relative(study, path)


def _table_frame(run: Run, path: Path, date_column: str) -> pl.DataFrame | None:
    """(row, participant_id, day) of rows with a readable id and date; the rest is the structure layer's.

    A measure table's are remembered by the measures layer, which has read the table already.
    """
    if not path.is_file():
        return None
    shared = run.dated(path)
    if shared is not None:
        return shared
    try:
        table = run.read_table(path)
    except StudykitError:
        return None
    if "participant_id" not in table.header or date_column not in table.header:
        return None
    typed, _ = cast(table.frame.select("participant_id", date_column), {date_column: "date"})
    return dated_rows(typed, date_column)


def _tables(run: Run) -> list[tuple[str, str, pl.DataFrame]]:
    """(file, date column, rows) of every dated table: measures, then employment."""
    study = run.study
    sources = [(study.measures_path(i), "completed_on") for i in study.instruments]
    sources.append((study.employment_path, "recorded_on"))
    found = []
    for path, column in sources:
        frame = _table_frame(run, path, column)
        if frame is not None:
            found.append((_label(study, path), column, frame))
    return found


def _table_rows(run: Run, path: Path, date_column: str) -> Iterator[Collected]:
    """Rows with a readable participant id and date; anything else is the structure layer's to report."""
    frame = _table_frame(run, path, date_column)
    if frame is None:
        return
    file = _label(run.study, path)
    for row, pid, day in frame.select("row", "participant_id", "day").iter_rows():
        yield Collected(file, row, date_column, pid, day)


def _transcripts(study: Study) -> Iterator[Collected]:
    from studykit.qual.transcripts import read_transcript, transcript_paths

    for path in transcript_paths(study):
        try:
            transcript = read_transcript(path)
        except StudykitError:
            continue  # the qualitative layer reports unreadable transcripts
        for pid in transcript.participants:
            yield Collected(_label(study, path), None, "participants", pid, transcript.date)


def collected(run: Run) -> Iterator[Collected]:
    """Every dated piece of participant data: measures, employment and transcripts."""
    study = run.study
    for instrument in study.instruments:
        yield from _table_rows(run, study.measures_path(instrument), "completed_on")
    yield from _table_rows(run, study.employment_path, "recorded_on")
    yield from _transcripts(study)


def _enrolled(run: Run) -> pl.DataFrame | None:
    """(row, participant_id) of participants.csv rows with an id, or None when it cannot be read."""
    try:
        # Only the id column: participants.csv has a row per participant, and more columns.
        table = run.read_table(run.study.participants_path, columns=["participant_id"])
    except StudykitError:
        return None
    rows = table.frame.with_row_index("row", offset=FIRST_DATA_ROW)
    return rows.filter(pl.col("participant_id").is_not_null())


def check(run: Run, *, today: dt.date | None = None) -> Iterator[Finding]:
    """Yield findings for consent, withdrawal and ethics rules."""
    study = run.study
    try:
        registers = load_registers(study, read=run.read_table)
    except RegisterError as exc:
        yield MALFORMED.finding(
            exc.message,
            file=(exc.path or study.governance_dir).as_posix(),
            row=exc.row,
            column=exc.field,
            fix=exc.fix,
        )
        return
    today = today or run.today or dt.datetime.now(dt.UTC).date()
    consent_file = _label(study, study.consent_path)
    yield from _register_findings(registers, consent_file, _label(study, study.withdrawals_path))
    yield from _audit_findings(study, registers)
    tables = _tables(run)
    transcripts = list(_transcripts(study))
    has_data = bool(transcripts) or any(frame.height for _, _, frame in tables)
    ethics_file = _label(study, study.ethics_path)
    approvals = registers.ethics.approvals
    if not approvals and (registers.consent_frame.height or has_data):
        yield NO_APPROVAL.finding("no approval is recorded", file=ethics_file, column="approvals")
    if approvals:
        yield from _form_findings(registers, consent_file)
        yield from _expiry_findings(study, registers, ethics_file, today)
    suspects = [
        (file, column, _suspects(frame, registers, check_period=bool(approvals)))
        for file, column, frame in tables
    ]
    # Rows that may break a rule, transcripts and removal requests are decided one participant
    # at a time, exactly; the registers narrowed to those participants index quickly.
    asked = {item.participant_id for item in transcripts}
    asked.update(w.participant_id for w in registers.withdrawals if w.removes_data)
    for _, _, rows in suspects:
        asked.update(rows.get_column("participant_id").unique().to_list())
    narrowed = registers.for_participants(asked)
    consent = ConsentFilter(narrowed, study.governance.withdrawal)
    for file, column, rows in suspects:
        for judged in rows.iter_rows(named=True):
            item = Collected(file, judged["row"], column, judged["participant_id"], judged["day"])
            yield from _collection_findings(item, judged, narrowed, consent, check_period=bool(approvals))
    for item, judged in zip(transcripts, _judge_transcripts(transcripts, narrowed), strict=True):
        yield from _collection_findings(item, judged, narrowed, consent, check_period=bool(approvals))
    enrolled = _enrolled(run)
    if enrolled is not None:
        yield from _enrolment_findings(study, registers, consent, enrolled)


def register_findings(study: Study, registers: Registers) -> Iterator[Finding]:
    """The rules about register rows, as validation runs them and the governed edits run them on a staged row.

    GOV010 and GOV012 (``in_force`` on each row's own date), GOV004 (form approved on the
    consent date) and GOV008 (participant not in participants.csv, when it can be read).
    """
    consent_file = _label(study, study.consent_path)
    yield from _register_findings(registers, consent_file, _label(study, study.withdrawals_path))
    yield from _form_findings(registers, consent_file)
    enrolled = _enrolled(Run(study))
    if enrolled is not None:
        yield from _not_enrolled_findings(study, registers, enrolled)


def _suspects(frame: pl.DataFrame, registers: Registers, *, check_period: bool) -> pl.DataFrame:
    """Rows of (row, participant_id, day) that may yield a collection finding, in row order.

    Each with ``in_force``'s verdict and details: rows it does not cover, rows outside every
    approval period (decided once per distinct date), and rows of a participant who asked
    to remove all data.
    """
    judged = frame.select("row").hstack(in_force(frame.select("participant_id", "day"), registers))
    uncovered: list[dt.date] = []
    if check_period:
        days = frame.get_column("day").unique().drop_nulls().to_list()
        uncovered = [day for day in days if not registers.ethics.covers(day)]
    removing = sorted({w.participant_id for w in registers.withdrawals if w.removes_data})
    return judged.filter(
        (pl.col("verdict") != coverage.COVERED)
        | pl.col("day").is_in(uncovered)
        | pl.col("participant_id").is_in(removing)
    )


def _judge_transcripts(transcripts: list[Collected], registers: Registers) -> list[dict]:
    """``in_force``'s verdict and details for each transcript participant, in order."""
    rows = pl.DataFrame(
        {
            "participant_id": [t.participant_id for t in transcripts],
            "day": [t.collected_on for t in transcripts],
        },
        schema={"participant_id": pl.String, "day": pl.Date},
    )
    return in_force(rows, registers).to_dicts()


def _register_findings(registers: Registers, consent_file: str, withdrawals_file: str) -> Iterator[Finding]:
    """GOV010 and GOV012: register rows ``in_force`` judges on their own dates."""
    if not registers.withdrawals:
        return
    withdrawals = registers.withdrawal_frame
    withdrawing = withdrawals.get_column("participant_id").implode()
    consent = registers.consent_frame.filter(pl.col("participant_id").is_in(withdrawing))
    judged = consent.select("row").hstack(
        in_force(consent.select("participant_id", pl.col("consented_on").alias("day")), registers)
    )
    for event in judged.filter(pl.col("verdict") == coverage.WITHDRAWN).iter_rows(named=True):
        yield CONSENT_AFTER_WITHDRAWAL.finding(
            f"{event['participant_id']} consented on {event['day']} but withdrew "
            f"({event['withdrawal_scope']}) on {event['withdrawn_on']}",
            file=consent_file,
            row=event["row"],
            column="consented_on",
            value=event["day"],
        )
    # A withdrawal judged on its own date: no consent event was in force then.
    judged = withdrawals.select("row").hstack(
        in_force(withdrawals.select("participant_id", pl.col("withdrawn_on").alias("day")), registers)
    )
    for withdrawal in judged.filter(pl.col("consented_on").is_null()).iter_rows(named=True):
        yield WITHDRAWAL_WITHOUT_CONSENT.finding(
            f"{withdrawal['participant_id']} withdrew on {withdrawal['day']}, before any consent event",
            file=withdrawals_file,
            row=withdrawal["row"],
            column="withdrawn_on",
            value=withdrawal["day"],
        )


def _audit_findings(study: Study, registers: Registers) -> Iterator[Finding]:
    """GOV013 and GOV014: the registers against the audit log; GOV015: leftovers of an interrupted edit."""
    log = _label(study, study.audit_log_path)
    for path in leftovers(study):
        yield INTERRUPTED_EDIT.finding(
            f"{path.name} was left by an interrupted edit",
            file=_label(study, path),
        )
    try:
        entries = read_audit_lines(study.audit_log_path, log)
    except RegisterError as exc:
        yield MALFORMED.finding(exc.message, file=log, row=exc.row, fix=exc.fix)
        return
    gaps = audit_gaps(
        registers, entries, _label(study, study.consent_path), _label(study, study.withdrawals_path)
    )
    for number, entry in gaps.lost:
        record = entry["record"]
        what = "consent event" if entry["action"] == "consent add" else "withdrawal"
        day = record.get("consented_on") or record.get("withdrawn_on")
        yield AUDITED_CHANGE_MISSING.finding(
            f"the {what} of {entry.get('participant_id')} dated {day}, recorded by {entry.get('by')} at "
            f"{entry.get('at')}, is not in {entry.get('register')}",
            file=log,
            row=number,
            value=entry.get("participant_id"),
        )
    for file, row, pid in gaps.unaudited:
        yield UNAUDITED_ROW.finding(
            f"{pid}'s row has no entry in {log}", file=file, row=row, column="participant_id", value=pid
        )


def _form_findings(registers: Registers, consent_file: str) -> Iterator[Finding]:
    ethics, consent = registers.ethics, registers.consent_frame
    # Few distinct (form, date) pairs across many consent events: decide each once.
    pairs = consent.select("form_version", "consented_on").unique()
    approved = [ethics.approves_form(version, day) for version, day in pairs.iter_rows()]
    unapproved = pairs.filter(~pl.Series(approved, dtype=pl.Boolean))
    failing = consent.join(unapproved, on=["form_version", "consented_on"], how="semi", maintain_order="left")
    reasons: dict[dt.date, str] = {}
    for pid, version, day, row in failing.select(
        "participant_id", "form_version", "consented_on", "row"
    ).iter_rows():
        if day not in reasons:
            reasons[day] = _why_not_approved(ethics, day)
        yield FORM_NOT_APPROVED.finding(
            f"{pid} consented on {day} with form {version}; {reasons[day]}",
            file=consent_file,
            row=row,
            column="form_version",
            value=version,
        )


def _why_not_approved(ethics: Ethics, day: dt.date) -> str:
    current = [a for a in ethics.approvals if a.covers(day)]
    if not current:
        return "no ethics approval period covers that date"
    approved = sorted(v for a in current for v in a.form_versions() if _approved_by(a, v, day))
    return f"approved versions then: {', '.join(approved) or 'none'}"


def _approved_by(approval: Approval, version: str, day: dt.date) -> bool:
    return approval.approves_form(version, day)


def _expiry_findings(
    study: Study, registers: Registers, ethics_file: str, today: dt.date
) -> Iterator[Finding]:
    approvals = registers.ethics.approvals
    if all(a.ends_on is not None and a.ends_on < today for a in approvals):
        index, last = max(enumerate(approvals), key=lambda pair: pair[1].ends_on or dt.date.min)
        yield APPROVAL_EXPIRING.finding(
            f"every ethics approval has ended; the last ({last.reference}) ended on {last.ends_on}",
            file=ethics_file,
            column=f"approvals[{index}].expires_on",
            value=last.ends_on,
        )
        return
    window = study.governance.ethics_expiry_warning_days
    for index, approval in enumerate(approvals):
        end = approval.ends_on
        if end is not None and approval.approved_on <= today <= end and (end - today).days <= window:
            yield APPROVAL_EXPIRING.finding(
                f"approval {approval.reference} ends on {end}, in {(end - today).days} day(s)",
                file=ethics_file,
                column=f"approvals[{index}].expires_on",
                value=end,
            )


def _collection_findings(
    item: Collected, judged: dict, registers: Registers, consent: ConsentFilter, *, check_period: bool
) -> Iterator[Finding]:
    """GOV002 and GOV003 from ``in_force``'s verdict on the item, then GOV005 and GOV007."""
    pid, day, verdict = item.participant_id, item.collected_on, judged["verdict"]
    where = {"file": item.file, "row": item.row, "column": item.column}
    if verdict == coverage.WITHDRAWN:
        yield AFTER_WITHDRAWAL.finding(
            f"{pid}'s data dated {day} come after their withdrawal ({judged['withdrawal_scope']}) on "
            f"{judged['withdrawn_on']}",
            **where,
            value=day if item.row else pid,
        )
    elif verdict == coverage.NO_CONSENT:
        first = judged["first_consent"]
        later = f"their first consent is dated {first}" if first else "no consent event"
        yield NO_CONSENT.finding(
            f"{pid}'s data dated {day} come before any consent; {later}",
            **where,
            value=day if item.row else pid,
        )
    elif verdict == coverage.NO_SCOPE:
        yield NO_CONSENT.finding(
            f"{pid}'s consent in force on {day} (form {judged['form_version']}, {judged['consented_on']}) "
            "does not include participate",
            **where,
            value=day if item.row else pid,
        )
    if check_period and not registers.ethics.covers(day):
        yield OUTSIDE_APPROVAL.finding(
            f"{pid}'s data dated {day} fall outside every ethics approval period",
            **where,
            value=day if item.row else pid,
        )
    removal = registers.removal(pid)
    if removal is not None and consent.removes(pid, day):
        yield ERASURE_DUE.finding(
            f"{pid} asked to remove all data on {removal.withdrawn_on}; this is still in data/",
            **{**where, "column": "participant_id" if item.row else where.get("column")},
            value=pid,
            fix=_erase_fix(pid),
        )


def _erase_fix(pid: str) -> str:
    return (
        f"Run studykit consent erase {pid} to list every copy of their data; once the data protection "
        f"officer has decided to erase (studykit consent decide {pid} --decision erase), studykit consent "
        f"erase {pid} --apply erases and logs it (docs/governance.md)."
    )


def _enrolment_findings(
    study: Study, registers: Registers, consent: ConsentFilter, enrolled: pl.DataFrame
) -> Iterator[Finding]:
    """Participants without consent or due for erasure, then register entries not enrolled.

    ``consent`` need only know the participants who asked to remove all data.
    """
    participants_file = _label(study, study.participants_path)
    consenting = registers.consent_frame.select("participant_id")
    removing = sorted({w.participant_id for w in registers.withdrawals if w.removes_data})
    erased = [pid for pid in removing if consent.registers.events(pid) and consent.removes(pid, None)]
    flagged = (
        pl.concat(
            [
                enrolled.lazy()
                .join(consenting.lazy(), on="participant_id", how="anti", maintain_order="left")
                .with_columns(consented=pl.lit(value=False)),
                enrolled.lazy()
                .filter(pl.col("participant_id").is_in(erased))
                .with_columns(consented=pl.lit(value=True)),
            ]
        )
        .sort("row")
        .collect()
    )
    for row, pid, consented in flagged.select("row", "participant_id", "consented").iter_rows():
        if not consented:
            yield NO_CONSENT_EVENT.finding(
                f"{pid} has no consent event",
                file=participants_file,
                row=row,
                column="participant_id",
                value=pid,
            )
        else:
            yield ERASURE_DUE.finding(
                f"{pid} asked to remove all data; their participants.csv row is still here",
                file=participants_file,
                row=row,
                column="participant_id",
                value=pid,
                fix=_erase_fix(pid),
            )
    yield from _not_enrolled_findings(study, registers, enrolled)


def _not_enrolled_findings(study: Study, registers: Registers, enrolled: pl.DataFrame) -> Iterator[Finding]:
    """GOV008: register participants missing from participants.csv (not after a removal request)."""
    removing = sorted({w.participant_id for w in registers.withdrawals if w.removes_data})
    registers_by_file = [
        (_label(study, study.consent_path), registers.consent_frame),
        (_label(study, study.withdrawals_path), registers.withdrawal_frame),
    ]
    for file, entries in registers_by_file:
        # Each participant once, at their first entry; after an erasure the participant is gone
        # from participants.csv by design.
        absent = (
            entries.lazy()
            .join(
                enrolled.lazy().select("participant_id"),
                on="participant_id",
                how="anti",
                maintain_order="left",
            )
            .filter(~pl.col("participant_id").is_in(removing))
            .unique("participant_id", keep="first", maintain_order=True)
            .collect()
        )
        for pid, row in absent.select("participant_id", "row").iter_rows():
            yield NOT_ENROLLED.finding(
                f"{pid} is not in data/participants.csv",
                file=file,
                row=row,
                column="participant_id",
                value=pid,
            )
