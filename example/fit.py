"""Integer scores whose mean and SD round to published values: the numeric core of the example.

A published cell gives n, a mean and an SD at a stated precision. We start from
seeded normal draws (one per person, so a person's scores correlate across
waves), round them to integers on the score's sum scale, then move the values
one step at a time: first the sum, until the mean rounds to the published one;
then pairs (+1 on one value, -1 on another, sum unchanged), choosing each time
the move that brings the sum of squares nearest the middle of the window in
which the SD rounds to the published one. The search is deterministic for a
given seed and never leaves the response range.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

# Stay a little inside the rounding interval so float noise never flips a rounding.
MARGIN = 0.96


@dataclass(frozen=True)
class Target:
    """A published cell on the score scale: n, mean and SD at their printed precision."""

    n: int
    mean: float
    sd: float
    mean_decimals: int = 1
    sd_decimals: int = 2
    low: float | None = None
    high: float | None = None
    """Observed range, when published: the fit then contains exactly these extremes."""


def rounds_to(value: float, published: float, decimals: int) -> bool:
    """True when ``value`` printed with ``decimals`` decimals reads as ``published``."""
    return abs(value - published) < 0.5 * 10**-decimals * MARGIN + 1e-12


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample SD (n - 1)."""
    n = len(values)
    mean = sum(values) / n
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def _sum_candidates(target: Target, scale: int) -> list[int]:
    n, centre = target.n, target.mean * target.n * scale
    radius = math.ceil(0.5 * 10**-target.mean_decimals * n * scale) + 1
    sums = [
        s
        for s in range(math.floor(centre) - radius, math.ceil(centre) + radius + 1)
        if rounds_to(s / (n * scale), target.mean, target.mean_decimals)
    ]
    return sorted(sums, key=lambda s: (abs(s - centre), s))


def _fix_sum(values: list[int], free: list[int], total: int, lo: int, hi: int, rng: random.Random) -> bool:
    while (gap := total - sum(values)) != 0:
        step = 1 if gap > 0 else -1
        movable = [i for i in free if lo <= values[i] + step <= hi]
        if not movable:
            return False
        values[rng.choice(movable)] += step
    return True


def _fix_spread(
    values: list[int], free: list[int], window: tuple[float, float], lo: int, hi: int, rng: random.Random
) -> bool:
    """Move pairs until the sum of squared deviations lies in ``window``; False if stuck."""
    n = len(values)
    centre = (window[0] + window[1]) / 2

    def spread() -> float:
        mean = sum(values) / n
        return sum((v - mean) ** 2 for v in values)

    for _ in range(20 * n * max(1, hi - lo)):
        current = spread()
        if window[0] <= current <= window[1]:
            return True
        best: list[tuple[int, int]] = []
        best_distance = abs(current - centre)
        for i in free:
            if values[i] >= hi:
                continue
            for j in free:
                if i == j or values[j] <= lo:
                    continue
                # +1 on i, -1 on j changes the sum of squares by 2(x_i - x_j) + 2 (the mean is unchanged).
                distance = abs(current + 2 * (values[i] - values[j]) + 2 - centre)
                if distance < best_distance - 1e-9:
                    best, best_distance = [(i, j)], distance
                elif abs(distance - best_distance) <= 1e-9 and best:
                    best.append((i, j))
        if not best:
            return False
        i, j = rng.choice(best)
        values[i] += 1
        values[j] -= 1
    return False


def fit_sums(
    latent: Sequence[float], target: Target, *, scale: int, lo: int, hi: int, rng: random.Random
) -> list[int]:
    """Integer sums in ``lo..hi`` whose mean and SD divided by ``scale`` round to ``target``.

    ``latent`` gives one standard-normal value per person (its length is ``target.n``);
    ``scale`` is the number of items when the published score is an item mean (1 for a sum).
    Falls back to the SD at one decimal fewer when the published precision cannot be
    reached with integers; raises ``ValueError`` when even that fails.
    """
    if len(latent) != target.n:
        msg = f"need {target.n} latent values, got {len(latent)}"
        raise ValueError(msg)
    order = sorted(range(target.n), key=lambda i: latent[i])
    fixed: dict[int, int] = {}
    inner_lo, inner_hi = lo, hi
    if target.low is not None and target.high is not None:
        inner_lo, inner_hi = round(target.low * scale), round(target.high * scale)
        fixed = {order[0]: inner_lo, order[-1]: inner_hi}
    free = [i for i in range(target.n) if i not in fixed]
    start = [
        fixed.get(i, min(inner_hi, max(inner_lo, round((target.mean + target.sd * z) * scale))))
        for i, z in enumerate(latent)
    ]
    for decimals in range(target.sd_decimals, 0, -1):
        half = 0.5 * 10**-decimals * MARGIN
        sd_window = ((target.sd - half) * scale, (target.sd + half) * scale)
        window = ((target.n - 1) * sd_window[0] ** 2, (target.n - 1) * sd_window[1] ** 2)
        for total in _sum_candidates(target, scale):
            values = list(start)
            attempt = random.Random(rng.random())
            if _fix_sum(values, free, total, inner_lo, inner_hi, attempt) and _fix_spread(
                values, free, window, inner_lo, inner_hi, attempt
            ):
                return values
    msg = f"cannot fit n={target.n}, mean {target.mean}, SD {target.sd} with {scale} items in {lo}..{hi}"
    raise ValueError(msg)


def split_sum(total: int, k: int, lo: int, hi: int, rng: random.Random, *, jitter: int = 1) -> list[int]:
    """``k`` integer item responses in ``lo..hi`` adding up to ``total``, spread a little at random.

    Items start as even as the total allows; a few random moves then put some one step
    above and others one step below, never further apart than two steps, so a person's
    answers stay consistent (the items of a subscale hang together).
    """
    if not k * lo <= total <= k * hi:
        msg = f"{total} cannot be split into {k} items in {lo}..{hi}"
        raise ValueError(msg)
    base, extra = divmod(total, k)
    items = [base] * k
    for index in rng.sample(range(k), extra):
        items[index] += 1
    for _ in range(jitter * k):
        up, down = rng.sample(range(k), 2)
        if items[up] < hi and items[down] > lo and items[up] <= items[down] and max(items) - min(items) < 2:
            items[up] += 1
            items[down] -= 1
    return items
