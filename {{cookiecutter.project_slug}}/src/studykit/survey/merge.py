"""The platform-neutral half of a survey import: answers to codes, rows to waves, the merge.

A platform reader (``redcap.read_export``, ``qualtrics.read_export``) turns an export into
``Parsed``: one ``Response`` per participant, wave and instrument, with each item's cell as
the export holds it, and what it dropped or could not read. ``merge`` then:

- turns each cell into the item's code by the definition (a code, or a response label);
- checks each participant id against the id pattern and data/participants.csv;
- compares every row with what ``data/measures/<instrument>.csv`` holds: a new row is added,
  an identical one left unchanged, one that differs refused (or replaced with ``replace``);
- writes the tables and one audit line per added or replaced row as one unit, under the
  governance lock (``journal.edit_lock`` / ``write_together``), then runs validation and keeps
  its findings about the rows written.

Any problem with the input (an unknown label, an unknown participant, an event that maps to
no wave, a record and event twice) means nothing is written: every problem is a sentence in the
summary. Values from the export shown in the summary go through the identifier checks first
(``shown_value``), so an e-mail address typed into a field is masked, never repeated.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from studykit.errors import StudykitError
from studykit.files import study_relative
from studykit.instruments import Instrument, Item
from studykit.package import header_row, measures_resource
from studykit.qual.identifiers import find_identifiers
from studykit.study import PARTICIPANT_ID, Study

KEY = ("participant_id", "wave", "completed_on")
MAX_PROBLEMS = 200


def choices(instrument: Instrument, item: Item) -> dict[int, str]:
    """Every code of an item with the text a platform shows for it: its label, else the code itself.

    Partly labelled scales (only the anchors have labels) show the bare number for the others,
    so a label export of such a code reads back as the same number.
    """
    response = instrument.response_for(item)
    return {code: response.labels.get(code, str(code)) for code in range(response.min, response.max + 1)}


def runs(instrument: Instrument) -> list[list[Item]]:
    """The items in order, cut wherever the response set changes (one matrix or grid per run)."""
    groups: list[list[Item]] = []
    for item in instrument.items:
        if groups and choices(instrument, groups[-1][-1]) == choices(instrument, item):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def required(instrument: Instrument, item: Item) -> bool:
    """An item is required when a score that uses it needs every one of its items."""
    return any(item.id in s.items and s.required_items == len(s.items) for s in instrument.scores)


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def shown_value(value: object) -> str:
    """A value from an export as the summary may show it: masked when it looks like an identifier."""
    text = "" if value is None else str(value)
    found = find_identifiers(text)
    if not found:
        return text if len(text) <= 60 else text[:59] + "…"
    return "; ".join(m.masked for m in found)


@dataclass(frozen=True)
class Problem:
    """Why part of an export cannot be imported: where (spreadsheet row of the export), what, the fix."""

    message: str
    fix: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def sentence(self) -> str:
        where = ", ".join(p for p in (f"row {self.row}" if self.row else "", self.column or "") if p)
        return f"{where + ': ' if where else ''}{self.message}. {self.fix}"


@dataclass(frozen=True)
class Dropped:
    """A column of the export that was left out, and why (it identifies people, or is not the study's)."""

    column: str
    reason: str


def dropped_text(column: str, values: Iterable[str], reason: str) -> Dropped:
    """A dropped column, its free text screened by the identifier checks (kinds counted, never shown)."""
    kinds: dict[str, int] = {}
    for value in dict.fromkeys(v.strip() for v in values if v and v.strip()):
        for match in find_identifiers(value):
            kinds[match.label] = kinds.get(match.label, 0) + 1
    if kinds:
        found = ", ".join(f"{kind} ×{n}" for kind, n in kinds.items())
        reason += f"; it holds what look like identifiers ({found}): keep the export file safe, or delete it"
    return Dropped(column, reason)


def sort_columns(
    header: list[str],
    data_rows: list[list[str]],
    *,
    identifying: set[str],
    known: set[str],
    prefixes: set[str],
    unknown_reason: str,
) -> tuple[list[Dropped], list[str]]:
    """An export's columns that are not the study's: (dropped, foreign).

    Identifying columns are dropped unread; a column named like one of the study's
    questions or forms (``<prefix>_...``) that the study does not have is *foreign* (an
    export of another survey or version: the caller refuses it); any other unknown column
    is dropped, its text screened for identifiers.
    """
    column = {name: n for n, name in enumerate(header)}
    dropped: list[Dropped] = []
    foreign: list[str] = []
    for name in header:
        if name in identifying:
            dropped.append(Dropped(name, "identifies people"))
        elif name not in known:
            if any(name.startswith(f"{p}_") for p in prefixes):
                foreign.append(name)
            else:
                values = (r[column[name]] for r in data_rows if column[name] < len(r))
                dropped.append(dropped_text(name, values, unknown_reason))
    return dropped, foreign


@dataclass(frozen=True)
class Response:
    """One participant's answers to one instrument at one wave, as the export holds them."""

    instrument: str
    record: str
    wave: str
    completed_on: str
    cells: dict[str, str]
    row: int
    columns: dict[str, str] = field(default_factory=dict)
    """The export's column for each item (for messages)."""


@dataclass
class Parsed:
    """What a platform reader found in an export."""

    platform: str
    source: str
    responses: list[Response] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass
class TableChange:
    """What the import does to one measure table."""

    file: str
    added: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    replaced: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SurveyImport:
    """The summary of ``studykit survey import``: per table added, kept, refused; what was dropped."""

    platform: str
    source: str
    dry_run: bool
    written: bool = False
    tables: list[TableChange] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    unknown_labels: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return sum(len(t.refused) for t in self.tables)

    @property
    def clean(self) -> bool:
        """Nothing refused, no problem, and validation finds no error in the rows written."""
        errors = [f for f in self.findings if f.get("severity") == "error"]
        return not self.problems and not self.refused and not errors

    def to_dict(self) -> dict[str, object]:
        def keys(pairs: list[tuple[str, str]]) -> list[str]:
            return [f"{pid} {wave}" for pid, wave in pairs]

        return {
            "platform": self.platform,
            "source": self.source,
            "dry_run": self.dry_run,
            "written": self.written,
            "counts": {
                "added": sum(len(t.added) for t in self.tables),
                "unchanged": sum(len(t.unchanged) for t in self.tables),
                "replaced": sum(len(t.replaced) for t in self.tables),
                "refused": self.refused,
            },
            "tables": [
                {
                    "file": t.file,
                    "added": keys(t.added),
                    "unchanged": keys(t.unchanged),
                    "replaced": keys(t.replaced),
                    "refused": keys(t.refused),
                }
                for t in self.tables
            ],
            "dropped_columns": [dataclasses.asdict(d) for d in self.dropped],
            "skipped": dict(self.skipped),
            "unknown_labels": list(self.unknown_labels),
            "problems": [p.sentence() for p in self.problems],
            "findings": list(self.findings),
        }


# --- reading an export -------------------------------------------------------------------------


def read_csv_rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        msg = f"cannot be read ({exc.strerror or exc})"
        raise StudykitError(msg, path=path) from exc
    except UnicodeDecodeError as exc:
        msg = "is not UTF-8 text"
        raise StudykitError(msg, path=path, fix="Export it again as CSV (UTF-8).") from exc
    try:
        return [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        msg = f"is not a CSV file ({exc})"
        raise StudykitError(msg, path=path, fix="Export it again as CSV.") from exc


def a_date(value: str) -> str | None:
    """The date (YYYY-MM-DD) at the start of a timestamp or date cell, or None."""
    text = value.strip()[:10]
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


# --- answers to codes ---------------------------------------------------------------------------


def code_of(instrument: Instrument, item: Item, cell: str) -> int | None:
    """The code a cell stands for: a response label (any case and spacing) or the code itself."""
    options = choices(instrument, item)
    wanted = _normal(cell)
    for code, label in options.items():
        if _normal(label) == wanted:
            return code
    try:
        number = float(cell.strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() and int(number) in options else None


def _codes(instrument: Instrument, response: Response, problems: list[Problem], unknown: list[str]) -> dict:
    values: dict[str, str] = {}
    for item in instrument.items:
        cell = (response.cells.get(item.id) or "").strip()
        if not cell:
            values[item.id] = ""
            continue
        code = code_of(instrument, item, cell)
        if code is None:
            options = " | ".join(f"{c}, {label}" for c, label in choices(instrument, item).items())
            shown = shown_value(cell)
            unknown.append(f"{instrument.id}.{item.id}: {shown}")
            problems.append(
                Problem(
                    f"{shown!r} is neither a response label nor a code of {instrument.id} {item.id}",
                    f"The item's responses are {options}; export the data from the project built from "
                    "this study's dictionary, or correct the cell.",
                    row=response.row,
                    column=response.columns.get(item.id, item.id),
                    value=shown,
                )
            )
            continue
        values[item.id] = str(code)
    return values


# --- the tables ---------------------------------------------------------------------------------


def _read_table(path: Path) -> tuple[list[str], list[dict[str, str]], str]:
    """The header, rows and line ending of a measure table ([] rows when it does not exist yet)."""
    if not path.is_file():
        return [], [], "\n"
    text = path.read_bytes().decode("utf-8-sig")
    ending = "\r\n" if "\r\n" in text else "\n"
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    return [h.strip() for h in reader.fieldnames or []], rows, ending


def _table_bytes(header: list[str], rows: list[dict[str, str]], ending: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=ending)
    writer.writerow(header)
    writer.writerows([row.get(column, "") for column in header] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _same(stored: dict[str, str], new: dict[str, str]) -> bool:
    def normal(value: str) -> str:
        try:
            number = float(value)
        except ValueError:
            return value.strip()
        return str(int(number)) if number.is_integer() else str(number)

    return all(normal(stored.get(k, "")) == normal(v) for k, v in new.items())


def _known_participants(study: Study) -> set[str] | None:
    if not study.participants_path.is_file():
        return None
    _, rows, _ = _read_table(study.participants_path)
    return {row.get("participant_id", "") for row in rows}


def _participant(record: str, known: set[str] | None, row: int, column: str) -> Problem | None:
    if not PARTICIPANT_ID.match(record):
        shown = shown_value(record)
        return Problem(
            f"the record id {shown!r} is not a participant id (such as P001)",
            "Use the pseudonymous participant id as the record id (REDCap record_id, Qualtrics "
            "ExternalReference or the column given with --id-column).",
            row=row,
            column=column,
            value=shown,
        )
    if known is not None and record not in known:
        return Problem(
            f"participant {record} is not in data/participants.csv",
            "Add the participant to data/participants.csv first, then import again.",
            row=row,
            column=column,
            value=record,
        )
    return None


def plan(study: Study, instruments: Iterable[Instrument], parsed: Parsed, *, replace: bool) -> tuple:
    """Work out every table's new content; nothing is written. Returns (summary, new files, audit rows)."""
    by_id = {i.id: i for i in instruments}
    summary = SurveyImport(parsed.platform, parsed.source, dry_run=False)
    summary.dropped, summary.skipped = list(parsed.dropped), dict(parsed.skipped)
    problems = list(parsed.problems)
    known = _known_participants(study)
    seen: dict[tuple[str, str, str], int] = {}
    files: dict[Path, bytes] = {}
    audit: list[tuple[str, str, dict, dict | None]] = []
    grouped: dict[str, list[tuple[Response, dict[str, str]]]] = {}
    checked: set[str] = set()
    for response in parsed.responses:
        instrument = by_id[response.instrument]
        if response.record not in checked:
            checked.add(response.record)
            wrong = _participant(response.record, known, response.row, "participant id")
            if wrong is not None:
                problems.append(wrong)
        key = (response.instrument, response.record, response.wave)
        if key in seen:
            problems.append(
                Problem(
                    f"{response.record} has a second {response.instrument} response for wave {response.wave} "
                    f"(the first is on row {seen[key]})",
                    "Keep one response per participant and wave in the export (delete the duplicate record "
                    "or event in the platform), then export again.",
                    row=response.row,
                    column="participant id",
                    value=response.record,
                )
            )
            continue
        seen[key] = response.row
        if not response.completed_on:
            problems.append(
                Problem(
                    f"{response.record}'s {response.instrument} response at wave {response.wave} has no "
                    "completion date",
                    "Fill in the completion date field (REDCap) or export the survey's EndDate (Qualtrics).",
                    row=response.row,
                    column=f"{response.instrument} completion date",
                )
            )
            continue
        codes = _codes(instrument, response, problems, summary.unknown_labels)
        cells = {
            "participant_id": response.record,
            "wave": response.wave,
            "completed_on": response.completed_on,
            **codes,
        }
        grouped.setdefault(instrument.id, []).append((response, cells))
    summary.problems = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        summary.problems.append(Problem(f"and {more} more problems", "Fix the ones above and import again."))
    for instrument_id, rows in grouped.items():
        instrument = by_id[instrument_id]
        path = study.measures_path(instrument_id)
        change = TableChange(study_relative(study, path))
        summary.tables.append(change)
        header, stored, ending = _read_table(path)
        if not header:
            header = header_row(measures_resource(study, instrument)).strip().split(",")
        missing = [c for c in (*KEY, *instrument.item_ids) if c not in header]
        if missing:
            summary.problems.append(
                Problem(
                    f"{change.file} lacks the columns {', '.join(missing)}",
                    "Run `studykit package sync` and add the columns, then import again.",
                )
            )
            continue
        index = {(r.get("participant_id", ""), r.get("wave", "")): n for n, r in enumerate(stored)}
        scores = [s.id for s in instrument.scores if s.id in header]
        changed = False
        for _, cells in rows:
            key = (cells["participant_id"], cells["wave"])
            if key not in index:
                stored.append(dict(cells))
                index[key] = len(stored) - 1
                change.added.append(key)
                audit.append((change.file, "survey import: row added", cells, None))
                changed = True
            elif _same(stored[index[key]], cells):
                change.unchanged.append(key)
            elif replace:
                before = dict(stored[index[key]])
                # Stored scores were computed from the old answers: they are cleared, not kept stale.
                stored[index[key]] = {**before, **cells, **dict.fromkeys(scores, "")}
                change.replaced.append(key)
                audit.append((change.file, "survey import: row replaced", cells, before))
                changed = True
            else:
                change.refused.append(key)
        if changed:
            files[path] = _table_bytes(header, stored, ending)
    return summary, files, audit


def merge(
    study: Study,
    instruments: list[Instrument],
    parsed: Parsed,
    *,
    replace: bool = False,
    dry_run: bool = False,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> SurveyImport:
    """Merge parsed responses into the measure tables (see the module docstring); the summary says what."""
    summary, files, audit = plan(study, instruments, parsed, replace=replace)
    summary.dry_run = dry_run
    if dry_run or summary.problems or not files:
        return summary
    from studykit.governance.audit import AuditEntry, timestamp, utc_now, who
    from studykit.governance.journal import edit_lock, write_together

    author = who(study, by)
    moment = timestamp(now or utc_now())
    reason = f"{parsed.platform} export {parsed.source}"
    with edit_lock(study):
        # Read again under the lock: another edit may have changed a table since the plan.
        summary, files, audit = plan(study, instruments, parsed, replace=replace)
        if summary.problems or not files:
            return summary
        log = study.audit_log_path
        text = log.read_bytes() if log.is_file() else b""
        if text and not text.endswith(b"\n"):
            text += b"\n"
        for file, action, cells, before in audit:
            entry = AuditEntry(
                at=moment,
                by=author,
                action=action,
                register=file,
                participant_id=cells["participant_id"],
                record=cells,
                previous=before,
                reason=reason,
            )
            text += entry.line().encode("utf-8")
        write_together(study, {**files, log: text})
    summary.written = True
    summary.findings = _findings(study, summary)
    return summary


def _findings(study: Study, summary: SurveyImport) -> list[dict]:
    """What validation says about the rows written (and about the written tables as a whole)."""
    from studykit.checks import validate

    written = {t.file: {(pid, wave) for pid, wave in [*t.added, *t.replaced]} for t in summary.tables}
    rows: dict[str, set[int]] = {}
    for file in written:
        _, stored, _ = _read_table(study.root / file)
        rows[file] = {
            n + 2 for n, r in enumerate(stored) if (r.get("participant_id"), r.get("wave")) in written[file]
        }
    report = validate(study)
    return [
        dataclasses.asdict(f)
        for f in sorted(report.findings, key=lambda f: f.sort_key())
        if f.file in rows and (f.row is None or f.row in rows[f.file])
    ]
