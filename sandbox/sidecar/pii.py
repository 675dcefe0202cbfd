"""PII scrub for log copies (contract §10): email, then phone, then long numbers; deterministic
and idempotent (a mask never matches a later rule)."""
from __future__ import annotations

import re
from typing import Mapping

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}(?!\d)")
OFF = {"0", "false", "False", "FALSE", ""}


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    if name not in env:
        return default
    return env[name] not in OFF


class Scrubber:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.email = flag(env, "PII_MASK_EMAIL", True)
        self.phone = flag(env, "PII_MASK_PHONE", True)
        self.numbers = flag(env, "PII_MASK_NUMBERS", False)
        digits = int(env.get("PII_MASK_MIN_DIGITS") or 9)
        self._number = re.compile(r"(?<!\d)\d{%d,}(?!\d)" % max(1, digits))

    def __call__(self, text: str) -> str:
        if self.email:
            text = EMAIL.sub("[EMAIL]", text)
        if self.phone:
            text = PHONE.sub("[PHONE]", text)
        if self.numbers:
            text = self._number.sub("[NUMBER]", text)
        return text
