"""UMF frames (the metrics JSON on ``telemetry.metrics.json``) as the event engine sees them:
regrouped per (timestamp, group, metric metadata) and labelled like EE's ``UniversalMetricConsumer``
(contract §6.3)."""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


def as_number(v: Any) -> float | None:
    """``v`` as a float (booleans count as 0/1), None when it does not read as a number."""
    if isinstance(v, bool):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def labels_of(umf: dict[str, Any], metric: dict[str, Any]) -> dict[str, str]:
    """Labels of one grouped metric: metric ``metadata`` + ``system_``-prefixed ``systemMetadata`` +
    ``resource_``-prefixed ``deviceMetadata`` + ``resource_name``."""
    labels = {str(k): str(v) for k, v in (metric.get("metadata") or {}).items()}
    labels.update({f"system_{k}": str(v) for k, v in (umf.get("systemMetadata") or {}).items()})
    labels.update({f"resource_{k}": str(v) for k, v in (umf.get("deviceMetadata") or {}).items()})
    if umf.get("device"):
        labels["resource_name"] = str(umf["device"])
    return labels


def metric_value(m: dict[str, Any]) -> Any:
    """The one value of a UMF metric; ``int`` arrives as a JSON string (proto3 int64)."""
    if "int" in m:
        try:
            return int(m["int"])
        except (TypeError, ValueError):
            return as_number(m["int"])
    if "float" in m:
        return as_number(m["float"])
    if "string" in m:
        return m["string"]
    return m.get("bool")


def parse_ts(ts: str | None) -> dt.datetime:
    """RFC3339 (also Go's nanosecond form) → aware datetime; now when missing or unreadable."""
    if ts:
        m = _RFC3339.fullmatch(ts.strip())
        if m:
            frac = (m.group(2) or "")[:7]          # "." + at most 6 digits
            zone = m.group(3) or "Z"
            zone = "+00:00" if zone == "Z" else zone
            try:
                return dt.datetime.fromisoformat(m.group(1) + frac + zone)
            except ValueError:
                pass
    return dt.datetime.now(dt.UTC)


@dataclass
class MetricGroup:
    """One (timestamp, group, metadata) slice of a UMF frame: what a task evaluates."""

    tenant: str
    timestamp: str
    group: str
    labels: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)


def group_frame(umf: dict[str, Any]) -> list[MetricGroup]:
    """Regroup a UMF frame's per-field metrics by (timestamp, group, metric metadata)."""
    tenant = str(umf.get("tenantId"))
    groups: dict[tuple[Any, ...], MetricGroup] = {}
    for m in umf.get("metrics") or []:
        key = (m.get("timestamp"), m.get("group"), json.dumps(m.get("metadata") or {}, sort_keys=True))
        g = groups.get(key)
        if g is None:
            g = groups[key] = MetricGroup(tenant, m.get("timestamp") or "", m.get("group") or "", labels_of(umf, m))
        g.values[str(m.get("name"))] = metric_value(m)
    return list(groups.values())
