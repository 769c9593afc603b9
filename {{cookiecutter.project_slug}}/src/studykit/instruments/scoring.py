"""Scores from items, as each instrument definition says: vectorised polars expressions.

For every score of a definition, one expression per output column:

1. each item's code is reverse-scored when the item says so (``min + max - code``),
   then mapped to its scored value (``response.values``, e.g. CBI 1..5 -> 100..0);
   a code outside the response range counts as unanswered (the measures layer
   reports it);
2. ``<score>_items`` counts the answered items;
3. a score needs every item unless ``min_items`` says fewer. With enough items:
   ``sum`` adds the answered values, times ``n_items / answered`` when ``prorate``;
   ``mean`` averages the answered values; ``conversion`` looks the raw sum (prorated
   and rounded to a whole number when allowed) up in the definition's table;
4. the result is rounded half away from zero to ``decimals``; too few items give null.

Rows keep their order and count, so the result lines up with the input frame.

``studykit score`` scores only data that pass validation where scoring looks (keys and
items): ``checked_scores_table`` asks ``studykit.checks.gate`` for those errors and
refuses (exit 1) unless told to go on, and then it leaves out each cell an error names
(the item counts as unanswered), each row whose key has an error, and every row of a
repeated participant and wave, and says so in a ``left_out`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from studykit.files import study_relative
from studykit.instruments.model import Instrument, Score
from studykit.study import Study
from studykit.tables import FIRST_DATA_ROW, cast, read_text_table, read_typed

if TYPE_CHECKING:
    from studykit.checks.findings import Finding
    from studykit.governance.consent_filter import ConsentFilter

__all__ = [
    "KEYS",
    "LEFT_OUT",
    "checked_scores_table",
    "complete_score",
    "measure_types",
    "score_expressions",
    "score_frame",
    "score_study",
    "scores_table",
]

KEYS = ("participant_id", "wave")
LEFT_OUT = "left_out"
_ROW = "__studykit_row"


def _item_value(instrument: Instrument, item_id: str, columns: list[str]) -> pl.Expr:
    """The scored value of one item: null when unanswered or out of range."""
    item = instrument.item(item_id)
    response = instrument.response_for(item)
    if item_id not in columns:
        return pl.lit(None, pl.Float64)
    code = pl.col(item_id).cast(pl.Int64, strict=False)
    code = pl.when(code.is_between(response.min, response.max)).then(code)
    if item.reverse:
        code = response.min + response.max - code
    if response.values:
        slope = response.value(response.min + 1) - response.value(response.min)
        intercept = response.value(response.min) - slope * response.min
        if all(response.value(c) == intercept + slope * c for c in range(response.min, response.max + 1)):
            # Evenly spaced values (CBI 100..0) are arithmetic: much faster than a lookup.
            return intercept + slope * code.cast(pl.Float64)
        return code.replace_strict(response.values, default=None, return_dtype=pl.Float64)
    return code.cast(pl.Float64)


def _round(expr: pl.Expr, decimals: int) -> pl.Expr:
    return expr.round(decimals, mode="half_away_from_zero")


def score_expressions(instrument: Instrument, score: Score, columns: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """The score and its answered-items count, as expressions over a frame with ``columns``."""
    values = [_item_value(instrument, i, columns) for i in score.items]
    n_items = len(score.items)
    answered = pl.sum_horizontal(v.is_not_null().cast(pl.Int64) for v in values)
    total = pl.sum_horizontal(values)
    enough = answered >= score.required_items
    complete = answered == n_items
    if score.method == "mean":
        value = total / answered
    else:
        raw = pl.when(complete).then(total)
        raw = raw.when(pl.lit(score.prorate)).then(total * n_items / answered).otherwise(total)
        if score.method == "conversion":
            table = {float(k): float(v) for k, v in score.conversion.items()}
            value = _round(raw, 0).replace_strict(table, default=None, return_dtype=pl.Float64)
        else:
            value = raw
    result = _round(pl.when(enough & (answered > 0)).then(value).cast(pl.Float64), score.decimals)
    return result.alias(score.id), answered.cast(pl.Int64).alias(f"{score.id}_items")


def complete_score(
    instrument: Instrument, score: Score, columns: list[str]
) -> tuple[pl.Expr, pl.Expr] | None:
    """A cheap form of a score for rows whose items are all answered in range: (that condition, score).

    On those rows ``score_expressions`` gives the same value, so a check can run the full
    expressions on the other rows only. None when there is no cheap form (conversion tables,
    item value maps, items with different response ranges, item columns missing).
    """
    if score.method not in ("sum", "mean") or not all(i in columns for i in score.items):
        return None
    items = [instrument.item(i) for i in score.items]
    responses = [instrument.response_for(i) for i in items]
    if any(r.values for r in responses) or len({(r.min, r.max) for r in responses}) != 1:
        return None
    low, high = responses[0].min, responses[0].max
    codes = {i.id: pl.col(i.id).cast(pl.Int64, strict=False) for i in items}
    answered = pl.all_horizontal(c.is_between(low, high) for c in codes.values()).fill_null(False)
    # Integer arithmetic (exact), then the same float steps as score_expressions.
    total = pl.sum_horizontal(low + high - codes[i.id] if i.reverse else codes[i.id] for i in items)
    value = total.cast(pl.Float64)
    if score.method == "mean":
        value = value / len(items)
    return answered, _round(value, score.decimals)


def score_frame(instrument: Instrument, frame: pl.DataFrame) -> pl.DataFrame:
    """Every score of ``instrument`` for each row of ``frame`` (items as integers, null = unanswered).

    Returns the key columns present (``participant_id``, ``wave``), then ``<score>`` (float,
    null when too few items were answered) and ``<score>_items`` for each score.
    """
    columns = list(frame.columns)
    keys = [pl.col(k) for k in KEYS if k in columns]
    expressions = [e for score in instrument.scores for e in score_expressions(instrument, score, columns)]
    marks = [pl.col(LEFT_OUT)] if LEFT_OUT in columns else []
    return frame.select(*keys, *expressions, *marks)


def measure_types(study: Study, instrument: Instrument) -> dict[str, str]:
    """Table Schema types of an instrument's measure table (keys, date, items, any stored score).

    Taken from the data package's resource (``package.measures_resource``), the one place
    that says what each column of a measure table is.
    """
    from studykit.package import measures_resource

    resource = measures_resource(study, instrument, [score.id for score in instrument.scores])
    return {field["name"]: field["type"] for field in resource["schema"]["fields"]}


def _file(study: Study, instrument_id: str) -> str:
    """The measure table as validation findings name it (relative to the study)."""
    return study_relative(study, study.measures_path(instrument_id))


def _columns(finding: Finding) -> list[str]:
    return [c.strip() for c in (finding.column or "").split(",") if c.strip()]


def scoring_errors(study: Study, instrument_ids: Sequence[str]) -> list[Finding]:
    """Validation errors in what scoring uses: the key and item columns of these measure tables."""
    from studykit.checks.gate import data_errors
    from studykit.instruments import load_instrument

    used = {
        _file(study, i): {
            *KEYS,
            *(item for score in load_instrument(study, i).scores for item in score.items),
        }
        for i in instrument_ids
    }

    def wanted(finding: Finding) -> bool:
        columns = _columns(finding)
        return (
            finding.file in used
            and finding.layer in ("structure", "measures")
            and (not columns or bool(set(columns) & used[finding.file]))
        )

    return data_errors(study, wanted)


def _without_errors(
    path: Path, types: dict[str, str], instrument: Instrument, findings: list[Finding]
) -> pl.DataFrame:
    """The measure table typed, without what ``findings`` name, and a ``left_out`` note per row.

    A finding on an item leaves that cell out (the item counts as unanswered); one on the key
    leaves the whole row out, and one on the participant and wave together (a repeated key)
    every row with that participant and wave, so a repeated row is never scored at all.
    """
    text = read_text_table(path).frame.with_row_index(_ROW, offset=FIRST_DATA_ROW)
    items = set(instrument.item_ids)
    cells: dict[str, set[int]] = {}
    whole: set[int] = set()
    notes: dict[int | None, list[str]] = {}
    repeated: set[int] = set()
    for finding in findings:
        columns = _columns(finding)
        notes.setdefault(finding.row, []).append(
            f"{finding.column or 'row'}: {finding.rule.lower()} ({finding.code})"
        )
        if finding.row is None:
            continue  # a whole column (missing): its cells are blank already
        if set(columns) >= set(KEYS):
            repeated.add(finding.row)
        elif set(columns) & set(KEYS) or not columns:
            whole.add(finding.row)
        for column in set(columns) & items:
            cells.setdefault(column, set()).add(finding.row)
    if repeated and set(KEYS) <= set(text.columns):
        keys = text.filter(pl.col(_ROW).is_in(list(repeated))).select(KEYS).unique()
        same = text.join(keys, on=list(KEYS), how="semi", nulls_equal=True).get_column(_ROW).to_list()
        for row in same:
            if row not in repeated:
                notes.setdefault(row, []).append(f"{', '.join(KEYS)}: repeated in another row, not scored")
        whole.update(same)
    blanked = text.with_columns(
        pl.when(pl.col(_ROW).is_in(list(whole | cells.get(c, set()))))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in instrument.item_ids
        if c in text.columns
    )
    typed, _ = cast(blanked, types)  # every cell that does not cast is named by a finding above
    everywhere = notes.pop(None, [])
    marks = pl.DataFrame(
        {_ROW: list(notes), LEFT_OUT: ["; ".join([*everywhere, *n]) for n in notes.values()]},
        schema={_ROW: pl.UInt32, LEFT_OUT: pl.String},
    )
    marked = typed.join(marks, on=_ROW, how="left", maintain_order="left")
    if everywhere:
        marked = marked.with_columns(pl.col(LEFT_OUT).fill_null("; ".join(everywhere)))
    return marked.drop(_ROW)


def score_study(
    study: Study,
    instrument_ids: list[str] | None = None,
    *,
    consent: ConsentFilter | None = None,
    left_out: Sequence[Finding] | None = None,
) -> dict[str, pl.DataFrame]:
    """Scores of each instrument of the study (or of those named), read from its measure table.

    With ``consent`` (the study's ``ConsentFilter``, as ``studykit score`` passes), rows
    that consent does not allow for analysis are dropped first and the filter records what
    it excluded; without it every row is scored (for checks of the raw data). With
    ``left_out`` (validation errors the user chose to go on with), what they name is not
    scored and each score table gets a ``left_out`` column saying what was left out.
    """
    from studykit.instruments import load_instrument

    scores: dict[str, pl.DataFrame] = {}
    for instrument_id in instrument_ids or study.instruments:
        instrument = load_instrument(study, instrument_id)
        path, types = study.measures_path(instrument_id), measure_types(study, instrument)
        if left_out is None:
            frame = read_typed(path, types)
        else:
            mine = [f for f in left_out if f.file == _file(study, instrument_id)]
            frame = _without_errors(path, types, instrument, mine)
        if consent is not None:
            frame = consent.filter(
                frame, resource=instrument_id, purpose="analysis", date_column="completed_on"
            )
        scores[instrument_id] = score_frame(instrument, frame)
    return scores


def _instrument_ids(study: Study, instrument_id: str | None) -> list[str]:
    if instrument_id is None:
        return list(study.instruments)
    if instrument_id not in study.instruments:
        from studykit.errors import StudyConfigError

        msg = f"does not list instrument {instrument_id!r}"
        raise StudyConfigError(
            msg,
            path=study.study_file,
            key="instruments",
            fix=f"Use one of: {', '.join(study.instruments) or '(none listed)'}.",
        )
    return [instrument_id]


def checked_scores_table(
    study: Study,
    instrument_id: str | None = None,
    *,
    consent: ConsentFilter | None = None,
    allow_errors: bool = False,
) -> tuple[pl.DataFrame, list[Finding]]:
    """``scores_table`` from data that pass validation where scoring looks, and the errors gone past.

    Raises ``DataErrorsFound`` (exit code 1) naming the errors in the key and item columns
    of the measure tables, unless ``allow_errors``: then what they name is left out and
    marked in the ``left_out`` column.
    """
    from studykit.checks.gate import refusal

    errors = scoring_errors(study, _instrument_ids(study, instrument_id))
    if errors and not allow_errors:
        raise refusal(
            errors,
            action="Scoring",
            scope=" in the key and item columns",
            fix="Run `studykit validate` and correct them; or pass --allow-errors to score without the "
            "cells and rows they name (each marked in the left_out column).",
        )
    return scores_table(study, instrument_id, consent=consent, left_out=errors or None), errors


def scores_table(
    study: Study,
    instrument_id: str | None = None,
    *,
    consent: ConsentFilter | None = None,
    left_out: Sequence[Finding] | None = None,
) -> pl.DataFrame:
    """One table of scores: one instrument's (columns named by score id), or every instrument's.

    With every instrument the tables are joined on participant and wave, and columns are
    named ``<instrument>.<score>`` (as themes and reports name constructs).
    """
    if instrument_id is not None:
        ids = _instrument_ids(study, instrument_id)
        scored = score_study(study, ids, consent=consent, left_out=left_out)[instrument_id]
        return scored.sort(KEYS, maintain_order=True)
    combined: pl.DataFrame | None = None
    for name, frame in score_study(study, consent=consent, left_out=left_out).items():
        renamed = frame.rename({c: f"{name}.{c}" for c in frame.columns if c not in KEYS})
        combined = (
            renamed
            if combined is None
            else combined.join(renamed, on=list(KEYS), how="full", coalesce=True, nulls_equal=True)
        )
    if combined is None:
        return pl.DataFrame(schema={"participant_id": pl.String, "wave": pl.String})
    return combined.sort(KEYS, maintain_order=True)
