"""Labelled exports for SPSS, Stata and R: one file per data table, fully labelled, consent-filtered.

``export_study(study, to, folder)`` writes each table of the data package that holds
participant data (participants, employment, one measures table per instrument) as
``<resource>.sav`` (SPSS), ``<resource>.dta`` (Stata) or ``<resource>.csv`` with a
``datapackage.json`` beside it (R: ``frictionless`` or ``readr``). Everything the labels say
comes from the sources the data package is built from:

- variable labels: the item text where the instrument's licence allows it, otherwise the
  scale's short name, the item id and its short label; the field titles for the other tables;
- value labels: the response labels (``1 "None of the time"`` ...), ``0 "no"``/``1 "yes"``
  for true/false columns;
- measurement level (SPSS): nominal keys and text, ordinal items, scale numbers and dates;
- scores: computed by ``studykit.instruments.scoring.checked_scores_table``, the same call
  ``studykit score`` makes, so the export refuses data errors in the key and item columns
  exactly as scoring does; a stored score column is replaced by the computed one;
- missing values: the data package declares blank as the only missing value, so a blank
  cell (and a score with too few items) is system-missing in SPSS and ``.`` in Stata.

Rows pass the one ``ConsentFilter`` (purpose ``analysis``, or ``deposit`` for a deposit),
and then every participant who asked to remove all data is left out whatever the
withdrawal policy kept for the study's own analysis: an export leaves the study.

``labelled_file(table, frame, to)`` is the one labelling code path: ``export_study`` calls it
for each table, and a deposit (``studykit.deposit.labelled``) calls it on the rows of each
deposited CSV, with a fixed creation time so the bytes do not depend on the clock.

Names SPSS or Stata cannot hold (too long, other characters, reserved words) are mapped by
``export_names``, deterministically from the column order; the mapping of every variable is
written to ``variables.csv`` beside the exports and shown in the codebook. Labels longer
than a format allows are cut, and the result says which variable's label was cut.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from studykit.files import refuse_study_owned, write_files
from studykit.instruments import Instrument, load_instruments
from studykit.instruments.model import Item
from studykit.study import Study

if TYPE_CHECKING:
    from studykit.governance.consent_filter import ConsentFilter

__all__ = [
    "EXPORTS_FOLDER",
    "FORMATS",
    "LIMITS",
    "VARIABLES_FILE",
    "Cut",
    "ExportResult",
    "ExportedTable",
    "Variable",
    "export_names",
    "export_study",
    "item_label",
    "labelled_file",
    "study_variables",
    "table_of",
    "typed_frame",
    "variables_file",
]

ExportFormat = Literal["spss", "stata", "csv"]
Scope = Literal["analysis", "deposit"]
FORMATS: tuple[ExportFormat, ...] = ("spss", "stata", "csv")
SUFFIX = {"spss": ".sav", "stata": ".dta", "csv": ".csv"}
EXPORTS_FOLDER = "exports"
VARIABLES_FILE = "variables.csv"
DESCRIPTOR_FILE = "datapackage.json"
KEYS = ("participant_id", "wave")
LEFT_OUT = "left_out"


@dataclass(frozen=True)
class Limits:
    """What one file format can hold: name length, label lengths (in ``unit``), reserved words."""

    name: int
    variable_label: int
    value_label: int
    file_label: int
    unit: Literal["bytes", "characters"]
    reserved: frozenset[str]
    value: int | None = None  # the longest text value, in bytes (None: no limit that matters)


SPSS_RESERVED = frozenset({"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"})
STATA_RESERVED = frozenset(
    {"_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n", "_pi",
     "_pred", "_rc", "_skip", "strl", "using", "with"}
)  # fmt: skip
# SPSS: names 64 bytes, variable labels 256, value labels 120, file label 64 (readstat cuts silently).
# Stata 14+ (.dta 118): names 32 characters, variable and file labels 80, value labels 32,000.
# pyreadstat names each value-label set after its variable, and readstat refuses a 32-character
# label name, so Stata names are kept to 31 (the same name with or without value labels).
LIMITS = {
    # A longer SPSS string is not cut by pyreadstat: the whole column is written empty.
    "spss": Limits(64, 256, 120, 64, "bytes", SPSS_RESERVED, value=32767),
    "stata": Limits(31, 80, 32000, 80, "characters", STATA_RESERVED),
}
_STATA_STR = re.compile(r"^str([0-9]+|l)$", re.IGNORECASE)
_TRAILING_ABBREVIATION = re.compile(r"\(([^()]+)\)\s*$")


# --- what is exported: variables and tables -----------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One column of an exported table and everything its label says."""

    name: str
    label: str
    kind: Literal["string", "integer", "number", "boolean", "date"]
    measure: Literal["nominal", "ordinal", "scale"]
    value_labels: dict[int, str] = field(default_factory=dict)
    decimals: int | None = None
    schema: dict[str, Any] = field(default_factory=dict)  # the Table Schema field for the CSV descriptor


@dataclass(frozen=True)
class ExportedTable:
    """One data table as exported: resource name, title, variables, the CSV it is read from."""

    name: str
    title: str
    variables: list[Variable]
    source: Path
    date_column: str | None
    instrument: str | None = None


def short_name(instrument: Instrument) -> str:
    """The scale's short name: its abbreviation in brackets, else its name if short, else its id."""
    found = _TRAILING_ABBREVIATION.search(instrument.name)
    if found:
        return found.group(1).strip()
    return instrument.name if len(instrument.name) <= 40 else instrument.id


def item_label(instrument: Instrument, item: Item) -> str:
    """An item's variable label: its text where the licence allows, else scale, id and short label."""
    if instrument.licence.item_text_allowed and item.text:
        label = item.text.strip()
    else:
        label = f"{short_name(instrument)} {item.id}" + (f": {item.label}" if item.label else "")
    return label + (" (reverse-scored)" if item.reverse else "")


def _from_field(schema_field: dict[str, Any]) -> Variable:
    """A variable from a data package field: its title, categories, type."""
    kind = schema_field["type"]
    labels = {int(c["value"]): str(c["label"]) for c in schema_field.get("categories", [])}
    if kind == "boolean":
        labels = {0: "no", 1: "yes"}
    name = schema_field["name"]
    if name in KEYS or kind in ("string", "boolean"):
        measure = "nominal"
    elif labels:
        measure = "ordinal"
    else:
        measure = "scale"
    return Variable(
        name, schema_field.get("title") or name, kind, measure, labels,
        0 if kind == "integer" else None, schema_field,
    )  # fmt: skip


def _instrument_variables(instrument: Instrument, resource: dict[str, Any]) -> list[Variable]:
    """Keys, date and items of a measures table (labels from the definition), then computed scores."""
    fields = {f["name"]: f for f in resource["schema"]["fields"]}
    scale = short_name(instrument)
    variables = [_from_field(fields[name]) for name in ("participant_id", "wave", "completed_on")]
    for item in instrument.items:
        labels = dict(instrument.response_for(item).labels)
        label = item_label(instrument, item)
        variables.append(Variable(item.id, label, "integer", "ordinal", labels, 0, fields[item.id]))
    for score in instrument.scores:
        limits = {"minimum": score.range[0], "maximum": score.range[1]}
        title = f"{scale}: {score.name}"
        schema = {
            "name": score.id,
            "type": "number",
            "title": title,
            "description": f"Computed by studykit. {score.note}".strip(),
            "constraints": limits,
        }
        variables.append(Variable(score.id, title, "number", "scale", {}, score.decimals, schema))
        counted = f"{score.id}_items"
        title = f"{scale}: items answered for {score.name}"
        schema = {
            "name": counted,
            "type": "integer",
            "title": title,
            "constraints": {"minimum": 0, "maximum": len(score.items)},
        }
        variables.append(Variable(counted, title, "integer", "scale", {}, 0, schema))
    return variables


def study_variables(study: Study) -> list[ExportedTable]:
    """The tables an export writes and their variables, from the data package and the definitions.

    Needs no data: the codebook uses it to show the names each format gets.
    """
    from studykit.package import build_descriptor

    resources = {r["name"]: r for r in build_descriptor(study)["resources"]}
    tables = []
    for name, path, date_column in (
        ("participants", study.participants_path, None),
        ("employment", study.employment_path, "recorded_on"),
    ):
        resource = resources[name]
        variables = [_from_field(f) for f in resource["schema"]["fields"]]
        tables.append(ExportedTable(name, resource["title"], variables, path, date_column))
    for instrument in load_instruments(study):
        resource = resources[f"measures-{instrument.id}"]
        tables.append(
            ExportedTable(
                resource["name"], resource["title"], _instrument_variables(instrument, resource),
                study.measures_path(instrument.id), "completed_on", instrument.id,
            )
        )  # fmt: skip
    return tables


# --- names and labels each format can hold ------------------------------------------------------


def _legal(name: str, limits: Limits) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", plain)
    if not cleaned[:1].isalpha():
        cleaned = f"v{cleaned}" if cleaned.startswith("_") else f"v_{cleaned}"
    if cleaned.lower() in limits.reserved or _STATA_STR.match(cleaned):
        cleaned = f"v_{cleaned}"
    return cleaned[: limits.name]


def export_names(columns: Sequence[str], to: str) -> dict[str, str]:
    """Each column's name in the format ``to``: unchanged when legal, else mapped deterministically.

    Letters outside ASCII lose their accents, other characters become ``_``, a name not
    starting with a letter gets ``v_`` (``v`` before ``_``), a reserved word gets ``v_``, a long
    name is cut; a name equal (ignoring case) to an earlier one ends in ``_2``, ``_3``, ...
    CSV keeps every name as it is.
    """
    if to not in LIMITS:
        return {c: c for c in columns}
    limits = LIMITS[to]
    taken: set[str] = set()
    names: dict[str, str] = {}
    for column in columns:
        base = _legal(column, limits)
        name, n = base, 2
        while name.lower() in taken:
            suffix = f"_{n}"
            name, n = base[: limits.name - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        names[column] = name
    return names


def _fits(text: str, limit: int, unit: str) -> str:
    if unit == "characters":
        return text[:limit]
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


@dataclass(frozen=True)
class Cut:
    """A label cut to what the format holds."""

    file: str
    variable: str
    what: str
    limit: int
    unit: str

    def sentence(self) -> str:
        of = f" of {self.variable}" if self.variable else ""
        return f"{self.file}: the {self.what}{of} was cut to {self.limit} {self.unit}."


# --- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: files, rows per table, names mapped, labels cut, rows consent left out."""

    to: str
    scope: str
    folder: Path
    files: list[Path]
    rows: dict[str, int]
    renamed: list[dict[str, str]]
    cuts: list[Cut]
    exclusions: list[dict[str, Any]]
    neutralised: int = 0
    scored_despite_errors: int = 0

    @property
    def warnings(self) -> list[str]:
        return [c.sentence() for c in self.cuts]

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "scope": self.scope,
            "folder": self.folder.as_posix(),
            "files": [p.as_posix() for p in self.files],
            "rows": self.rows,
            "renamed": self.renamed,
            "warnings": self.warnings,
            "exclusions": self.exclusions,
            "neutralised": self.neutralised,
            "scored_despite_errors": self.scored_despite_errors,
        }


# --- reading the data: consent, scores ----------------------------------------------------------


def _read(
    table: ExportedTable, consent: ConsentFilter, scope: Scope, scores: pl.DataFrame | None
) -> pl.DataFrame:
    """The table's rows that consent allows, with computed scores in place of stored ones."""
    from studykit.tables import read_text_table, read_typed

    header = read_text_table(table.source).header
    types = {v.name: v.kind for v in table.variables if v.name in header}
    frame = read_typed(table.source, types).select(list(types))
    # Exported files leave the study's own analysis: "sharing" (or "deposit") never holds
    # anyone who asked to remove all data, whatever the withdrawal policy keeps for analysis.
    purpose = "sharing" if scope == "analysis" else scope
    frame = consent.filter(frame, resource=table.name, purpose=purpose, date_column=table.date_column)
    if table.instrument is not None and scores is not None:
        prefix = f"{table.instrument}."
        mine = scores.select(
            *KEYS, *(pl.col(c).alias(c.removeprefix(prefix)) for c in scores.columns if c.startswith(prefix))
        ).unique(list(KEYS), keep="first", maintain_order=True)
        computed = [c for c in mine.columns if c not in KEYS]
        frame = frame.drop([c for c in computed if c in frame.columns]).join(
            mine, on=list(KEYS), how="left", nulls_equal=True, maintain_order="left"
        )
    columns = [v.name for v in table.variables if v.name in frame.columns]
    if LEFT_OUT in frame.columns:
        columns.append(LEFT_OUT)
    return frame.select(columns)


def _variables(table: ExportedTable, frame: pl.DataFrame) -> list[Variable]:
    known = {v.name: v for v in table.variables}
    extra = Variable(LEFT_OUT, "Left out of scoring (validation errors)", "string", "nominal")
    return [known.get(c, extra) for c in frame.columns]


# --- writers ------------------------------------------------------------------------------------


@dataclass
class _Labelled:
    """A table prepared for one binary format: legal names, labels that fit, cuts recorded."""

    frame: pl.DataFrame
    labels: dict[str, str]
    value_labels: dict[str, dict[int, str]]
    measures: dict[str, str]
    formats: dict[str, str]
    file_label: str
    cuts: list[Cut]


def _labelled(table: ExportedTable, frame: pl.DataFrame, to: str, file: str) -> _Labelled:
    limits = LIMITS[to]
    names = export_names(frame.columns, to)
    cuts: list[Cut] = []

    def fit(text: str, variable: str, what: str, limit: int) -> str:
        cut = _fits(text, limit, limits.unit)
        if cut != text:
            cuts.append(Cut(file, variable, what, limit, limits.unit))
        return cut

    labels, value_labels, measures, formats = {}, {}, {}, {}
    for variable in _variables(table, frame):
        name = names[variable.name]
        labels[name] = fit(variable.label, variable.name, "variable label", limits.variable_label)
        if variable.value_labels:
            value_labels[name] = {
                code: fit(text, variable.name, f"value label of {code}", limits.value_label)
                for code, text in sorted(variable.value_labels.items())
            }
        measures[name] = variable.measure
        if variable.decimals is not None and to == "spss":
            formats[name] = f"F8.{variable.decimals}"
    booleans = [c for c, t in frame.schema.items() if t == pl.Boolean]
    frame = frame.with_columns(pl.col(c).cast(pl.Int8) for c in booleans)
    if limits.value is not None:
        frame, long = _cut_long_values(frame, limits.value)
        cuts += [Cut(file, name, f"value in {n} row(s)", limits.value, "bytes") for name, n in long.items()]
    prepared = frame.rename(names)
    file_label = fit(table.title, "", "file label", limits.file_label)
    return _Labelled(prepared, labels, value_labels, measures, formats, file_label, cuts)


def _cut_long_values(frame: pl.DataFrame, limit: int) -> tuple[pl.DataFrame, dict[str, int]]:
    """Text cells cut to ``limit`` UTF-8 bytes (at a character boundary), and how many per column."""
    long: dict[str, int] = {}
    for name in [n for n, t in frame.schema.items() if t == pl.String]:
        count = frame.select((pl.col(name).str.len_bytes() > limit).sum()).item()
        if count:
            long[name] = count
            frame = frame.with_columns(
                pl.col(name).map_elements(lambda v: _fits(v, limit, "bytes"), return_dtype=pl.String)
            )
    return frame, long


def _binary(labelled: _Labelled, to: str, note: list[str]) -> bytes:
    """The .sav or .dta file's bytes (pyreadstat writes only to a path)."""
    import pyreadstat

    with tempfile.TemporaryDirectory(prefix="studykit-export-") as scratch:
        path = Path(scratch) / f"table{SUFFIX[to]}"
        if to == "spss":
            pyreadstat.write_sav(
                labelled.frame, path, file_label=labelled.file_label, column_labels=labelled.labels,
                variable_value_labels=labelled.value_labels, variable_measure=labelled.measures,
                variable_format=labelled.formats, note=note, compress=True,
            )  # fmt: skip
        else:
            pyreadstat.write_dta(
                labelled.frame, path, file_label=labelled.file_label, column_labels=labelled.labels,
                variable_value_labels=labelled.value_labels, version=15,
            )  # fmt: skip
        return path.read_bytes()


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# .sav header: "$FL2"/"$FL3", product (60), layout, case size, compression, weight, cases (4 each),
# bias (8), then the creation date "dd Mmm yy" (9) and time "hh:mm:ss" (8).
_SAV_STAMP = slice(92, 109)
_SAV_STAMP_SHAPE = re.compile(rb"^[ 0-9]{2} [A-Za-z]{3} [0-9]{2}[0-9]{2}:[0-9]{2}:[0-9]{2}$")
# .dta 118/119 header: <timestamp>, one length byte (17), "dd Mmm yyyy hh:mm".
_DTA_STAMP = re.compile(rb"<timestamp>\x11[ 0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9]{2}:[0-9]{2}</timestamp>")


def _stamped(content: bytes, to: str, when: dt.datetime) -> bytes:
    """The file with ``when`` as its creation time (readstat writes the clock's, which no option sets)."""
    month = _MONTHS[when.month - 1]
    if to == "spss":
        stamp = f"{when.day:02d} {month} {when.year % 100:02d}{when:%H:%M:%S}".encode("ascii")
        if not _SAV_STAMP_SHAPE.match(content[_SAV_STAMP]):
            msg = "the .sav header does not hold its creation time where SPSS puts it"
            raise ValueError(msg)
        return content[: _SAV_STAMP.start] + stamp + content[_SAV_STAMP.stop :]
    stamp = f"<timestamp>\x11{when.day:02d} {month} {when.year:04d} {when:%H:%M}</timestamp>".encode("ascii")
    found = _DTA_STAMP.search(content, 0, 4096)
    if found is None:
        msg = "the .dta header has no timestamp where Stata puts it"
        raise ValueError(msg)
    return content[: found.start()] + stamp + content[found.end() :]


def labelled_file(
    table: ExportedTable,
    frame: pl.DataFrame,
    to: Literal["spss", "stata"],
    *,
    note: list[str],
    stamp: dt.datetime | None = None,
) -> tuple[bytes, list[Cut]]:
    """One table's labelled .sav or .dta: its bytes and the labels cut to fit.

    ``frame`` holds the rows and columns to write (typed: see ``typed_frame``); each
    column's label comes from ``table``'s variables. ``stamp`` replaces the creation time
    readstat takes from the clock, so the same rows give the same bytes (deposits). ``note``
    becomes the SPSS document lines (80 bytes each; Stata has none).
    """
    labelled = _labelled(table, frame, to, f"{table.name}{SUFFIX[to]}")
    content = _binary(labelled, to, note)
    if stamp is not None:
        content = _stamped(content, to, stamp)
    return content, labelled.cuts


def table_of(
    resource: dict[str, Any], columns: Sequence[str], known: ExportedTable | None = None
) -> ExportedTable:
    """The table for a data package ``resource`` holding ``columns``, in their order.

    A column's variable is the one ``known`` (from ``study_variables``) gives, else the
    resource's field, else a string: so any CSV of the package can be labelled.
    """
    variables = {v.name: v for v in known.variables} if known else {}
    fields = {f["name"]: f for f in resource.get("schema", {}).get("fields", [])}
    chosen = []
    for column in columns:
        if column in variables:
            chosen.append(variables[column])
        elif column in fields:
            chosen.append(_from_field(fields[column]))
        else:
            chosen.append(Variable(column, column, "string", "nominal"))
    title = known.title if known else resource.get("title") or resource["name"]
    source = known.source if known else Path(resource["path"])
    date_column = known.date_column if known else None
    return ExportedTable(
        resource["name"], title, chosen, source, date_column, known.instrument if known else None
    )


def typed_frame(table: ExportedTable, text: pl.DataFrame) -> pl.DataFrame:
    """A frame of text cells (as a CSV reads with no inference) cast to the table's variable types."""
    from studykit.errors import StudykitError
    from studykit.tables import cast

    typed, failures = cast(text, {v.name: v.kind for v in table.variables})
    if failures:
        first = failures[0]
        msg = f"{table.name}: row {first.row}, column {first.column}: {first.value!r} is not a valid value"
        raise StudykitError(msg, fix="Run `studykit validate` to see every problem, then fix the data.")
    return typed


def _csv_resource(table: ExportedTable, frame: pl.DataFrame, file: str, exported: set[str]) -> dict[str, Any]:
    fields = []
    for variable in _variables(table, frame):
        schema = dict(variable.schema) or {"name": variable.name, "type": variable.kind}
        schema["title"] = variable.label
        fields.append(schema)
    primary = ["participant_id"] if table.name == "participants" else list(KEYS)
    resource_schema: dict[str, Any] = {"fields": fields, "missingValues": [""], "primaryKey": primary}
    if table.name != "participants" and "participants" in exported:
        reference = {"resource": "participants", "fields": ["participant_id"]}
        resource_schema["foreignKeys"] = [{"fields": ["participant_id"], "reference": reference}]
    return {
        "name": table.name, "path": file, "type": "table", "title": table.title, "format": "csv",
        "mediatype": "text/csv", "encoding": "utf-8", "schema": resource_schema,
    }  # fmt: skip


def _variables_csv(tables: list[tuple[ExportedTable, pl.DataFrame]]) -> tuple[str, list[dict[str, str]]]:
    """The mapping file: every variable, its name in each format, label, level, value labels."""
    from studykit.render import spreadsheet_csv

    rows, renamed = [], []
    for table, frame in tables:
        spss, stata = export_names(frame.columns, "spss"), export_names(frame.columns, "stata")
        for variable in _variables(table, frame):
            rows.append({
                "table": table.name, "variable": variable.name, "spss": spss[variable.name],
                "stata": stata[variable.name], "label": variable.label, "type": variable.kind,
                "measurement": variable.measure,
                "value_labels": "; ".join(f"{k} = {v}" for k, v in sorted(variable.value_labels.items())),
            })  # fmt: skip
            if variable.name != spss[variable.name] or variable.name != stata[variable.name]:
                renamed.append(
                    {"table": table.name, "variable": variable.name, "spss": spss[variable.name],
                     "stata": stata[variable.name]}
                )  # fmt: skip
    columns = ["table", "variable", "spss", "stata", "label", "type", "measurement", "value_labels"]
    text, _ = spreadsheet_csv(pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String)))
    return text, renamed


def variables_file(tables: list[tuple[ExportedTable, pl.DataFrame]]) -> str:
    """The text of ``variables.csv``: every variable of ``tables``, its SPSS and Stata names, labels."""
    return _variables_csv(tables)[0]


def renamed_variables(study: Study) -> list[dict[str, str]]:
    """Variables whose SPSS or Stata name differs from the study's column name (for the codebook)."""
    tables = [(t, pl.DataFrame(schema=[v.name for v in t.variables])) for t in study_variables(study)]
    return _variables_csv(tables)[1]


# --- the export ---------------------------------------------------------------------------------


def export_study(
    study: Study,
    to: ExportFormat,
    folder: Path | None = None,
    *,
    scope: Scope = "analysis",
    allow_errors: bool = False,
) -> ExportResult:
    """Write every participant-data table of ``study`` as ``to`` into ``folder`` (default ``exports/``).

    ``scope``: ``analysis`` (the team's own use) or ``deposit`` (also needs archiving consent).
    Raises ``DataErrorsFound`` when validation finds errors in the key or item columns of the
    measure tables, unless ``allow_errors`` (then what they name is not scored, and a
    ``left_out`` column says so), as ``studykit score`` does.
    """
    from studykit.governance.consent_filter import ConsentFilter
    from studykit.instruments.scoring import checked_scores_table
    from studykit.render import spreadsheet_csv

    if to not in FORMATS:
        from studykit.errors import StudykitError

        msg = f"cannot export to {to!r}"
        raise StudykitError(msg, fix=f"Use one of: {', '.join(FORMATS)}.")
    folder = Path(folder) if folder is not None else study.root / EXPORTS_FOLDER
    consent = ConsentFilter.from_study(study)
    scoring = ConsentFilter(consent.registers, consent.policy)
    scores, errors = (
        checked_scores_table(study, consent=scoring, allow_errors=allow_errors)
        if study.instruments
        else (None, [])
    )
    tables = [(t, _read(t, consent, scope, scores)) for t in study_variables(study) if t.source.is_file()]
    exported = {t.name for t, _ in tables}
    files: dict[Path, bytes | str] = {}
    cuts: list[Cut] = []
    neutralised = 0
    resources = []
    # SPSS document lines hold 80 bytes each.
    note = [_fits(study.title, 80, "bytes"), f"Version {study.version}, exported by studykit ({scope}).",
            f"Original and exported names: {VARIABLES_FILE}."]  # fmt: skip
    for table, frame in tables:
        file = f"{table.name}{SUFFIX[to]}"
        if to == "csv":
            text, changed = spreadsheet_csv(frame)
            neutralised += changed
            files[folder / file] = text
            resources.append(_csv_resource(table, frame, file, exported))
        else:
            files[folder / file], cut = labelled_file(table, frame, to, note=note)
            cuts += cut
    if to == "csv":
        from studykit.package import dumps, package_head

        files[folder / DESCRIPTOR_FILE] = dumps({**package_head(study), "resources": resources})
    mapping, renamed = _variables_csv(tables)
    files[folder / VARIABLES_FILE] = mapping
    refuse_study_owned(study, files, product="an export", example="the default exports/ folder")
    written = write_files(files, within=folder)
    return ExportResult(
        to, scope, folder, written, {t.name: f.height for t, f in tables}, renamed, cuts,
        [asdict(e) for e in consent.exclusions], neutralised, len(errors),
    )  # fmt: skip
