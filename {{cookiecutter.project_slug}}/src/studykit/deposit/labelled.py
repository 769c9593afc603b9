"""The labelled SPSS and Stata files a deposit carries next to its CSVs (``archive.labelled_exports``).

For each format the study asks for, every shipped table of the data package gets one file
under ``data/labelled/<format>/<resource>.sav|.dta``, written by ``studykit.export`` (the one
labelling code path) from the very rows and columns of the deposited CSV: whatever consent
took out of the CSV is not in the labelled file either, and nothing above the deposit's tier,
described only or controlled ever gets one (they are not shipped). ``data/labelled/variables.csv``
maps each column to its SPSS and Stata name, with its labels.

Deterministic: readstat stamps each file with the clock's time; the stamp is replaced by
the release date (midnight UTC), so two builds of the same study are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

import polars as pl

from studykit.export import (
    SUFFIX,
    VARIABLES_FILE,
    ExportedTable,
    labelled_file,
    study_variables,
    table_of,
    typed_frame,
    variables_file,
)

if TYPE_CHECKING:
    from studykit.deposit.staging import Item, Plan

FOLDER = "data/labelled"
MAPPING = f"{FOLDER}/{VARIABLES_FILE}"
MEDIA_TYPES = {".sav": "application/x-spss-sav", ".dta": "application/x-stata-dta"}


def formats(plan: Plan) -> list[str]:
    """The formats the study asks for, in a fixed order."""
    return sorted(set(plan.study.archive.labelled_exports))


def tabular(plan: Plan) -> list[Item]:
    """The shipped items that are tables of the data package (a CSV with a schema)."""
    return [
        i for i in plan.shipped
        if i.descriptor.get("schema", {}).get("fields") and i.path.endswith(".csv")
    ]  # fmt: skip


def file_path(item: Item, to: str) -> str:
    return f"{FOLDER}/{to}/{item.name}{SUFFIX[to]}"


def sources(plan: Plan) -> dict[str, Item]:
    """Each labelled file's path in the payload -> the shipped item it is made from (no bytes made)."""
    return {file_path(item, to): item for item in tabular(plan) for to in formats(plan)}


def files(plan: Plan) -> dict[str, bytes]:
    """The labelled files and the mapping file: payload path -> bytes."""
    chosen = formats(plan)
    items = tabular(plan)
    if not chosen or not items:
        return {}
    known = {t.name: t for t in study_variables(plan.study)}
    stamp = dt.datetime.combine(plan.released, dt.time(0, 0), tzinfo=dt.UTC)
    note = [
        plan.study.title.encode("utf-8")[:80].decode("utf-8", errors="ignore"),
        f"Version {plan.study.version}, deposit {plan.tier}, released {plan.released.isoformat()}.",
        f"Original and exported names: {VARIABLES_FILE}.",
    ]
    out: dict[str, bytes] = {}
    tables: list[tuple[ExportedTable, pl.DataFrame]] = []
    for item in items:
        text = _rows(item.content)
        table = table_of(item.descriptor, text.columns, known.get(item.name))
        frame = typed_frame(table, text)
        tables.append((table, frame))
        for to in chosen:
            out[file_path(item, to)], _ = labelled_file(table, frame, to, note=note, stamp=stamp)  # type: ignore[arg-type]
    out[MAPPING] = variables_file(tables).encode("utf-8")
    return out


def _rows(content: bytes) -> pl.DataFrame:
    """The deposited CSV as text cells, exactly as a re-user's reader sees it (blank is missing)."""
    return pl.read_csv(io.BytesIO(content), infer_schema=False, encoding="utf8")
