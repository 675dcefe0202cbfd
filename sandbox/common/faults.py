"""Fault switches: break one behaviour of a stand-in on purpose, to prove a spec can fail.

A stand-in declares its catalogue (``FaultSpec`` per name) and asks ``faults.active(NAME)`` at the
point where it would do the real thing. The registry is thread-safe and observable
(``snapshot()``, ``on_change``) so a control endpoint and a soak orchestrator can switch faults on
and off while the stand-in runs, and a fault that acts on a process (stop a broker) can react.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FaultSpec:
    """One switch: its name, what it breaks (shown by the control API) and its default parameter."""

    name: str
    description: str
    default_param: Any = None


def catalog_of(*specs: FaultSpec) -> dict[str, FaultSpec]:
    """``{name: spec}`` in declaration order (what ``Faults`` and the control API list)."""
    return {s.name: s for s in specs}


class UnknownFault(ValueError):
    """A name that is not in the catalogue (the message lists the known ones)."""


Listener = Callable[[str, bool, Any], None]


class Faults:
    """Thread-safe registry of active faults, each with an optional parameter."""

    def __init__(self, catalog: Mapping[str, FaultSpec]) -> None:
        self.catalog = catalog
        self._lock = threading.Lock()
        self._active: dict[str, Any] = {}
        self._listeners: list[Listener] = []

    def on_change(self, listener: Listener) -> None:
        """Register ``listener(name, enabled, param)``; used e.g. to stop/start a broker."""
        self._listeners.append(listener)

    def _known(self, name: str) -> FaultSpec:
        spec = self.catalog.get(name)
        if spec is None:
            raise UnknownFault(f"unknown fault {name!r}; known: {', '.join(sorted(self.catalog))}")
        return spec

    def enable(self, name: str, param: Any = None) -> None:
        """Switch ``name`` on (``param`` None → the spec's default) and tell the listeners."""
        spec = self._known(name)
        if param is None:
            param = spec.default_param
        with self._lock:
            self._active[name] = param
        for listener in list(self._listeners):
            listener(name, True, param)

    def disable(self, name: str) -> None:
        """Switch ``name`` off; listeners hear of it only when it was on."""
        self._known(name)
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

    def state(self) -> dict[str, Any]:
        """What the control API answers: ``{"active": {name: param}, "catalog": {name: description}}``."""
        return {"active": self.snapshot(), "catalog": {n: s.description for n, s in self.catalog.items()}}
