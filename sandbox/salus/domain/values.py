"""Value formats the Salus DTOs carry: timestamps, ISO-8601 durations, CIDR lists."""
from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any

from .errors import validation_failed

ISO_DURATION_RE = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$")


def now_iso() -> str:
    """UTC now as Jackson writes an ``Instant`` with milliseconds."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def duration_seconds(value: Any, field: str) -> int:
    """ISO-8601 duration (``PT1M30S``) → seconds; 400 naming the field when malformed."""
    if isinstance(value, (int, float)):
        return int(value)
    m = ISO_DURATION_RE.match(str(value or ""))
    if not m or not any(m.groups()):
        raise validation_failed([field])
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + int(float(s or 0))


def iso_duration(seconds: int) -> str:
    """Java ``Duration.toString()``: ``PT1M30S``, ``PT1H``, ``PT1H1M`` (what the DTOs carry)."""
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, sec = divmod(rest, 60)
    out = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{sec}S" if sec else "")
    return out if out != "PT" else "PT0S"


def cidrs_invalid(value: Any) -> bool:
    """``@ValidCidrList``: a list of IPv4/IPv6 networks in CIDR notation."""
    if not isinstance(value, list):
        return True
    for v in value:
        try:
            if "/" not in str(v):
                return True
            ipaddress.ip_network(str(v), strict=False)
        except ValueError:
            return True
    return False
