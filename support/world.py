"""What every pack's world shares: run-scoped fixtures, cleanup registered at creation, evidence.

A world is the one object a pack's steps talk to (``world_of(context)``). It is created on first
use in a run, holds run-scoped objects (``once``), registers every cleanup when it creates
something (``on_scenario`` / ``on_run``), and, when a scenario fails, says what it saw
(``evidence``): at least this scenario's HTTP exchanges as redacted, replayable curl commands.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .http import ExchangeLog, Redactor
from .run import CleanupStack, RunContext

T = TypeVar("T")


@dataclass(frozen=True)
class Attachment:
    body: str
    name: str
    kind: str = "text"             # "text" | "json"


def secret_values(settings: Any) -> list[str]:
    """Every ``SecretStr`` value in a settings model (any depth): what redactors must hide."""
    from pydantic import BaseModel, SecretStr

    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, SecretStr):
            value = node.get_secret_value()
            if value:
                out.append(value)
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)
    walk(settings)
    return out


class BaseWorld:
    """Run-scoped fixtures of one pack. Subclass it; keep steps thin and clients free of behave."""

    def __init__(self, settings: Any, run: RunContext, run_cleanup: CleanupStack | None = None) -> None:
        self.settings = settings
        self.run = run
        self.run_cleanup = run_cleanup if run_cleanup is not None else CleanupStack()
        self._owns_cleanup = run_cleanup is None
        self.scenario_cleanup: CleanupStack | None = None
        self.redact = Redactor(secret_values(settings))
        self.exchanges = ExchangeLog(self.redact)
        self._cache: dict[str, Any] = {}
        self._lock = threading.RLock()

    # -- scoping -----------------------------------------------------------------------------
    def bind_scenario(self, stack: CleanupStack | None) -> None:
        self.scenario_cleanup = stack

    def on_scenario(self, name: str, action: Callable[[], object]) -> None:
        """Undo ``action`` at the end of the current scenario (of the run, outside scenarios)."""
        (self.scenario_cleanup if self.scenario_cleanup is not None else self.run_cleanup).push(name, action)

    def on_run(self, name: str, action: Callable[[], object]) -> None:
        """Undo ``action`` when the run ends (for run-scoped fixtures)."""
        self.run_cleanup.push(name, action)

    def once(self, key: str, make: Callable[[], T]) -> T:
        """``make()`` once per run and key (thread-safe); later calls get the same object."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    # -- evidence ----------------------------------------------------------------------------
    def mark(self) -> Any:
        """Where the world stands when a scenario begins (``evidence`` reports what came after)."""
        items = list(self.exchanges.items)
        return items[-1] if items else None

    def exchanges_since(self, mark: Any) -> list[Any]:
        items = list(self.exchanges.items)
        if mark is not None:
            idx = next((k for k, e in enumerate(items) if e is mark), None)
            if idx is not None:
                items = items[idx + 1:]
        return items

    def evidence(self, mark: Any) -> list[Attachment]:
        """Attachments explaining a failed scenario; redacted by the caller once more."""
        exchanges = self.exchanges_since(mark)
        if not exchanges:
            return []
        return [Attachment("\n\n".join(e.render() for e in exchanges[-60:]), "HTTP exchanges (curl)")]

    def close(self) -> None:
        if self._owns_cleanup:
            self.run_cleanup.run()


def world_of(context: Any, pack_name: str) -> Any:
    """The pack's world for this run (created through its declaration on first use), bound to the
    current scenario's cleanup stack. Steps call their pack's ``world_of(context)`` wrapper."""
    from . import packs

    worlds = context.worlds
    world = worlds.get(pack_name)
    if world is None:
        pack = packs.get(pack_name)
        world = pack.world(context.settings.section(pack_name), context.run, context.run_cleanup)
        worlds[pack_name] = world
    world.bind_scenario(getattr(context, "scenario_cleanup", None))
    return world
