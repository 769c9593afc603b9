"""What one validation run has already read, shared between its layers.

Several layers read the same files: participants.csv is read by the structure,
measures, qualitative, governance and disclosure layers. ``read_table`` keeps such a
table for the rest of the run, up to ``KEEP_BYTES`` per file.

A measure table can hold millions of rows and is not kept whole: the measures layer
reads it once; the governance layer needs only its (row, participant, date) columns
and the disclosure layer only its blank counts. The measures layer ``remember``s these
small products and the later layers ``recall`` them.

Outside ``validate`` (a layer run on its own, as tests do) nothing is kept and each
layer reads for itself. A file changed during a run is not read again: a run sees one
state of the study.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import polars as pl

from studykit.errors import DataReadError
from studykit.tables import TextTable, read_text_table

_store: ContextVar[dict[tuple[str, Path], Any] | None] = ContextVar("studykit_validation_memo", default=None)

# (row, participant_id, day) of a dated table: rows with a readable id and date.
DATED = "dated"
# (rows, {column: blank cells}) of a table.
BLANKS = "blanks"
_TEXT = "text"
# Larger files (measure tables) are read by the layer that checks them, and shared as products.
KEEP_BYTES = 32 * 1024 * 1024


@contextmanager
def shared() -> Iterator[None]:
    """Within this block, layers share what they remember (one validation run)."""
    token = _store.set({})
    try:
        yield
    finally:
        _store.reset(token)


def remember(kind: str, path: Path, value: Any) -> None:
    """Keep ``value`` for later layers of this run (does nothing outside a run)."""
    store = _store.get()
    if store is not None:
        store[kind, path.resolve()] = value


def recall(kind: str, path: Path) -> Any | None:
    """What an earlier layer of this run remembered, or None."""
    store = _store.get()
    return None if store is None else store.get((kind, path.resolve()))


def read_table(path: Path, *, file_label: str | None = None, columns: list[str] | None = None) -> TextTable:
    """``read_text_table``, kept for the rest of the run when the file is small enough.

    ``columns`` selects columns as ``read_text_table`` does, with the same error when the
    header lacks one. A file that cannot be read is not kept: each layer reports or skips it.
    """
    store = _store.get()
    key = (_TEXT, path.resolve()) if store is not None else None
    table = store.get(key) if key is not None else None
    if table is None:
        if key is None or not path.is_file() or path.stat().st_size > KEEP_BYTES:
            return read_text_table(path, file_label=file_label, columns=columns)
        table = store[key] = read_text_table(path, file_label=file_label)
    if columns is None:
        return table
    missing = [c for c in columns if c not in table.header]
    if missing:
        msg = f"lacks a column it needs ({', '.join(missing)})"
        raise DataReadError(msg, path=file_label or path, fix="Add the column to the header row.")
    return TextTable(
        path=table.path, frame=table.frame.select(columns), encoding=table.encoding, header=columns
    )


def dated(typed: pl.DataFrame, date_column: str) -> pl.DataFrame:
    """The ``DATED`` product of a table: (row, participant_id, day) of rows with an id and a date.

    ``typed`` holds ``participant_id`` and ``date_column`` already cast to dates.
    """
    return (
        typed.select("participant_id", pl.col(date_column).alias("day"))
        .with_row_index("row", offset=2)
        .filter(pl.col("participant_id").is_not_null() & pl.col("day").is_not_null())
    )
