"""Descriptive statistics: one summary per score and wave, and the sample by group.

The SD is the sample SD (n - 1), as papers print it. Each cell has its own n: a
participant missing too many items of a score has no value for it (scoring leaves it
blank), so the n differs between the cells of one wave.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import polars as pl

IGNORED = ("participant_id", "group", "enrolled_on")


@dataclass(frozen=True)
class Summary:
    """n, mean, sample SD and observed range of some values (None where they cannot be computed)."""

    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def summarise(values: Sequence[float]) -> Summary:
    """The summary of the non-missing ``values``."""
    kept = [float(v) for v in values if v is not None and not math.isnan(v)]
    n = len(kept)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = math.fsum(kept) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in kept) / (n - 1)) if n > 1 else None
    return Summary(n, mean, sd, min(kept), max(kept))


@dataclass(frozen=True)
class Characteristic:
    """One row of the sample table: a characteristic, and its value in each group and overall."""

    characteristic: str
    level: str  # the category, or "mean (SD)" for a number
    cells: dict[str, str]  # group -> text; key "all" for everyone


def _numbers(series: pl.Series) -> pl.Series:
    """The column as numbers (blank or not a number: null)."""
    return series.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _is_numeric(series: pl.Series) -> bool:
    """Every filled-in cell is a number, and at least one is filled in."""
    present = series.cast(pl.String).str.strip_chars().fill_null("") != ""
    return bool(present.any()) and bool((_numbers(series).is_not_null() == present).all())


def sample_characteristics(participants: pl.DataFrame) -> tuple[list[str], list[Characteristic]]:
    """Groups (in order of first appearance) and one row per characteristic level.

    Numbers (such as age): mean (SD) and n per group; categories: n (%) per group.
    Identifiers and dates (participant_id, group, enrolled_on) are not characteristics.
    """
    if "group" not in participants.columns:
        participants = participants.with_columns(pl.lit("all").alias("group"))
    groups = list(dict.fromkeys(participants.get_column("group").cast(pl.String).fill_null("(none)")))
    frames = {
        g: participants.filter(pl.col("group").cast(pl.String).fill_null("(none)") == g) for g in groups
    }
    frames["all"] = participants
    rows = [Characteristic("Participants", "n", {g: str(f.height) for g, f in frames.items()})]
    for column in participants.columns:
        if column in IGNORED:
            continue
        if _is_numeric(participants.get_column(column)):
            cells = {}
            for g, f in frames.items():
                s = summarise(_numbers(f.get_column(column)).to_list())
                cells[g] = "-" if s.mean is None else f"{s.mean:.1f} ({_fmt(s.sd, 1)}), n = {s.n}"
            rows.append(Characteristic(column, "mean (SD)", cells))
            continue
        levels = sorted(set(participants.get_column(column).cast(pl.String).fill_null("(not given)")))
        for level in levels:
            cells = {}
            for g, f in frames.items():
                count = int((f.get_column(column).cast(pl.String).fill_null("(not given)") == level).sum())
                cells[g] = f"{count} ({100 * count / f.height:.0f}%)" if f.height else "0"
            rows.append(Characteristic(column, level, cells))
    return [*groups, "all"], rows


def _fmt(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"
