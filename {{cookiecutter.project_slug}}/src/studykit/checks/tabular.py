"""Table Schema checks of one CSV table with polars and pandera: the fast engine.

The checks are compiled from the Table Schema of the resource (built from the
instrument definitions by ``studykit.package``), never written by hand per table:

1. header: every field present, no unknown column (a typo is both, so the fix names
   the closest field);
2. types: the table is read as text and cast with ``strict=False``, so every
   unparseable cell is one finding and never hides the others (see
   docs/validation.md, "Why text first");
3. constraints: lazy ``pandera.polars`` schemas (required, minimum/maximum, enum,
   pattern, length) collect every failure at once, on the rows a fused polars pass
   flagged; fields with the same type and constraints (an instrument's items) are one
   pandera column over their cells stacked;
4. keys: primary key and ``unique`` duplicates, foreign keys against the referenced
   tables, with polars expressions.

Findings use the same rule codes as the frictionless engine in
``checks/structure.py``, so a report reads the same whichever engine ran.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from studykit.checks.findings import Finding, Rule, clip, register
from studykit.tables import cast, cast_expression, cast_failures

HEADER_ROW = 1
SUSPECT = "__studykit_suspect"  # a working column, named unlike any field of a study
FIRST_DATA_ROW = 2

MISSING_COLUMN = Rule(
    "STR005",
    "structure",
    "Column missing",
    "error",
    "A field of the table's schema has no column in the file's header row.",
    "Add the column to the header row (or correct its spelling); the schema comes from study.yml and the "
    "instrument definitions.",
)
EXTRA_COLUMN = Rule(
    "STR006",
    "structure",
    "Unknown column",
    "error",
    "The header row names a column the table's schema does not have (often a typo of a field name).",
    "Rename the column to the field it holds, or remove it.",
)
WRONG_TYPE = Rule(
    "STR007",
    "structure",
    "Wrong type",
    "error",
    "A cell holds a value that cannot be read as the field's type (integer, number, date as YYYY-MM-DD, "
    "boolean as true/false).",
    "Write the value in the field's form (dates as YYYY-MM-DD, booleans as true or false, numbers with a "
    "full stop for decimals), or leave the cell blank if the value is missing.",
)
REQUIRED = Rule(
    "STR008",
    "structure",
    "Required value missing",
    "error",
    "A field that must always have a value is blank.",
    "Fill in the cell: this column cannot be left blank.",
)
OUT_OF_RANGE = Rule(
    "STR009",
    "structure",
    "Value out of range",
    "error",
    "A value is below the field's minimum or above its maximum (for items: outside the response range).",
    "Correct the value; check the response codes in the instrument definition.",
)
NOT_ALLOWED = Rule(
    "STR010",
    "structure",
    "Value not allowed",
    "error",
    "A value is not one of the field's allowed values (for a wave: not a wave id of study.yml).",
    "Use one of the allowed values.",
)
PATTERN = Rule(
    "STR011",
    "structure",
    "Value does not match the pattern",
    "error",
    "A value does not have the form the field requires (for example participant ids like P001).",
    "Correct the value to the required form.",
)
DUPLICATE_KEY = Rule(
    "STR012",
    "structure",
    "Duplicate key",
    "error",
    "Two rows have the same primary key (for measures: the same participant and wave).",
    "Keep one row per key: remove or correct the duplicate.",
)
NOT_UNIQUE = Rule(
    "STR013",
    "structure",
    "Duplicate value",
    "error",
    "A field whose values must be unique holds the same value twice.",
    "Remove or correct the duplicate.",
)
UNKNOWN_REFERENCE = Rule(
    "STR014",
    "structure",
    "Unknown reference",
    "error",
    "A value refers to a row of another table that does not exist (for example a participant id that is "
    "not in data/participants.csv).",
    "Correct the id, or add the missing row to the referenced table.",
)
LENGTH = Rule(
    "STR015",
    "structure",
    "Value too long or too short",
    "error",
    "A text value is shorter than the field's minLength or longer than its maxLength.",
    "Correct the value.",
)
# The form a cell of each Table Schema type takes, for fix texts.
FORMS = {
    "date": "the date as YYYY-MM-DD (for example 2024-02-05)",
    "boolean": "true or false",
    "integer": "a whole number (for example 3)",
    "number": "a number with a full stop for decimals (for example 2.5)",
}


def type_fix(kind: str, value: object) -> str:
    """The fix for a cell that is not a valid ``kind``: the form it should take, and the cell as written."""
    form = FORMS.get(kind, f"a valid {kind}")
    return f"Write {form} instead of {clip(value)!r}, or leave the cell blank if the value is missing."


register(
    MISSING_COLUMN,
    EXTRA_COLUMN,
    WRONG_TYPE,
    REQUIRED,
    OUT_OF_RANGE,
    NOT_ALLOWED,
    PATTERN,
    DUPLICATE_KEY,
    NOT_UNIQUE,
    UNKNOWN_REFERENCE,
    LENGTH,
)

_POLARS_TYPES: dict[str, pl.DataType] = {
    "integer": pl.Int64(),
    "number": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
}


def fields_of(schema: Mapping) -> list[dict]:
    return list(schema.get("fields", []))


def primary_key(schema: Mapping) -> list[str]:
    key = schema.get("primaryKey") or []
    return [key] if isinstance(key, str) else list(key)


def header_findings(header: list[str], schema: Mapping, *, file: str) -> list[Finding]:
    """Missing and unknown columns, compared by name (order does not matter)."""
    names = [f["name"] for f in fields_of(schema)]
    missing = [n for n in names if n not in header]
    extra = [c for c in header if c not in names]
    findings = [
        MISSING_COLUMN.finding(f"the header has no column {name!r}", file=file, row=HEADER_ROW, column=name)
        for name in missing
    ]
    for column in extra:
        near = difflib.get_close_matches(column, missing, n=1, cutoff=0.6)
        fix = f"Rename the column to {near[0]!r}." if near else None
        findings.append(
            EXTRA_COLUMN.finding(
                f"column {column!r} is not in the table's schema",
                file=file,
                row=HEADER_ROW,
                column=column,
                value=column,
                fix=fix,
            )
        )
    return findings


def _typed(value: object, kind: str) -> object:
    """A constraint bound from the descriptor in the field's Python type."""
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind == "number":
        return float(value)  # type: ignore[arg-type]
    return value


@dataclass(frozen=True)
class _Constraint:
    """One Table Schema constraint: the pandera check, the same test as a polars expression, the words."""

    rule: Rule
    check: pa.Check
    violated: pl.Expr
    describe: str | Callable[[object], str]  # or, given the typed value, which bound it broke

    def words(self, value: object) -> str:
        return self.describe if isinstance(self.describe, str) else self.describe(value)


def _constraints(field: Mapping, value: pl.Expr | None = None) -> list[_Constraint]:
    """The field's constraints; ``value`` is the typed value they test (default: the column itself)."""
    name, kind = field["name"], field.get("type", "string")
    rules = field.get("constraints", {})
    col = pl.col(name) if value is None else value
    out: list[_Constraint] = []
    if "minimum" in rules and "maximum" in rules:
        # One pandera check for both bounds: pandera's cost is per check, whatever the rows.
        low, high = _typed(rules["minimum"], kind), _typed(rules["maximum"], kind)
        below, above = f"the minimum is {rules['minimum']}", f"the maximum is {rules['maximum']}"
        out.append(
            _Constraint(
                OUT_OF_RANGE,
                pa.Check.in_range(low, high),
                (col < low) | (col > high),
                lambda value, low=low, below=below, above=above: below if value < low else above,
            )
        )
    elif "minimum" in rules:
        low = _typed(rules["minimum"], kind)
        out.append(
            _Constraint(OUT_OF_RANGE, pa.Check.ge(low), col < low, f"the minimum is {rules['minimum']}")
        )
    elif "maximum" in rules:
        high = _typed(rules["maximum"], kind)
        out.append(
            _Constraint(OUT_OF_RANGE, pa.Check.le(high), col > high, f"the maximum is {rules['maximum']}")
        )
    if "exclusiveMinimum" in rules:
        low = _typed(rules["exclusiveMinimum"], kind)
        words = f"it must be above {rules['exclusiveMinimum']}"
        out.append(_Constraint(OUT_OF_RANGE, pa.Check.gt(low), col <= low, words))
    if "exclusiveMaximum" in rules:
        high = _typed(rules["exclusiveMaximum"], kind)
        words = f"it must be below {rules['exclusiveMaximum']}"
        out.append(_Constraint(OUT_OF_RANGE, pa.Check.lt(high), col >= high, words))
    if "enum" in rules:
        allowed = [_typed(v, kind) for v in rules["enum"]]
        words = "allowed values are " + ", ".join(str(v) for v in rules["enum"])
        out.append(_Constraint(NOT_ALLOWED, pa.Check.isin(allowed), ~col.is_in(allowed), words))
    if "pattern" in rules:
        # Table Schema matches the pattern against the whole value.
        whole = f"^(?:{rules['pattern']})$"
        words = f"the pattern is {rules['pattern']}"
        out.append(_Constraint(PATTERN, pa.Check.str_matches(whole), ~col.str.contains(whole), words))
    if "minLength" in rules or "maxLength" in rules:
        low, high = rules.get("minLength"), rules.get("maxLength")
        length = col.str.len_chars()
        violated = (length < (low or 0)) | (length > high if high is not None else pl.lit(False))
        words = f"the length must be {low or 0} to {high or 'any'} characters"
        out.append(_Constraint(LENGTH, pa.Check.str_length(low, high), violated, words))
    return out


def _suspects(columns: Iterable[str], schema: Mapping, typed: Mapping[str, pl.Expr]) -> pl.Expr:
    """True for rows that break any constraint: one fused pass, so pandera only sees those rows.

    ``typed`` gives each cast column as an expression over the text, so the pass reads the
    text and never keeps a typed copy of the table.
    """
    tests = [test for _, _, test in _tests(columns, schema, typed)]
    # Kleene OR: true when any test is true, whatever nulls the others give.
    return pl.any_horizontal(tests).fill_null(False) if tests else pl.lit(False)


def _tests(
    columns: Iterable[str], schema: Mapping, typed: Mapping[str, pl.Expr] | None = None
) -> Iterator[tuple[str, int | None, pl.Expr]]:
    """(field, constraint number or None for required, expression true where it is broken).

    ``typed`` maps columns to the expression of their typed value; by default the column.
    A required cell that is present but fails its cast is a type error, not a blank.
    """
    key = primary_key(schema)
    present = set(columns)
    typed = typed or {}
    for field in fields_of(schema):
        name = field["name"]
        if name not in present:
            continue
        for number, constraint in enumerate(_constraints(field, typed.get(name))):
            yield name, number, constraint.violated
        if _required(field, key):
            yield name, None, pl.col(name).is_null()


def _required(field: Mapping, key: list[str]) -> bool:
    # Primary key members are required (frictionless-py #1623 lets a null member through otherwise).
    return bool(field.get("constraints", {}).get("required")) or field["name"] in key


@dataclass(frozen=True)
class _Stack:
    """Fields with the same type and constraints, checked by one pandera column over their cells stacked.

    pandera's cost is per column and check, whatever the rows: fourteen items with one
    response range are one column of fourteen times the cells, checked once.
    """

    fields: list[str]
    schema: pa.DataFrameSchema
    checks: dict[int, _Constraint]  # pandera's check number -> the constraint it is


STACKED = "value"


def pandera_schemas(
    schema: Mapping, columns: Iterable[str], *, only: set[tuple[str, int | None]] | None = None
) -> list[_Stack]:
    """The pandera polars schemas for the fields present in ``columns``: one per group of fields
    with the same type, constraints and requiredness.

    ``only`` keeps just those (field, constraint number) pairs, number None standing for
    "required"; a group keeps a check when any of its fields needs it, and groups left with
    nothing to check are dropped.
    """
    present = set(columns)
    key = primary_key(schema)
    groups: dict[str, list[Mapping]] = {}
    for field in fields_of(schema):
        if field["name"] in present:
            like = {"type": field.get("type", "string"), "constraints": field.get("constraints", {})}
            signature = json.dumps([like, _required(field, key)], sort_keys=True, default=str)
            groups.setdefault(signature, []).append(field)
    stacks = []
    for members in groups.values():
        names = [f["name"] for f in members]
        first = members[0]
        numbered = [
            (n, c)
            for n, c in enumerate(_constraints(first))
            if only is None or any((name, n) in only for name in names)
        ]
        required = _required(first, key) and (only is None or any((name, None) in only for name in names))
        if not numbered and not required:
            continue  # nothing to check beyond the type, which the cast already did
        column = pa.Column(
            _POLARS_TYPES.get(first.get("type", "string"), pl.String()),
            checks=[c.check for _, c in numbered],
            nullable=not required,
            coerce=False,
        )
        stacks.append(
            _Stack(
                fields=names,
                schema=pa.DataFrameSchema({STACKED: column}, strict=False, name=", ".join(names)),
                checks={position: c for position, (_, c) in enumerate(numbered)},
            )
        )
    return stacks


def _row(index: int) -> int:
    return index + FIRST_DATA_ROW


def _constraint_findings(
    typed: Callable[[pl.Series], pl.DataFrame],
    text: pl.DataFrame,
    schema: Mapping,
    *,
    file: str,
    skip: set[tuple[int, str]],
    suspect: pl.Series,
) -> Iterator[Finding]:
    # The pandera schemas decide and report; a fused polars pre-pass built from the same
    # constraints (``suspect``, computed with the cast) hands them only the rows that break
    # one, which keeps a clean million-row table from paying pandera's per-check overhead
    # (docs/validation.md, "Speed"). ``typed`` casts those rows.
    rows = suspect.arg_true()
    if rows.is_empty():
        return
    suspects = typed(rows)
    # Only the checks these rows break.
    tests = list(_tests(suspects.columns, schema))
    broken = suspects.select(
        test.fill_null(False).any().alias(str(n)) for n, (_, _, test) in enumerate(tests)
    ).row(0)
    only = {(name, number) for (name, number, _), hit in zip(tests, broken, strict=True) if hit}
    for stack in pandera_schemas(schema, suspects.columns, only=only):
        cells = (
            suspects.select(stack.fields)
            .with_row_index("position")
            .unpivot(index="position", on=stack.fields, variable_name="column", value_name=STACKED)
        )
        try:
            stack.schema.validate(cells, lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases.select("check", "check_number", "index")
        else:
            continue
        for check, number, at in cases.iter_rows():
            if at is None:  # pragma: no cover - a failure of the whole column: the cast reported it
                continue
            position, column, typed_value = cells.row(at)
            row_index = int(rows[position])
            if (row_index, column) in skip:
                continue  # a cell that failed its type cast is reported once, as a type error
            value = text.get_column(column)[row_index]
            if check == "not_nullable":
                yield REQUIRED.finding(
                    f"{column} is blank but required", file=file, row=_row(row_index), column=column
                )
                continue
            constraint = stack.checks.get(number)
            if constraint is None:  # pragma: no cover - pandera added a check we did not ask for
                continue
            yield constraint.rule.finding(
                f"{value!r} is not allowed in {column}: {constraint.words(typed_value)}",
                file=file,
                row=_row(row_index),
                column=column,
                value=value,
            )


def _duplicates(text: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Later occurrences of a repeated key (row_index, first_index, key columns), nulls excluded.

    A 64-bit hash of the key finds the candidates in one cheap pass; the exact
    comparison then runs on those few rows only (so a hash collision costs nothing).
    Repeated hashes are found by sorting, which costs less than a hash table of a
    million keys.
    """
    hashes = text.select(pl.struct(columns).hash().alias("hash"))
    repeated = (
        hashes.lazy()
        .sort("hash")
        .filter(pl.col("hash") == pl.col("hash").shift(1))
        .select(pl.col("hash").unique())
        .collect()
        .get_column("hash")
    )
    candidates = hashes.select(pl.arg_where(pl.col("hash").is_in(repeated.implode()))).to_series()
    keyed = (
        text.select(columns)[candidates]
        .with_columns(candidates.alias("row_index"))
        .select("row_index", *columns)
        .drop_nulls(columns)
    )
    later = keyed.filter(~pl.struct(columns).is_first_distinct())
    first = keyed.group_by(columns, maintain_order=True).agg(pl.col("row_index").first().alias("first_index"))
    return later.join(first, on=columns, how="left").select("row_index", "first_index", *columns)


def key_findings(text: pl.DataFrame, schema: Mapping, *, file: str) -> Iterator[Finding]:
    """Duplicate primary keys and duplicate values in ``unique`` fields."""
    key = primary_key(schema)
    if key and all(k in text.columns for k in key):
        label = ", ".join(key)
        for row in _duplicates(text, key).iter_rows(named=True):
            value = " / ".join(str(row[k]) for k in key)
            yield DUPLICATE_KEY.finding(
                f"{label} {value} is already used in row {_row(row['first_index'])}",
                file=file,
                row=_row(row["row_index"]),
                column=label,
                value=value,
            )
    for field in fields_of(schema):
        name = field["name"]
        if field.get("constraints", {}).get("unique") and name in text.columns and key != [name]:
            for row in _duplicates(text, [name]).iter_rows(named=True):
                yield NOT_UNIQUE.finding(
                    f"{row[name]!r} is already used in row {_row(row['first_index'])}",
                    file=file,
                    row=_row(row["row_index"]),
                    column=name,
                    value=row[name],
                )


def foreign_key_findings(
    text: pl.DataFrame, schema: Mapping, references: Mapping[str, pl.DataFrame], *, file: str
) -> Iterator[Finding]:
    """Values with no row in the referenced table. ``references`` maps resource names to their text frames."""
    for foreign in schema.get("foreignKeys", []):
        fields = foreign["fields"]
        fields = [fields] if isinstance(fields, str) else list(fields)
        target = foreign["reference"]
        target_fields = target["fields"]
        target_fields = [target_fields] if isinstance(target_fields, str) else list(target_fields)
        lookup = text if target.get("resource", "") == "" else references.get(target["resource"])
        if lookup is None or not all(f in text.columns for f in fields):
            continue
        if not all(f in lookup.columns for f in target_fields):
            continue
        keys = (
            lookup.select(pl.col(t).alias(f) for f, t in zip(fields, target_fields, strict=True))
            .drop_nulls()
            .unique()
        )
        missing = (
            text.lazy()
            .select(fields)
            .with_row_index("row_index")
            .drop_nulls(fields)
            .join(keys.lazy(), on=fields, how="anti")
            .sort("row_index")
            .collect()
        )
        for row in missing.iter_rows(named=True):
            value = " / ".join(str(row[f]) for f in fields)
            yield reference_finding(fields, target.get("resource", ""), value, row["row_index"], file=file)


def reference_finding(fields: list[str], resource: str, value: str, row_index: int, *, file: str) -> Finding:
    """A value with no row in the referenced resource ("" = this table)."""
    fix = f"Correct the value, or add {value} to the {resource} table." if resource else None
    return UNKNOWN_REFERENCE.finding(
        f"{', '.join(fields)} {value} is not in {resource or 'this table'}",
        file=file,
        row=_row(row_index),
        column=", ".join(fields),
        value=value,
        fix=fix,
    )


def types_of(schema: Mapping) -> dict[str, str]:
    return {f["name"]: f.get("type", "string") for f in fields_of(schema)}


def check_frame(
    text: pl.DataFrame,
    schema: Mapping,
    *,
    file: str,
    references: Mapping[str, pl.DataFrame] | None = None,
    keep: Sequence[str] = (),
    also: Sequence[Callable[[pl.DataFrame], Iterable[Finding]]] = (),
    then: Mapping[str, pl.Expr] | None = None,
) -> tuple[pl.DataFrame, list[Finding]]:
    """Every Table Schema finding for a text frame, and the ``keep`` columns cast to their types.

    Header findings are separate (``header_findings``) because they need the file's header row.
    The table is cast in one pass that keeps only what is asked for: the ``keep`` columns,
    a flag per row for the constraint checks, the cells that failed their cast, and
    ``then`` (further columns, expressions over the text). A million-row table's typed copy
    is never held; the rows that need a closer look are cast again on their own.
    ``also`` are further checks (a layer's own rules) given the kept columns and ``then``:
    they run beside the schema checks and their findings come last, in the order given.
    """
    types = {c: t for c, t in types_of(schema).items() if c in text.columns}
    typed = {c: cast_expression(c, t) for c, t in types.items() if t != "string"}
    failed = [(pl.col(c).is_not_null() & e.is_null()).alias(_failed(c)) for c, e in typed.items()]
    kept = [c for c in keep if c in text.columns]
    # Keys need only the text, so they run beside the pass; the other checks run beside each
    # other after it. polars releases the GIL, so the passes overlap on two cores while
    # pandera's Python work runs in the main thread.
    with ThreadPoolExecutor(max_workers=2 + len(also)) as pool:
        keys = pool.submit(lambda: list(key_findings(text, schema, file=file)))
        foreign = pool.submit(lambda: list(foreign_key_findings(text, schema, references or {}, file=file)))
        # Lazy, so that polars computes each cast once for all the expressions that use it.
        passed = (
            text.lazy()
            .select(
                *(typed.get(c, pl.col(c)).alias(c) for c in kept),
                _suspects(text.columns, schema, typed).alias(SUSPECT),
                *failed,
                *(e.alias(n) for n, e in (then or {}).items()),
            )
            .collect()
        )
        failures = cast_failures(text, {c: passed.get_column(_failed(c)) for c in typed}, order=list(typed))
        narrow = passed.select(*kept, *(then or {}))
        more = [pool.submit(lambda c=c: list(c(narrow))) for c in also]
        skip = {(f.row_index, f.column) for f in failures}

        def rows_typed(rows: pl.Series) -> pl.DataFrame:
            return cast(text[rows], types)[0]

        suspect = passed.get_column(SUSPECT)
        constraints = list(
            _constraint_findings(rows_typed, text, schema, file=file, skip=skip, suspect=suspect)
        )
    findings = [
        WRONG_TYPE.finding(
            f"{f.value!r} is not a valid {types[f.column]}",
            file=file,
            row=f.row,
            column=f.column,
            value=f.value,
            fix=type_fix(types[f.column], f.value),
        )
        for f in failures
    ]
    extra = [f for future in more for f in future.result()]
    findings += constraints + keys.result() + foreign.result() + extra
    return narrow.select(kept), findings


def _failed(column: str) -> str:
    return f"__studykit_failed_{column}"
