"""Structure layer: the data package and every table against its Table Schema (codes STR###).

What it checks:
- ``datapackage.json`` exists, is a valid Data Package descriptor (frictionless) and is in
  sync with study.yml and the instrument definitions (``studykit.package.drift``);
- every tabular resource's file exists, reads as CSV, is UTF-8;
- the non-measure tables (participants, employment) against their schemas (the coding
  files, codebook and segments, belong to the qualitative layer, which owns their rules):
  frictionless for small tables (the reference implementation), the polars
  engine of ``checks/tabular.py`` for large ones. Measure tables are checked in the
  measures layer, which reads each of them once.

The expected schemas come from ``build_descriptor(study)``, the one source of truth,
not from the file on disk, so a stale ``datapackage.json`` is one drift finding rather
than hundreds of wrong ones.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from studykit.checks import memo
from studykit.checks.findings import Finding, Rule, register
from studykit.checks.tabular import (
    DUPLICATE_KEY,
    LENGTH,
    NOT_ALLOWED,
    NOT_UNIQUE,
    OUT_OF_RANGE,
    PATTERN,
    REQUIRED,
    UNKNOWN_REFERENCE,
    WRONG_TYPE,
    check_frame,
    header_findings,
    primary_key,
    reference_finding,
    type_fix,
)
from studykit.errors import DataReadError
from studykit.files import study_relative
from studykit.study import Study
from studykit.tables import TextTable

# Above this many data rows frictionless (about 24,000 rows/s) is too slow; the polars engine takes over.
FRICTIONLESS_MAX_ROWS = 20_000
V2 = "https://datapackage.org/profiles/2.0/datapackage.json"

INTERNAL = Rule(
    "STR000",
    "structure",
    "Internal error in a check",
    "error",
    "A check stopped on an unexpected error, so part of the validation did not run. The other layers "
    "still ran.",
    "Run `studykit validate --debug` to see the traceback, and report it with the study's studykit version.",
)
MISSING_FILE = Rule(
    "STR001",
    "structure",
    "File missing",
    "error",
    "A data file the data package describes does not exist, so it cannot be checked (exit code 2).",
    "Create the file with its header row (see docs/data-formats.md), or remove the instrument from study.yml "
    "and run `studykit package sync`.",
)
UNREADABLE = Rule(
    "STR002",
    "structure",
    "File cannot be read",
    "error",
    "A data file is not a readable CSV file (for example a spreadsheet saved under a .csv name, or rows with "
    "a different number of cells), so it cannot be checked (exit code 2).",
    "Open it in a spreadsheet and save it again as CSV (UTF-8).",
)
NOT_UTF8 = Rule(
    "STR003",
    "structure",
    "Not UTF-8",
    "error",
    "The file is not UTF-8 (it was read as Latin-1), so accented letters may be wrong in other tools.",
    "Save the file again as 'CSV UTF-8'.",
)
BOM = Rule(
    "STR004",
    "structure",
    "Byte order mark",
    "warning",
    "The file starts with a byte order mark (a spreadsheet's 'CSV UTF-8' does this). studykit reads it, "
    "some tools do not.",
    "Nothing needs doing; to remove it, save as plain CSV UTF-8 without BOM.",
)
RAGGED = Rule(
    "STR016",
    "structure",
    "Wrong number of cells",
    "error",
    "A row has more or fewer cells than the header row.",
    "Check the row for a stray comma or a missing value; quote cells that contain commas.",
)
NO_DESCRIPTOR = Rule(
    "STR020",
    "structure",
    "datapackage.json missing or unreadable",
    "error",
    "The study's data package descriptor is missing or is not valid JSON.",
    "Run `studykit package sync`.",
)
BAD_DESCRIPTOR = Rule(
    "STR021",
    "structure",
    "datapackage.json is not a valid data package",
    "error",
    "The descriptor breaks the Frictionless Data Package profile.",
    "Run `studykit package sync`; do not edit datapackage.json by hand.",
)
DRIFT = Rule(
    "STR022",
    "structure",
    "datapackage.json out of date",
    "error",
    "datapackage.json no longer matches study.yml and the instrument definitions.",
    "Run `studykit package sync`.",
)
register(INTERNAL, MISSING_FILE, UNREADABLE, NOT_UTF8, BOM, RAGGED, NO_DESCRIPTOR, BAD_DESCRIPTOR, DRIFT)

# frictionless error types -> our rules. Header errors are left out: ``header_findings`` compares by name.
_FRICTIONLESS = {
    "type-error": WRONG_TYPE,
    "primary-key": DUPLICATE_KEY,
    "foreign-key": UNKNOWN_REFERENCE,
    "extra-cell": RAGGED,
    "missing-cell": RAGGED,
    "unique-error": NOT_UNIQUE,
    "encoding-error": UNREADABLE,
    "format-error": UNREADABLE,
    "scheme-error": UNREADABLE,
    "source-error": UNREADABLE,
}
_CONSTRAINTS = {
    "required": REQUIRED,
    "minimum": OUT_OF_RANGE,
    "maximum": OUT_OF_RANGE,
    "exclusiveMinimum": OUT_OF_RANGE,
    "exclusiveMaximum": OUT_OF_RANGE,
    "enum": NOT_ALLOWED,
    "pattern": PATTERN,
    "unique": NOT_UNIQUE,
    "minLength": LENGTH,
    "maxLength": LENGTH,
}
_LABEL_ERRORS = {
    "missing-label",
    "extra-label",
    "incorrect-label",
    "duplicate-label",
    "blank-label",
    "blank-row",
}


def relative(study: Study, path: Path) -> str:
    """A path as the report shows it: relative to the study, with forward slashes."""
    return study_relative(study, path)


def measure_files(study: Study) -> set[str]:
    return {relative(study, study.measures_path(i)) for i in study.instruments}


def checked_elsewhere(study: Study) -> set[str]:
    """Tables another layer owns: measures (read once there) and the coding files (the qualitative layer).

    ``qual/coding.py`` holds the codebook and segment rules (duplicate ids, unknown codes and
    parents, offsets); checking those files here too gave two findings for one fault.
    """
    return measure_files(study) | {relative(study, study.codebook_path), relative(study, study.segments_path)}


def tabular_resources(descriptor: Mapping) -> list[dict]:
    """Resources that are CSV tables with a schema."""
    return [
        r
        for r in descriptor.get("resources", [])
        if isinstance(r.get("path"), str) and r["path"].endswith(".csv") and isinstance(r.get("schema"), dict)
    ]


def encoding_findings(table: TextTable, *, file: str) -> list[Finding]:
    if table.encoding == "latin-1":
        return [NOT_UTF8.finding("the file is not UTF-8 (read as Latin-1)", file=file, row=None)]
    if table.encoding == "utf-8-sig":
        return [BOM.finding("the file starts with a byte order mark", file=file, row=None)]
    return []


def _descriptor_findings(study: Study) -> Iterator[Finding]:
    from frictionless import Package

    from studykit.package import drift

    file = relative(study, study.datapackage_path)
    try:
        on_disk = json.loads(study.datapackage_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        yield NO_DESCRIPTOR.finding("datapackage.json is missing", file=file)
        return
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield NO_DESCRIPTOR.finding(f"datapackage.json is not readable JSON ({exc})", file=file)
        return
    for error in Package.validate_descriptor(on_disk).flatten(["type", "note"]):
        yield BAD_DESCRIPTOR.finding(f"{error[0]}: {error[1]}", file=file)
    for sentence in drift(study):
        yield DRIFT.finding(sentence, file=file)


def _frictionless_findings(
    study: Study, descriptor: Mapping, resource: Mapping, table: TextTable, *, file: str
) -> Iterator[Finding]:
    """Validate one resource with frictionless; map its errors to our rules, without the row's ``cells``."""
    from frictionless import Package

    # Columns are matched by name here and in header_findings, so frictionless need not report them.
    relaxed = copy.deepcopy(dict(descriptor))
    relaxed.setdefault("$schema", V2)
    for each in relaxed.get("resources", []):
        if isinstance(each.get("schema"), dict):
            each["schema"]["fieldsMatch"] = "partial"
    package = Package(relaxed, basepath=str(study.root))
    report = package.get_resource(resource["name"]).validate()
    for task in report.tasks:
        for error in task.errors:
            if error.type in _LABEL_ERRORS:
                continue
            rule = _FRICTIONLESS.get(error.type)
            if error.type == "constraint-error":
                name = error.note.split('"')[1] if '"' in error.note else ""
                rule = _CONSTRAINTS.get(name, OUT_OF_RANGE)
            if rule is None:
                rule = UNREADABLE if not hasattr(error, "row_number") else WRONG_TYPE
            column = getattr(error, "field_name", None) or None
            if rule is NOT_UNIQUE and [column] == primary_key(resource["schema"]):
                continue  # the same duplicate is reported once, as a primary-key error
            row = getattr(error, "row_number", None)
            if error.type == "primary-key" and "are all" in error.note:
                # A blank key is not a duplicate: it is a blank required cell, as the polars engine says.
                for name in primary_key(resource["schema"]):
                    yield REQUIRED.finding(f"{name} is blank but required", file=file, row=row, column=name)
                continue
            if error.type == "primary-key":
                key = primary_key(resource["schema"])
                column = ", ".join(key)
                value = " / ".join(str(_cell(table, row, k)) for k in key)
                first = error.note.rsplit(" ", 1)[-1]
                message = f"{column} {value} is already used in row {int(first) if first.isdigit() else '?'}"
            elif error.type == "foreign-key":
                fields = list(getattr(error, "field_names", []) or [])
                column = ", ".join(fields) or None
                value = " / ".join(str(c) for c in getattr(error, "field_cells", []) or [])
                found = reference_finding(
                    fields, getattr(error, "reference_name", ""), value, row - 2, file=file
                )
                yield found
                continue
            else:
                value = getattr(error, "cell", None) or None
                message = _message(error, rule, column, value, resource["schema"])
            fix = _fix(error, rule, value)
            yield rule.finding(message, file=file, row=row, column=column, value=value, fix=fix)


def _cell(table: TextTable, row: int | None, column: str) -> object:
    if row is None or column not in table.frame.columns or not 2 <= row < table.frame.height + 2:
        return None
    return table.frame.get_column(column)[row - 2]


def _fix(error: object, rule: Rule, value: object) -> str | None:
    """For a type error, the fix the polars engine gives: the field's form and the cell as written."""
    quoted = str(getattr(error, "note", "")).split('"')
    return type_fix(quoted[1].split("/")[0], value) if rule is WRONG_TYPE and len(quoted) > 1 else None


def _message(error: object, rule: Rule, column: str | None, value: object, schema: Mapping) -> str:
    """frictionless's error in the words the polars engine uses, so both engines read the same."""
    quoted = str(getattr(error, "note", "")).split('"')
    if rule is WRONG_TYPE and len(quoted) > 1:
        return f"{value!r} is not a valid {quoted[1].split('/')[0]}"
    if rule is REQUIRED:
        return f"{column} is blank but required"
    if getattr(error, "type", "") == "constraint-error" and len(quoted) > 3:
        name, bound = quoted[1], quoted[3]
        field = next((f for f in schema.get("fields", []) if f["name"] == column), {})
        enum = field.get("constraints", {}).get("enum", [bound])
        words = {
            "minimum": f"the minimum is {bound}",
            "maximum": f"the maximum is {bound}",
            "enum": "allowed values are " + ", ".join(str(v) for v in enum),
            "pattern": f"the pattern is {bound}",
        }.get(name, f"the {name} constraint is {bound}")
        return f"{value!r} is not allowed in {column}: {words}"
    return str(getattr(error, "message", error))


def _frictionless_can_check(resource: Mapping, tables: Mapping[str, TextTable]) -> bool:
    """Small, UTF-8, and every table it refers to read and small too (frictionless reads those as well)."""
    names = [resource["name"]] + [
        fk["reference"]["resource"]
        for fk in resource["schema"].get("foreignKeys", [])
        if fk.get("reference", {}).get("resource")
    ]
    return all(
        n in tables and tables[n].frame.height <= FRICTIONLESS_MAX_ROWS and tables[n].encoding != "latin-1"
        for n in names
    )


def _table_findings(
    study: Study, descriptor: Mapping, resource: Mapping, tables: dict[str, TextTable]
) -> Iterator[Finding]:
    file = resource["path"]
    table = tables[resource["name"]]
    yield from encoding_findings(table, file=file)
    yield from header_findings(table.header, resource["schema"], file=file)
    if _frictionless_can_check(resource, tables):
        yield from _frictionless_findings(study, descriptor, resource, table, file=file)
        return
    references = {name: t.frame for name, t in tables.items()}
    _, findings = check_frame(table.frame, resource["schema"], file=file, references=references)
    yield from findings


def check(study: Study) -> Iterator[Finding]:
    """Yield findings for the data package descriptor and the non-measure tables."""
    from studykit.package import build_descriptor

    yield from _descriptor_findings(study)
    descriptor = build_descriptor(study)
    measures = measure_files(study)
    elsewhere = checked_elsewhere(study)
    tables: dict[str, TextTable] = {}
    checkable: list[dict] = []
    for resource in tabular_resources(descriptor):
        if resource["path"] in elsewhere and resource["path"] not in measures:
            continue  # the qualitative layer checks the coding files, missing ones included
        path = study.root / resource["path"]
        if not path.is_file():
            yield MISSING_FILE.finding(f"{resource['path']} does not exist", file=resource["path"])
            continue
        if resource["path"] in measures:
            continue  # read once, in the measures layer
        try:
            tables[resource["name"]] = memo.read_table(path, file_label=resource["path"])
        except DataReadError as exc:
            yield UNREADABLE.finding(exc.message, file=resource["path"], fix=exc.fix)
            continue
        checkable.append(resource)
    for resource in checkable:
        yield from _table_findings(study, descriptor, resource, tables)
