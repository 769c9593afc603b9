"""What the example is made from: the data files under ``example/data/``, read once each.

``table3.yml`` holds the published numbers, ``invented.yml`` the numbers invented where
the table is cut off, ``instruments.yml`` the example's own instrument definitions, and
the other YAML files the words (interviews, focus groups, event notes, register entries).
``fixed/`` holds files the example carries as they are, laid out as in a study.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent / "data"
FIXED = DATA / "fixed"
WAVE_IDS = ("T1", "T2", "T3")


@cache
def load(name: str) -> Any:
    """One data file (``name`` without .yml), parsed."""
    return yaml.safe_load((DATA / f"{name}.yml").read_text(encoding="utf-8"))


def fixed_files() -> dict[str, str]:
    """The files the example carries unchanged: study-relative path -> text."""
    return {
        path.relative_to(FIXED).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(FIXED.rglob("*"))
        if path.is_file()
    }


def printed(value: str) -> tuple[float, int]:
    """A number as printed ("1.10") -> its value and its number of decimals (1.1, 2)."""
    number = Decimal(value)
    return float(number), max(0, -int(number.as_tuple().exponent))


@dataclass(frozen=True)
class Cell:
    """One cell of a table: a score in a wave, with n, mean and SD at their printed precision."""

    construct: str  # instrument.score
    wave: str
    n: int
    mean: float
    sd: float | None
    mean_decimals: int = 1
    sd_decimals: int = 2
    low: int | None = None
    high: int | None = None


def cell(construct: str, wave: str, entry: dict[str, Any]) -> Cell:
    mean, mean_decimals = printed(entry["mean"])
    sd, sd_decimals = printed(entry["sd"]) if entry.get("sd") is not None else (None, 2)
    low, high = entry.get("range") or (None, None)
    return Cell(construct, wave, entry["n"], mean, sd, mean_decimals, sd_decimals, low, high)


def cells(name: str) -> tuple[Cell, ...]:
    """Every wave cell of ``table3`` or ``invented``, in file order."""
    return tuple(
        cell(construct, wave, row[wave])
        for construct, row in load(name)["scores"].items()
        for wave in WAVE_IDS
        if row.get(wave) is not None
    )


def published() -> tuple[Cell, ...]:
    """Table 3 as printed (the cells the twin reproduces after the consent filter)."""
    return cells("table3")


def fitted() -> tuple[Cell, ...]:
    """The cells the generator fits: the published ones, completed by the invented ones."""
    invented = cells("invented")
    replaced = {(c.construct, c.wave) for c in invented}
    return tuple(c for c in published() if (c.construct, c.wave) not in replaced) + invented


def norm(construct: str) -> dict[str, Any] | None:
    """The norm column of Table 3 for ``instrument.score`` (None where it has none)."""
    return load("table3")["scores"].get(construct, {}).get("norm")
