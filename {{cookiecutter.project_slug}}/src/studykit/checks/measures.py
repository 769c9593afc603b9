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


def _bounds(participants: pl.DataFrame, study: Study) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The participants (id, enrolment date, id hash) and each wave's window per enrolment date.

    Enrolment dates repeat (a few hundred days for thousands of people), so the windows
    (``enrolled_on``, ``wave``, ``first``, ``last``) are computed once per distinct date:
    calendar-month arithmetic is the costly part. An unparseable enrolment date gives no
    window (the structure layer reports the date).
    """
    typed, _ = cast(participants.select("participant_id", "enrolled_on"), {"enrolled_on": "date"})
    people = (
        typed.drop_nulls("participant_id")
        .unique("participant_id", keep="first")
        .with_columns(pl.lit(True).alias("known"), pl.col("participant_id").hash().alias("id_hash"))
    )
    dates = people.select(pl.col("enrolled_on").unique().drop_nulls())
    windows = []
    for wave in study.waves:
        # offset_by clamps to the month's last day, as Wave.target_date does.
        target = pl.col("enrolled_on").dt.offset_by(f"{wave.offset_months}mo")
        windows.append(
            dates.select(
                "enrolled_on",
                pl.lit(wave.id, pl.String).alias("wave"),
                (target - pl.duration(days=wave.window_days.before)).alias("first"),
                (target + pl.duration(days=wave.window_days.after)).alias("last"),
            )
        )
    return people, pl.concat(windows) if windows else pl.DataFrame()


def _foreign_key_to(schema: Mapping, resource: str) -> bool:
    return any(
        fk.get("reference", {}).get("resource") == resource
        and fk.get("fields") in (["participant_id"], "participant_id")
        for fk in schema.get("foreignKeys", [])
    )


def participant_findings(
    typed: pl.DataFrame,
    bounds: tuple[pl.DataFrame, pl.DataFrame],
    schema: Mapping,
    people: str,
    *,
    file: str,
) -> Iterator[Finding]:
    """Unknown participants (the foreign key) and dates outside the wave window, in two joins.

    ``bounds`` is what ``_bounds`` gives: the participants, and the windows by enrolment date
    and wave.
    """
    if "participant_id" not in typed.columns:
        return
    ids, windows = bounds
    check_keys = _foreign_key_to(schema, people)
    dated = {"wave", "completed_on"} <= set(typed.columns) and not windows.is_empty()
    extra = ["wave", "completed_on"] if dated else []
    outside = (
        pl.col("first").is_not_null() & ~pl.col("completed_on").is_between(pl.col("first"), pl.col("last"))
        if dated
        else pl.lit(False)
    )
    rows = (
        typed.lazy()
        .select("participant_id", *extra)
        .with_row_index("i")
        .filter(pl.col("participant_id").is_not_null())
    )
    if ids.get_column("id_hash").is_unique().all():
        # Joined on a 64-bit hash of the id: about a quarter less work than on the text. The
        # participants' hashes are distinct and the id itself confirms each match, so a hash
        # collision cannot pass an unknown id.
        rows = rows.with_columns(pl.col("participant_id").hash().alias("id_hash"))
        joined = rows.join(ids.lazy().rename({"participant_id": "known_id"}), on="id_hash", how="left")
        known = (pl.col("known_id") == pl.col("participant_id")).fill_null(False)
    else:
        joined = rows.join(ids.lazy().drop("id_hash"), on="participant_id", how="left")
        known = pl.col("known").is_not_null()
    if dated:
        # A small right side (distinct enrolment dates x waves): cheap, and it carries two
        # columns instead of a window per wave. An unknown wave finds no window.
        joined = joined.join(windows.lazy(), on=["enrolled_on", "wave"], how="left")
    else:
        joined = joined.with_columns(
            pl.lit(None, pl.Date).alias("first"), pl.lit(None, pl.Date).alias("last")
        )
    unknown = ~pl.col("known") if check_keys else pl.lit(False)
    rows = (
        joined.select(
            "i",
            "participant_id",
            known.alias("known"),
            "enrolled_on",
            *extra,
            "first",
            "last",
        )
        .filter(unknown | (pl.col("known") & outside))
        .sort("i")
        .collect()
    )
    for row in rows.iter_rows(named=True):
        if not row["known"]:
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
    """Stored score columns compared with the scores computed from the items.

    Rows whose items are all answered in range are compared with a cheap form of the score
    (``complete_score``); the full scoring expressions run only on the rows left over.
    """
    from studykit.instruments.scoring import complete_score, score_expressions

    stored = [s for s in instrument.scores if s.id in typed.columns]
    columns = list(typed.columns)
    for score in stored:
        value = pl.col(score.id).cast(pl.Float64, strict=False)
        cheap = complete_score(instrument, score, columns)
        if cheap is None:
            rows = typed.with_row_index("i")
        else:
            # Gathered eagerly: in one lazy plan polars would fuse both filters and evaluate
            # the full expressions on every row.
            complete, quick = cheap
            agree = complete & ((value - quick).abs() <= SCORE_TOLERANCE)
            index = typed.select(pl.arg_where(value.is_not_null() & ~agree)).to_series()
            rows = typed[index].with_columns(index.alias("i"))
        computed, _ = score_expressions(instrument, score, columns)
        expected = computed.alias("expected")
        wrong = value.is_not_null() & (expected.is_null() | ((value - expected).abs() > SCORE_TOLERANCE))
        bad = rows.lazy().filter(wrong).select("i", value.alias("stored"), expected).collect()
        for i, stored_value, should in bad.iter_rows():
            shown = "no score (too few items answered)" if should is None else f"{should:g}"
            yield SCORE_MISMATCH.finding(
                f"stored {score.id} is {stored_value:g} but the items give {shown}",
                file=file,
                row=_row(i),
                column=score.id,
                value=stored_value,
            )


def _load_bounds(study: Study) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Participants' window bounds, or None when participants.csv cannot be used (structure reports why)."""
    try:
        # Only the two columns needed: the other columns are not parsed into strings at all.
        participants = read_text_table(study.participants_path, columns=["participant_id", "enrolled_on"])
    except DataReadError:  # also when a column is missing
        return None
    return _bounds(participants.frame, study)


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
    # polars releases the GIL, so participants.csv is read while the first measure table is.
    with ThreadPoolExecutor(max_workers=1) as pool:
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
            instrument = load_instrument(study, instrument_id)

            def participants(
                typed: pl.DataFrame, schema: Mapping = schema, file: str = file
            ) -> list[Finding]:
                bounds = pending_bounds.result()
                if bounds is None:
                    return []
                return list(participant_findings(typed, bounds, schema, people, file=file))

            # The measure rules run beside the schema checks, on the same cast frame. The foreign
            # key to participants is checked by the join that finds each row's wave window.
            _, findings = check_frame(
                table.frame,
                schema,
                file=file,
                references={},
                also=(
                    lambda typed, schema=schema, file=file: wave_findings(typed, study, schema, file=file),
                    participants,
                    lambda typed, i=instrument, file=file: score_findings(typed, i, file=file),
                ),
            )
            del table  # the text frame is no longer needed: keep peak memory down
            yield from findings
