"""Disclosure layer: identifiers left in text and disclosive small cells (codes DIS###).

Two halves, as the UK Data Service's QAMyData health check and its qualitative
anonymisation guidance suggest:

- **Text:** every transcript (front matter and body) and the free-text columns of the
  study's tables are scanned for e-mails, phone numbers, UK postcodes, NHS numbers,
  dates of birth, URLs with names and names from the identity key
  (``studykit.qual.identifiers``). Findings give the line and a masked form only.
  These are candidates: a person decides, then runs ``studykit qual pseudonymise``, or,
  when it is not an identifier, records that with ``studykit review add`` (the finding
  is then reported as reviewed, severity info; ``studykit.governance.reviews``).
- **Tables (QAMyData's questionnaire checks):** duplicate participant ids, odd
  characters in values and column names, variables with more than 25% missing
  values, categories with one observation in demographic columns, and rare
  combinations of group, site, gender and age band.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.errors import DataReadError, QualitativeDataError
from studykit.files import is_inside, study_relative
from studykit.governance.reviews import Review, read_reviews, reviews_path, value_digest
from studykit.qual.identifiers import IdentifierMatch, find_identifiers, read_identity_key, resolve_key_path
from studykit.qual.transcripts import transcript_paths
from studykit.study import Study
from studykit.tables import TextTable, spreadsheet_row

_DECIDE = (
    "Check the text: if it identifies someone, replace it with a pseudonym or a vaguer description "
    "(studykit qual pseudonymise writes a copy and an anonymisation log); if not, leave it."
)

IDENTIFIER_RULES: dict[str, Rule] = {
    "email": Rule(
        "DIS001", "disclosure", "E-mail address in text", "error",
        "An e-mail address is a direct identifier.", _DECIDE,
    ),
    "phone": Rule(
        "DIS002", "disclosure", "Phone number in text", "warning",
        "A phone number (UK or international) is a direct identifier; other numbers can look alike, "
        "so this is a warning.", _DECIDE,
    ),
    "postcode": Rule(
        "DIS003", "disclosure", "UK postcode in text", "warning",
        "A full postcode can point to a handful of households; the UK Data Service advises reducing it to "
        "the postal district.", _DECIDE,
    ),
    "nhs_number": Rule(
        "DIS004", "disclosure", "NHS number in text", "error",
        "A 10-digit number that passes the NHS number mod-11 check.", _DECIDE,
    ),
    "date_of_birth": Rule(
        "DIS005", "disclosure", "Date of birth in text", "error",
        "A full date, or a month and year, next to 'date of birth', 'DOB' (or 'D.O.B.'), 'birthday' or "
        "'born' ('born on', 'born in'); the UK Data Service advises keeping the year only.",
        _DECIDE,
    ),
    "url": Rule(
        "DIS006", "disclosure", "URL with a name in text", "warning",
        "A link to a personal profile (social media, personal page) or one containing a name from the "
        "identity key.",
        _DECIDE,
    ),
    "name": Rule(
        "DIS007", "disclosure", "Name from the identity key in text", "error",
        "A participant's real name (from the identity key outside the repository) appears in the text. "
        "A full name is an error; a first name or surname alone is a warning, as it may be an ordinary word.",
        _DECIDE,
    ),
}
KEY_MISSING = Rule(
    "DIS010", "disclosure", "Identity key not available", "warning",
    "study.yml names an identity key (governance.identity_key) but it cannot be read, so transcripts were "
    "not searched for participants' names.",
    "Mount or restore the identity key at that path, or correct governance.identity_key in study.yml.",
)
KEY_INSIDE_STUDY = Rule(
    "DIS011", "disclosure", "Identity key inside the study folder", "error",
    "The identity key links real names to participant ids; it must never be in the repository or a deposit.",
    "Move it outside the study folder (e.g. to secure storage) and update governance.identity_key.",
)
DUPLICATE_ID = Rule(
    "DIS020", "disclosure", "Duplicate participant id", "error",
    "QAMyData 'duplicate_values': an id that should identify one case appears on several rows.",
    "Keep one row per participant; correct or merge the duplicate.",
)
ODD_CHARACTERS = Rule(
    "DIS021", "disclosure", "Odd characters", "warning",
    "QAMyData 'string_value_odd_characters' / 'variable_odd_characters': control characters, the Unicode "
    "replacement character (a sign of encoding damage), doubled or surrounding spaces in a value, or a "
    "column name that is not lower-case letters, digits and underscores.",
    "Correct the value (or re-export the file as UTF-8).",
)
MISSING_THRESHOLD = Rule(
    "DIS022", "disclosure", "Many missing values", "warning",
    "QAMyData 'system_missing_value_threshold': more than 25% of a column's values are blank.",
    "Check whether the data were lost in export or whether the variable is worth depositing.",
)
SMALL_CELL = Rule(
    "DIS023", "disclosure", "Small cell", "warning",
    "QAMyData 'unique_values': a category of a demographic column has at most one participant, who could "
    "be recognised by it.",
    "Merge rare categories (e.g. into 'other'), band ages, or recode sites before depositing.",
)
RARE_COMBINATION = Rule(
    "DIS024", "disclosure", "Rare combination of characteristics", "warning",
    "Only one participant has this combination of group, site, gender and age band, so they could be "
    "recognised from it.",
    "Coarsen one of the characteristics (merge sites, wider age bands) in deposited data.",
)

register(
    *IDENTIFIER_RULES.values(), KEY_MISSING, KEY_INSIDE_STUDY, DUPLICATE_ID, ODD_CHARACTERS,
    MISSING_THRESHOLD, SMALL_CELL, RARE_COMBINATION,
)  # fmt: skip

MISSING_LIMIT = 0.25
_ROWS = "\x00rows"
SMALL_CELL_MAX = 1
DEMOGRAPHICS = ("group", "site", "gender", "age_band")
AGE_BANDS = ((16, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 200))
# Free-text columns scanned for identifiers (ids, dates and numbers are not free text).
FREE_TEXT = {
    "participants": ("role", "site", "gender"),
    "employment": ("role",),
    "codebook": ("name", "definition"),
    "segments": ("memo",),
}
ODD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]|  |^\s|\s$")
ODD_SUPERSET = r"[\x00-\x1f\x7f\x{fffd}]|  |^\s|\s$"
COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _label(study: Study, path: Path) -> str:
    return study_relative(study, path)


def identity_names(study: Study) -> tuple[list[str], list[Finding]]:
    """Names from the identity key, and findings about the key itself (never an exception)."""
    configured = study.governance.identity_key
    if configured is None:
        return [], []
    path = resolve_key_path(configured, study.root)
    where = f"{study.study_file.name}"
    findings: list[Finding] = []
    if is_inside(path, study.root):
        findings.append(
            KEY_INSIDE_STUDY.finding(
                "governance.identity_key points inside the study folder",
                file=where,
                column="governance.identity_key",
            )
        )
    try:
        key = read_identity_key(path)
    except QualitativeDataError as exc:
        findings.append(
            KEY_MISSING.finding(
                f"{exc.message}: names were not searched", file=where, column="governance.identity_key"
            )
        )
        return [], findings
    return sorted(set(key.values())), findings


@dataclass(frozen=True)
class Candidate:
    """An identifier finding and the SHA-256 of the text it flags (the text itself is not kept).

    The hash is how a person's review (``governance/reviewed.csv``) is matched to the finding.
    """

    finding: Finding
    digest: str


def _identifier_finding(
    match: IdentifierMatch, text: str, *, file: str, row: int, column: str | None
) -> Candidate:
    rule = IDENTIFIER_RULES[match.kind]
    where = f"line {row}" if column is None else f"row {row}, column {column}"
    finding = rule.finding(
        f"possible {match.label} ({where}): {match.masked}",
        file=file,
        row=row,
        column=column,
        value=match.masked,
        severity="warning" if not match.certain else None,
    )
    return Candidate(finding, value_digest(text[match.start : match.end]))


def reviewed(candidate: Candidate, reviews: Mapping[tuple, Review]) -> Finding:
    """The finding, or, when a person recorded a review of this text here, the same finding as info."""
    found = candidate.finding
    review = reviews.get((found.file, found.code, found.row, found.column, candidate.digest))
    if review is None:
        return found
    return replace(
        found,
        severity="info",
        message=f"{found.message}; reviewed by {review.reviewer} on {review.reviewed_on}: {review.reason}",
        fix="Nothing to do: a person reviewed it (governance/reviewed.csv). If the text here changes, it is "
        "flagged again.",
    )


def transcript_findings(study: Study, names: list[str]) -> Iterator[Candidate]:
    """Identifiers in each transcript file (front matter included), by file line."""
    for path in transcript_paths(study):
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            continue  # the structure layer (QUAL001) reports unreadable transcripts
        file = _label(study, path)
        for match in find_identifiers(text, names=names):
            yield _identifier_finding(match, text, file=file, row=match.line, column=None)


def _table(run: Run, path: Path) -> TextTable | None:
    if not path.is_file():
        return None
    try:
        return run.read_table(path)
    except DataReadError:
        return None  # the structure layer reports unreadable tables


def free_text_findings(
    study: Study, tables: dict[str, TextTable | None], names: list[str]
) -> Iterator[Candidate]:
    """Identifiers in the free-text columns of the tables (role, memo, definition ...)."""
    for kind, columns in FREE_TEXT.items():
        table = tables.get(kind)
        if table is None:
            continue
        file = _label(study, table.path)
        for column in columns:
            if column not in table.header:
                continue
            # Free text repeats (roles, sites): scan each distinct value once, then only
            # the rows holding a value that had a match become findings.
            distinct = table.frame.get_column(column).drop_nulls().unique(maintain_order=True).to_list()
            found = {v: m for v in distinct if v and (m := list(find_identifiers(v, names=names)))}
            if not found:
                continue
            hits = (
                table.frame.select(column).with_row_index("index")
                .filter(pl.col(column).is_in(list(found)))
            )
            for index, value in hits.iter_rows():
                row = spreadsheet_row(index)
                for match in found[value]:
                    yield _identifier_finding(match, value, file=file, row=row, column=column)


def theme_findings(study: Study, names: list[str]) -> Iterator[Candidate]:
    path = study.themes_path
    if not path.is_file():
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for match in find_identifiers(text, names=names):
        yield _identifier_finding(match, text, file=_label(study, path), row=match.line, column=None)


def duplicate_ids(study: Study, table: TextTable) -> Iterator[Finding]:
    if "participant_id" not in table.header:
        return
    first: dict[str, int] = {}
    # Only ids that occur more than once can be duplicates: look at those rows alone.
    repeated = (
        table.frame.select("participant_id")
        .with_row_index("index")
        .filter(pl.col("participant_id").is_duplicated() & pl.col("participant_id").is_not_null())
    )
    for index, value in repeated.iter_rows():
        if value is None:
            continue
        if value in first:
            yield DUPLICATE_ID.finding(
                f"participant_id {value!r} also on row {first[value]}",
                file=_label(study, table.path), row=spreadsheet_row(index), column="participant_id",
                value=value,
            )  # fmt: skip
        else:
            first[value] = spreadsheet_row(index)


def odd_characters(study: Study, table: TextTable) -> Iterator[Finding]:
    file = _label(study, table.path)
    for column in table.header:
        if not COLUMN_NAME.match(column):
            yield ODD_CHARACTERS.finding(
                f"column name {column!r} is not lower-case letters, digits and underscores",
                file=file, row=1, column=column, value=column,
            )  # fmt: skip
        for index, value in _odd_candidates(table.frame, column):
            if value and ODD.search(value):
                what = _odd_kind(value)
                yield ODD_CHARACTERS.finding(
                    f"value has {what}", file=file, row=spreadsheet_row(index), column=column,
                    value=repr(value),
                )  # fmt: skip


def _odd_candidates(frame: pl.DataFrame, column: str) -> list[tuple[int, str]]:
    """(index, value) of cells that may have odd characters, found over the whole column.

    The polars pattern matches a superset of ``ODD`` (every control character, any Unicode
    space at either end), so ``ODD`` decides each candidate exactly as before.
    """
    return list(
        frame.select(pl.col(column).cast(pl.String))
        .with_row_index("index")
        .filter(pl.col(column).str.contains(ODD_SUPERSET).fill_null(False))
        .iter_rows()
    )


def _odd_kind(value: str) -> str:
    if "\ufffd" in value:
        return "a replacement character (encoding damage)"
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        return "a control character"
    if "  " in value:
        return "a doubled space"
    return "leading or trailing spaces"


def _blank_counts(table: TextTable) -> tuple[int, dict[str, int]]:
    return table.frame.height, {c: table.frame[c].null_count() for c in table.header}


def _scan_blank_counts(path: Path) -> tuple[int, dict[str, int]] | None:
    """Rows and blank cells per column, streamed: measure tables can have millions of rows."""
    try:
        counts = (
            pl.scan_csv(path, infer_schema=False)
            .select(pl.len().alias(_ROWS), pl.all().null_count())
            .collect()
            .row(0, named=True)
        )
    except (pl.exceptions.PolarsError, OSError):
        return None  # not plain UTF-8 CSV: the structure layer reports it
    rows = counts.pop(_ROWS)
    return rows, counts


def missing_values(study: Study, path: Path, counts: tuple[int, dict[str, int]]) -> Iterator[Finding]:
    rows, blanks = counts
    if rows == 0:
        return
    for column, blank in blanks.items():
        share = blank / rows
        if share > MISSING_LIMIT:
            yield MISSING_THRESHOLD.finding(
                f"{blank} of {rows} values ({share:.0%}) are blank, above the {MISSING_LIMIT:.0%} threshold",
                file=_label(study, path), column=column, value=f"{share:.0%}",
            )  # fmt: skip


def age_band(age: str | None) -> str | None:
    """The age band used for disclosure checks (16-24, 25-34, ..., 65+), or None if not a whole number."""
    try:
        years = int(age) if age is not None else None
    except ValueError:
        return None
    if years is None:
        return None
    for low, high in AGE_BANDS:
        if low <= years <= high:
            return f"{low}+" if high >= 200 else f"{low}-{high}"
    return None


def _demographics(table: TextTable) -> pl.DataFrame:
    """The demographic columns as compared: stripped text, and age as its band.

    Each distinct value is mapped once in Python (a few dozen values for many thousands of
    participants), so the bands and stripping are exactly ``age_band`` and ``str.strip``.
    """
    columns = []
    for column in DEMOGRAPHICS:
        source = "age" if column == "age_band" else column
        if source not in table.header:
            continue
        to = age_band if column == "age_band" else str.strip
        mapping = {v: to(v) for v in table.frame.get_column(source).drop_nulls().unique().to_list()}
        columns.append(
            pl.col(source).replace_strict(mapping, default=None, return_dtype=pl.String).alias(column)
        )
    return table.frame.select(columns)


def demographic_findings(study: Study, table: TextTable) -> Iterator[Finding]:
    """Small cells per demographic column, then rare combinations across them."""
    file = _label(study, table.path)
    values = _demographics(table)
    for column in values.columns:
        shown = "age" if column == "age_band" else column
        small = (
            values.select(pl.col(column), pl.len().over(column).alias("count"))
            .with_row_index("i")
            .filter(pl.col(column).is_not_null() & (pl.col("count") <= SMALL_CELL_MAX))
        )
        for index, value, count in small.iter_rows():
            yield SMALL_CELL.finding(
                f"only {count} participant has {column.replace('_', ' ')} {value!r}",
                file=file, row=spreadsheet_row(index), column=shown, value=value,
            )  # fmt: skip
    if values.width < 2:
        return
    columns = values.columns
    rare = (
        values.with_row_index("i")
        .drop_nulls(columns)
        .filter(pl.len().over(columns) <= SMALL_CELL_MAX)
        .select("i", pl.concat_str(columns, separator=" / ").alias("value"))
    )
    for index, value in rare.iter_rows():
        yield RARE_COMBINATION.finding(
            f"the only participant with this {' / '.join(c.replace('_', ' ') for c in columns)}",
            file=file, row=spreadsheet_row(index), column=", ".join(columns), value=value,
        )  # fmt: skip


def _text_tables(run: Run) -> dict[str, TextTable | None]:
    return {
        "participants": _table(run, run.study.participants_path),
        "employment": _table(run, run.study.employment_path),
        "codebook": _table(run, run.study.codebook_path),
        "segments": _table(run, run.study.segments_path),
    }


def identifier_candidates(
    run: Run, names: list[str] | None = None, tables: dict[str, TextTable | None] | None = None
) -> Iterator[Candidate]:
    """Every identifier candidate in transcripts, free-text columns and themes, before reviews apply."""
    study = run.study
    if names is None:
        names, _ = identity_names(study)
    yield from transcript_findings(study, names)
    yield from free_text_findings(study, tables if tables is not None else _text_tables(run), names)
    yield from theme_findings(study, names)


def check(run: Run) -> Iterator[Finding]:
    """Yield findings for identifiers left in text and disclosive small cells."""
    study = run.study
    names, key_findings = identity_names(study)
    yield from key_findings
    reviews = read_reviews(reviews_path(study))
    tables = _text_tables(run)
    for candidate in identifier_candidates(run, names, tables):
        yield reviewed(candidate, reviews)

    participants = tables["participants"]
    if participants is not None:
        yield from duplicate_ids(study, participants)
        yield from demographic_findings(study, participants)
    for table in (participants, tables["employment"]):
        if table is not None:
            yield from odd_characters(study, table)
            yield from missing_values(study, table.path, _blank_counts(table))
    for instrument in study.instruments:
        path = study.measures_path(instrument)
        # The measures layer records the counts of the tables it read (checks/run.py).
        counts = run.blank_counts(path) or (_scan_blank_counts(path) if path.is_file() else None)
        if counts is not None:  # item columns hold numbers: only the missing-value threshold applies
            yield from missing_values(study, path, counts)
