"""What every @sidecar step file shares: the world of the run, per-scenario state, and turning a
missing dependency (``Skip``) into a visible scenario skip with its reason — never red, never
silently green."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .world import SidecarWorld, Skip


def world_of(context: Any) -> SidecarWorld:
    """The @sidecar world of this run (created on first use), bound to the current scenario."""
    from ..world import world_of as shared_world_of
    return shared_world_of(context, "sidecar")


def state(context: Any) -> dict[str, Any]:
    st = getattr(context, "scenario_state", None)
    if st is None:
        st = context.scenario_state = {}
    return st


def skippable(step: Callable[..., Any]) -> Callable[..., Any]:
    """A step whose ``Skip`` skips the scenario (behave shows the reason) instead of failing it."""
    @functools.wraps(step)
    def run(context: Any, *args: Any, **kw: Any) -> Any:
        try:
            return step(context, *args, **kw)
        except Skip as e:
            context.scenario.skip(reason=str(e))
            return None
    return run


def attach(name: str, text: str, kind: str = "json") -> None:
    """An Allure attachment when the Allure formatter runs (a no-op otherwise)."""
    try:
        import allure
        from allure_commons.types import AttachmentType
        allure.attach(text, name=name, attachment_type=AttachmentType.JSON if kind == "json" else AttachmentType.TEXT)
    except Exception:  # noqa: BLE001 — evidence never fails a step
        pass
