"""``e2et compare SOAK_A SOAK_B``: a delta table of B against A (the baseline), with regressions.

Plain text on purpose: it goes into CI logs and pull-request comments as-is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .analyze import load_analysis, regressions


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _pct(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "—"
    if a == 0:
        return "new" if b else "+0.0%"
    return f"{100 * (b - a) / a:+.1f}%"


def compare_table(a: dict[str, Any], b: dict[str, Any], margin: float = 0.2,
                  min_delta: float = 0.05, percentile: str = "p95") -> tuple[str, list[dict[str, Any]]]:
    """The table text and the regressions it flags (B worse than A beyond margin/min_delta)."""
    flagged = regressions(b, a, margin, min_delta)
    marks = {(f["group"], f["name"]) for f in flagged}
    rows = [("", "A " + a.get("soak_id", ""), "B " + b.get("soak_id", ""), "Δ", "")]

    def rate(x: dict[str, Any]) -> str:
        r = x.get("success_rate")
        return "—" if r is None else f"{100 * r:.1f}% of {x.get('cycles')}"
    rows.append(("success rate", rate(a), rate(b), "", ""))
    for group in ("phases", "scenarios"):
        names = list(dict.fromkeys([*a.get(group, {}), *b.get(group, {})]))
        for name in names:
            va = a.get(group, {}).get(name, {}).get(percentile)
            vb = b.get(group, {}).get(name, {}).get(percentile)
            flag = "REGRESSION" if (group[:-1], name) in marks else ""
            label = f"{group[:-1]} {name}"
            rows.append((label if len(label) <= 70 else label[:67] + "...",
                         _fmt(va), _fmt(vb), _pct(va, vb), flag))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"{percentile.upper()} seconds, B against A (margin {margin:.0%}, min Δ {min_delta}s)"]
    for i, r in enumerate(rows):
        cells = (c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths, strict=False)))
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"{len(flagged)} regression(s) flagged" + (":" if flagged else ""))
    for f in flagged:
        lines.append(f"  {f['group']} {f['name']} {f['percentile']}: {f['baseline']:.3f}s → {f['current']:.3f}s")
    return "\n".join(lines), flagged


def compare_dirs(a: Path, b: Path, margin: float, min_delta: float, percentile: str) -> tuple[str, list]:
    return compare_table(load_analysis(a), load_analysis(b), margin, min_delta, percentile)
