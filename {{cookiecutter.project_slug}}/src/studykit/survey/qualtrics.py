"""Qualtrics: the Advanced Format TXT survey out of the definitions; CSV exports in.

Out: ``[[AdvancedFormat]]``, one ``[[Block:...]]`` per instrument, one ``[[Question:Matrix]]``
per run of items sharing their responses, with ``[[ID:<instrument>]]`` (``<instrument>_m2``
... when an instrument has several runs), the items as statements (``[[Choices]]``) and the
response labels as scale points (``[[AdvancedAnswers]]``, ``[[Answer:<code>]]`` so the numeric
values are the instrument's codes; unverified: check the recode values after import). The
export then names each item ``<question id>_<n>``, n counting the statements from 1.

In: a CSV export with its three header rows (names, question texts, import ids), choice text
or numeric values. The participant id comes from ExternalReference (or ``--id-column``), the
wave from ``--wave``, ``--wave-column`` or the study's only wave, the completion date from
EndDate. IP address, location and recipient columns are dropped; preview and test responses,
and unfinished ones, are skipped.
"""

from __future__ import annotations

from pathlib import Path

from studykit.errors import StudykitError
from studykit.instruments import Instrument, Item
from studykit.study import Study
from studykit.survey.merge import (
    Parsed,
    Problem,
    Response,
    a_date,
    choices,
    read_csv_rows,
    runs,
    shown_value,
    sort_columns,
)
from studykit.survey.redcap import find_wave, wave_lookup

METADATA = (
    "StartDate",
    "EndDate",
    "Status",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "ExternalReference",
    "DistributionChannel",
    "UserLanguage",
)
IDENTIFYING = (
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "LocationLatitude",
    "LocationLongitude",
)
ID_COLUMN = "ExternalReference"
# Status: 0 / "IP Address" is a real response; 1 preview, 2 test (secondary knowledge, unverified).
NOT_RESPONSES = {"1", "2", "survey preview", "survey test", "preview", "test"}
UNFINISHED = {"0", "false"}
PASTE = "paste the licensed wording here"


def question_ids(instrument: Instrument) -> list[tuple[str, list[Item]]]:
    """(question id, items) for each matrix question of an instrument."""
    groups = runs(instrument)
    if len(groups) == 1:
        return [(instrument.id, groups[0])]
    return [(f"{instrument.id}_m{n}", group) for n, group in enumerate(groups, start=1)]


def columns(instrument: Instrument) -> dict[str, Item]:
    """The export's column for each item: ``<question id>_<n>``."""
    return {
        f"{qid}_{n}": item for qid, items in question_ids(instrument) for n, item in enumerate(items, start=1)
    }


def statement(instrument: Instrument, item: Item) -> str:
    if instrument.licence.item_text_allowed and item.text:
        return item.text
    return f"{item.id} ({item.label}): {PASTE}" if item.label else f"{item.id}: {PASTE}"


def survey_txt(instruments: list[Instrument]) -> str:
    """The Advanced Format TXT (Survey > Tools > Import/Export > Import survey)."""
    lines = ["[[AdvancedFormat]]", ""]
    for instrument in instruments:
        lines += [f"[[Block:{instrument.name}]]", ""]
        for qid, items in question_ids(instrument):
            lines += ["[[Question:Matrix]]", f"[[ID:{qid}]]", instrument.name, "", "[[Choices]]"]
            lines += [statement(instrument, item) for item in items]
            lines += ["", "[[AdvancedAnswers]]"]
            for code, label in choices(instrument, items[0]).items():
                lines += [f"[[Answer:{code}]]", label]
            lines.append("")
        lines += ["[[PageBreak]]", ""]
    return "\n".join(lines[:-2]) + "\n"


def read_export(
    study: Study,
    path: Path,
    instruments: list[Instrument],
    *,
    id_column: str | None = None,
    wave_column: str | None = None,
    wave: str | None = None,
) -> Parsed:
    """Read a Qualtrics CSV export (three header rows) into responses."""
    rows = read_csv_rows(path)
    if len(rows) < 3 or not rows[2] or not rows[2][0].lstrip().startswith('{"ImportId"'):
        msg = "is not a Qualtrics CSV export with its three header rows (names, question texts, import ids)"
        fix = "Download the data as CSV from Data & Analysis > Export & Import > Export data (not legacy)."
        raise StudykitError(msg, path=path, fix=fix)
    header = [h.strip() for h in rows[0]]
    column = {name: n for n, name in enumerate(header)}
    parsed = Parsed("Qualtrics", path.name)
    id_column = id_column or ID_COLUMN
    if id_column not in column:
        msg = f"has no column {id_column!r} holding the participant id"
        fix = "Give the column with --id-column (an embedded data field), or set ExternalReference."
        raise StudykitError(msg, path=path, fix=fix)
    items = {name: (i, item) for i in instruments for name, item in columns(i).items()}
    qids = {qid for i in instruments for qid, _ in question_ids(i)}
    known = set(METADATA) | set(items) | {id_column, wave_column or ""}
    dropped, foreign = sort_columns(
        header, rows[3:], identifying=set(IDENTIFYING), known=known, prefixes=qids,
        unknown_reason="not a question of this study's instruments",
    )  # fmt: skip
    parsed.dropped += dropped
    present = [i for i in instruments if any(name in column for name in columns(i))]
    if foreign or not present:
        which = f"columns {', '.join(foreign[:8])}" if foreign else "none of this study's questions"
        msg = f"has {which}: it is an export of another survey, or of another version of the instruments"
        fix = "Build the survey from `studykit survey dictionary --to qualtrics` and export its data."
        raise StudykitError(msg, path=path, fix=fix)
    parsed.problems += order_slips(present, column, rows[1])
    fixed = _fixed_wave(study, wave, wave_column, header, path)
    lookup = wave_lookup(study)
    unmapped: set[str] = set()
    for number, row in enumerate(rows[3:], start=4):

        def cell(name: str, row: list[str] = row) -> str:
            return row[column[name]].strip() if name in column and column[name] < len(row) else ""

        if cell("Status").casefold() in NOT_RESPONSES:
            parsed.skip("preview or test responses")
            continue
        if cell("Finished").casefold() in UNFINISHED:
            parsed.skip("unfinished responses")
            continue
        this_wave = fixed
        if this_wave is None:
            value = cell(wave_column or "")
            this_wave = find_wave(lookup, value)
            if this_wave is None:
                if value not in unmapped:
                    unmapped.add(value)
                    shown = shown_value(value)
                    parsed.problems.append(
                        Problem(
                            f"the wave {shown!r} maps to no wave of study.yml ({', '.join(study.wave_ids)})",
                            "Use the wave ids of study.yml in that column, or give the wave with --wave.",
                            row=number,
                            column=wave_column,
                            value=shown,
                        )
                    )
                continue
        completed = a_date(cell("EndDate")) or a_date(cell("RecordedDate")) or ""
        for instrument in present:
            names = {item.id: name for name, item in columns(instrument).items()}
            cells = {item_id: cell(name) for item_id, name in names.items()}
            if any(cells.values()):
                parsed.responses.append(
                    Response(instrument.id, cell(id_column), this_wave, completed, cells, number, names)
                )
    return parsed


def order_slips(instruments: list[Instrument], column: dict[str, int], texts: list[str]) -> list[Problem]:
    """Columns whose question text (the export's second header row) ends with another item's statement.

    A statement edited in the platform matches no item and is let through; one that is the
    wording of a different item means the statements were reordered, and the codes would land
    on the wrong items.
    """
    problems = []
    for instrument in instruments:
        wording = {item.id: " ".join(statement(instrument, item).split()) for item in instrument.items}
        for name, item in columns(instrument).items():
            if name not in column or column[name] >= len(texts):
                continue
            shown = " ".join(texts[column[name]].split())
            if shown.endswith(wording[item.id]):
                continue
            other = next((i for i, w in wording.items() if i != item.id and shown.endswith(w)), None)
            if other is not None:
                problems.append(
                    Problem(
                        f"the question text of {name} is the wording of {instrument.id} {other}, not of "
                        f"{item.id}: the statements were reordered in Qualtrics",
                        "Put the statements back in the order of the TXT studykit wrote (or rebuild the "
                        "survey from it), then export again.",
                        row=2,
                        column=name,
                    )
                )
    return problems


def _fixed_wave(
    study: Study, wave: str | None, wave_column: str | None, header: list[str], path: Path
) -> str | None:
    if wave is not None and wave_column is not None:
        msg = "--wave and --wave-column cannot be used together"
        raise StudykitError(msg, fix="Give the wave of every row (--wave) or the column that holds it.")
    if wave is not None:
        found = find_wave(wave_lookup(study), wave)
        if found is None:
            msg = f"--wave {wave!r} is not a wave of study.yml ({', '.join(study.wave_ids)})"
            raise StudykitError(msg, fix="Give a wave id from study.yml.")
        return found
    if wave_column is not None:
        if wave_column not in header:
            msg = f"has no column {wave_column!r} (given with --wave-column)"
            raise StudykitError(msg, path=path, fix="Give the name of the column that holds the wave.")
        return None
    if len(study.waves) == 1:
        return study.waves[0].id
    msg = f"says nothing of waves, and study.yml has {len(study.waves)}"
    fix = "Give the wave of every response with --wave T1, or the column that holds it with --wave-column."
    raise StudykitError(msg, path=path, fix=fix)
