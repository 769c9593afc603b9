"""REDCap: the data dictionary, events and instrument-event mapping out of the definitions; exports in.

Out (the CSV formats REDCap's Data Dictionary, Define My Events and Designate Instruments
pages upload): one form per instrument named by its id, one field ``<form>_<item>`` per item
(radio, choices ``code, label | ...`` from the response labels; a text field with integer
validation when an item has no labels), the item text where the licence allows it (else the
item id and a field note asking for the licensed wording), consecutive items sharing choices
in one matrix group, a completion date field ``<form>_completed_on`` (date_ymd), and
``record_id`` (the participant id) first. Unique event names are made the way REDCap makes
them (``Project::getUniqueEventNames`` in REDCap 15.7: letters, digits and underscores of the
event name, 18 characters, ``_arm_1``).

In: a CSV export with variable names in the header (raw codes or labels in the cells).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

from studykit.errors import StudykitError
from studykit.instruments import Instrument, Item
from studykit.study import Study, Wave
from studykit.survey.merge import (
    Parsed,
    Problem,
    Response,
    a_date,
    choices,
    read_csv_rows,
    required,
    runs,
    shown_value,
    sort_columns,
)

COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
"""The data dictionary's columns, in the order REDCap writes and reads them."""
EVENT_COLUMNS = ("event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name")
MAPPING_COLUMNS = ("arm_num", "unique_event_name", "form")
RECORD_ID = "record_id"
EVENT = "redcap_event_name"
REPEAT = ("redcap_repeat_instrument", "redcap_repeat_instance")
METADATA = (RECORD_ID, EVENT, *REPEAT, "redcap_data_access_group")
IDENTIFYING = ("redcap_survey_identifier",)
NOT_COMPLETED = "[not completed]"
COMPLETE = {
    "0": "incomplete",
    "1": "unverified",
    "2": "complete",
    "incomplete": "incomplete",
    "unverified": "unverified",
    "complete": "complete",
}
DAYS_PER_MONTH = 30.44
PASTE = "Paste the licensed wording of this item here (see the instrument's licence note)."


def field_name(instrument: Instrument, item: Item) -> str:
    return f"{instrument.id}_{item.id}"


def date_field(instrument: Instrument) -> str:
    return f"{instrument.id}_completed_on"


def _label(instrument: Instrument, item: Item) -> tuple[str, str]:
    """The field label and note: the item text when the licence allows, else the id and a note."""
    if instrument.licence.item_text_allowed and item.text:
        return item.text, ""
    shown = f"{item.id} ({item.label})" if item.label else item.id
    return shown, PASTE


def dictionary_rows(instruments: list[Instrument]) -> list[dict[str, str]]:
    """Every field of the dictionary as {column: value}, record_id first."""
    rows: list[dict[str, str]] = []
    for number, instrument in enumerate(instruments):
        if number == 0:
            rows.append(
                {
                    "Variable / Field Name": RECORD_ID,
                    "Form Name": instrument.id,
                    "Field Type": "text",
                    "Field Label": "Participant id",
                    "Field Note": "The pseudonymous participant id, such as P001.",
                    "Required Field?": "y",
                }
            )
        groups = runs(instrument)
        for index, group in enumerate(groups):
            matrix = (
                ""
                if len(group) == 1
                else (instrument.id if len(groups) == 1 else f"{instrument.id}_{index + 1}")
            )
            for item in group:
                label, note = _label(instrument, item)
                response = instrument.response_for(item)
                row = {
                    "Variable / Field Name": field_name(instrument, item),
                    "Form Name": instrument.id,
                    "Field Label": label,
                    "Field Note": note,
                    "Matrix Group Name": matrix,
                    "Required Field?": "y" if required(instrument, item) else "",
                }
                if item is instrument.items[0]:
                    row["Section Header"] = instrument.name
                if response.labels:
                    row["Field Type"] = "radio"
                    row["Choices, Calculations, OR Slider Labels"] = " | ".join(
                        f"{code}, {text}" for code, text in choices(instrument, item).items()
                    )
                else:
                    row.update(
                        {
                            "Field Type": "text",
                            "Text Validation Type OR Show Slider Number": "integer",
                            "Text Validation Min": str(response.min),
                            "Text Validation Max": str(response.max),
                            "Matrix Group Name": "",
                        }
                    )
                rows.append(row)
        rows.append(
            {
                "Variable / Field Name": date_field(instrument),
                "Form Name": instrument.id,
                "Field Type": "text",
                "Field Label": "Date completed",
                "Text Validation Type OR Show Slider Number": "date_ymd",
                "Field Note": "The date the questionnaire was completed (surveys use their own timestamp).",
                "Field Annotation": "@HIDDEN-SURVEY",
            }
        )
    return rows


def _csv(header: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row.get(c, "") for c in header] for row in rows)
    return buffer.getvalue()


def dictionary_csv(instruments: list[Instrument]) -> str:
    """The data dictionary CSV (Project Setup > Data Dictionary > upload)."""
    return _csv(COLUMNS, dictionary_rows(instruments))


def event_name(wave: Wave) -> str:
    """The event's name in REDCap (30 characters at most): the wave id and label."""
    return f"{wave.id} {wave.label}"[:30].strip()


def unique_event_names(study: Study) -> dict[str, str]:
    """{wave id: unique event name} as REDCap derives them from the event names (one arm)."""
    made: list[str] = []
    names = {}
    for wave in study.waves:
        text = re.sub(r"[^0-9a-z_ ]", "", event_name(wave), flags=re.IGNORECASE)
        text = text.replace(" ", "_")[:18].lower().strip("_")
        if not text:
            text = hashlib.md5(event_name(wave).encode("utf-8")).hexdigest()[:10]
        text += "_arm_1"
        count = made.count(text)
        made.append(text)
        suffix = ""
        if 0 < count < 26:
            suffix = chr(97 + count)
        elif count >= 26:
            suffix = chr(96 + count // 26) + chr(97 + count % 26)
        names[wave.id] = text + suffix
    return names


def events_csv(study: Study) -> str:
    """One event per wave: its offset in days and window (Define My Events > upload)."""
    unique = unique_event_names(study)
    rows = [
        {
            "event_name": event_name(w),
            "arm_num": "1",
            "day_offset": str(round(w.offset_months * DAYS_PER_MONTH)),
            "offset_min": str(w.window_days.before),
            "offset_max": str(w.window_days.after),
            "unique_event_name": unique[w.id],
        }
        for w in study.waves
    ]
    return _csv(EVENT_COLUMNS, rows)


def mapping_csv(study: Study, instruments: list[Instrument]) -> str:
    """Every instrument at every wave (Designate Instruments for My Events > upload)."""
    unique = unique_event_names(study)
    rows = [
        {"arm_num": "1", "unique_event_name": unique[w.id], "form": i.id}
        for w in study.waves
        for i in instruments
    ]
    return _csv(MAPPING_COLUMNS, rows)


# --- exports in ---------------------------------------------------------------------------------


def flagged_identifiers(path: Path) -> set[str]:
    """Fields marked ``Identifier? = y`` in a REDCap data dictionary (the project's own, downloaded)."""
    rows = read_csv_rows(path)
    if not rows or "Variable / Field Name" not in rows[0] or "Identifier?" not in rows[0]:
        msg = "is not a REDCap data dictionary (no 'Variable / Field Name' and 'Identifier?' columns)"
        raise StudykitError(msg, path=path, fix="Download it from Project Setup > Data Dictionary.")
    name, flag = rows[0].index("Variable / Field Name"), rows[0].index("Identifier?")
    return {row[name].strip() for row in rows[1:] if len(row) > flag and row[flag].strip().lower() == "y"}


def wave_lookup(study: Study) -> dict[str, str]:
    """Every way an export may name a wave (unique event name, event name, wave id or label) -> wave id."""
    unique = unique_event_names(study)
    lookup: dict[str, str] = {}
    for wave in study.waves:
        for name in (unique[wave.id], event_name(wave), wave.id, wave.label):
            lookup.setdefault(name.strip().casefold(), wave.id)
    return lookup


def find_wave(lookup: dict[str, str], value: str) -> str | None:
    value = value.strip()
    # A label export of a project with several arms adds " (Arm 1: Arm 1)".
    for candidate in (value, re.sub(r"\s*\(Arm \d+:.*\)$", "", value)):
        if candidate.casefold() in lookup:
            return lookup[candidate.casefold()]
    return None


def read_export(
    study: Study,
    path: Path,
    instruments: list[Instrument],
    *,
    wave_column: str | None = None,
    dictionary: Path | None = None,
) -> Parsed:
    """Read a REDCap CSV export (raw or labels) into responses; refuse what cannot be mapped."""
    rows = read_csv_rows(path)
    source = path.name
    if not rows:
        msg = "is empty"
        raise StudykitError(msg, path=path, fix="Export the data again from REDCap (Data Exports).")
    header = [h.strip() for h in rows[0]]
    if RECORD_ID not in header:
        hint = " (its header holds labels, not variable names)" if "Record ID" in header else ""
        msg = f"has no {RECORD_ID} column{hint}, so it is not an export of a project built from this study"
        fix = "Export with variable names in the header row (CSV raw, or labels with variable names)."
        raise StudykitError(msg, path=path, fix=fix)
    column = {name: n for n, name in enumerate(header)}
    parsed = Parsed("REDCap", source)
    for repeat in REPEAT:
        if repeat in column and any(len(r) > column[repeat] and r[column[repeat]].strip() for r in rows[1:]):
            msg = (
                "holds repeating instruments or events (redcap_repeat_instrument / redcap_repeat_instance), "
                "which studykit does not import: a measure has one row per participant and wave"
            )
            fix = "Turn off repeating for the study's instruments, or export without the repeated instances."
            raise StudykitError(msg, path=path, fix=fix)
    identifiers = set(IDENTIFYING) | (flagged_identifiers(dictionary) if dictionary else set())
    fields = {field_name(i, item): (i, item) for i in instruments for item in i.items}
    forms = {i.id for i in instruments}
    known = set(METADATA) | set(fields) | {wave_column or ""}
    known |= {f"{f}{suffix}" for f in forms for suffix in ("_complete", "_timestamp", "_completed_on")}
    dropped, foreign = sort_columns(
        header, rows[1:], identifying=identifiers, known=known, prefixes=forms,
        unknown_reason="not a field of this study's instruments",
    )  # fmt: skip
    parsed.dropped += dropped
    present = [i for i in instruments if any(field_name(i, item) in column for item in i.items)]
    if foreign or not present:
        which = f"fields {', '.join(foreign[:8])}" if foreign else "none of this study's fields"
        msg = f"has {which}: it is an export of another project, or of another version of the instruments"
        fix = "Build the project from `studykit survey dictionary --to redcap` and export its data."
        raise StudykitError(msg, path=path, fix=fix)
    waves = _wave_of(study, header, wave_column, path)
    lookup = wave_lookup(study)
    unmapped: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):

        def cell(name: str, row: list[str] = row) -> str:
            return row[column[name]].strip() if name in column and column[name] < len(row) else ""

        record = cell(RECORD_ID)
        wave = waves
        if wave is None:
            source_column = wave_column or EVENT
            value = cell(source_column)
            wave = find_wave(lookup, value)
            if wave is None:
                if value not in unmapped:
                    unmapped[value] = number
                    shown = shown_value(value)
                    parsed.problems.append(
                        Problem(
                            f"the event {shown!r} maps to no wave of study.yml ({', '.join(study.wave_ids)})",
                            "Name the events as `studykit survey dictionary` wrote them (the events "
                            "file), or give the wave column with --wave-column.",
                            row=number,
                            column=source_column,
                            value=shown,
                        )
                    )
                continue
        for instrument in present:
            cells = {item.id: cell(field_name(instrument, item)) for item in instrument.items}
            status = COMPLETE.get(cell(f"{instrument.id}_complete").lower(), "")
            if not any(cells.values()):
                continue  # not collected at this event
            if status == "incomplete":
                parsed.skip(f"{instrument.id}: marked Incomplete")
                continue
            stamp = cell(f"{instrument.id}_timestamp")
            completed = (a_date(stamp) if stamp and stamp != NOT_COMPLETED else None) or a_date(
                cell(date_field(instrument))
            )
            parsed.responses.append(
                Response(
                    instrument.id,
                    record,
                    wave,
                    completed or "",
                    cells,
                    number,
                    {item.id: field_name(instrument, item) for item in instrument.items},
                )
            )
    return parsed


def _wave_of(study: Study, header: list[str], wave_column: str | None, path: Path) -> str | None:
    """The one wave of every row when the export names none; None when each row names its own."""
    if wave_column is not None:
        if wave_column not in header:
            msg = f"has no column {wave_column!r} (given with --wave-column)"
            raise StudykitError(msg, path=path, fix="Give the name of the column that holds the wave.")
        return None
    if EVENT in header:
        return None
    if len(study.waves) == 1:
        return study.waves[0].id
    msg = f"names no event ({EVENT}), and study.yml has {len(study.waves)} waves"
    fix = "Export from the longitudinal project (with events), or give the wave column with --wave-column."
    raise StudykitError(msg, path=path, fix=fix)
