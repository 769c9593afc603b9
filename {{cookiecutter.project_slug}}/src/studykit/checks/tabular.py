"""Table Schema checks of one CSV table with polars and pandera: the engine for every table.

Every table studykit writes (participants, employment, measures, codebook, segments)
is checked here, whatever its size, so what a cell means never depends on the file.
The checks are compiled from the table's Table Schema (built from study.yml and the
instrument definitions by ``studykit.package``), never written by hand per table:

1. header: every field present, no unknown column (a typo is both, so the fix names
   the closest field);
2. spaces: a cell with spaces or tabs around its value is read without them and
   reported (STR017, one rule for every table);
3. types: the table is read as text and cast with ``strict=False``, so every
   unparseable cell is one finding and never hides the others (see
   docs/validation.md, "Why text first");
4. constraints: the ``pandera.polars`` schema of ``studykit.schemas`` (required,
   minimum/maximum, enum, pattern, length), compiled once from the Table Schema, runs
   lazily on every row of the cast table and decides;
5. keys: primary key and ``unique`` duplicates, foreign keys against the referenced
   tables, with polars expressions.

A resource using a Table Schema feature this engine does not implement
(``unsupported``) is checked by frictionless instead (``checks/structure.py``); the
report says which engine checked each table.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from studykit.checks.findings import Finding, Rule, clip, register
from studykit.schemas import field_constraints, polars_schema, primary_key
from studykit.tables import HEADER_ROW, Cell, TextTable, cast_expression, cast_failures, spreadsheet_row

__all__ = ["primary_key"]

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
SPACES = Rule(
    "STR017",
    "structure",
    "Spaces around a value",
    "warning",
    "A cell has spaces or tabs before or after its value. studykit reads the value without them (a cell of "
    "only spaces is blank), but other tools may not: a padded date or number can fail to read elsewhere.",
    "Remove the spaces around the value (a spreadsheet's TRIM, or `studykit` edits that rewrite the file).",
)
FORMULA = Rule(
    "STR025",
    "structure",
    "Cell a spreadsheet would run as a formula",
    "warning",
    "A text cell starts with =, +, @, or - followed by a letter. Excel, LibreOffice and Google Sheets run "
    "such a cell as a formula when the file is opened (CSV injection): it can show a wrong value, or "
    "fetch a web address or start a program on the reader's computer. studykit reads it as text; the "
    "files it writes for people to open (codebook CSV, exports, scores) put a ' before it.",
    "If the text is meant (a quoted remark, a name such as @handle), leave it; otherwise correct the cell. "
    "Open the file in a spreadsheet only from studykit's exports, or with formulas turned off on import.",
)
# How a formula starts (OWASP, "CSV injection"): = + @ always; - only before a letter, so that
# negative numbers and "- " bullet text in a text column are not flagged.
FORMULA_START = r"^(?:[=+@]|-[A-Za-z])"
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
    SPACES,
    FORMULA,
)
# The rule of each kind of compiled constraint (studykit.schemas).
KIND_RULES = {"range": OUT_OF_RANGE, "enum": NOT_ALLOWED, "pattern": PATTERN, "length": LENGTH}

# What this engine implements of Table Schema; any other feature sends a resource to frictionless.
SUPPORTED_TYPES = frozenset({"string", "integer", "number", "boolean", "date"})
SUPPORTED_CONSTRAINTS = frozenset(
    {"required", "unique", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "pattern",
     "minLength", "maxLength"}
)  # fmt: skip
SUPPORTED_FIELD_KEYS = frozenset({"name", "type", "title", "description", "constraints", "example", "format"})
SUPPORTED_SCHEMA_KEYS = frozenset(
    {"$schema", "title", "description", "fields", "primaryKey", "foreignKeys", "fieldsMatch", "missingValues"}
)


def fields_of(schema: Mapping) -> list[dict]:
    return list(schema.get("fields", []))


def unsupported(schema: Mapping) -> str | None:
    """The first Table Schema feature of ``schema`` this engine does not implement, or None."""
    for key in schema:
        if key not in SUPPORTED_SCHEMA_KEYS:
            return f"schema key {key!r}"
    if schema.get("missingValues", [""]) != [""]:
        return "missingValues other than the empty string"
    for field in fields_of(schema):
        kind = field.get("type", "string")
        if kind not in SUPPORTED_TYPES:
            return f"field type {kind!r}"
        if field.get("format", "default") != "default":
            return f"field format {field['format']!r}"
        for key in field:
            if key not in SUPPORTED_FIELD_KEYS:
                return f"field property {key!r}"
        for key in field.get("constraints", {}):
            if key not in SUPPORTED_CONSTRAINTS:
                return f"constraint {key!r}"
    return None


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


def padding_findings(table: TextTable, *, file: str) -> Iterator[Finding]:
    """Cells written with spaces or tabs around their value (read without them)."""
    for cell in table.padded:
        stripped = cell.value.strip()
        read = f"read as {stripped!r}" if stripped else "read as blank"
        yield SPACES.finding(
            f"{cell.value!r} has spaces around its value; {read}",
            file=file,
            row=cell.row,
            column=cell.column,
            value=repr(cell.value),
        )


def formula_findings(table: TextTable, schema: Mapping | None, *, file: str) -> Iterator[Finding]:
    """Text cells a spreadsheet would run as a formula: one vectorised pass over the text columns.

    The text columns are the schema's string fields; with no schema (a register, a coding
    file: every column is read as text) every column.
    """
    frame = table.frame
    if schema is None:
        columns = list(frame.columns)
    else:
        columns = [n for n, t in types_of(schema).items() if t == "string" and n in frame.columns]
    if not columns or frame.height == 0:
        return
    hits = (
        frame.lazy()
        .select(columns)
        .with_row_index("row_index")
        .unpivot(index="row_index", on=columns, variable_name="column", value_name="value")
        .filter(pl.col("value").str.contains(FORMULA_START))
        .sort("row_index", maintain_order=True)
        .collect()
    )
    for row in hits.iter_rows(named=True):
        yield FORMULA.finding(
            f"starts with {row['value'][0]!r}: a spreadsheet would run the cell as a formula",
            file=file,
            row=spreadsheet_row(row["row_index"]),
            column=row["column"],
            value=row["value"],
        )


def types_of(schema: Mapping) -> dict[str, str]:
    return {f["name"]: f.get("type", "string") for f in fields_of(schema)}


@dataclass(frozen=True)
class CastTable:
    """A text table cast once to its field types: what the constraint and key checks work on.

    ``typed`` holds every field present, cast (a cell that would not cast is null), plus
    the ``extra`` columns asked for; ``failures`` are the cells that would not cast.
    """

    text: pl.DataFrame
    typed: pl.DataFrame
    failures: list[Cell]
    types: dict[str, str]


def cast_table(text: pl.DataFrame, schema: Mapping, extra: Mapping[str, pl.Expr] | None = None) -> CastTable:
    """Cast every field of ``text`` in one pass, with ``extra`` columns computed over the text."""
    types = {c: t for c, t in types_of(schema).items() if c in text.columns}
    casts = {c: cast_expression(c, t) for c, t in types.items() if t != "string"}
    typed = (
        text.lazy()
        .select(
            *(casts.get(c, pl.col(c)).alias(c) for c in types),
            *(e.alias(n) for n, e in (extra or {}).items()),
        )
        .collect()
    )
    # A cell failed when it had text and has no typed value. Null counts are kept with each
    # column, so only columns that gained nulls need a look at their cells.
    failed = {
        c: text.get_column(c).is_not_null() & typed.get_column(c).is_null()
        for c in casts
        if typed.get_column(c).null_count() != text.get_column(c).null_count()
    }
    return CastTable(text, typed, cast_failures(text, failed, order=list(casts)), types)


def type_findings(table: CastTable, *, file: str) -> Iterator[Finding]:
    for f in table.failures:
        yield WRONG_TYPE.finding(
            f"{f.value!r} is not a valid {table.types[f.column]}",
            file=file,
            row=f.row,
            column=f.column,
            value=f.value,
            fix=type_fix(table.types[f.column], f.value),
        )


EMPTY_ROW_FIX = (
    "The whole row is empty (only separators, as a spreadsheet leaves when a row's contents are cleared "
    "but the row is not deleted): delete the row."
)


def _empty_rows(text: pl.DataFrame) -> set[int]:
    """Indexes of rows with every cell blank."""
    if not text.width:
        return set()
    return set(text.select(pl.arg_where(pl.all_horizontal(pl.all().is_null()))).to_series().to_list())


def constraint_findings(table: CastTable, schema: Mapping, *, file: str) -> Iterator[Finding]:
    """What the pandera schema of ``schema`` finds on every row of the cast table.

    A cell that failed its cast is null in the typed table; it is reported once, as a
    type error, not again as a blank required cell.
    """
    present = tuple(c for c in table.types if c in table.typed.columns)
    try:
        polars_schema(schema, present).validate(table.typed.select(present), lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.select("column", "check", "check_number", "index").drop_nulls("index")
    else:
        return
    skip = {(f.row_index, f.column) for f in table.failures}
    empty = _empty_rows(table.text)
    fields = {f["name"]: f for f in fields_of(schema)}
    found: list[tuple[int, int, Finding]] = []
    order = {c: n for n, c in enumerate(present)}
    for (column, check, number), group in cases.group_by(
        "column", "check", "check_number", maintain_order=True
    ):
        rows = group.get_column("index").cast(pl.UInt32).sort()
        texts = table.text.get_column(column).gather(rows).to_list()
        values = table.typed.get_column(column).gather(rows).to_list()
        constraints = field_constraints(fields[column])
        for index, text, value in zip(rows.to_list(), texts, values, strict=True):
            if (index, column) in skip:
                continue
            if check == "not_nullable":
                finding = REQUIRED.finding(
                    f"{column} is blank but required", file=file, row=spreadsheet_row(index), column=column,
                    fix=EMPTY_ROW_FIX if index in empty else None,
                )  # fmt: skip
            else:
                constraint = constraints[number]
                finding = KIND_RULES[constraint.kind].finding(
                    f"{text!r} is not allowed in {column}: {constraint.describe(value)}",
                    file=file,
                    row=spreadsheet_row(index),
                    column=column,
                    value=text,
                )
            found.append((index, order[column], finding))
    found.sort(key=lambda t: (t[0], t[1]))
    yield from (f for _, _, f in found)


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


def _keyed(text: pl.DataFrame, columns: list[str], types: Mapping[str, str]) -> pl.DataFrame:
    """The key columns as their typed values (``03`` and ``3`` are the same integer), text for strings."""
    typed = [cast_expression(c, types[c]) for c in columns if types.get(c, "string") != "string"]
    return text.select(columns).with_columns(typed) if typed else text


def key_findings(text: pl.DataFrame, schema: Mapping, *, file: str) -> Iterator[Finding]:
    """Duplicate primary keys and duplicate values in ``unique`` fields, compared as typed values."""
    key = primary_key(schema)
    types = types_of(schema)
    if key and all(k in text.columns for k in key):
        label = ", ".join(key)
        for row in _duplicates(_keyed(text, key, types), key).iter_rows(named=True):
            value = " / ".join(str(row[k]) for k in key)
            yield DUPLICATE_KEY.finding(
                f"{label} {value} is already used in row {spreadsheet_row(row['first_index'])}",
                file=file,
                row=spreadsheet_row(row["row_index"]),
                column=label,
                value=value,
            )
    for field in fields_of(schema):
        name = field["name"]
        if field.get("constraints", {}).get("unique") and name in text.columns and key != [name]:
            for row in _duplicates(_keyed(text, [name], types), [name]).iter_rows(named=True):
                yield NOT_UNIQUE.finding(
                    f"{row[name]!r} is already used in row {spreadsheet_row(row['first_index'])}",
                    file=file,
                    row=spreadsheet_row(row["row_index"]),
                    column=name,
                    value=row[name],
                )


def foreign_key_findings(
    text: pl.DataFrame, schema: Mapping, references: Mapping[str, pl.DataFrame], *, file: str
) -> Iterator[Finding]:
    """Values with no row in the referenced table. ``references`` maps resource names to their text frames.

    Both sides are compared as values of the referencing fields' types (``03`` is the integer 3),
    as frictionless does; a cell that does not cast is a type error, not an unknown reference.
    """
    types = types_of(schema)
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
            _keyed(
                lookup.select(pl.col(t).alias(f) for f, t in zip(fields, target_fields, strict=True)),
                fields,
                types,
            )
            .drop_nulls()
            .unique()
        )
        missing = (
            _keyed(text, fields, types)
            .lazy()
            .select(fields)
            .with_row_index("row_index")
            .drop_nulls(fields)
            .join(keys.lazy(), on=fields, how="anti")
            .sort("row_index")
            .collect()
        )
        for row in missing.iter_rows(named=True):
            value = " / ".join(str(text.get_column(f)[row["row_index"]]) for f in fields)
            yield reference_finding(fields, target.get("resource", ""), value, row["row_index"], file=file)


def reference_finding(fields: list[str], resource: str, value: str, row_index: int, *, file: str) -> Finding:
    """A value with no row in the referenced resource ("" = this table)."""
    fix = f"Correct the value, or add {value} to the {resource} table." if resource else None
    return UNKNOWN_REFERENCE.finding(
        f"{', '.join(fields)} {value} is not in {resource or 'this table'}",
        file=file,
        row=spreadsheet_row(row_index),
        column=", ".join(fields),
        value=value,
        fix=fix,
    )


def check_frame(
    text: pl.DataFrame,
    schema: Mapping,
    *,
    file: str,
    references: Mapping[str, pl.DataFrame] | None = None,
    keep: Sequence[str] = (),
    extra: Mapping[str, pl.Expr] | None = None,
) -> tuple[pl.DataFrame, list[Finding]]:
    """Every Table Schema finding for a text frame (types, constraints, keys), and the ``keep``
    columns cast to their types with the ``extra`` columns (expressions over the text).

    Header and spaces findings are separate (``header_findings``, ``padding_findings``)
    because they need the file's header row and the cells as written. Keys need only the
    text, so they run beside the cast and pandera (polars releases the GIL).
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        keys = pool.submit(lambda: list(key_findings(text, schema, file=file)))
        foreign = pool.submit(lambda: list(foreign_key_findings(text, schema, references or {}, file=file)))
        table = cast_table(text, schema, extra)
        findings = list(type_findings(table, file=file)) + list(constraint_findings(table, schema, file=file))
        findings += keys.result() + foreign.result()
    kept = [c for c in keep if c in table.typed.columns] + list(extra or {})
    return table.typed.select(kept), findings
