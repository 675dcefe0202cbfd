"""Client of a sandbox's fault control (``GET/PUT/DELETE {control_url}faults…``), nothing more.

The suite knows a sandbox only through its profile and this control: no ``sandbox.*`` import.
"""
from __future__ import annotations

from typing import Any

from ..http import ApiClient


class FaultControl:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def state(self) -> dict[str, Any]:
        return self.api.get("faults", expect=(200,), what="fault control") or {}

    def active(self) -> dict[str, Any]:
        return dict(self.state().get("active") or {})

    def enable(self, name: str, param: Any = None) -> dict[str, Any]:
        return self.api.put(f"faults/{name}", {"param": param}, expect=(200,), what=f"switch on {name}") or {}

    def disable(self, name: str) -> dict[str, Any]:
        return self.api.delete(f"faults/{name}", expect=(200,), what=f"switch off {name}") or {}

    def clear(self) -> dict[str, Any]:
        return self.api.delete("faults", expect=(200,), what="clear faults") or {}
