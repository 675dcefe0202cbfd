"""Reports people read: Allure results, JUnit, summary.json/summary.md and failure evidence.

Why a package of its own: the behave hooks stay one-liners (environment.py → support.lifecycle →
here), every piece is testable without behave, and nothing in here may ever print a secret —
all text that leaves the process goes through a ``Redactor`` built from the profile's secrets.
"""
from __future__ import annotations

from .hooks import (
    after_all,
    after_scenario,
    before_all,
    before_feature_guard,
    before_scenario,
    feature_hook_error,
    prepare,
)

__all__ = ["after_all", "after_scenario", "before_all", "before_feature_guard", "before_scenario",
           "feature_hook_error", "prepare"]
