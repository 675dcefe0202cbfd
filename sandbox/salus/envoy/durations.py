"""Go ``time.Duration`` strings (``45s``, ``1m30s``, ``500ms``) as the real envoy's viper config takes them."""
from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(value: object, default: float) -> float:
    """Seconds in ``value``; a bare number counts as seconds; junk falls back to ``default``
    (a config typo must not crash an agent that is otherwise able to attach)."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return default
    return sum(float(n) * _UNIT[u] for n, u in parts)
