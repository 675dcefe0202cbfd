"""The @coral pack's step library: settings, clients of discovery/colony/agents, the run world."""
from __future__ import annotations

from typing import Any

from .world import CoralWorld


def world_of(context: Any) -> CoralWorld:
    """The run's Coral world, created by the pack lifecycle before the first @coral scenario."""
    worlds = getattr(context, "worlds", None) or {}
    if "coral" not in worlds:
        raise RuntimeError("no Coral world in this run: select the pack with `behave --tags @coral`")
    return worlds["coral"]


def state(context: Any) -> dict[str, Any]:
    """This scenario's notes (addresses noted before a restart, the last registration …)."""
    if not hasattr(context, "scenario_state") or context.scenario_state is None:
        context.scenario_state = {}
    return context.scenario_state
