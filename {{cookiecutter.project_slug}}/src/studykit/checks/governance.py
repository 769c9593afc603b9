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
from studykit.governance.consent_filter import ConsentFilter, doubtful_participants
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
    "Delete the participant's rows, transcripts and coded segments from data/ following the erasure "
    "procedure in docs/governance.md, and record the erasure (without the erased content).",
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
    try:
        return path.relative_to(study.root).as_posix()
    except ValueError:
        return path.as_posix()


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
    today = today or dt.datetime.now(dt.UTC).date()
    consent_file = _label(study, study.consent_path)
    yield from _register_findings(registers, consent_file, _label(study, study.withdrawals_path))
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
        for row, pid, day in rows.select("row", "participant_id", "day").iter_rows():
            item = Collected(file, row, column, pid, day)
            yield from _collection_findings(item, narrowed, consent, check_period=bool(approvals))
    for item in transcripts:
        yield from _collection_findings(item, narrowed, consent, check_period=bool(approvals))
    enrolled = _enrolled(run)
    if enrolled is not None:
        yield from _enrolment_findings(study, registers, consent, enrolled)


def _suspects(frame: pl.DataFrame, registers: Registers, *, check_period: bool) -> pl.DataFrame:
    """Rows of (row, participant_id, day) that may yield a collection finding, in row order.

    A superset of the failing rows, computed over whole columns: no consent event in
    force (an as-of join on the consent events), consent without participate, on or after
    a withdrawal, outside every approval period (decided once per distinct date), or of a
    participant who asked to remove all data.
    """
    if frame.height == 0:
        return frame
    uncovered: list[dt.date] = []
    if check_period:
        days = frame.get_column("day").unique().drop_nulls().to_list()
        uncovered = [day for day in days if not registers.ethics.covers(day)]
    # Only a doubtful participant's rows (a withdrawal, consent without participate, data before
    # consent) may break a consent rule; anyone's rows on an uncovered day break the period rule.
    doubtful = doubtful_participants(frame, registers).implode()
    candidates = (
        frame.lazy()
        .filter(pl.col("participant_id").is_in(doubtful) | pl.col("day").is_in(uncovered))
        .collect()
    )
    events = (
        registers.consent_frame.filter(
            pl.col("participant_id").is_in(candidates.get_column("participant_id").implode())
        )
        .select(
            "participant_id",
            pl.col("consented_on").alias("_consented_on"),
            pl.col("participate").alias("_participate"),
        )
        .sort("_consented_on", maintain_order=True)
    )
    withdrawn = registers.withdrawal_frame.group_by("participant_id").agg(
        pl.col("withdrawn_on").min().alias("_withdrawn_on")
    )
    removing = sorted({w.participant_id for w in registers.withdrawals if w.removes_data})
    joined = (
        candidates.sort("day")
        # Both sides are sorted by date; polars cannot verify that within groups, hence no check.
        .join_asof(
            events,
            left_on="day",
            right_on="_consented_on",
            by="participant_id",
            strategy="backward",
            check_sortedness=False,
        )
        .join(withdrawn, on="participant_id", how="left")
    )
    suspect = (
        pl.col("_consented_on").is_null()
        | ~pl.col("_participate").fill_null(value=False)
        | (pl.col("day") >= pl.col("_withdrawn_on")).fill_null(value=False)
        | pl.col("participant_id").is_in(removing)
    )
    if check_period:
        suspect = suspect | pl.col("day").is_in(uncovered)
    return joined.filter(suspect).select(frame.columns).sort("row")


def _register_findings(registers: Registers, consent_file: str, withdrawals_file: str) -> Iterator[Finding]:
    if not registers.withdrawals:
        return
    consent, withdrawals = registers.consent_frame, registers.withdrawal_frame
    # withdrawn_by(participant, day) is the participant's earliest withdrawal, once day reaches it.
    earliest = (
        withdrawals.sort("withdrawn_on", maintain_order=True)
        .group_by("participant_id", maintain_order=True)
        .first()
        .select("participant_id", "withdrawn_on", pl.col("scope").alias("withdrawal_scope"))
    )
    late = consent.join(earliest, on="participant_id", how="inner", maintain_order="left").filter(
        pl.col("consented_on") >= pl.col("withdrawn_on")
    )
    columns = ("participant_id", "consented_on", "row", "withdrawal_scope", "withdrawn_on")
    for pid, consented_on, row, scope, withdrawn_on in late.select(columns).iter_rows():
        yield CONSENT_AFTER_WITHDRAWAL.finding(
            f"{pid} consented on {consented_on} but withdrew ({scope}) on {withdrawn_on}",
            file=consent_file,
            row=row,
            column="consented_on",
            value=consented_on,
        )
    # consent_on(participant, day) is None when their first consent comes after day, or never.
    withdrawing = withdrawals.get_column("participant_id")
    firsts = (
        consent.filter(pl.col("participant_id").is_in(withdrawing.implode()))
        .group_by("participant_id")
        .agg(pl.col("consented_on").min())
    )
    first_consent = dict(firsts.iter_rows())
    for withdrawal in registers.withdrawals:
        pid, day = withdrawal.participant_id, withdrawal.withdrawn_on
        first = first_consent.get(pid)
        if first is None or first > day:
            yield WITHDRAWAL_WITHOUT_CONSENT.finding(
                f"{pid} withdrew on {day}, before any consent event",
                file=withdrawals_file,
                row=withdrawal.row,
                column="withdrawn_on",
                value=day,
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
    item: Collected, registers: Registers, consent: ConsentFilter, *, check_period: bool
) -> Iterator[Finding]:
    pid, day = item.participant_id, item.collected_on
    where = {"file": item.file, "row": item.row, "column": item.column}
    withdrawal = registers.withdrawn_by(pid, day)
    event = registers.consent_on(pid, day)
    if withdrawal is not None:
        yield AFTER_WITHDRAWAL.finding(
            f"{pid}'s data dated {day} come after their withdrawal ({withdrawal.scope}) on "
            f"{withdrawal.withdrawn_on}",
            **where,
            value=day if item.row else pid,
        )
    elif event is None:
        events = registers.events(pid)
        later = f"their first consent is dated {events[0].consented_on}" if events else "no consent event"
        yield NO_CONSENT.finding(
            f"{pid}'s data dated {day} come before any consent; {later}",
            **where,
            value=day if item.row else pid,
        )
    elif not event.has("participate"):
        yield NO_CONSENT.finding(
            f"{pid}'s consent in force on {day} (form {event.form_version}, {event.consented_on}) does not "
            "include participate",
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
        f"Delete {pid}'s rows, transcripts and coded segments from data/ following the erasure procedure "
        "in docs/governance.md, and record the erasure (without the erased content)."
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
