"""Measures layer: each instrument's table, read once, checked in full (codes MEA###, plus STR### for its schema).

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

import polars as pl

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.structure import UNREADABLE, encoding_findings, relative, tabular_resources
from studykit.checks.tabular import check_frame, header_findings
from studykit.errors import DataReadError
from studykit.study import Study
from studykit.tables import cast, read_text_table

SCORE_TOLERANCE = 0.01

UNKNOWN_WAVE = Rule(
    "MEA001", "measures", "Unknown wave", "error",
    "The wave is not one of the waves listed in study.yml.",
    "Use a wave id from study.yml (see `studykit info`), or add the wave to study.yml.",
    requires=("structure",),
)
OUTSIDE_WINDOW = Rule(
    "MEA002", "measures", "Completed outside the wave's window", "error",
    "The completion date is outside the wave's window: the participant's enrolment date plus the wave's "
    "offset in months, minus/plus the window days of study.yml.",
    "Check the completion date and the wave; if the data are right, widen window_days for this wave in "
    "study.yml.",
    requires=("structure",),
)
SCORE_MISMATCH = Rule(
    "MEA003", "measures", "Stored score does not match the items", "error",
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
    bad = typed.select(pl.col("wave")).with_row_index("i").filter(
        pl.col("wave").is_not_null() & ~pl.col("wave").is_in(ids)
    )
    for i, wave in bad.iter_rows():
        yield UNKNOWN_WAVE.finding(
            f"wave {wave!r} is not in study.yml (waves: {', '.join(ids)})", file=file, row=_row(i), column="wave",
            value=wave,
        )


def enrolment_dates(participants: pl.DataFrame | None) -> pl.DataFrame | None:
    """participant_id -> enrolled_on (typed), first row per participant, unparseable dates left out."""
    if participants is None or not {"participant_id", "enrolled_on"} <= set(participants.columns):
        return None
    typed, _ = cast(participants.select("participant_id", "enrolled_on"), {"enrolled_on": "date"})
    return typed.drop_nulls().unique("participant_id", keep="first")


def window_findings(
    typed: pl.DataFrame, study: Study, enrolled: pl.DataFrame | None, *, file: str
) -> Iterator[Finding]:
    """Completion dates outside the window of their wave (rows with unknown participants or waves skipped)."""
    if enrolled is None or not {"participant_id", "wave", "completed_on"} <= set(typed.columns):
        return
    # Bounds per participant and wave are computed on the participants (a quarter of the rows)
    # before joining: calendar-month arithmetic is the costly part.
    bounds = enrolled.with_columns(
        column
        for n, wave in enumerate(study.waves)
        for column in (
            (pl.col("enrolled_on").dt.offset_by(f"{wave.offset_months}mo") - pl.duration(days=wave.window_days.before))
            .alias(f"first_{n}"),
            (pl.col("enrolled_on").dt.offset_by(f"{wave.offset_months}mo") + pl.duration(days=wave.window_days.after))
            .alias(f"last_{n}"),
        )
    )
    first = last = pl.lit(None, pl.Date)
    for n, wave in reversed(list(enumerate(study.waves))):
        # offset_by clamps to the month's last day, as Wave.target_date does.
        first = pl.when(pl.col("wave") == wave.id).then(pl.col(f"first_{n}")).otherwise(first)
        last = pl.when(pl.col("wave") == wave.id).then(pl.col(f"last_{n}")).otherwise(last)
    outside = (
        typed.select("participant_id", "wave", "completed_on").with_row_index("i")
        .join(bounds, on="participant_id", how="inner")
        .select("i", "wave", "completed_on", "enrolled_on", first.alias("first"), last.alias("last"))
        .filter(
            pl.col("first").is_not_null()
            & ~pl.col("completed_on").is_between(pl.col("first"), pl.col("last"))
        )
        .sort("i")
    )
    for row in outside.iter_rows(named=True):
        yield OUTSIDE_WINDOW.finding(
            f"completed on {row['completed_on']}, outside wave {row['wave']}'s window "
            f"{row['first']} to {row['last']} (enrolled on {row['enrolled_on']})",
            file=file, row=_row(row["i"]), column="completed_on", value=row["completed_on"],
        )


def score_findings(typed: pl.DataFrame, instrument: object, *, file: str) -> Iterator[Finding]:
    """Stored score columns compared with the scores computed from the items."""
    stored = [s.id for s in instrument.scores if s.id in typed.columns]  # type: ignore[attr-defined]
    if not stored:
        return
    from studykit.instruments.scoring import score_frame

    computed = score_frame(instrument, typed)
    for score_id in stored:
        if score_id not in computed.columns:
            continue
        both = pl.DataFrame({
            "stored": typed.get_column(score_id).cast(pl.Float64, strict=False),
            "computed": computed.get_column(score_id).cast(pl.Float64, strict=False),
        }).with_row_index("i")
        bad = both.filter(
            pl.col("stored").is_not_null()
            & (pl.col("computed").is_null() | ((pl.col("stored") - pl.col("computed")).abs() > SCORE_TOLERANCE))
        )
        for i, value, expected in bad.iter_rows():
            shown = "no score (too few items answered)" if expected is None else f"{expected:g}"
            yield SCORE_MISMATCH.finding(
                f"stored {score_id} is {value:g} but the items give {shown}",
                file=file, row=_row(i), column=score_id, value=value,
            )


def _participants(study: Study) -> pl.DataFrame | None:
    try:
        return read_text_table(study.participants_path).frame
    except DataReadError:
        return None  # reported by the structure layer; keys and windows against it are skipped


def check(study: Study) -> Iterator[Finding]:
    """Yield findings for every measure table of the study."""
    from studykit.instruments import load_instrument
    from studykit.package import build_descriptor

    resources = {r["path"]: r for r in tabular_resources(build_descriptor(study))}
    people = resources.get(relative(study, study.participants_path), {}).get("name", "participants")
    participants: pl.DataFrame | None = None
    enrolled: pl.DataFrame | None = None
    for instrument_id in study.instruments:
        path = study.measures_path(instrument_id)
        file = relative(study, path)
        resource = resources.get(file)
        if resource is None or not path.is_file():
            continue  # no schema (drift finding) or missing file (structure finding)
        if participants is None:
            participants = _participants(study)
            enrolled = enrolment_dates(participants)
        _progress(f"reading {file}")
        try:
            table = read_text_table(path, file_label=file)
        except DataReadError as exc:
            yield UNREADABLE.finding(exc.message, file=file, fix=exc.fix)
            continue
        schema = resource["schema"]
        yield from encoding_findings(table, file=file)
        yield from header_findings(table.header, schema, file=file)
        _progress(f"checking {file} ({table.frame.height:,} rows)")
        references = {people: participants} if participants is not None else {}
        typed, findings = check_frame(table.frame, schema, file=file, references=references)
        del table  # the text frame is no longer needed: keep peak memory down
        yield from findings
        yield from wave_findings(typed, study, schema, file=file)
        yield from window_findings(typed, study, enrolled, file=file)
        yield from score_findings(typed, load_instrument(study, instrument_id), file=file)
