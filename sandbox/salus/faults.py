"""Fault switches: break one behaviour of the sandbox on purpose, to prove a spec can fail.

Every component asks ``faults.active(NAME)`` at the point where it would do the real thing.
The set is thread-safe and observable (``snapshot()``) so the control endpoint and the
soak orchestrator can switch faults on and off while the sandbox runs.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

ATTACH_EVENTS_DROPPED = "attach-events-dropped"
PRESENCE_ZERO = "presence-zero"
INSTALLS_WITHHELD = "installs-withheld"
INSTALL_WRONG_PATH = "install-wrong-path"
EVENTS_DROP_CRITICAL = "events-drop-critical"
EVENTS_OK_INSTEAD = "events-ok-instead"
ROUTE_500 = "route-500"
TENANT_LEAK = "tenant-leak"
SLOW_RESPONSES = "slow-responses"
BROKER_STOPPED = "broker-stopped"


@dataclass(frozen=True)
class FaultSpec:
    name: str
    description: str
    default_param: Any = None


CATALOG: dict[str, FaultSpec] = {f.name: f for f in [
    FaultSpec(ATTACH_EVENTS_DROPPED, "ambassador does not publish AttachEvent to Kafka"),
    FaultSpec(PRESENCE_ZERO, "presence monitor reports connected=0 for every resource"),
    FaultSpec(INSTALLS_WITHHELD, "ambassador never sends install instructions"),
    FaultSpec(INSTALL_WRONG_PATH, "install instruction names a wrong version, so the agent lands at a wrong path"),
    FaultSpec(EVENTS_DROP_CRITICAL, "event engine drops CRITICAL notifications"),
    FaultSpec(EVENTS_OK_INSTEAD, "event engine reports OK where it should report CRITICAL"),
    FaultSpec(ROUTE_500, "one public API route family answers 500 (param: family, e.g. 'zones')", "zones"),
    FaultSpec(TENANT_LEAK, "public list routes leak another tenant's items"),
    FaultSpec(SLOW_RESPONSES, "every HTTP response is delayed (param: seconds)", 15.0),
    FaultSpec(BROKER_STOPPED, "the Kafka broker is stopped, after param seconds if given (switching off restarts it)"),
]}


class UnknownFault(ValueError):
    pass


class Faults:
    """Thread-safe registry of active faults with optional per-fault parameter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, Any] = {}
        self._listeners: list[Callable[[str, bool, Any], None]] = []

    def on_change(self, listener: Callable[[str, bool, Any], None]) -> None:
        """Register ``listener(name, enabled, param)``; used e.g. to stop/start the broker."""
        self._listeners.append(listener)

    def enable(self, name: str, param: Any = None) -> None:
        if name not in CATALOG:
            raise UnknownFault(f"unknown fault {name!r}; known: {', '.join(sorted(CATALOG))}")
        if param is None:
            param = CATALOG[name].default_param
        with self._lock:
            self._active[name] = param
        for listener in list(self._listeners):
            listener(name, True, param)

    def disable(self, name: str) -> None:
        if name not in CATALOG:
            raise UnknownFault(f"unknown fault {name!r}; known: {', '.join(sorted(CATALOG))}")
        with self._lock:
            was = name in self._active
            self._active.pop(name, None)
        if was:
            for listener in list(self._listeners):
                listener(name, False, None)

    def clear(self) -> None:
        for name in list(self.snapshot()):
            self.disable(name)

    def active(self, name: str) -> bool:
        with self._lock:
            return name in self._active

    def param(self, name: str) -> Any:
        with self._lock:
            return self._active.get(name)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._active)
