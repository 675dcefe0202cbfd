#!/usr/bin/env python3
"""Attach-rate analyzer (contract §9): attach rate per time bucket from the StatusStore JSON and the
audit log, and explainer replica recommendations per concurrency. Standard library only."""
from __future__ import annotations

from typing import Any

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path


def _range(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(",")
    return float(lo), float(hi or lo)


def _iso(ts: str) -> float | None:
    import datetime as dt
    try:
        return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return None


def collect(status_json: str, audit_log: str | None, window_start: float, now: float, bucket: int):
    chats: dict[int, set[str]] = {}
    expl: dict[int, set[str]] = {}

    def add(ts: float | None, trace_id: str, chat: bool, explanation: bool) -> None:
        if ts is None or ts < window_start or ts > now:
            return
        b = int((ts - window_start) // bucket)
        if chat:
            chats.setdefault(b, set()).add(trace_id)
        if explanation:
            expl.setdefault(b, set()).add(trace_id)

    try:
        items = json.loads(Path(status_json).read_text() or "{}")
    except (OSError, ValueError):
        items = {}
    for tid, item in (items.items() if isinstance(items, dict) else []):
        ts = item.get("created_at") or item.get("updated_at")
        add(float(ts) if isinstance(ts, (int, float)) else None, tid, True, bool(item.get("granularity")))
    if audit_log:
        try:
            lines = Path(audit_log).read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        for n, line in enumerate(lines):
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            tid = ev.get("trace_id") or f"line-{n}"
            if ev.get("event") == "chat.submit":
                add(_iso(ev.get("ts", "")), tid, True, ev.get("mode") == "hypergraph")
            elif ev.get("event") == "trace.queued":
                add(_iso(ev.get("ts", "")), tid, False, True)
    rates = []
    for b, c in sorted(chats.items()):
        if c:
            rates.append(min(len(expl.get(b, set())), len(c)) / len(c))
    return rates, len(chats)


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def replicas(qps: float, mix: float, ts: tuple[float, float], tt: tuple[float, float]) -> dict:
    s, t = qps * (1 - mix), qps * mix
    cons = {"sentence": math.ceil(s / ts[0]), "token": math.ceil(t / tt[0])}
    opt = {"sentence": max(1, math.ceil(s / ts[1])), "token": max(1, math.ceil(t / tt[1]))}
    cons["total"] = cons["sentence"] + cons["token"]
    opt["total"] = opt["sentence"] + opt["token"]
    return {"conservative": cons, "optimistic": opt}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--status-json", required=True)
    p.add_argument("--audit-log")
    p.add_argument("--window-minutes", type=float, default=60)
    p.add_argument("--bucket-seconds", type=int, default=60)
    p.add_argument("--token-mix", type=float, default=0.1)
    p.add_argument("--throughput-sentence-range", default="3,6")
    p.add_argument("--throughput-token-range", default="0.4,0.8")
    p.add_argument("--concurrency", default="1000,2000")
    p.add_argument("--output", default="tools/analysis/results/attach_rate_summary.json")
    p.add_argument("--report-output", default="tools/analysis/results/attach_rate_report.md")
    a = p.parse_args(argv)
    now = time.time()
    start = now - a.window_minutes * 60
    rates, buckets = collect(a.status_json, a.audit_log, start, now, a.bucket_seconds)
    mean = statistics.fmean(rates) if rates else 0.0
    median = statistics.median(rates) if rates else 0.0
    high = p95(rates)
    ts, tt = _range(a.throughput_sentence_range), _range(a.throughput_token_range)
    recs: list[dict[str, Any]] = []
    for c in [int(x) for x in a.concurrency.split(",") if x.strip()]:
        q_mean, q_p95 = c * mean, c * high
        recs.append({"concurrency": c, "explanation_qps": {"mean": q_mean, "p95": q_p95},
                     "mix": {"sentence": 1 - a.token_mix, "token": a.token_mix},
                     "replicas": {"mean": replicas(q_mean, a.token_mix, ts, tt),
                                  "p95": replicas(q_p95, a.token_mix, ts, tt)}})
    summary = {
        "attach_rate": {"mean": mean, "median": median, "p95": high,
                        "meta": {"now": now, "window_start": start, "bucket_seconds": a.bucket_seconds,
                                 "buckets_analyzed": buckets, "rates_count": len(rates)}},
        "assumptions": {"token_mix": a.token_mix,
                        "throughput_sentence_per_gpu": {"min": ts[0], "max": ts[1]},
                        "throughput_token_per_gpu": {"min": tt[0], "max": tt[1]},
                        "data_quality_note": "chat.submit is audited only for explain-mode chats; unattached chats "
                                             "are invisible, so the attach rate is an upper bound"},
        "capacity_recommendations": recs,
        "meta": {"status_json": a.status_json, "audit_log": a.audit_log, "generated_at": now},
    }
    out = Path(a.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    report = Path(a.report_output)
    report.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Attach-rate analysis", "", f"mean {mean:.3f}, median {median:.3f}, p95 {high:.3f} "
             f"over {len(rates)} bucket(s)", "", "| concurrency | mean optimistic | p95 conservative |", "|---|---|---|"]
    lines += [f"| {r['concurrency']} | {r['replicas']['mean']['optimistic']['total']} | "
              f"{r['replicas']['p95']['conservative']['total']} |" for r in recs]
    report.write_text("\n".join(lines) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
