"""HTTP for every client: timeouts always set, typed errors, and replayable evidence without secrets.

Each exchange is kept (bounded) as a curl command plus status and a body excerpt, with tokens,
API keys and passwords replaced by ``***`` — ready to attach to a report when a scenario fails.
"""
from __future__ import annotations

import collections
import json
import re
import shlex
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import ApiError, InfrastructureError

SECRET_HEADERS = {"x-auth-token", "authorization", "cookie", "set-cookie", "x-api-key"}
SECRET_FIELDS = re.compile(r'("(?:apiKey|api_key|password|token|auth_token|privateKey|id_token|access_token|'
                           r'certificate|sasl_password)"\s*:\s*)"[^"]*"')
SECRET_PARAMS = re.compile(r"((?:token|apiKey|api_key|password)=)[^&\s']+", re.IGNORECASE)
#: Responses that are secrets as a whole (identity tokens, envoy certificates): never excerpted.
SECRET_RESPONSE_PATHS = re.compile(r"/(tokens|cert)/?(\?|$)")


class Redactor:
    """Replaces known secret values and secret-looking JSON fields with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s and len(s) >= 4}
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            self._secrets.update(v for v in values if v and len(v) >= 4)

    def __call__(self, text: str) -> str:
        text = SECRET_FIELDS.sub(r'\1"***"', text)
        text = SECRET_PARAMS.sub(r"\1***", text)
        with self._lock:
            for s in sorted(self._secrets, key=len, reverse=True):
                text = text.replace(s, "***")
        return text


@dataclass
class Exchange:
    curl: str
    status: int | None
    elapsed_ms: float
    response_excerpt: str

    def render(self) -> str:
        return f"{self.curl}\n# → {self.status} in {self.elapsed_ms:.0f} ms\n# {self.response_excerpt}"


class ExchangeLog:
    """Bounded ring of the last exchanges as replayable curl commands (evidence attachments).

    Redaction runs at record time *and* again at render time: a secret learnt after the exchange
    (e.g. the token an identity call returned) is still hidden when the log is attached.
    """

    def __init__(self, redact: Redactor | None = None, size: int = 200) -> None:
        redact = redact if redact is not None else Redactor()
        self.redact = redact
        self.items: collections.deque[Exchange] = collections.deque(maxlen=size)

    def record(self, request: httpx.Request, response: httpx.Response | None, elapsed: float) -> None:
        parts = ["curl", "-sS", "-X", request.method, shlex.quote(str(request.url))]
        for k, v in request.headers.items():
            if k.lower() in ("host", "content-length", "accept-encoding", "connection", "user-agent", "accept"):
                continue
            value = "***" if k.lower() in SECRET_HEADERS else v
            parts += ["-H", shlex.quote(f"{k}: {value}")]
        if request.content:
            parts += ["--data", shlex.quote(request.content.decode(errors="replace"))]
        excerpt = ""
        if response is not None:
            try:
                excerpt = response.text[:300]
            except Exception:  # noqa: BLE001 — a body that cannot be decoded is still evidence
                excerpt = "<unreadable>"
            if SECRET_RESPONSE_PATHS.search(request.url.path) and response.is_success:
                excerpt = "<response holds credentials: not recorded>"
        self.items.append(Exchange(self.redact(" ".join(parts)), response.status_code if response else None,
                                   elapsed * 1000, self.redact(excerpt).replace("\n", " ")))

    def render(self, last: int = 30) -> str:
        return self.redact("\n\n".join(e.render() for e in list(self.items)[-last:]))

    def curls(self) -> list[str]:
        return [self.redact(e.curl) for e in self.items]


class ApiClient:
    """One base URL, one auth header supplier; JSON in and out; timeouts always set.

    ``service`` and ``setting`` name the endpoint and its profile key in infrastructure errors, so
    the reader knows what to check ("is the public API up / is public_api.url right?").
    """

    def __init__(self, base_url: str, timeout: float, log: ExchangeLog | None = None, token: Any = None,
                 service: str = "api", setting: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.service = service
        self.setting = setting
        log = log if log is not None else ExchangeLog()
        self._token = token                 # callable returning the current token, or None
        self.log = log
        # ``transport`` lets tests plug in httpx.MockTransport without reaching into internals.
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, transport=transport)

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None,
                expect: tuple[int, ...] = (200, 201, 204), what: str = "",
                headers: dict[str, str] | None = None) -> Any:
        """One exchange: JSON body out, parsed JSON back (None for 204/empty).

        Raises ``ApiError`` for a status outside ``expect`` (product defect) and
        ``InfrastructureError`` for connect failures and timeouts (nothing was judged).
        """
        url = self.base_url + path.lstrip("/")
        headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        if self._token is not None:
            headers["X-Auth-Token"] = self._token()
        req = self._client.build_request(method, url, json=json_body, params=params, headers=headers)
        t0 = time.monotonic()
        check = f" / is {self.setting} right" if self.setting else ""
        try:
            resp = self._client.send(req)
        except httpx.TimeoutException:
            self.log.record(req, None, time.monotonic() - t0)
            raise InfrastructureError(f"{what + ': ' if what else ''}{method} {self.log.redact(url)} timed out after "
                                      f"{self._client.timeout.read}s: is the {self.service} at {req.url.host} up and "
                                      f"fast enough{check} (or raise http.timeout)?") from None
        except httpx.TransportError as e:
            self.log.record(req, None, time.monotonic() - t0)
            raise InfrastructureError(f"{what + ': ' if what else ''}{method} {self.log.redact(url)} failed "
                                      f"({type(e).__name__}: {self.log.redact(str(e))}): is the {self.service} at "
                                      f"{req.url.host}:{req.url.port or ''} up{check}?") from None
        self.log.record(req, resp, time.monotonic() - t0)
        if resp.status_code not in expect:
            raise ApiError(method, self.log.redact(url), resp.status_code, self.log.redact(resp.text), what)
        if resp.status_code == 204 or resp.status_code >= 400 or not resp.content:
            return None                 # an expected 404 means "absent", never an error body
        try:
            return resp.json()
        except json.JSONDecodeError:
            return resp.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("PUT", path, json_body=body, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        kw.setdefault("expect", (204, 200))
        return self.request("DELETE", path, **kw)
