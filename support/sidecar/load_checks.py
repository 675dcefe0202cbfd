"""Judging a load run: was shedding due, which backpressure signals showed, and HIF continuity."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .metrics import Scrape
from .settings import RateLimits

if TYPE_CHECKING:
    from .load import LoadResult

EXPLAINER_SIGNALS = ("backpressure_level", "backpressure_actions_total", "backlog_seconds", "queue_len_global",
                     "explainer_queue_lag_seconds_count", "hypergraph_backlog_seconds")


def offered_over_limit(res: LoadResult, limits: RateLimits) -> bool:
    """More chats were offered than one tenant's write bucket can admit over the run (burst + refill)."""
    admit = limits.write_burst + limits.write_rps * res.elapsed
    return res.chats > admit * 1.5


def bp_signals(res: LoadResult, explainer: Scrape | None) -> dict[str, Any]:
    """The contract's backpressure signals, recorded (their absence is noted, not failed)."""
    states: dict[str, int] = {}
    bp_levels, downgraded = 0, 0
    for t in res.traces:
        states[str(t.state)] = states.get(str(t.state), 0) + 1
        if t.status and t.status.get("bp_level"):
            bp_levels += 1
        if t.status and t.status.get("granularity_downgraded"):
            downgraded += 1
    out: dict[str, Any] = {"gateway_429": res.statuses.get(429, 0),
                           "retry_after_values": sorted(set(res.retry_after))[:5],
                           "status_bp_level": bp_levels, "status_granularity_downgraded": downgraded,
                           "status_shed": states.get("shed", 0)}
    if explainer is None:
        out["explainer"] = "metrics endpoint unreachable"
    else:
        names = explainer.names()
        out["explainer"] = {s: (s in names) for s in EXPLAINER_SIGNALS}
    return out


def sample_graph_problems(world: Any, res: LoadResult, n: int) -> tuple[int, list[str]]:
    """How many of up to ``n`` completed attached traces serve a valid graph, and what was wrong."""
    ok, problems = 0, []
    for t in [t for t in res.traces if t.state == "complete"][:n]:
        r = world.graph(t.trace_id)
        if r.status_code != 200:
            problems.append(f"{t.trace_id}: graph HTTP {r.status_code}")
            continue
        bad = world.graph_problems(r.json(), None)
        if bad:
            problems.append(f"{t.trace_id}: {bad[0]}")
        elif r.json().get("nodes") and r.json().get("incidences"):
            ok += 1
    return ok, problems
