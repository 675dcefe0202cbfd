"""Percentile maths and regression flagging: the numbers every soak verdict rests on."""
from __future__ import annotations

import pytest

from e2et.soak.analyze import regressions
from e2et.soak.stats import percentile, regressed, summarize


def test_percentile_matches_linear_interpolation_between_ranks():
    data = [1.0, 2.0, 3.0, 4.0]
    assert percentile(data, 0) == 1.0
    assert percentile(data, 100) == 4.0
    assert percentile(data, 50) == pytest.approx(2.5)
    assert percentile(data, 90) == pytest.approx(3.7)       # rank 2.7 → 3 + 0.7·(4−3)
    assert percentile(data, 95) == pytest.approx(3.85)


def test_percentile_is_order_independent_and_defined_for_one_value():
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile([7.5], 95) == 7.5


def test_percentile_agrees_with_numpy_default():
    np = pytest.importorskip("numpy")
    data = [0.31, 0.29, 2.5, 0.33, 0.35, 0.3, 0.41, 0.28, 0.6, 0.32, 0.3]
    for p in (50, 90, 95, 99):
        assert percentile(data, p) == pytest.approx(float(np.percentile(data, p)))


@pytest.mark.parametrize("bad", [[], None])
def test_percentile_of_nothing_is_an_error(bad):
    with pytest.raises((ValueError, TypeError)):
        percentile(bad, 50)


def test_percentile_out_of_range():
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize():
    s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s["count"] == 5 and s["min"] == 1.0 and s["max"] == 5.0 and s["mean"] == 3.0
    assert s["p50"] == 3.0 and s["p90"] == pytest.approx(4.6) and s["p95"] == pytest.approx(4.8)
    assert summarize([]) == {"count": 0}


def test_regressed_needs_both_relative_margin_and_absolute_floor():
    assert regressed(1.0, 1.3, margin=0.2, min_delta=0.05)
    assert not regressed(1.0, 1.2, margin=0.2, min_delta=0.05)        # exactly at the margin
    assert not regressed(0.01, 0.03, margin=0.2, min_delta=0.05)      # 3× slower but 20 ms: noise
    assert not regressed(1.0, 0.5, margin=0.2)                         # faster is never a regression
    assert regressed(0.0, 0.2, margin=0.2, min_delta=0.05)


def _stats(p50, p90, p95):
    return {"count": 10, "p50": p50, "p90": p90, "p95": p95}


def test_regressions_flag_each_percentile_of_phases_and_scenarios():
    base = {"phases": {"Envoy presence": _stats(1.0, 1.2, 1.3), "Agent installs": _stats(0.5, 0.6, 0.6)},
            "scenarios": {"attach": _stats(1.0, 1.1, 1.2)}}
    cur = {"phases": {"Envoy presence": _stats(1.1, 1.9, 2.0), "Agent installs": _stats(0.5, 0.6, 0.6),
                      "New phase": _stats(9, 9, 9)},
           "scenarios": {"attach": _stats(1.5, 1.1, 1.2)}}
    flagged = {(f["group"], f["name"], f["percentile"]) for f in regressions(cur, base, 0.2, 0.05)}
    assert flagged == {("phase", "Envoy presence", "p90"), ("phase", "Envoy presence", "p95"),
                       ("scenario", "attach", "p50")}
