"""The published Table 3 beside the twin's numbers, from what ``studykit score`` writes.

``studykit score`` in a study baked with the example writes one row per participant and
wave, consent-filtered, with a column per ``instrument.score``. ``table3_comparison``
reads those rows and sets n, mean and sample SD (n - 1) per published cell beside the
printed ones. It uses nothing from studykit: the numbers come from the study's own
command, so a test built on it checks what a user of the example sees.
"""

from __future__ import annotations

import csv
import io
import statistics
from typing import Any

from example import sources


def scores_by_cell(scores_csv: str) -> dict[tuple[str, str], list[float]]:
    """Non-blank scores per (instrument.score, wave) from ``studykit score`` output."""
    values: dict[tuple[str, str], list[float]] = {}
    for row in csv.DictReader(io.StringIO(scores_csv)):
        for column, value in row.items():
            if "." in column and value.strip():
                values.setdefault((column, row["wave"]), []).append(float(value))
    return values


def table3_comparison(scores_csv: str) -> list[dict[str, Any]]:
    """One dict per published cell: construct, wave, published n/mean/SD and the twin's.

    ``published_sd`` is None where the table is cut off; ``twin_mean`` and ``twin_sd``
    are None when the twin has too few values for them.
    """
    values = scores_by_cell(scores_csv)
    rows = []
    for cell in sources.published():
        found = values.get((cell.construct, cell.wave), [])
        rows.append(
            {
                "construct": cell.construct,
                "wave": cell.wave,
                "published_n": cell.n,
                "published_mean": cell.mean,
                "published_sd": cell.sd,
                "sd_decimals": cell.sd_decimals,
                "twin_n": len(found),
                "twin_mean": statistics.mean(found) if found else None,
                "twin_sd": statistics.stdev(found) if len(found) > 1 else None,
            }
        )
    return rows
