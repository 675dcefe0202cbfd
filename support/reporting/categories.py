"""Allure categories: whose problem is a red scenario — the product's, the infrastructure's or the profile's.

Allure matches categories in order (first match wins) on status and the failure message, which
allure-behave writes as ``module.ExceptionType: message``. The order therefore puts the
specific infrastructure/configuration patterns before the generic product-defect catch-all.
``classify`` applies the same rules in Python so tests (and summary.md) agree with the report.
The same list goes to Allure 2 as ``categories.json`` and to Allure 3 in its configuration
(``categories``, which reads these compatibility keys; JavaScript searches, Python full-matches,
so every pattern is wrapped in "any text" on both sides).
"""
from __future__ import annotations

import re
from typing import Any

INFRASTRUCTURE = ("InfrastructureError|ConnectError|ConnectTimeout|ReadTimeout|WriteTimeout|PoolTimeout|"
                  "ConnectionError|ConnectionRefusedError|TimeoutError|NoBrokersAvailable|KafkaTimeoutError|"
                  "KafkaConnectionError|SandboxStartError|timed out|unreachable")
CONFIGURATION = "ConfigError|ValidationError|FatalInput|profile has no|the profile cannot"
#: any text, newlines included, in a form Python, Java (Allure 2) and JavaScript (Allure 3) all read
ANY = r"[\s\S]*"

CATEGORIES: list[dict[str, Any]] = [
    {"name": "Infrastructure problems",
     "description": "The platform, broker or network could not be reached, or timed out: nothing was judged.",
     "matchedStatuses": ["broken", "failed"], "messageRegex": f"{ANY}({INFRASTRUCTURE}){ANY}"},
    {"name": "Configuration errors",
     "description": "The profile or settings are wrong or incomplete (fix the profile, not the platform).",
     "matchedStatuses": ["broken", "failed"], "messageRegex": f"{ANY}({CONFIGURATION}){ANY}"},
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
