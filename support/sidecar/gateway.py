"""The gateway as a black box: raw exchanges (status, headers, body) by token kind, recorded as
redacted curl evidence.

Why not ``support.http.ApiClient``: the RBAC, rate-limit and cancel specs judge status codes and
headers of *expected* failures (401 + WWW-Authenticate, 429 + Retry-After, 409), so every call
returns the response itself; ``ok()`` turns an unexpected status into an ``ApiError``.
"""
from __future__ import annotations

import secrets
import string
import time
from typing import Any

import httpx

from ..errors import ApiError, InfrastructureError
from ..http import ExchangeLog
from ..waiting import poll
from .settings import SidecarSettings

ALPHABET = string.ascii_lowercase + string.digits
TERMINAL = ("complete", "failed", "canceled", "expired", "shed")
BODY_MODEL = "gpt-4o-mini"


def rand(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


class Gateway:
    def __init__(self, settings: SidecarSettings, log: ExchangeLog, timeout: float = 10.0) -> None:
        self.s = settings
        self.log = log
        self.timeout = timeout
        self.unknown_token = "e2et-unknown-" + rand(16)
        log.redact.add(*settings.secrets(), self.unknown_token)
        self.http = httpx.Client(base_url=settings.base_url, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def auth(self, kind: str) -> dict[str, str]:
        """Headers for a caller kind: write, read, write_only, b_write, unknown, none, basic."""
        if kind == "none":
            return {}
        if kind == "unknown":
            return {"Authorization": f"Bearer {self.unknown_token}"}
        if kind == "basic":
            return {"Authorization": "Basic ZTJldDplMmV0"}
        token = self.s.token(kind)
        if token is None:
            raise AssertionError(f"the profile has no {kind} token (set E2ET_SIDECAR__AUTH_TOKEN_{kind.upper()})")
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, *, as_: str = "write", headers: dict[str, str] | None = None,
             json: Any = None, retry_429: bool = True) -> httpx.Response:
        """One exchange. ``retry_429``: honour Retry-After (bounded) — for specs that are not about
        rate limits, so a bucket another spec emptied refills instead of failing them."""
        deadline = time.monotonic() + 30
        while True:
            req = self.http.build_request(method, path, json=json, headers={**self.auth(as_), **(headers or {})})
            t0 = time.monotonic()
            try:
                resp = self.http.send(req)
            except httpx.TimeoutException:
                self.log.record(req, None, time.monotonic() - t0)
                raise InfrastructureError(f"{method} {path} timed out after {self.timeout:g}s: is the gateway "
                                          f"at {self.s.base_url} up (sidecar.base_url)?") from None
            except httpx.TransportError as e:
                self.log.record(req, None, time.monotonic() - t0)
                raise InfrastructureError(f"{method} {path} failed ({type(e).__name__}): is the gateway at "
                                          f"{self.s.base_url} up (sidecar.base_url)?") from None
            self.log.record(req, resp, time.monotonic() - t0)
            if resp.status_code != 429 or not retry_429 or time.monotonic() > deadline:
                return resp
            # the server says when its bucket has a token again: the one wait it inherently needs
            _pause(min(5.0, float(resp.headers.get("Retry-After") or 1)))

    def ok(self, resp: httpx.Response, *expect: int, what: str = "") -> Any:
        if resp.status_code not in (expect or (200,)):
            raise ApiError(resp.request.method, self.log.redact(str(resp.request.url)), resp.status_code,
                           self.log.redact(resp.text), what)
        try:
            return resp.json()
        except ValueError:
            return resp.text

    # ---------------------------------------------------------------- chat
    def new_trace_id(self, granularity: str = "sentence") -> str:
        return f"trc_e2e_{granularity}_{rand(10)}"

    def chat(self, prompt: str, *, as_: str = "write", explain: bool = True, granularity: str = "sentence",
             trace_id: str | None = None, features: str | None = None, retry_429: bool = True,
             stream: bool = False) -> httpx.Response:
        headers = {}
        if explain:
            headers = {"x-explain-mode": "hypergraph", "x-explain-granularity": granularity}
            if trace_id:
                headers["x-trace-id"] = trace_id
            if features:
                headers["x-explain-features"] = features
        body = {"model": self.s.load.model or BODY_MODEL, "messages": [{"role": "user", "content": prompt}],
                "stream": stream}
        return self.call("POST", "/v1/chat/completions", as_=as_, headers=headers, json=body, retry_429=retry_429)

    def status(self, trace_id: str, as_: str = "write") -> httpx.Response:
        return self.call("GET", f"/v1/traces/{trace_id}/status", as_=as_)

    def wait_terminal(self, trace_id: str, timeout: float, as_: str = "write") -> dict[str, Any]:
        """Poll status until a terminal state (or 410); the timeout names the last state seen."""
        seen: list[Any] = []

        def check() -> dict[str, Any] | None:
            r = self.status(trace_id, as_)
            if r.status_code == 410:
                return {"trace_id": trace_id, "state": "expired"}
            if r.status_code != 200:
                seen.append(r.status_code)
                return None
            item = r.json()
            seen.append(item.get("state"))
            return item if item.get("state") in TERMINAL else None
        return poll(check, timeout, f"trace {trace_id} reaching a terminal state", interval=0.1,
                    seen=lambda: f"last states seen: {seen[-5:]}")


def _pause(seconds: float) -> None:
    import threading
    threading.Event().wait(seconds)
