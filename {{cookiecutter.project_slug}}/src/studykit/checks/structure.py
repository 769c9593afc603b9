"""Structure layer: the data package and every table against its Table Schema (codes STR###).

What it checks:
- ``datapackage.json`` exists, is a valid Data Package descriptor (frictionless) and is in
  sync with study.yml and the instrument definitions (``studykit.package.drift``);
- every tabular resource's file exists, reads as CSV, is UTF-8;
- the non-measure tables (participants, employment) against their schemas, whatever their
  size, with the engine of ``checks/tabular.py``; a resource whose schema uses a Table
  Schema feature that engine does not implement is validated by frictionless instead
  (``Run.engines`` records which engine checked which table). The coding files (codebook,
  segments) belong to the qualitative layer, which owns their rules. Measure tables are
  checked in the measures layer, which reads each of them once;
- spaces around values in every table, the governance registers included (STR017).

The expected schemas come from ``build_descriptor(study)``, the one source of truth,
not from the file on disk, so a stale ``datapackage.json`` is one drift finding rather
than hundreds of wrong ones.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import polars as pl

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.checks.tabular import (
    DUPLICATE_KEY,
    NOT_UNIQUE,
    UNKNOWN_REFERENCE,
    WRONG_TYPE,
    check_frame,
    formula_findings,
    header_findings,
    padding_findings,
    primary_key,
    unsupported,
)
from studykit.errors import DataReadError
from studykit.files import LINK_OUTSIDE_FIX, leads_out_of_study, link_outside_sentence, study_relative
from studykit.study import Study
from studykit.tables import HEADER_ROW, TextTable, spreadsheet_row

V2 = "https://datapackage.org/profiles/2.0/datapackage.json"

INTERNAL = Rule(
    "STR000",
    "structure",
    "Internal error in a check",
    "error",
    "A layer of checks stopped on an unexpected error (a bug in studykit), so that layer did not run; the "
    "report names it under not_run and the exit code is 2. The other layers still ran.",
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
EMPTY_COLUMNS = Rule(
    "STR026",
    "structure",
    "Empty columns without a name",
    "warning",
    "The header row ends with columns that have no name, and no row has a value in them: a spreadsheet "
    "saves these (',,,' at the end of each line) when cells to the right of the table were once used. "
    "studykit ignores them; other tools may read them as unnamed columns.",
    "In the spreadsheet, select the empty columns to the right of the table, delete them (Delete columns, "
    "not just their contents) and save the file again as CSV UTF-8.",
)
REPEATED_HEADER = Rule(
    "STR027",
    "structure",
    "Header row repeated",
    "error",
    "A row repeats the header row, cell for cell: rows pasted in from another copy of the file, its header "
    "included. The row holds no data, so its other rules are not checked (listed under not_checked).",
    "Delete the row, then check that the rows pasted with it belong here and are not there twice.",
)
RAGGED = Rule(
    "STR016",
    "structure",
    "Wrong number of cells",
    "error",
    "A row has more or fewer cells than the header row, so its values may sit under the wrong columns "
    "(a value left out, or a comma inside a value without quotes around it). The row's other rules are "
    "not checked (the report lists them under not_checked); a short row is read with blanks at its end, "
    "a long row without its extra cells.",
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
FRICTIONLESS_ERROR = Rule(
    "STR018",
    "structure",
    "Table Schema constraint not met (checked by frictionless)",
    "error",
    "A cell breaks a constraint of its field in a table whose schema uses a Table Schema feature studykit's "
    "own engine does not implement, so frictionless checked it; the message is frictionless's.",
    "Correct the cell so that it meets the field's constraints in datapackage.json.",
)
REMOTE = Rule(
    "STR024",
    "structure",
    "datapackage.json points to the network",
    "error",
    "A profile, $schema, schema, dialect or path in datapackage.json is a web address. Validation never "
    "uses the network (a study's checks must give the same answer offline, and must not tell a server "
    "what is being checked), so it was not fetched, and the rest of the descriptor was checked without it.",
    "Remove the web address (studykit package sync writes a descriptor without one), or keep a local copy "
    "of the file in the study and point to it by a relative path.",
)
register(
    REMOTE,
    INTERNAL,
    MISSING_FILE,
    UNREADABLE,
    NOT_UTF8,
    BOM,
    EMPTY_COLUMNS,
    RAGGED,
    REPEATED_HEADER,
    NO_DESCRIPTOR,
    BAD_DESCRIPTOR,
    DRIFT,
    FRICTIONLESS_ERROR,
)

# frictionless error types (its structured ``type``, never its prose) -> our rules. Header errors are
# left out: ``header_findings`` compares by name.
_FRICTIONLESS = {
    "type-error": WRONG_TYPE,
    "constraint-error": FRICTIONLESS_ERROR,
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


def repeated_header_rows(table: TextTable) -> list[int]:
    """Spreadsheet rows whose every cell is its column's name (a header pasted in with copied rows).

    Only rows whose first cell is the first column's name are compared further, so a large table
    costs one comparison per row."""
    frame = table.frame
    if frame.height == 0 or not frame.width:
        return []
    first = frame.columns[0]
    candidates = frame.select(pl.col(first).eq(first).arg_true()).to_series().to_list()
    return [
        spreadsheet_row(i) for i in candidates
        if all(frame.item(i, name) == name for name in frame.columns)
    ]  # fmt: skip


def encoding_findings(table: TextTable, *, file: str) -> list[Finding]:
    """How the file was saved: its encoding, a byte order mark, empty columns a spreadsheet left,
    rows with the wrong number of cells."""
    findings = []
    if table.encoding == "latin-1":
        findings.append(NOT_UTF8.finding("the file is not UTF-8 (read as Latin-1)", file=file, row=None))
    if table.encoding == "utf-8-sig":
        findings.append(BOM.finding("the file starts with a byte order mark", file=file, row=None))
    if table.empty_columns:
        message = (
            f"{table.empty_columns} column(s) with no name and no value (a spreadsheet writes them as ',,,' "
            "at the end of each row); studykit ignored them"
        )
        findings.append(EMPTY_COLUMNS.finding(message, file=file, row=HEADER_ROW))
    for row in repeated_header_rows(table):
        findings.append(REPEATED_HEADER.finding("the row repeats the header row", file=file, row=row))
    width = len(table.header) + table.empty_columns
    for row, cells in table.ragged:
        what = "a value is missing" if cells < width else f"the last {cells - width} cell(s) were not read"
        message = f"the row has {cells} cells and the header {width}: {what}"
        findings.append(RAGGED.finding(message, file=file, row=row))
    return findings


# The published Data Package profiles, which frictionless holds itself (never fetched).
_OFFICIAL_PROFILE = re.compile(
    r"^(https://datapackage\.org/profiles/[0-9.]+/[a-z]+\.json"
    r"|data-package|tabular-data-package|data-resource|tabular-data-resource)$"
)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _remote(key: str, value: object) -> bool:
    if not isinstance(value, str) or not _URL.match(value):
        return False
    return not (key in ("profile", "$schema") and _OFFICIAL_PROFILE.match(value))


def remote_references(descriptor: object, where: str = "") -> list[tuple[str, str]]:
    """(place, URL) of every web address in the descriptor that frictionless would fetch."""
    found: list[tuple[str, str]] = []
    if isinstance(descriptor, dict):
        for key, value in descriptor.items():
            place = f"{where}.{key}" if where else str(key)
            if key in ("profile", "$schema", "schema", "dialect", "path") and _remote(key, value):
                found.append((place, value))
            elif key == "path" and isinstance(value, list):
                found += [(f"{place}[{i}]", v) for i, v in enumerate(value) if _remote(key, v)]
            else:
                found += remote_references(value, place)
    elif isinstance(descriptor, list):
        for index, value in enumerate(descriptor):
            found += remote_references(value, f"{where}[{index}]")
    return found


def without_remote(descriptor: object) -> object:
    """The descriptor without its web addresses, so that checking it never touches the network."""
    if isinstance(descriptor, dict):
        return {
            k: without_remote(v)
            for k, v in descriptor.items()
            if not (k in ("profile", "$schema", "schema", "dialect", "path") and _remote(k, v))
        }
    if isinstance(descriptor, list):
        return [without_remote(v) for v in descriptor]
    return descriptor


def _descriptor_findings(study: Study) -> Iterator[Finding]:
    from frictionless import Package

    from studykit.package import drift

    file = relative(study, study.datapackage_path)
    if (target := leads_out_of_study(study.datapackage_path)) is not None:
        yield UNREADABLE.finding(link_outside_sentence(target), file=file, fix=LINK_OUTSIDE_FIX)
        return
    try:
        on_disk = json.loads(study.datapackage_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        yield NO_DESCRIPTOR.finding("datapackage.json is missing", file=file)
        return
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield NO_DESCRIPTOR.finding(f"datapackage.json is not readable JSON ({exc})", file=file)
        return
    remote = remote_references(on_disk)
    for where, url in remote:
        yield REMOTE.finding(f"{where} is {url}, a web address; it was not fetched", file=file, column=where)
    if remote:
        on_disk = without_remote(on_disk)
    for error in Package.validate_descriptor(on_disk).flatten(["type", "note"]):
        yield BAD_DESCRIPTOR.finding(f"{error[0]}: {error[1]}", file=file)
    for sentence in drift(study):
        yield DRIFT.finding(sentence, file=file)


def _frictionless_findings(
    study: Study, descriptor: Mapping, resource: Mapping, *, file: str
) -> Iterator[Finding]:
    """Validate one resource with frictionless; each error's rule from its ``type``, without the row's
    ``cells`` (participant data) and with frictionless's own words."""
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
            rule = _FRICTIONLESS.get(error.type) or (
                UNREADABLE if getattr(error, "row_number", None) is None else FRICTIONLESS_ERROR
            )
            column = getattr(error, "field_name", None) or None
            if error.type == "unique-error" and [column] == primary_key(resource["schema"]):
                continue  # the same duplicate is reported once, as a primary-key error
            if error.type in ("primary-key", "foreign-key"):
                column = ", ".join(getattr(error, "field_names", None) or primary_key(resource["schema"]))
                value = " / ".join(str(c) for c in getattr(error, "field_cells", None) or []) or None
            else:
                value = getattr(error, "cell", None) or None
            yield rule.finding(
                f"frictionless: {error.message}" if rule is not UNREADABLE else error.message,
                file=file,
                row=getattr(error, "row_number", None),
                column=column,
                value=value,
            )


def _table_findings(
    run: Run, descriptor: Mapping, resource: Mapping, tables: dict[str, TextTable]
) -> Iterator[Finding]:
    file = resource["path"]
    table = tables[resource["name"]]
    yield from encoding_findings(table, file=file)
    yield from header_findings(table.header, resource["schema"], file=file)
    yield from padding_findings(table, file=file)
    yield from formula_findings(table, resource["schema"], file=file)
    if unsupported(resource["schema"]) is not None:
        run.checked_by(file, "frictionless")
        yield from _frictionless_findings(run.study, descriptor, resource, file=file)
        return
    run.checked_by(file, "polars")
    references = {name: t.frame for name, t in tables.items()}
    _, findings = check_frame(table.frame, resource["schema"], file=file, references=references)
    yield from findings


def _coding_padding(run: Run, path: Path, file: str) -> Iterator[Finding]:
    if path.is_file():
        try:
            table = run.read_table(path, file_label=file)
        except DataReadError:
            return  # the qualitative layer reports a coding file it cannot read
        yield from padding_findings(table, file=file)


def _register_padding(run: Run) -> Iterator[Finding]:
    """Spaces around values and formula-like cells in the tables another layer checks: the
    governance registers and the coding files (read as text, so every column is a text column)."""
    study = run.study
    for path in (study.consent_path, study.withdrawals_path, study.codebook_path, study.segments_path):
        if path.is_file():
            try:
                table = run.read_table(path)
            except DataReadError:
                continue  # the governance or qualitative layer reports a file it cannot read
            if path in (study.consent_path, study.withdrawals_path):
                yield from padding_findings(table, file=relative(study, path))
            yield from formula_findings(table, None, file=relative(study, path))
            saved = encoding_findings(table, file=relative(study, path))
            yield from (f for f in saved if f.code in {"STR016", "STR026", "STR027"})


def check(run: Run) -> Iterator[Finding]:
    """Yield findings for the data package descriptor and the non-measure tables."""
    from studykit.package import build_descriptor

    study = run.study
    yield from _descriptor_findings(study)
    descriptor = build_descriptor(study)
    measures = measure_files(study)
    elsewhere = checked_elsewhere(study)
    tables: dict[str, TextTable] = {}
    checkable: list[dict] = []
    for resource in tabular_resources(descriptor):
        if resource["path"] in elsewhere and resource["path"] not in measures:
            # The qualitative layer owns the coding files' rules (missing files included); spaces
            # around a value are one rule in every table, so they are reported here as everywhere.
            yield from _coding_padding(run, study.root / resource["path"], resource["path"])
            continue
        path = study.root / resource["path"]
        if not path.is_file():
            yield MISSING_FILE.finding(f"{resource['path']} does not exist", file=resource["path"])
            continue
        if resource["path"] in measures:
            continue  # read once, in the measures layer
        try:
            tables[resource["name"]] = run.read_table(path, file_label=resource["path"])
        except DataReadError as exc:
            yield UNREADABLE.finding(exc.message, file=resource["path"], fix=exc.fix)
            continue
        checkable.append(resource)
    for resource in checkable:
        yield from _table_findings(run, descriptor, resource, tables)
    yield from _register_padding(run)
