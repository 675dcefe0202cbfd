"""Identity (Rackspace Identity v2.0 stand-in): API-key/password sign-in and token lookup (contract §3)."""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from ..config import SandboxUser
from .core import Core
from .values import now_iso

ADMIN_ROLE = "monitoring:service-admin"


class Identity:
    def __init__(self, core: Core) -> None:
        self.core = core

    def authenticate(self, username: str, *, api_key: str | None = None,
                     password: str | None = None) -> dict[str, Any] | None:
        """A fresh 24-hour token for matching credentials (constant-time compare), else None."""
        for user in self.core.cfg.users:
            if user.username != username:
                continue
            if api_key is not None and user.api_key and secrets.compare_digest(
                    api_key, user.api_key.get_secret_value()):
                break
            if password is not None and user.password and secrets.compare_digest(
                    password, user.password.get_secret_value()):
                break
            return None
        else:
            return None
        token = {"id": secrets.token_hex(16), "username": user.username,
                 "expires": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=24))
                 .strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        self.core.store.put("idtoken", token["id"], None, token)
        return {"token": token, "user": user}

    def token_user(self, token_id: str | None) -> SandboxUser | None:
        """The user of an unexpired token, else None (what Repose asks Identity per request)."""
        if not token_id:
            return None
        tok = self.core.store.get("idtoken", token_id)
        if tok is None or tok["expires"] < now_iso():
            return None
        try:
            return self.core.cfg.user(tok["username"])
        except KeyError:
            return None
