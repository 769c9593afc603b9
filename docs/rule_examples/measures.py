"""Breaks for the measures layer's rules (MEA)."""

from __future__ import annotations

from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import set_cell, table, write_table

WEMWBS = "data/measures/wemwbs.csv"
ITEMS = 14  # WEMWBS items, item_01 to item_14 after participant_id, wave, completed_on


@breaks("MEA001")
def unknown_wave(study: Path) -> None:
    """P001's T2 wave typed as "2" instead of "T2" in data/measures/wemwbs.csv."""
    set_cell(study, WEMWBS, 35, "wave", "2")


@breaks("MEA002")
def outside_window(study: Path) -> None:
    """P001's T2 completion date typed with the wrong year (2025-05-11 for 2024-05-11) in
    data/measures/wemwbs.csv."""
    set_cell(study, WEMWBS, 35, "completed_on", "2025-05-11")


@breaks("MEA003")
def score_mismatch(study: Path) -> None:
    """A total column added to data/measures/wemwbs.csv, with P001's T1 total typed as 64 where the items
    add up to 46."""
    rows = table(study, WEMWBS)
    rows[0].append("total")
    for row in rows[1:]:
        items = row[3 : 3 + ITEMS]
        row.append(str(sum(map(int, items))) if all(items) else "")
    rows[1][-1] = "64"
    write_table(study, WEMWBS, rows)
