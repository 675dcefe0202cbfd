"""The @coral pack's step library: settings, clients of discovery/colony/agents, the run world."""
from __future__ import annotations

from typing import Any

from ..world import world_of as _world_of
from .world import CoralWorld


def world_of(context: Any) -> CoralWorld:
    """The run's Coral world (created through the pack declaration on first use)."""
    return _world_of(context, "coral")


def state(context: Any) -> dict[str, Any]:
    """This scenario's notes (addresses noted before a restart, the last registration …)."""
    if getattr(context, "scenario_state", None) is None:
        context.scenario_state = {}
    return context.scenario_state
