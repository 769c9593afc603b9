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
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.structure import UNREADABLE, encoding_findings, relative, tabular_resources
from studykit.checks.tabular import check_frame, header_findings, reference_finding
from studykit.errors import DataReadError
from studykit.instruments import Instrument
from studykit.study import Study
from studykit.tables import cast, read_text_table

SCORE_TOLERANCE = 0.01

UNKNOWN_WAVE = Rule(
    "MEA001",
    "measures",
    "Unknown wave",
    "error",
    "The wave is not one of the waves listed in study.yml.",
    "Use a wave id from study.yml (see `studykit info`), or add the wave to study.yml.",
    requires=("structure",),
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
    requires=("structure",),
)
SCORE_MISMATCH = Rule(
    "MEA003",
    "measures",
    "Stored score does not match the items",
    "error",
    f"A score stored in the table differs by more than {SCORE_TOLERANCE} from the score computed from the "
    "items with the instrument's scoring rules.",
    "Correct the items or the stored score; or drop the score column and let `studykit score` compute it.",
    requires=("structure",),
)
register(UNKNOWN_WAVE, OUTSIDE_WINDOW, SCORE_MISMATCH)


def _progress(text: str) -> None:
    from studykit.checks import progress_note

    progress_note(text)


def _row(index: int) -> int:
    return index + 2


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
            row=_row(i),
            column="wave",
            value=wave,
        )


def _bounds(participants: pl.DataFrame, study: Study) -> pl.DataFrame:
    """One row per participant id: enrolment date and, per wave n, the window ``first_n``..``last_n``.

    Computed on the participants (a quarter of the measure rows or fewer) before the join:
    calendar-month arithmetic is the costly part. An unparseable enrolment date gives no window
    (the structure layer reports the date).
    """
    typed, _ = cast(participants.select("participant_id", "enrolled_on"), {"enrolled_on": "date"})
    columns = []
    for n, wave in enumerate(study.waves):
        # offset_by clamps to the month's last day, as Wave.target_date does.
        target = pl.col("enrolled_on").dt.offset_by(f"{wave.offset_months}mo")
        columns.append((target - pl.duration(days=wave.window_days.before)).alias(f"first_{n}"))
        columns.append((target + pl.duration(days=wave.window_days.after)).alias(f"last_{n}"))
    return (
        typed.drop_nulls("participant_id")
        .unique("participant_id", keep="first")
        .with_columns(*columns, pl.lit(True).alias("known"))
    )


def _foreign_key_to(schema: Mapping, resource: str) -> bool:
    return any(
        fk.get("reference", {}).get("resource") == resource
        and fk.get("fields") in (["participant_id"], "participant_id")
        for fk in schema.get("foreignKeys", [])
    )


def participant_findings(
    typed: pl.DataFrame, study: Study, bounds: pl.DataFrame, schema: Mapping, people: str, *, file: str
) -> Iterator[Finding]:
    """Unknown participants (the foreign key) and dates outside the wave window, in one join."""
    if "participant_id" not in typed.columns:
        return
    check_keys = _foreign_key_to(schema, people)
    dated = {"wave", "completed_on"} <= set(typed.columns)
    first = last = pl.lit(None, pl.Date)
    if dated:
        for n, wave in reversed(list(enumerate(study.waves))):
            first = pl.when(pl.col("wave") == wave.id).then(pl.col(f"first_{n}")).otherwise(first)
            last = pl.when(pl.col("wave") == wave.id).then(pl.col(f"last_{n}")).otherwise(last)
    extra = ["wave", "completed_on"] if dated else []
    outside = (
        pl.col("first").is_not_null() & ~pl.col("completed_on").is_between(pl.col("first"), pl.col("last"))
        if dated
        else pl.lit(False)
    )
    unknown = pl.col("known").is_null() if check_keys else pl.lit(False)
    rows = (
        typed.lazy()
        .select("participant_id", *extra)
        .with_row_index("i")
        .filter(pl.col("participant_id").is_not_null())
        .join(bounds.lazy(), on="participant_id", how="left")
        .select(
            "i", "participant_id", "known", "enrolled_on", *extra, first.alias("first"), last.alias("last")
        )
        .filter(unknown | outside)
        .sort("i")
        .collect()
    )
    for row in rows.iter_rows(named=True):
        if row["known"] is None:
            if check_keys:
                yield reference_finding(
                    ["participant_id"], people, row["participant_id"], row["i"], file=file
                )
            continue
        yield OUTSIDE_WINDOW.finding(
            f"completed on {row['completed_on']}, outside wave {row['wave']}'s window "
            f"{row['first']} to {row['last']} (enrolled on {row['enrolled_on']})",
            file=file,
            row=_row(row["i"]),
            column="completed_on",
            value=row["completed_on"],
        )


def score_findings(typed: pl.DataFrame, instrument: Instrument, *, file: str) -> Iterator[Finding]:
    """Stored score columns compared with the scores computed from the items (one fused pass)."""
    from studykit.instruments.scoring import score_expressions

    stored = [s for s in instrument.scores if s.id in typed.columns]
    columns = list(typed.columns)
    for score in stored:
        computed, _ = score_expressions(instrument, score, columns)
        value = pl.col(score.id).cast(pl.Float64, strict=False)
        expected = computed.alias("expected")
        wrong = value.is_not_null() & (expected.is_null() | ((value - expected).abs() > SCORE_TOLERANCE))
        bad = (
            typed.lazy()
            .with_row_index("i")
            .filter(wrong)
            .select("i", value.alias("stored"), expected)
            .collect()
        )
        for i, stored_value, should in bad.iter_rows():
            shown = "no score (too few items answered)" if should is None else f"{should:g}"
            yield SCORE_MISMATCH.finding(
                f"stored {score.id} is {stored_value:g} but the items give {shown}",
                file=file,
                row=_row(i),
                column=score.id,
                value=stored_value,
            )


def _load_bounds(study: Study) -> pl.DataFrame | None:
    """Participants' window bounds, or None when participants.csv cannot be used (structure reports why)."""
    try:
        participants = read_text_table(study.participants_path).frame
    except DataReadError:
        return None
    if not {"participant_id", "enrolled_on"} <= set(participants.columns):
        return None
    return _bounds(participants, study)


def check(study: Study) -> Iterator[Finding]:
    """Yield findings for every measure table of the study."""
    from studykit.instruments import load_instrument
    from studykit.package import build_descriptor

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
    # polars releases the GIL, so independent passes overlap on two cores (about 20% faster).
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending_bounds = pool.submit(_load_bounds, study)  # read beside the first measure table
        for instrument_id, path, file in tables:
            _progress(f"reading {file}")
            try:
                table = read_text_table(path, file_label=file)
            except DataReadError as exc:
                yield UNREADABLE.finding(exc.message, file=file, fix=exc.fix)
                continue
            schema = resources[file]["schema"]
            yield from encoding_findings(table, file=file)
            yield from header_findings(table.header, schema, file=file)
            _progress(f"checking {file} ({table.frame.height:,} rows)")
            # The foreign key to participants is checked below, in the same join as the wave windows.
            typed, findings = check_frame(table.frame, schema, file=file, references={})
            del table  # the text frame is no longer needed: keep peak memory down
            yield from findings
            yield from wave_findings(typed, study, schema, file=file)
            instrument = load_instrument(study, instrument_id)
            scores = pool.submit(lambda t=typed, i=instrument, f=file: list(score_findings(t, i, file=f)))
            bounds = pending_bounds.result()
            if bounds is not None:
                yield from participant_findings(typed, study, bounds, schema, people, file=file)
            yield from scores.result()
