"""Coding data: the codebook, the coded segments and the themes.

- ``codebook.csv``: ``code_id, name, parent, definition`` (hierarchical: ``parent`` is a code id or blank).
- ``segments.csv``: ``segment_id, transcript, start, end, code, coder, memo``; ``start``/``end`` are
  Unicode code points of the transcript body, 0-based, end exclusive.
- ``themes.yml``: a list of ``{id, name, description, codes, constructs}``.

Each ``parse_*`` function returns what it could read plus a list of ``Problem``s
(row, column, value, message), so the validation layer can report every problem
at once. These functions are the one home of the codebook and segment rules: the
qualitative layer (``checks/qualitative.py``) turns each problem into one finding,
and the structure layer leaves ``codebook.csv`` and ``segments.csv`` to it (their
Table Schema in datapackage.json describes them for other tools). The ``load_*``
functions are for code that runs after validation: they raise
``QualitativeDataError`` on the first problem. A file that does not exist yet
reads as empty (coding often starts after the first transcripts).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studykit._yaml import load_yaml, read_yaml_text, yaml_fix
from studykit.errors import DataReadError, QualitativeDataError
from studykit.study import Study
from studykit.tables import read_text_table, spreadsheet_row

CODEBOOK_COLUMNS = ("code_id", "name", "parent", "definition")
SEGMENT_COLUMNS = ("segment_id", "transcript", "start", "end", "code", "coder", "memo")
COLUMNS = {"codebook": CODEBOOK_COLUMNS, "segments": SEGMENT_COLUMNS}
REQUIRED = {
    "codebook": ("code_id", "name"),
    "segments": ("segment_id", "transcript", "start", "end", "code"),
}


@dataclass(frozen=True)
class Problem:
    """Something wrong in a coding file: where (spreadsheet row or YAML item), what, and the value."""

    file: Path
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    fix: str = "See docs/qualitative.md for the coding file formats."
    reason: str = "format"
    """format, duplicate_code, unknown_parent, cycle, duplicate_segment or duplicate_theme."""


@dataclass(frozen=True)
class Code:
    code_id: str
    name: str
    parent: str | None = None
    definition: str = ""
    row: int | None = None


@dataclass(frozen=True)
class Codebook:
    """Codes by id, in file order."""

    codes: dict[str, Code] = field(default_factory=dict)

    def __contains__(self, code_id: object) -> bool:
        return code_id in self.codes

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes.values())

    def __len__(self) -> int:
        return len(self.codes)

    def children(self, code_id: str | None) -> list[Code]:
        """Codes whose parent is ``code_id`` (None: the top-level codes)."""
        return [c for c in self.codes.values() if c.parent == code_id]

    def ancestors(self, code_id: str) -> list[str]:
        """Parent, grandparent, ... of a code; stops at a missing parent or a cycle."""
        chain: list[str] = []
        current = self.codes.get(code_id)
        while current is not None and current.parent and current.parent not in chain:
            if current.parent == code_id:
                break
            chain.append(current.parent)
            current = self.codes.get(current.parent)
        return chain

    def descendants(self, code_id: str) -> list[str]:
        """Every code below ``code_id`` in the hierarchy (depth first, cycle-safe)."""
        found: list[str] = []
        stack = [c.code_id for c in self.children(code_id)]
        while stack:
            current = stack.pop()
            if current in found or current == code_id:
                continue
            found.append(current)
            stack.extend(c.code_id for c in self.children(current))
        return found

    def cycles(self) -> list[list[str]]:
        """Each parent cycle once, as the list of code ids on it."""
        seen: set[str] = set()
        cycles: list[list[str]] = []
        for start in self.codes:
            path: list[str] = []
            current: str | None = start
            while current in self.codes and current not in seen and current not in path:
                path.append(current)
                current = self.codes[current].parent
            if current is not None and current in path:
                cycles.append(path[path.index(current) :])
            seen.update(path)
        return cycles


@dataclass(frozen=True)
class Segment:
    """A coded span of a transcript body."""

    segment_id: str
    transcript: str
    start: int
    end: int
    code: str
    coder: str | None = None
    memo: str | None = None
    row: int | None = None


class Theme(BaseModel):
    """A theme: the codes that make it up and the quantitative constructs it speaks to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    codes: list[str] = []
    constructs: list[str] = []


@dataclass(frozen=True)
class Coding:
    codebook: Codebook
    segments: list[Segment]
    themes: list[Theme]


def _read(path: Path, kind: str) -> tuple[list[dict[str, str | None]], list[Problem]]:
    if not path.is_file():
        return [], []
    try:
        table = read_text_table(path)
    except DataReadError as exc:
        return [], [Problem(path, exc.message, fix=exc.fix or "Fix or re-export the file.")]
    missing = [c for c in REQUIRED[kind] if c not in table.header]
    if missing:
        return [], [
            Problem(
                path,
                f"lacks the column(s) {', '.join(missing)}",
                row=1,
                value=", ".join(missing),
                fix=f"The header must name {', '.join(COLUMNS[kind])}.",
            )
        ]
    problems = [
        Problem(
            path,
            f"column {column!r} is not a {kind} column ({', '.join(COLUMNS[kind])})",
            row=1,
            column=column,
            value=column,
            fix="Rename the column to the one it holds, or remove it.",
        )
        for column in table.header
        if column not in COLUMNS[kind]
    ]
    if table.encoding == "latin-1":
        problems.append(
            Problem(
                path,
                "is not UTF-8 (read as Latin-1), so accented letters may be wrong in other tools",
                fix="Save the file again as 'CSV UTF-8'.",
            )
        )
    return table.frame.to_dicts(), problems


def _blank(value: str | None) -> str | None:
    return value.strip() if value is not None and value.strip() else None


def parse_codebook(path: Path) -> tuple[Codebook, list[Problem]]:
    """Read ``codebook.csv``; duplicate or blank ids and bad parents are problems."""
    rows, problems = _read(path, "codebook")
    codes: dict[str, Code] = {}
    for index, raw in enumerate(rows):
        row = spreadsheet_row(index)
        code_id, name = _blank(raw.get("code_id")), _blank(raw.get("name"))
        if code_id is None:
            problems.append(Problem(path, "has a code without a code_id", row=row, column="code_id"))
            continue
        if code_id in codes:
            problems.append(
                Problem(
                    path,
                    f"code_id {code_id!r} is listed twice (first on row {codes[code_id].row})",
                    row=row,
                    column="code_id",
                    value=code_id,
                    fix="Give each code its own id, or merge the two rows.",
                    reason="duplicate_code",
                )
            )
            continue
        if name is None:
            problems.append(Problem(path, f"code {code_id!r} has no name", row=row, column="name"))
        parent, definition = _blank(raw.get("parent")), raw.get("definition") or ""
        codes[code_id] = Code(code_id, name or code_id, parent, definition, row)
    book = Codebook(codes)
    for code in book:
        if code.parent is not None and code.parent not in book:
            problems.append(
                Problem(
                    path,
                    f"code {code.code_id!r} has parent {code.parent!r}, which is not in the codebook",
                    row=code.row,
                    column="parent",
                    value=code.parent,
                    fix="Add the parent code, correct the id, or leave parent blank for a top-level code.",
                    reason="unknown_parent",
                )
            )
    for cycle in book.cycles():
        first = book.codes[cycle[0]]
        problems.append(
            Problem(
                path,
                f"codes form a cycle of parents: {' -> '.join([*cycle, cycle[0]])}",
                row=first.row,
                column="parent",
                value=first.parent,
                fix="A code cannot be its own ancestor; make one of them top-level (blank parent).",
                reason="cycle",
            )
        )
    return book, problems


def _offset(raw: str | None) -> int | None:
    text = _blank(raw)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def parse_segments(path: Path) -> tuple[list[Segment], list[Problem]]:
    """Read ``segments.csv``; blank fields, non-integer or reversed offsets and duplicate ids are problems."""
    rows, problems = _read(path, "segments")
    segments: list[Segment] = []
    first_row: dict[str, int] = {}
    for index, raw in enumerate(rows):
        row = spreadsheet_row(index)
        fields = {c: _blank(raw.get(c)) for c in ("segment_id", "transcript", "code")}
        bad = False
        for column, value in fields.items():
            if value is None:
                problems.append(Problem(path, f"{column} is blank", row=row, column=column))
                bad = True
        offsets: dict[str, int] = {}
        for column in ("start", "end"):
            value = _offset(raw.get(column))
            if value is None or value < 0:
                problems.append(
                    Problem(
                        path,
                        f"{column} must be a whole number of code points, 0 or more",
                        row=row,
                        column=column,
                        value=raw.get(column),
                        fix="Offsets count Unicode code points of the transcript body from 0.",
                    )
                )
                bad = True
            else:
                offsets[column] = value
        if len(offsets) == 2 and offsets["end"] <= offsets["start"]:
            problems.append(
                Problem(
                    path,
                    f"end ({offsets['end']}) must be greater than start ({offsets['start']})",
                    row=row,
                    column="end",
                    value=offsets["end"],
                    fix="end is exclusive: a segment covering one character has end = start + 1.",
                )
            )
            bad = True
        segment_id = fields["segment_id"]
        if segment_id is not None:
            if segment_id in first_row:
                problems.append(
                    Problem(
                        path,
                        f"segment_id {segment_id!r} is used twice (first on row {first_row[segment_id]})",
                        row=row,
                        column="segment_id",
                        value=segment_id,
                        fix="Give every segment its own id.",
                        reason="duplicate_segment",
                    )
                )
                bad = True
            else:
                first_row[segment_id] = row
        if bad:
            continue
        segments.append(
            Segment(
                segment_id=segment_id or "",
                transcript=fields["transcript"] or "",
                start=offsets["start"],
                end=offsets["end"],
                code=fields["code"] or "",
                coder=_blank(raw.get("coder")),
                memo=raw.get("memo"),
                row=row,
            )
        )
    return segments, problems


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    return Problem(
        path,
        f"is not valid YAML ({getattr(exc, 'problem', exc)})",
        row=mark.line + 1 if mark else None,
        fix=yaml_fix(exc),
    )


def parse_themes(path: Path) -> tuple[list[Theme], list[Problem]]:
    """Read ``themes.yml`` (a list of themes). ``Problem.row`` is the YAML line of the theme, when known."""
    if not path.is_file():
        return [], []
    try:
        text = read_yaml_text(path)
        data = load_yaml(text)
        nodes = yaml.compose(text)
    except yaml.YAMLError as exc:
        return [], [_yaml_problem(path, exc)]
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [Problem(path, "must be a list of themes (each starting with '- id:')", row=1)]
    lines = [n.start_mark.line + 1 for n in nodes.value] if isinstance(nodes, yaml.SequenceNode) else []
    themes: list[Theme] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else None
        try:
            theme = Theme.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                key = ".".join(str(p) for p in error["loc"]) or "(theme)"
                what = "is missing" if error["type"] == "missing" else error["msg"].lower()
                if error["type"] == "extra_forbidden":
                    what = "is not a theme key (id, name, description, codes, constructs)"
                problems.append(Problem(path, f"theme {index + 1}: {key} {what}", row=line, column=key))
            continue
        if theme.id in seen:
            problems.append(
                Problem(
                    path,
                    f"theme id {theme.id!r} is used twice",
                    row=line,
                    column="id",
                    value=theme.id,
                    fix="Give each theme its own id.",
                    reason="duplicate_theme",
                )
            )
            continue
        seen.add(theme.id)
        themes.append(theme)
    return themes, problems


def _raise_first(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        where = f"row {first.row}" if first.row else None
        if where and first.column:
            where += f", column {first.column}"
        raise QualitativeDataError(first.message, path=first.file, key=where, fix=first.fix)


def load_codebook(study: Study) -> Codebook:
    """The study's codebook; raises ``QualitativeDataError`` on the first problem."""
    book, problems = parse_codebook(study.codebook_path)
    _raise_first(problems)
    return book


def load_segments(study: Study) -> list[Segment]:
    """The study's coded segments; raises ``QualitativeDataError`` on the first problem."""
    segments, problems = parse_segments(study.segments_path)
    _raise_first(problems)
    return segments


def load_themes(study: Study) -> list[Theme]:
    """The study's themes; raises ``QualitativeDataError`` on the first problem."""
    themes, problems = parse_themes(study.themes_path)
    _raise_first(problems)
    return themes


def load_coding(study: Study) -> Coding:
    """Codebook, segments and themes together."""
    return Coding(load_codebook(study), load_segments(study), load_themes(study))


def theme_codes(theme: Theme, codebook: Codebook) -> list[str]:
    """A theme's codes and every code below them in the hierarchy."""
    codes = list(theme.codes)
    for code in theme.codes:
        codes.extend(c for c in codebook.descendants(code) if c not in codes)
    return codes


def write_rows(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    """Write a coding CSV (UTF-8, header first); used by importers. Overwrites: callers decide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
