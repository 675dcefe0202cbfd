"""Run-scoped fixtures of the Salus pack: what the steps need, created lazily, cleaned up always.

A scenario asks the world for what it needs ("a private zone for this run", "an envoy running the
telegraf agent"); the world creates it on first use, caches run-scoped things, registers every
cleanup when it creates something, and keeps no scenario-to-scenario chaining: each scenario
gets what it needs whatever order scenarios run in.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hamcrest import anything, equal_to

log = logging.getLogger("e2et.salus")


def world_of(context: Any) -> "SalusWorld":
    """The Salus world of this run (created on first use) bound to the current scenario."""
    worlds = context.worlds
    world = worlds.get("salus")
    if world is None:
        world = SalusWorld(context.settings, context.run, context.run_cleanup)
        worlds["salus"] = world
    world.bind_scenario(getattr(context, "scenario_cleanup", None))
    return world


@dataclass
class Monitor:
    """A monitor this run created, with what it checks (so a step can heal the target)."""

    monitor_id: str
    host: str
    port: int
    metric_group: str
    policy_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
