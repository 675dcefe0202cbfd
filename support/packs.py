"""Spec packs: one per system under test (features/<system>/, steps, support, sandbox).

Adding a system means adding an entry here; the lifecycle starts only the sandboxes of the
packs a run selects (by tag), so `behave --tags @salus` never starts another system's sandbox.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pack:
    name: str                 # also the feature tag (@salus) and features/<name>/
    sandbox: str              # sandbox package under sandbox/
    world: str                # "module:Class" of the pack's run-scoped fixtures
    known_issues: dict[str, str] = field(default_factory=dict)   # scenario name → reason


PACKS: dict[str, Pack] = {
    "salus": Pack(
        name="salus", sandbox="salus", world="support.salus.world:SalusWorld",
        known_issues={
            "Deleting an install removes the agent from an attached envoy":
                "known real-system gap: the ambassador ignores install deletions "
                "(no uninstall instruction exists; contract §5.5) — agent stays on disk",
        }),
}


def selected(config: Any) -> list[Pack]:
    """Packs whose tag appears in the run's tag expression; all packs when no tags are given."""
    expr = str(getattr(config, "tag_expression", "") or "")
    tags = set(re.findall(r"@?([A-Za-z0-9_.:-]+)", expr))
    chosen = [p for p in PACKS.values() if p.name in tags]
    return chosen or list(PACKS.values())


def pack_of(tags: list[str]) -> Pack | None:
    for t in tags:
        if t in PACKS:
            return PACKS[t]
    return None


def known_issue_reason(scenario: Any) -> str:
    pack = pack_of(list(scenario.effective_tags))
    reason = pack.known_issues.get(scenario.name) if pack else None
    return reason or "known issue of the system under test (tagged @known_issue)"
