"""Connect unary RPC with JSON over ``support.http.ApiClient``, and the contract's reader rules (§2.1).

Why tolerant readers: Go's proto3 JSON omits defaults (a rejection may be ``{"reason": …}`` with no
``accepted``; a failed heartbeat is ``{}``), 64-bit integers come as strings from Go and as numbers
from the Workers app, enums as names or numbers. Every field the pack reads goes through these
helpers, so one system's spelling never turns a spec red or — worse — green.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..errors import ApiError
from ..http import ApiClient


class RpcError(AssertionError):
    """An RPC answered with a Connect error: ``code`` (e.g. ``not_found``) is what specs assert on."""

    def __init__(self, rpc: str, code: str, message: str, status: int) -> None:
        self.rpc, self.code, self.message, self.status = rpc, code, message, status
        super().__init__(f"{rpc} failed with {code} (HTTP {status}): {message}")


def s(d: dict[str, Any] | None, key: str, default: str = "") -> str:
    v = (d or {}).get(key)
    return default if v is None else str(v)


def i(d: dict[str, Any] | None, key: str, default: int = 0) -> int:
    """int32/int64: a JSON number or a string (Go encodes 64-bit integers as strings)."""
    v = (d or {}).get(key)
    if v in (None, ""):
        return default
    try:
        return int(float(v)) if isinstance(v, (int, float)) else int(str(v))
    except ValueError:
        return default


def b(d: dict[str, Any] | None, key: str) -> bool:
    """A missing boolean is false (proto3 omits it)."""
    v = (d or {}).get(key)
    return v is True or str(v).lower() == "true"


def lst(d: dict[str, Any] | None, key: str) -> list[Any]:
    v = (d or {}).get(key)
    return list(v) if isinstance(v, list) else []


def ts(value: Any) -> float | None:
    """RFC 3339 (``…Z``) → epoch seconds; ``None`` when absent. Workers' 1970 dates parse too (§2.3)."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def enum(value: Any, names: list[str]) -> str:
    """Go sends enum names, Workers numbers: always give back the name."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        n = int(value)
        return names[n] if 0 <= n < len(names) else str(n)
    return str(value or names[0])


class ConnectClient:
    """Calls ``POST <base>/<package>.<Service>/<Rpc>`` with a JSON body (``{}`` when empty)."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def call(self, service: str, rpc: str, body: dict[str, Any] | None = None, what: str = "") -> dict[str, Any]:
        try:
            out = self.api.post(f"{service}/{rpc}", body or {}, expect=(200,), what=what or rpc)
        except ApiError as e:
            code, message = "unknown", e.body
            try:
                err = json.loads(e.body)
                code, message = str(err.get("code", code)), str(err.get("message", message))
            except ValueError:
                pass
            raise RpcError(rpc, code, message, e.status) from None
        return out if isinstance(out, dict) else {}
