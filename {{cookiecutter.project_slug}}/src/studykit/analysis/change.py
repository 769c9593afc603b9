"""Paired change between two waves: available pairs only, t-based CI, d_z and d_av, adjusted p.

For the n participants with a score at both waves, with differences D = later - earlier:

- mean difference M_D with a 95% CI from the t distribution (df = n - 1), t = M_D / (SD_D / sqrt n);
- d_z = M_D / SD_D (= t / sqrt n): the within-person effect;
- d_av = M_D / ((SD_1 + SD_2) / 2), with the SDs of the two waves over the same pairs:
  comparable with a between-group d (Lakens 2013, Front Psychol 4:863).

p values of a family of tests are adjusted by Holm (family-wise error) or
Benjamini-Hochberg (false discovery rate), as study.yml's ``analysis.adjustment`` says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from scipy import stats

from studykit.analysis.descriptives import summarise

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Change:
    n: int
    mean_before: float | None
    mean_after: float | None
    mean_difference: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    df: int | None
    p: float | None
    d_z: float | None
    d_av: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def paired_change(before: Sequence[float], after: Sequence[float]) -> Change:
    """The paired comparison of two equally long sequences of pairs (later minus earlier)."""
    pairs = [(a, b) for a, b in zip(before, after, strict=True) if a is not None and b is not None]
    n = len(pairs)
    first, second = summarise([a for a, _ in pairs]), summarise([b for _, b in pairs])
    differences = summarise([b - a for a, b in pairs])
    if n < 2 or not differences.sd:
        return Change(n, first.mean, second.mean, differences.mean, None, None, None, None, None, None, None)
    result = stats.ttest_rel([b for _, b in pairs], [a for a, _ in pairs])
    df = n - 1
    half = stats.t.ppf((1 + CONFIDENCE) / 2, df) * differences.sd / math.sqrt(n)
    mean = differences.mean
    average_sd = ((first.sd or 0) + (second.sd or 0)) / 2
    return Change(
        n,
        first.mean,
        second.mean,
        mean,
        mean - half,
        mean + half,
        float(result.statistic),
        df,
        float(result.pvalue),
        mean / differences.sd,
        mean / average_sd if average_sd else None,
    )


def adjust(pvalues: Sequence[float | None], method: str) -> list[float | None]:
    """Holm or Benjamini-Hochberg adjusted p values, in the given order (None stays None)."""
    present = [(i, p) for i, p in enumerate(pvalues) if p is not None]
    adjusted: list[float | None] = [None] * len(pvalues)
    if not present:
        return adjusted
    m = len(present)
    if method == "bh":
        values = stats.false_discovery_control([p for _, p in present], method="bh")
        for (i, _), value in zip(present, values, strict=True):
            adjusted[i] = float(value)
        return adjusted
    if method != "holm":
        msg = f"unknown adjustment {method!r}; use holm or bh"
        raise ValueError(msg)
    running = 0.0
    for rank, (i, p) in enumerate(sorted(present, key=lambda item: item[1])):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
