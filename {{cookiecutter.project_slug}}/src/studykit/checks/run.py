"""One validation run: the study, what its layers have read, and where progress goes.

``validate`` makes a ``Run`` and hands it to every layer (``check(run)``), so a layer's
signature shows what it needs and nothing travels through hidden global state. Several
layers read the same files (participants.csv is read by the structure, measures,
qualitative, governance and disclosure layers): ``read_table`` keeps a small table for
the rest of the run. A measure table can hold millions of rows and is not kept whole:
the measures layer reads it once and records the small products later layers need,
``dated_rows`` (for the governance layer) and ``blank_counts`` (for the disclosure layer).

A layer run on its own (as tests do) gets a fresh ``Run(study)`` and reads for itself.
A file changed during a run is not read again: a run sees one state of the study.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import polars as pl

from studykit.errors import DataReadError
from studykit.study import Study
from studykit.tables import FIRST_DATA_ROW, TextTable, read_text_table

# Larger files (measure tables) are read by the layer that checks them, and shared as products.
KEEP_BYTES = 32 * 1024 * 1024
Engine = Literal["polars", "frictionless"]


class BlankCounts(NamedTuple):
    """How many rows a table has and how many blank cells each column has."""

    rows: int
    blanks: dict[str, int]

    @classmethod
    def of(cls, table: TextTable) -> BlankCounts:
        frame = table.frame
        return cls(frame.height, {c: frame.get_column(c).null_count() for c in table.header})


def dated_rows(typed: pl.DataFrame, date_column: str) -> pl.DataFrame:
    """(row, participant_id, day) of the rows with a participant id and a readable date.

    ``typed`` holds ``participant_id`` and ``date_column`` already cast to dates; ``row`` is
    the spreadsheet row.
    """
    return (
        typed.select("participant_id", pl.col(date_column).alias("day"))
        .with_row_index("row", offset=FIRST_DATA_ROW)
        .filter(pl.col("participant_id").is_not_null() & pl.col("day").is_not_null())
    )


@dataclass
class Run:
    """One validation of ``study``. ``progress`` is told what a long step is doing now."""

    study: Study
    progress: Callable[[str], None] | None = None
    keep_bytes: int = KEEP_BYTES
    # The day "today" means to rules that look at the calendar (an approval about to expire);
    # None is today in UTC. Documentation examples fix it so their output does not change daily.
    today: dt.date | None = None
    # Which engine checked each table (file as the report shows it).
    engines: dict[str, Engine] = field(default_factory=dict)
    _tables: dict[Path, TextTable] = field(default_factory=dict, repr=False)
    _dated: dict[Path, pl.DataFrame] = field(default_factory=dict, repr=False)
    _blanks: dict[Path, BlankCounts] = field(default_factory=dict, repr=False)

    def note(self, text: str) -> None:
        """Tell the user what a long step is doing now (shown only when validate was given progress)."""
        if self.progress is not None:
            self.progress(text)

    def checked_by(self, file: str, engine: Engine) -> None:
        self.engines[file] = engine

    def read_table(
        self, path: Path, *, file_label: str | None = None, columns: list[str] | None = None
    ) -> TextTable:
        """``read_text_table``, kept for the rest of the run when the file is small enough.

        ``columns`` selects columns as ``read_text_table`` does, with the same error when the
        header lacks one. A file that cannot be read is not kept: each layer reports or skips it.
        """
        key = path.resolve()
        table = self._tables.get(key)
        if table is None:
            if not path.is_file() or path.stat().st_size > self.keep_bytes:
                return read_text_table(path, file_label=file_label, columns=columns)
            table = self._tables[key] = read_text_table(path, file_label=file_label)
        if columns is None:
            return table
        missing = [c for c in columns if c not in table.header]
        if missing:
            msg = f"lacks a column it needs ({', '.join(missing)})"
            raise DataReadError(msg, path=file_label or path, fix="Add the column to the header row.")
        return TextTable(
            path=table.path,
            frame=table.frame.select(columns),
            encoding=table.encoding,
            header=columns,
            padded=tuple(c for c in table.padded if c.column in columns),
        )

    def record_dated(self, path: Path, rows: pl.DataFrame) -> None:
        """Keep a table's ``dated_rows`` for later layers."""
        self._dated[path.resolve()] = rows

    def dated(self, path: Path) -> pl.DataFrame | None:
        """The ``dated_rows`` an earlier layer recorded for this table, or None."""
        return self._dated.get(path.resolve())

    def record_blanks(self, path: Path, counts: BlankCounts) -> None:
        self._blanks[path.resolve()] = counts

    def blank_counts(self, path: Path) -> BlankCounts | None:
        """The blank counts an earlier layer recorded for this table, or None."""
        return self._blanks.get(path.resolve())
