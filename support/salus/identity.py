"""Rackspace Identity v2.0 (contract §3): API-key body for users, password body when configured."""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from ..http import ApiClient, ExchangeLog

#: Re-authenticate this long before a token expires, so no request races the expiry.
EXPIRY_MARGIN = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Token:
    id: str
    expires: dt.datetime

    def __repr__(self) -> str:                     # never print the token itself
        return f"Token(id=***, expires={self.expires.isoformat()})"

    def fresh(self) -> bool:
        return self.expires > dt.datetime.now(dt.UTC) + EXPIRY_MARGIN


def _parse_expiry(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def credentials_body(username: str, api_key: str | None = None, password: str | None = None) -> dict:
    """Password form when a password is configured (admin), else the API-key form (Go-e2et tokens.go)."""
    if password:
        return {"auth": {"passwordCredentials": {"username": username, "password": password}}}
    return {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}}


class Identity:
    """``POST {identity.url}tokens``; tokens cached per user until shortly before they expire."""

    def __init__(self, url: str, timeout: float, log: ExchangeLog | None = None, transport: Any = None) -> None:
        self.api = ApiClient(url, timeout, log, service="identity service", setting="identity.url",
                             transport=transport)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, bool], Token] = {}

    def authenticate(self, username: str, api_key: str | None = None, password: str | None = None,
                     use_cache: bool = True) -> Token:
        key = (username, bool(password))
        with self._lock:
            cached = self._cache.get(key)
        if use_cache and cached and cached.fresh():
            return cached
        resp = self.api.post("tokens", credentials_body(username, api_key, password), expect=(200,),
                             what=f"signing in {username} with Identity")
        try:
            raw = resp["access"]["token"]
            token = Token(str(raw["id"]), _parse_expiry(raw.get("expires")))
        except (KeyError, TypeError):
            raise AssertionError(f"Identity answered without access.token.id for {username}") from None
        self.api.log.redact.add(token.id)
        with self._lock:
            self._cache[key] = token
        return token

    def token(self, username: str, api_key: str | None = None, password: str | None = None) -> str:
        """The token id for a user (``""`` without a username: Go-e2et's unauthenticated local mode)."""
        if not username:
            return ""
        return self.authenticate(username, api_key, password).id

    def forget(self, username: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._cache if username is None or k[0] == username]:
                del self._cache[key]

    def close(self) -> None:
        self.api.close()
