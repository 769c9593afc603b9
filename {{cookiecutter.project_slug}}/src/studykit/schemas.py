"""pandera schemas compiled from the study's Table Schemas: what ``studykit validate`` checks with.

Every measure table's Table Schema is built from its instrument definition
(``studykit.package``); each field constraint in it (``minimum``/``maximum`` and their
exclusive forms, ``enum``, ``pattern``, ``minLength``/``maxLength``, ``required``) is
compiled here, once, into a pandera ``Check``. The same ``Check`` objects go into a
``pandera.polars`` schema (the one validation runs on every row of a table) and a
``pandera.pandas`` schema, so an analyst checks a frame in their own code with exactly
the rules ``studykit validate`` uses::

    import polars as pl
    from studykit.schemas import measure_schema
    from studykit.study import load_study
    from studykit.tables import read_typed

    study = load_study(".")
    schema = measure_schema(study, "phq9")  # pandera.polars.DataFrameSchema
    frame = read_typed(study.measures_path("phq9"), schema_types(schema))
    schema.validate(frame, lazy=True)       # raises pandera.errors.SchemaErrors listing every failure

    pandas_schema = measure_schema(study, "phq9", backend="pandas")  # needs pandas installed

Keys (one row per participant and wave, participants known) and the rules beyond Table
Schema (wave windows, stored scores) need other tables and are checked by ``studykit validate``.
Types are not pandera's to decide: read the table typed first (``studykit.tables.read_typed``
reports the first cell that is not of its type; ``studykit validate`` reports them all).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandera.polars as pa
import polars as pl

from studykit.study import PARTICIPANT_ID_PATTERN

if TYPE_CHECKING:
    from studykit.study import Study

Kind = Literal["range", "enum", "pattern", "length"]
Backend = Literal["polars", "pandas"]
__all__ = [
    "Constraint",
    "field_constraints",
    "measure_schema",
    "pandas_schema",
    "polars_schema",
    "primary_key",
    "required",
    "schema_types",
]

_POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int64(),
    "number": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
}


@dataclass(frozen=True)
class Constraint:
    """One Table Schema constraint of a field, compiled: its pandera check and how to say it broke.

    ``kind`` is what kind of rule it is (the validation report's code comes from it);
    ``describe`` gives, for the typed value that broke it, the sentence's second half.
    """

    kind: Kind
    check: pa.Check
    describe: Callable[[object], str]


def _typed(value: object, kind: str) -> object:
    """A constraint bound from the descriptor in the field's Python type."""
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind == "number":
        return float(value)  # type: ignore[arg-type]
    return value


def _said(words: str) -> Callable[[object], str]:
    return lambda _value: words


# Patterns a person should not have to read as regular expressions, in words.
PATTERN_WORDS = {
    PARTICIPANT_ID_PATTERN: "an id is 1 to 4 capital letters then 2 to 6 digits, such as P001 or FG012",
}


def _pattern_words(pattern: str) -> str:
    return PATTERN_WORDS.get(pattern, f"the pattern is {pattern}")


def _allowed_values(values: list) -> Callable[[object], str]:
    """The allowed values; for a value that differs from one only in capitals or spaces, that one."""
    words = "allowed values are " + ", ".join(str(v) for v in values)
    folded = {" ".join(str(v).split()).casefold(): str(v) for v in values}

    def describe(value: object) -> str:
        near = folded.get(" ".join(str(value).split()).casefold())
        return f"write {near!r} (capitals and spaces must match exactly)" if near else words

    return describe


def field_constraints(field: Mapping) -> tuple[Constraint, ...]:
    """The field's constraints, compiled (``required`` is the column's ``nullable``, not a check)."""
    return _compiled(json.dumps(field, sort_keys=True, default=str))


@functools.cache
def _compiled(field_json: str) -> tuple[Constraint, ...]:
    field = json.loads(field_json)
    kind = field.get("type", "string")
    rules = field.get("constraints", {})
    out: list[Constraint] = []
    if "minimum" in rules and "maximum" in rules:
        # One check for both bounds: pandera's cost is per check.
        low, high = _typed(rules["minimum"], kind), _typed(rules["maximum"], kind)
        below, above = f"the minimum is {rules['minimum']}", f"the maximum is {rules['maximum']}"
        out.append(
            Constraint(
                "range",
                pa.Check.in_range(low, high),
                lambda value, low=low, below=below, above=above: below if value < low else above,  # type: ignore[operator]
            )
        )
    elif "minimum" in rules:
        out.append(
            Constraint(
                "range",
                pa.Check.ge(_typed(rules["minimum"], kind)),
                _said(f"the minimum is {rules['minimum']}"),
            )
        )
    elif "maximum" in rules:
        out.append(
            Constraint(
                "range",
                pa.Check.le(_typed(rules["maximum"], kind)),
                _said(f"the maximum is {rules['maximum']}"),
            )
        )
    if "exclusiveMinimum" in rules:
        low = _typed(rules["exclusiveMinimum"], kind)
        out.append(
            Constraint("range", pa.Check.gt(low), _said(f"it must be above {rules['exclusiveMinimum']}"))
        )
    if "exclusiveMaximum" in rules:
        high = _typed(rules["exclusiveMaximum"], kind)
        out.append(
            Constraint("range", pa.Check.lt(high), _said(f"it must be below {rules['exclusiveMaximum']}"))
        )
    if "enum" in rules:
        allowed = [_typed(v, kind) for v in rules["enum"]]
        out.append(Constraint("enum", pa.Check.isin(allowed), _allowed_values(rules["enum"])))
    if "pattern" in rules:
        # Table Schema matches the pattern against the whole value.
        whole = f"^(?:{rules['pattern']})$"
        words = _pattern_words(rules["pattern"])
        out.append(Constraint("pattern", pa.Check.str_matches(whole), _said(words)))
    if "minLength" in rules or "maxLength" in rules:
        low, high = rules.get("minLength"), rules.get("maxLength")
        words = f"the length must be {low or 0} to {high or 'any'} characters"
        out.append(Constraint("length", pa.Check.str_length(low, high), _said(words)))
    return tuple(out)


def primary_key(schema: Mapping) -> list[str]:
    key = schema.get("primaryKey") or []
    return [key] if isinstance(key, str) else list(key)


def required(field: Mapping, schema: Mapping) -> bool:
    """Required, or in the primary key (frictionless-py #1623 lets a null key member through otherwise)."""
    return bool(field.get("constraints", {}).get("required")) or field["name"] in primary_key(schema)


def schema_types(schema: Mapping | pa.DataFrameSchema) -> dict[str, str]:
    """Field name -> Table Schema type, of a Table Schema or of a schema compiled here."""
    if isinstance(schema, pa.DataFrameSchema):
        return dict(schema.metadata or {}).get("types", {})
    return {f["name"]: f.get("type", "string") for f in schema.get("fields", [])}


def polars_schema(schema: Mapping, columns: tuple[str, ...] | None = None) -> pa.DataFrameSchema:
    """The ``pandera.polars`` schema of a Table Schema (of only ``columns``, when given); compiled once."""
    return _polars(json.dumps(schema, sort_keys=True, default=str), columns)


@functools.cache
def _polars(schema_json: str, columns: tuple[str, ...] | None) -> pa.DataFrameSchema:
    schema = json.loads(schema_json)
    fields = [f for f in schema.get("fields", []) if columns is None or f["name"] in columns]
    return pa.DataFrameSchema(
        {
            f["name"]: pa.Column(
                _POLARS_TYPES.get(f.get("type", "string"), pl.String()),
                checks=[c.check for c in field_constraints(f)],
                nullable=not required(f, schema),
                coerce=False,
            )
            for f in fields
        },
        strict=False,
        name=schema.get("name"),
        metadata={"types": {f["name"]: f.get("type", "string") for f in fields}},
    )


def pandas_schema(schema: Mapping) -> Any:
    """The ``pandera.pandas`` schema of a Table Schema, with the same compiled checks.

    pandas is not one of studykit's dependencies (validation uses polars): an analyst who
    works in pandas has it installed already.
    """
    try:
        import pandera.pandas as pdpa
        from pandera.engines import pandas_engine
    except ImportError as exc:
        msg = "the pandas schema needs pandas in this environment (`pip install pandas`)"
        raise ImportError(msg) from exc

    dtypes: dict[str, Any] = {
        "string": str,
        "integer": "Int64",
        "number": "Float64",
        "boolean": "boolean",
        "date": pandas_engine.Date,
    }
    return pdpa.DataFrameSchema(
        {
            f["name"]: pdpa.Column(
                dtypes.get(f.get("type", "string"), str),
                checks=[c.check for c in field_constraints(f)],
                nullable=not required(f, schema),
                coerce=True,
            )
            for f in schema.get("fields", [])
        },
        strict=False,
        metadata={"types": schema_types(schema)},
    )


def measure_schema(study: Study, instrument_id: str, *, backend: Backend = "polars") -> Any:
    """The pandera schema of an instrument's measure table in this study (polars or pandas)."""
    from studykit.package import build_descriptor

    file = study.measures_path(instrument_id).relative_to(study.root).as_posix()
    resource = next(r for r in build_descriptor(study)["resources"] if r.get("path") == file)
    schema = {**resource["schema"], "name": resource["name"]}
    return polars_schema(schema) if backend == "polars" else pandas_schema(schema)
