"""Client of the sandbox's admin-only fault switches (docs/design.md, profile ``local`` only).

Used by the CLI (`e2et sandbox fault`) and the fault acceptance tests; against a real
environment there is no control URL and ``from_settings`` says so.
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..http import ApiClient, ExchangeLog, Redactor
from .identity import Identity


class FaultControl:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @classmethod
    def from_settings(cls, settings: Any, log: ExchangeLog | None = None, transport: Any = None) -> "FaultControl":
        """Signs in as the admin user (fault control needs the admin token)."""
        if not (settings.sandbox and settings.sandbox.control_url):
            raise ConfigError(f"profile {settings.profile} has no sandbox.control_url: faults exist only in the "
                              "local sandbox")
        admin = settings.admin
        if admin is None or "admin" not in settings.capabilities():
            raise ConfigError("fault control needs the admin user: the sandbox profile lacks admin credentials")
        log = log or ExchangeLog(Redactor(settings.secrets()))
        identity = Identity(str(settings.identity.url), settings.http.timeout, log, transport=transport)
        secret = lambda s: s.get_secret_value() if s else None  # noqa: E731
        token = lambda: identity.token(admin.username, secret(admin.api_key), secret(admin.password))  # noqa: E731
        return cls(ApiClient(settings.sandbox.control_url, settings.http.timeout, log, token=token,
                             service="sandbox fault control", setting="sandbox.control_url", transport=transport))

    def enable(self, name: str, param: Any = None) -> dict[str, Any]:
        return self.api.put(f"faults/{name}", {"param": param}, expect=(200,), what=f"enabling fault {name}")

    def disable(self, name: str) -> dict[str, Any]:
        return self.api.delete(f"faults/{name}", expect=(200, 204), what=f"disabling fault {name}")

    def clear(self) -> dict[str, Any]:
        return self.api.delete("faults", expect=(200, 204), what="clearing faults")

    def active(self) -> dict[str, Any]:
        return (self.api.get("faults", expect=(200,)) or {}).get("active", {})

    def catalog(self) -> dict[str, Any]:
        return (self.api.get("faults", expect=(200,)) or {}).get("catalog", {})

    def close(self) -> None:
        self.api.close()
