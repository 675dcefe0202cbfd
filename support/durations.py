"""Go-style durations (``30s``, ``5m``, ``1h30m``, ``500ms``): the one parser every part of e2et uses.

Why Go durations: the systems under test are largely written in Go, so their configs, env vars
and the earlier Go tool's profiles carry them; a bare number means seconds.
"""
from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(value: Any) -> float:
    """Seconds in ``value`` (a number, or a Go duration string); ``ValueError`` when it is neither."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r} (use seconds, or e.g. 30s, 5m)")
    return sum(float(n) * _UNIT[u] for n, u in parts)


def seconds_or(value: Any, default: float) -> float:
    """Like :func:`go_duration`, but junk or empty falls back to ``default`` (a stand-in reading a
    config it does not own must not crash on a typo the real component would also tolerate)."""
    if value is None or value == "":
        return default
    try:
        return go_duration(value)
    except ValueError:
        return default


def format_go(seconds: float) -> str:
    """``90`` → ``1m30s``: how Go prints a ``time.Duration`` (whole seconds and below as ms)."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{s}s"


def __getattr__(name: str) -> Any:
    """``Seconds`` — a duration setting: seconds, or a Go duration string as profiles and Go
    configs carry them. Built on first use so that stand-ins which only parse durations (some start
    a process per scenario) do not pay for importing pydantic."""
    if name == "Seconds":
        from typing import Annotated

        from pydantic import BeforeValidator

        seconds = Annotated[float, BeforeValidator(go_duration)]
        globals()["Seconds"] = seconds
        return seconds
    raise AttributeError(name)
