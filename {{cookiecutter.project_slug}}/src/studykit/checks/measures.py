"""Measures layer: each instrument's table, read once and checked in full (MEA###, and STR### for its schema).

For every instrument in study.yml, ``data/measures/<id>.csv`` is read as text
(``studykit.tables``) and checked against the Table Schema that ``build_descriptor``
derives from the instrument definition (types, required, response ranges, one row per
participant and wave, participants known): see ``checks/tabular.py``. Then the rules
beyond the Table Schema:

- the wave is one of study.yml's waves;
- the completion date lies inside the wave's window, counted from the participant's
  enrolment date in data/participants.csv;
- scores a study stores next to the items equal the scores computed from the items.

A table that is missing or unreadable was reported by the structure layer and is
skipped here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import BlankCounts, Run, dated_rows
from studykit.checks.structure import UNREADABLE, encoding_findings, relative, tabular_resources
from studykit.checks.tabular import (
    cast_table,
    constraint_findings,
    formula_findings,
    header_findings,
    key_findings,
    padding_findings,
    reference_finding,
    type_findings,
    types_of,
)
from studykit.errors import DataReadError
from studykit.instruments import Instrument
from studykit.study import Study
from studykit.tables import TextTable, cast, read_text_table, spreadsheet_row

SCORE_TOLERANCE = 0.01
# The columns of a measure table the rules after the schema need typed (the items are not kept).
KEPT = ("participant_id", "wave", "completed_on")

UNKNOWN_WAVE = Rule(
    "MEA001",
    "measures",
    "Unknown wave",
    "error",
    "The wave is not one of the waves listed in study.yml.",
    "Use a wave id from study.yml (see `studykit info`), or add the wave to study.yml.",
)
OUTSIDE_WINDOW = Rule(
    "MEA002",
    "measures",
    "Completed outside the wave's window",
    "error",
    "The completion date is outside the wave's window: the participant's enrolment date plus the wave's "
    "offset in months, minus/plus the window days of study.yml.",
    "Check the completion date and the wave; if the data are right, widen window_days for this wave in "
    "study.yml.",
    # The window is counted from a date; a row whose date or participant failed is not placed in one.
    requires=("STR007", "STR011", "STR014"),
)
SCORE_MISMATCH = Rule(
    "MEA003",
    "measures",
    "Stored score does not match the items",
    "error",
    f"A score stored in the table differs by more than {SCORE_TOLERANCE} from the score computed from the "
    "items with the instrument's scoring rules.",
    "Correct the items or the stored score; or drop the score column and let `studykit score` compute it.",
    # A score from items that are unreadable or out of range says nothing new: the item is the problem.
    requires=("STR007", "STR009", "STR010"),
)
register(UNKNOWN_WAVE, OUTSIDE_WINDOW, SCORE_MISMATCH)


def wave_findings(typed: pl.DataFrame, study: Study, schema: Mapping, *, file: str) -> Iterator[Finding]:
    """Waves not in study.yml, unless the schema's enum already reported them."""
    wave_field = next((f for f in schema.get("fields", []) if f["name"] == "wave"), {})
    if "wave" not in typed.columns or "enum" in wave_field.get("constraints", {}):
        return
    ids = study.wave_ids
    bad = (
        typed.select(pl.col("wave"))
        .with_row_index("i")
        .filter(pl.col("wave").is_not_null() & ~pl.col("wave").is_in(ids))
    )
    for i, wave in bad.iter_rows():
        yield UNKNOWN_WAVE.finding(
            f"wave {wave!r} is not in study.yml (waves: {', '.join(ids)})",
            file=file,
            row=spreadsheet_row(i),
            column="wave",
            value=wave,
        )


def _window_columns(index: int) -> tuple[str, str]:
    return f"_first_{index}", f"_last_{index}"


def _bounds(participants: pl.DataFrame, study: Study) -> pl.DataFrame:
    """The participants (id, id hash, enrolment date) with each wave's window as two columns.

    A measure row then needs one join to know its participant and its window. Enrolment
    dates repeat (a few hundred days for thousands of people), so the calendar-month
    arithmetic runs once per distinct date. An unparseable enrolment date gives no window
    (the structure layer reports the date).
    """
    typed, _ = cast(participants.select("participant_id", "enrolled_on"), {"enrolled_on": "date"})
    people = typed.drop_nulls("participant_id").with_columns(pl.col("participant_id").hash().alias("id_hash"))
    if people.get_column("id_hash").is_duplicated().any():  # a repeated id: cheaper asked of the hashes
        people = people.unique("participant_id", keep="first", maintain_order=True)
    dates = people.select(pl.col("enrolled_on").unique().drop_nulls())
    windows = []
    for index, wave in enumerate(study.waves):
        # offset_by clamps to the month's last day, as Wave.target_date does.
        target = pl.col("enrolled_on").dt.offset_by(f"{wave.offset_months}mo")
        first, last = _window_columns(index)
        windows.extend(
            (
                (target - pl.duration(days=wave.window_days.before)).alias(first),
                (target + pl.duration(days=wave.window_days.after)).alias(last),
            )
        )
    return people.join(dates.with_columns(*windows) if windows else dates, on="enrolled_on", how="left")


def _foreign_key_to(schema: Mapping, resource: str) -> bool:
    return any(
        fk.get("reference", {}).get("resource") == resource
        and fk.get("fields") in (["participant_id"], "participant_id")
        for fk in schema.get("foreignKeys", [])
    )


def participant_findings(
    typed: pl.DataFrame,
    bounds: pl.DataFrame,
    study: Study,
    schema: Mapping,
    people: str,
    *,
    file: str,
) -> Iterator[Finding]:
    """Unknown participants (the foreign key) and dates outside the wave window, in one join.

    ``bounds`` is what ``_bounds`` gives: each participant with every wave's window.
    """
    if "participant_id" not in typed.columns:
        return
    check_keys = _foreign_key_to(schema, people)
    dated = {"wave", "completed_on"} <= set(typed.columns) and bool(study.waves)
    extra = ["wave", "completed_on"] if dated else []
    rows = (
        typed.select("participant_id", *extra)
        .with_row_index("i")
        .filter(pl.col("participant_id").is_not_null())
    )
    windows = [c for index in range(len(study.waves)) for c in _window_columns(index)] if dated else []
    if bounds.get_column("id_hash").is_unique().all():
        # Joined on a 64-bit hash of the id: about a quarter less work than on the text. The
        # participants' hashes are distinct and the id itself confirms each match, so a hash
        # collision cannot pass an unknown id.
        joined = rows.with_columns(pl.col("participant_id").hash().alias("id_hash")).join(
            bounds.select("id_hash", pl.col("participant_id").alias("known_id"), "enrolled_on", *windows),
            on="id_hash",
            how="left",
        )
        known = (pl.col("known_id") == pl.col("participant_id")).fill_null(False)
    else:
        joined = rows.join(
            bounds.select("participant_id", pl.lit(True).alias("found"), "enrolled_on", *windows),
            on="participant_id",
            how="left",
        )
        known = pl.col("found").is_not_null()
    # The wave picks its window; an unknown wave has none (MEA001 or the enum reports it).
    outside = (
        pl.any_horizontal(
            (pl.col("wave") == wave.id) & ~pl.col("completed_on").is_between(pl.col(first), pl.col(last))
            for wave, (first, last) in zip(
                study.waves, map(_window_columns, range(len(study.waves))), strict=True
            )
        ).fill_null(False)
        if dated
        else pl.lit(False)
    )
    unknown = ~pl.col("known") if check_keys else pl.lit(False)
    found = (
        joined.select(
            "i", "participant_id", known.alias("known"), "enrolled_on", *extra, outside.alias("outside")
        )
        .filter(unknown | (pl.col("known") & pl.col("outside")))
        .sort("i")
    )
    waves = {wave.id: wave for wave in study.waves}
    for row in found.iter_rows(named=True):
        if not row["known"]:
            if check_keys:
                yield reference_finding(
                    ["participant_id"], people, row["participant_id"], row["i"], file=file
                )
            continue
        first, last = waves[row["wave"]].window(row["enrolled_on"])
        yield OUTSIDE_WINDOW.finding(
            f"completed on {row['completed_on']}, outside wave {row['wave']}'s window "
            f"{first} to {last} (enrolled on {row['enrolled_on']})",
            file=file,
            row=spreadsheet_row(row["i"]),
            column="completed_on",
            value=row["completed_on"],
        )


def _agreement_column(score_id: str) -> str:
    return f"__studykit_agrees_{score_id}"


def score_agreement(instrument: Instrument, columns: list[str]) -> dict[str, pl.Expr]:
    """For each stored score with a cheap form: true where the stored value agrees with it.

    ``check_frame`` computes these in the pass that casts the table; ``score_findings``
    then runs the full scoring expressions only where a score is stored and does not agree.
    """
    from studykit.instruments.scoring import complete_score

    agreement = {}
    for score in instrument.scores:
        cheap = complete_score(instrument, score, columns) if score.id in columns else None
        if cheap is not None:
            complete, quick = cheap
            value = pl.col(score.id).cast(pl.Float64, strict=False)
            agreement[_agreement_column(score.id)] = (
                value.is_null() | (complete & ((value - quick).abs() <= SCORE_TOLERANCE))
            ).fill_null(False)
    return agreement


def score_findings(
    typed: pl.DataFrame, text: pl.DataFrame, instrument: Instrument, types: dict[str, str], *, file: str
) -> Iterator[Finding]:
    """Stored score columns compared with the scores computed from the items.

    Rows whose stored score agrees with the cheap form of the score (``score_agreement``:
    columns of ``typed`` when it holds them, else computed here) are settled; the other
    rows of ``text`` are cast and the full scoring expressions run on them only.
    """
    from studykit.instruments.scoring import score_expressions

    columns = list(text.columns)
    agreement = score_agreement(instrument, columns)
    for score in (s for s in instrument.scores if s.id in columns):
        name = _agreement_column(score.id)
        if name in agreement:
            agrees = (
                typed.get_column(name) if name in typed.columns else text.select(agreement[name]).to_series()
            )
            index = (~agrees).arg_true()
        else:
            index = pl.int_range(text.height, dtype=pl.UInt32, eager=True)
        cells = text[index]
        rows = cast(cells, types)[0].with_columns(index.alias("i"), cells.get_column(score.id).alias("_cell"))
        value = pl.col(score.id).cast(pl.Float64, strict=False)
        computed, _ = score_expressions(instrument, score, columns)
        expected = computed.alias("expected")
        wrong = value.is_not_null() & (expected.is_null() | ((value - expected).abs() > SCORE_TOLERANCE))
        bad = rows.lazy().filter(wrong).select("i", value.alias("stored"), expected, "_cell").collect()
        for i, stored_value, should, cell in bad.iter_rows():
            shown = "no score (too few items answered)" if should is None else f"{should:g}"
            yield SCORE_MISMATCH.finding(
                f"stored {score.id} is {stored_value:g} but the items give {shown}",
                file=file,
                row=spreadsheet_row(i),
                column=score.id,
                value=cell,  # as written in the file
            )


def _load_bounds(run: Run) -> pl.DataFrame | None:
    """Participants' window bounds, or None when participants.csv cannot be used (structure reports why)."""
    try:
        # Only the two columns needed: the other columns are not parsed into strings at all.
        participants = run.read_table(run.study.participants_path, columns=["participant_id", "enrolled_on"])
    except DataReadError:  # also when a column is missing
        return None
    return _bounds(participants.frame, run.study)


def _measure_rules(
    typed: pl.DataFrame,
    text: pl.DataFrame,
    run: Run,
    instrument: Instrument,
    schema: Mapping,
    people: str,
    bounds: Future[pl.DataFrame | None],
    *,
    file: str,
) -> list[Finding]:
    """The rules beyond Table Schema, on the kept columns of the cast table: waves, windows, scores."""
    study = run.study
    found = list(wave_findings(typed, study, schema, file=file))
    known = bounds.result()
    if known is not None:
        found += participant_findings(typed, known, study, schema, people, file=file)
    found += score_findings(typed, text, instrument, types_of(schema), file=file)
    return found


def check(run: Run) -> Iterator[Finding]:
    """Yield findings for every measure table of the study."""
    from studykit.instruments import load_instrument
    from studykit.package import build_descriptor

    study = run.study
    resources = {r["path"]: r for r in tabular_resources(build_descriptor(study))}
    people = resources.get(relative(study, study.participants_path), {}).get("name", "participants")
    tables = [
        (
            instrument_id,
            study.measures_path(instrument_id),
            relative(study, study.measures_path(instrument_id)),
        )
        for instrument_id in study.instruments
    ]
    # No schema (a drift finding) or no file (a structure finding): nothing to check here.
    tables = [(i, path, file) for i, path, file in tables if file in resources and path.is_file()]
    if not tables:
        return
    # polars releases the GIL, so participants.csv is read while the first measure table is, and
    # the keys and the rules beyond Table Schema run beside pandera.
    with ThreadPoolExecutor(max_workers=3) as pool:
        pending_bounds = pool.submit(_load_bounds, run)
        for instrument_id, path, file in tables:
            run.note(f"reading {file}")
            try:
                table = read_text_table(path, file_label=file)
            except DataReadError as exc:
                yield UNREADABLE.finding(exc.message, file=file, fix=exc.fix)
                continue
            schema = resources[file]["schema"]
            yield from encoding_findings(table, file=file)
            yield from header_findings(table.header, schema, file=file)
            yield from padding_findings(table, file=file)
            yield from formula_findings(table, schema, file=file)
            run.note(f"checking {file} ({table.frame.height:,} rows)")
            run.checked_by(file, "polars")
            instrument = load_instrument(study, instrument_id)
            typed, findings = _check_table(
                run, table, schema, instrument, people, pending_bounds, pool=pool, file=file
            )
            _share(run, path, table, typed)
            del table, typed  # no longer needed: keep peak memory down
            yield from findings


def _check_table(
    run: Run,
    table: TextTable,
    schema: Mapping,
    instrument: Instrument,
    people: str,
    bounds: Future[pl.DataFrame | None],
    *,
    pool: ThreadPoolExecutor,
    file: str,
) -> tuple[pl.DataFrame, list[Finding]]:
    """The Table Schema checks (``checks/tabular.py``) and the measure rules of one table, and its
    ``KEPT`` columns typed. The foreign key to participants is checked by the join that finds each
    row's wave window (``participant_findings``), so it is not a separate pass."""
    text = table.frame
    keys = pool.submit(lambda: list(key_findings(text, schema, file=file)))
    agreement = score_agreement(instrument, table.header)
    cast = cast_table(text, schema, agreement)
    typed = cast.typed.select(*(c for c in KEPT if c in cast.typed.columns), *agreement)
    rules = pool.submit(_measure_rules, typed, text, run, instrument, schema, people, bounds, file=file)
    findings = list(type_findings(cast, file=file)) + list(constraint_findings(cast, schema, file=file))
    del cast
    return typed, findings + keys.result() + rules.result()


def _share(run: Run, path: Path, table: TextTable, typed: pl.DataFrame) -> None:
    """What later layers need of this table, so that they need not read it again (checks/run.py)."""
    run.record_blanks(path, BlankCounts.of(table))
    if {"participant_id", "completed_on"} <= set(typed.columns):
        run.record_dated(path, dated_rows(typed, "completed_on"))
