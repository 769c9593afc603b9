"""Small edits the breaks make to a baked example study, each failing loudly when the study
no longer holds what the edit expects (so a break never silently stops breaking anything)."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def text(study: Path, path: str) -> str:
    return (study / path).read_text(encoding="utf-8")


def write(study: Path, path: str, content: str | bytes) -> None:
    target = study / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8", newline="")


def replace(study: Path, path: str, old: str, new: str, count: int = 1) -> None:
    """Replace the first ``count`` occurrences of ``old`` in the file; ``old`` must be there."""
    content = text(study, path)
    if old not in content:
        msg = f"{path} does not hold {old!r}"
        raise AssertionError(msg)
    write(study, path, content.replace(old, new, count))


def append(study: Path, path: str, lines: str) -> None:
    """Add lines at the end of the file (a CSV row, a YAML entry)."""
    content = text(study, path)
    write(study, path, content + ("" if content.endswith("\n") else "\n") + lines.rstrip("\n") + "\n")


def table(study: Path, path: str) -> list[list[str]]:
    """The CSV file's rows, header first."""
    return list(csv.reader(io.StringIO(text(study, path), newline="")))


def write_table(study: Path, path: str, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    write(study, path, out.getvalue())


def set_cell(study: Path, path: str, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` counts as a spreadsheet does (the header is row 1)."""
    rows = table(study, path)
    rows[row - 1][rows[0].index(column)] = value
    write_table(study, path, rows)


def cell(study: Path, path: str, row: int, column: str) -> str:
    rows = table(study, path)
    return rows[row - 1][rows[0].index(column)]
