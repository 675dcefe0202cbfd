"""Evidence attached to a scenario's Allure result, so nobody has to rerun to learn why it failed.

What: each pack's world says what it saw since the scenario began (``BaseWorld.evidence``: at least
the scenario's HTTP exchanges as replayable curl commands; a pack adds what it watches — topic scan
windows, child-process logs), plus the tail of each involved local sandbox's log. Every text passes the run's redactor
right before it is attached — secrets learnt late (tokens) are covered too.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("e2et.reporting")

Attach = Callable[[str, str, str], None]   # (body, name, kind: "text" | "json")


def allure_attach(body: str, name: str, kind: str) -> None:
    """Attach through allure_commons (a no-op when no allure formatter is active)."""
    import allure
    from allure_commons.types import AttachmentType

    allure.attach(body, name=name, attachment_type=AttachmentType.JSON if kind == "json" else AttachmentType.TEXT)


class Marks:
    """Where each world stood when the scenario began (``world.mark()``)."""

    def __init__(self, worlds: dict[str, Any]) -> None:
        self.at: dict[str, Any] = {}
        for name, world in worlds.items():
            try:
                self.at[name] = world.mark()
            except Exception as e:  # noqa: BLE001 — a mark must never break a scenario
                log.debug("mark of %s failed: %s", name, e)

    def of(self, name: str) -> Any:
        return self.at.get(name)


def tail(path: str | Path | None, lines: int) -> str:
    if not path:
        return ""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def attach_all(worlds: dict[str, Any], marks: Marks | None, sandbox_logs: Iterable[tuple[str, str]],
               redact: Callable[[str], str], attach: Attach = allure_attach) -> int:
    """Attach every world's evidence and the given sandbox log tails; returns the number attached."""
    marks = marks or Marks({})
    count = 0
    seen: set[str] = set()

    def put(body: str, title: str, kind: str) -> None:
        nonlocal count
        if title in seen:
            return
        seen.add(title)
        attach(redact(body), title, kind)
        count += 1

    for name, world in worlds.items():
        try:
            items = world.evidence(marks.of(name))
        except Exception as e:  # noqa: BLE001 — evidence never replaces the real failure
            log.warning("collecting evidence of %s failed: %s", name, e)
            continue
        for a in items:
            put(a.body, f"{name}: {a.name}", a.kind)
    for pack, path in sandbox_logs:
        put(tail(path, 300) or "(empty)", f"{pack}: sandbox log (tail)", "text")
    return count
