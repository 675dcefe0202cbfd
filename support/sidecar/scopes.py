"""The scope matrix (contract §3) as data: route × caller kind → the answers the contract allows."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

READ, WRITE = "traces:read", "traces:write"
ROUTES = ("chat", "status", "graph", "stream", "webhooks", "cancel")
SCOPE = {"chat": WRITE, "status": READ, "graph": READ, "stream": READ, "webhooks": WRITE, "cancel": WRITE}
#: What each kind holds: write = tenant A read+write, read = tenant B read-only, write_only = tenant A write.
HOLDS = {"write": {READ, WRITE}, "read": {READ}, "write_only": {WRITE}}
#: Allowed answers when the caller holds the scope, on a finished trace of tenant A (tenant B's
#: read-only token sees it as another tenant's: 404 is allowed there, never 401/403).
GRANTED = {"chat": {200}, "status": {200, 404, 410}, "graph": {200, 404, 410}, "stream": {200, 404},
           "webhooks": {201, 404, 409}, "cancel": {202, 404, 409}}
OWNER = {"chat": {200}, "status": {200}, "graph": {200}, "stream": {200}, "webhooks": {201}, "cancel": {409}}


@dataclass
class Answer:
    route: str
    kind: str
    trace: str
    status: int
    code: str | None
    message: str
    www_authenticate: str | None


def detail(resp: httpx.Response) -> tuple[str | None, str]:
    """``detail.code`` and message of an auth/rate error; the API reference's bare ``{code, message}``
    is accepted too (the contract: accept either)."""
    try:
        body: Any = resp.json()
    except ValueError:
        return None, resp.text[:200]
    if isinstance(body, dict) and isinstance(body.get("detail"), dict):
        body = body["detail"]
    if isinstance(body, dict):
        return body.get("code"), str(body.get("message") or body.get("detail") or "")
    return None, str(body)[:200]


def call_route(route: str, trace_id: str, kind: str, do: Callable[..., httpx.Response],
               hook_url: str) -> httpx.Response:
    """One route for the matrix (plain chats: the matrix must not create traces)."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "scope matrix probe"}], "stream": False}
    calls = {"chat": ("POST", "/v1/chat/completions", body), "status": ("GET", f"/v1/traces/{trace_id}/status", None),
             "graph": ("GET", f"/v1/traces/{trace_id}/graph", None),
             "stream": ("GET", f"/v1/traces/{trace_id}/stream", None),
             "webhooks": ("POST", f"/v1/traces/{trace_id}/webhooks", {"url": hook_url, "events": ["complete"]}),
             "cancel": ("DELETE", f"/v1/traces/{trace_id}", None)}
    method, path, payload = calls[route]
    return do(method, path, as_=kind, json=payload)


def judge(a: Answer, owned: bool) -> str | None:
    """None when ``a`` is what the contract allows, else one line saying what is wrong."""
    needed = SCOPE[a.route]
    if needed not in HOLDS[a.kind]:
        if a.status != 403 or a.code != "missing_scope" or needed not in a.message:
            return (f"{a.kind} token on {a.route} ({a.trace}): expected 403 missing_scope naming {needed}, "
                    f"got {a.status} {a.code} {a.message!r}")
        return None
    allowed = (OWNER if owned else GRANTED)[a.route] if a.trace == "own" else {404} if a.route != "chat" else {200}
    if a.status not in allowed:
        return (f"{a.kind} token on {a.route} ({a.trace} trace): expected {sorted(allowed)}, "
                f"got {a.status} {a.message!r}")
    return None
