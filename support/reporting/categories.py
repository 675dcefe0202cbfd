"""Allure categories: whose problem is a red scenario — the product's, the infrastructure's or the profile's.

Allure matches categories in order (first match wins) on status and the failure message, which
allure-behave writes as ``module.ExceptionType: message``. The order therefore puts the
specific infrastructure/configuration patterns before the generic product-defect catch-all.
``classify`` applies the same rules in Python so tests (and summary.md) agree with the report.
"""
from __future__ import annotations

import re
from typing import Any

INFRASTRUCTURE = ("InfrastructureError|ConnectError|ConnectTimeout|ReadTimeout|WriteTimeout|PoolTimeout|"
                  "ConnectionError|ConnectionRefusedError|TimeoutError|NoBrokersAvailable|KafkaTimeoutError|"
                  "KafkaConnectionError|SandboxStartError|timed out|unreachable")
CONFIGURATION = "ConfigError|ValidationError|FatalInput|profile has no|the profile cannot"

CATEGORIES: list[dict[str, Any]] = [
    {"name": "Infrastructure problems",
     "description": "The platform, broker or network could not be reached, or timed out: nothing was judged.",
     "matchedStatuses": ["broken", "failed"], "messageRegex": f"(?s).*({INFRASTRUCTURE}).*"},
    {"name": "Configuration errors",
     "description": "The profile or settings are wrong or incomplete (fix the profile, not the platform).",
     "matchedStatuses": ["broken", "failed"], "messageRegex": f"(?s).*({CONFIGURATION}).*"},
    {"name": "Skipped: missing capability or known issue",
     "description": "The profile lacks a capability the scenario needs, or the scenario is a known issue.",
     "matchedStatuses": ["skipped"]},
    {"name": "Product defects",
     "description": "The platform answered, but not as the spec requires (assertion failures).",
     "matchedStatuses": ["failed"]},
    {"name": "Harness errors and broken hooks",
     "description": "The suite itself or a set-up hook raised: see the traceback.",
     "matchedStatuses": ["broken"]},
]


def classify(status: str, message: str = "") -> str | None:
    """The category name Allure will show for a result with this status and message (None: uncategorised)."""
    for cat in CATEGORIES:
        if status not in cat["matchedStatuses"]:
            continue
        regex = cat.get("messageRegex")
        if regex is None or re.fullmatch(regex, message or ""):
            return cat["name"]
    return None
