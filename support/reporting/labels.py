"""Allure labels from our Gherkin tags: ``@epic:<system> @feature:… @story:… @severity:critical``.

Why here: allure-behave maps only ``@allure.label.*`` / bare severity tags and its listener ignores
``allure.dynamic.label``; our specs keep short business tags. So, once the scenario's Allure
result exists (before_scenario), we rewrite its labels in place on every active listener — this
works for ``-f allure`` (e2et run) as well as for the default ``e2et`` formatter.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("e2et.reporting")

MAPPED = ("epic", "story", "severity", "owner", "suite")
SEVERITIES = {"blocker", "critical", "normal", "minor", "trivial"}


def labels_from_tags(tags: Iterable[str]) -> dict[str, str]:
    """``epic``/``story``/``severity``/… → value, from ``name:value`` tags (feature tags included)."""
    out: dict[str, str] = {}
    for tag in tags:
        name, sep, value = str(tag).partition(":")
        if sep and name in MAPPED and value:
            if name == "severity" and value not in SEVERITIES:
                continue
            out[name] = value
    return out


def _listeners() -> list[Any]:
    try:
        import allure_commons
        from allure_behave.listener import AllureListener
    except ImportError:
        return []
    return [p for p in allure_commons.plugin_manager.get_plugins() if isinstance(p, AllureListener)]


def apply(scenario: Any) -> int:
    """Rewrite the current Allure result's labels from the scenario's tags; returns results touched."""
    from allure_commons.model2 import Label

    wanted = labels_from_tags(scenario.effective_tags)
    if not wanted:
        return 0
    touched = 0
    for listener in _listeners():
        result = listener.logger.get_test(listener.current_scenario_uuid) if listener.current_scenario_uuid else None
        if result is None:
            continue
        consumed = {f"{k}:{v}" for k, v in wanted.items()}
        result.labels = [lb for lb in result.labels
                         if lb.name not in wanted and not (lb.name == "tag" and lb.value in consumed)]
        result.labels += [Label(name=k, value=v) for k, v in sorted(wanted.items())]
        touched += 1
    return touched
