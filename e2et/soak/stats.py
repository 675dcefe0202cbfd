"""Percentiles and summaries, written out (no numpy) so the maths is small, exact and unit-tested."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

PERCENTILES = (50, 90, 95)


def percentile(values: Iterable[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, "type 7").

    Chosen because it is what dashboards and numpy users expect, and it is defined for one value.
    """
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    rank = (len(data) - 1) * p / 100.0
    lo = math.floor(rank)
    hi = math.ceil(rank)
    if lo == hi:
        return data[lo]
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """count, min, mean, p50/p90/p95, max — the set every table and regression check uses."""
    if not values:
        return {"count": 0}
    out: dict[str, float] = {"count": len(values), "min": min(values),
                             "mean": sum(values) / len(values), "max": max(values)}
    for p in PERCENTILES:
        out[f"p{p}"] = percentile(values, p)
    return out


def regressed(baseline: float, current: float, margin: float, min_delta: float = 0.0) -> bool:
    """True when ``current`` exceeds ``baseline`` by more than ``margin`` (a fraction) *and* by more
    than ``min_delta`` seconds — the absolute floor keeps millisecond steps from flagging on noise."""
    if baseline is None or current is None:
        return False
    delta = current - baseline
    return delta > baseline * margin and delta > min_delta
