"""Client of a local sandbox's fault switches — the same HTTP control for every pack.

Every stand-in serves it at ``<section>.sandbox.control_url`` (docs/adding-a-system.md):
``GET faults`` → ``{"active": {name: param}, "catalog": {name: description}}``, ``PUT faults/<name>``
with ``{"param": …}``, ``DELETE faults/<name>``, ``DELETE faults``. Used by ``e2et sandbox fault``,
soak failure injection and the "every spec can fail" tests; real environments have no control URL.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ConfigError
from .http import ApiClient, ExchangeLog


class FaultControl:
    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @classmethod
    def at(cls, pack: str, settings: Any, log: ExchangeLog | None = None, token: Callable[[], str] | None = None,
           timeout: float = 10.0, transport: Any = None) -> FaultControl:
        sandbox = getattr(settings, "sandbox", None)
        if sandbox is None or not sandbox.control_url:
            raise ConfigError(f"the {pack} settings have no sandbox.control_url: fault switches exist only in the "
                              "local sandbox (profile local)")
        return cls(ApiClient(sandbox.control_url, timeout, log, token=token, service=f"{pack} sandbox fault control",
                             setting=f"{pack}.sandbox.control_url", transport=transport))

    def enable(self, name: str, param: Any = None) -> dict[str, Any]:
        return self.api.put(f"faults/{name}", {"param": param}, expect=(200,), what=f"enabling fault {name}")

    def disable(self, name: str) -> Any:
        return self.api.delete(f"faults/{name}", expect=(200, 204), what=f"disabling fault {name}")

    def clear(self) -> Any:
        return self.api.delete("faults", expect=(200, 204), what="clearing faults")

    def active(self) -> dict[str, Any]:
        return (self.api.get("faults", expect=(200,)) or {}).get("active", {})

    def catalog(self) -> dict[str, Any]:
        return (self.api.get("faults", expect=(200,)) or {}).get("catalog", {})

    def close(self) -> None:
        self.api.close()


# ----------------------------------------------------------------------------- across packs
def catalog(pack_names: list[str]) -> dict[str, tuple[str, str]]:
    """Every fault of the given packs: name → (pack, description). A name two packs share is
    listed as ``<pack>:<name>`` for both; ``<pack>:<name>`` always works too (see ``resolve``)."""
    from . import packs

    seen: dict[str, list[tuple[str, str]]] = {}
    for name in pack_names:
        for fault, desc in packs.get(name).fault_catalog().items():
            seen.setdefault(fault, []).append((name, desc))
    out: dict[str, tuple[str, str]] = {}
    for fault, owners in sorted(seen.items()):
        if len(owners) == 1:
            out[fault] = owners[0]
        else:
            for pack, desc in owners:
                out[f"{pack}:{fault}"] = (pack, desc)
    return out


def resolve(fault: str, pack_names: list[str]) -> tuple[str, str]:
    """(pack, fault name) for ``name`` or ``pack:name``; ``ConfigError`` naming the choices otherwise."""
    from . import packs

    pack, _, bare = fault.rpartition(":")
    if pack:
        if pack in pack_names and bare in packs.get(pack).fault_catalog():
            return pack, bare
    else:
        found = catalog(pack_names).get(fault)
        if found:
            return found[0], fault
    known = ", ".join(catalog(pack_names)) or "none"
    raise ConfigError(f"unknown fault {fault!r} for {', '.join(pack_names) or 'no pack'}: choose one of {known}")


def control_for(pack: str, profile: str = "local", env: Any = None) -> FaultControl:
    """The fault control of one pack's running sandbox (settings from the sandbox profile files)."""
    from . import packs
    from .config import load_settings

    settings = load_settings(profile, env, packs=[pack])
    return packs.get(pack).fault_control(settings.section(pack))
