"""A score against its instrument's norm: one-sample t and the standardised difference.

The norm is taken as fixed (``scipy.stats.ttest_1samp`` against its mean). The
standardised difference is (M - norm mean) / norm SD: it says how far the sample sits
from the norm population in that population's SD units. Where an instrument gives
several norms for a score, the first verified one is used (else the first), and its
source is reported with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from scipy import stats

from studykit.analysis.descriptives import summarise
from studykit.instruments.model import Instrument, Norm


@dataclass(frozen=True)
class NormComparison:
    norm_mean: float
    norm_sd: float
    population: str
    source: str
    unit: str
    verified: bool
    t: float | None
    df: int | None
    p: float | None
    d: float | None  # (M - norm mean) / norm SD

    def to_dict(self) -> dict:
        return asdict(self)


def norm_for(instrument: Instrument, score_id: str) -> Norm | None:
    """The norm the report compares a score with (first verified, else first), or None."""
    norms = [n for n in instrument.norms if n.score == score_id]
    return next((n for n in norms if n.verified), norms[0] if norms else None)


def compare_with_norm(values: Sequence[float], norm: Norm) -> NormComparison:
    """One-sample t against the norm mean and (M - norm mean) / norm SD; None where n < 2."""
    summary = summarise(values)
    t = p = d = None
    df = None
    if summary.n >= 2 and summary.sd:
        result = stats.ttest_1samp([v for v in values if v is not None], norm.mean)
        t, p, df = float(result.statistic), float(result.pvalue), summary.n - 1
    if summary.mean is not None:
        d = (summary.mean - norm.mean) / norm.sd
    return NormComparison(
        norm.mean, norm.sd, norm.population, norm.source, norm.unit, norm.verified, t, df, p, d
    )
