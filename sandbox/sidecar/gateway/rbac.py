"""Static-token RBAC (contract §3): ``Authorization: Bearer <token>`` → identity from
``AUTH_TOKENS_JSON`` (plain or base64 JSON), scopes ``traces:read`` / ``traces:write``."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

READ, WRITE = "traces:read", "traces:write"


@dataclass(frozen=True)
class Identity:
    tenant_id: str
    subject: str
    scopes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Denial:
    status: int
    code: str
    message: str
    tenant_id: str = "anon"
    subject: str | None = None
    scopes: tuple[str, ...] = ()


ANON = Identity("anon", "anonymous", (READ, WRITE))


def parse_tokens(raw: str | None) -> dict[str, dict[str, Any]]:
    """``AUTH_TOKENS_JSON``: a JSON object, or the same base64-encoded (the chart's comment)."""
    text = (raw or "").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = json.loads(base64.b64decode(text, validate=True).decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise ValueError("AUTH_TOKENS_JSON is neither JSON nor base64 JSON") from None
    if not isinstance(data, dict):
        raise ValueError("AUTH_TOKENS_JSON must map token → identity")
    return data


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split(",") if s.strip())
    return tuple(str(s) for s in (value or []))


class Rbac:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.mode = (env.get("AUTH_MODE") or "none").lower()
        if self.mode not in ("none", "static"):
            self.mode = "none"
        self.tokens = parse_tokens(env.get("AUTH_TOKENS_JSON")) if self.mode == "static" else {}
        self.iss = env.get("AUTH_EXPECT_ISS") or None
        self.aud = env.get("AUTH_EXPECT_AUD") or None

    def known(self, token: str) -> bool:
        return token in self.tokens

    def check(self, authorization: str | None, needed: str, scope_check: bool = True) -> Identity | Denial:
        if self.mode == "none":
            return ANON
        if not authorization:
            return Denial(401, "unauthorized", "Missing Authorization header")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            return Denial(401, "unauthorized", "Invalid Authorization scheme")
        ident = self.tokens.get(token)
        if not isinstance(ident, dict):
            return Denial(403, "forbidden", "Invalid token")
        tenant = str(ident.get("tenant_id") or "").strip()
        if not tenant:
            return Denial(403, "forbidden", "Invalid token (no tenant_id)")
        if self.iss and ident.get("iss") and ident["iss"] != self.iss:
            return Denial(403, "forbidden", "Invalid token (iss mismatch)", tenant)
        aud = _list(ident.get("aud")) if ident.get("aud") is not None else ()
        if self.aud and aud and self.aud not in aud:
            return Denial(403, "forbidden", "Invalid token (aud mismatch)", tenant)
        scopes = tuple(sorted(set(_list(ident.get("scopes")))))
        subject = str(ident.get("subject") or tenant)
        if scope_check and needed not in scopes:
            return Denial(403, "missing_scope", f"Missing required scopes: ['{needed}']", tenant, subject, scopes)
        return Identity(tenant, subject, scopes)
