"""The suite's own reading of the PII rules (contract §10) to judge audit lines: which raw
patterns must not survive, which masks must appear, and credentials that must never be logged."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from .settings import Audit

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}(?!\d)")
#: Early in the first user message, so the 64-character snippet still holds all three.
PII_PROMPT = "Mail ann.lee@example.org, call +1 (415) 555-2671, card 4111111111111111 please."


def _numbers(a: Audit) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d)\d{{{a.min_digits},}}(?!\d)")


def scrub(text: str, a: Audit) -> str:
    text = PHONE.sub("[PHONE]", EMAIL.sub("[EMAIL]", text))
    return _numbers(a).sub("[NUMBER]", text) if a.mask_numbers else text


def expected_masks(a: Audit) -> list[str]:
    return ["[EMAIL]", "[PHONE]"] + (["[NUMBER]"] if a.mask_numbers else [])


def raw_pii(text: str, a: Audit) -> list[str]:
    found = EMAIL.findall(text) + PHONE.findall(text)
    if a.mask_numbers:
        found += _numbers(a).findall(text)
    for literal in ("ann.lee@example.org", "555-2671", "4111111111111111"):
        if literal in text and literal not in found and (a.mask_numbers or not literal.isdigit()):
            found.append(literal)
    return found


def _auth_keys(node: Any, path: str = "") -> list[str]:
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if str(k).lower() in ("authorization", "proxy-authorization"):
                out.append(f"{path}{k}")
            out += _auth_keys(v, f"{path}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _auth_keys(v, f"{path}{i}.")
    return out


def credential_leaks(lines: Iterable[str], tokens: Iterable[str]) -> list[str]:
    """Lines with an Authorization key (any case, any depth) or a token value (reported redacted)."""
    tokens = [t for t in tokens if t]
    out = []
    for n, line in enumerate(lines):
        try:
            keys = _auth_keys(json.loads(line))
        except ValueError:
            keys = []
        if keys:
            out.append(f"line {n + 1}: key {keys[0]}")
        if any(t in line for t in tokens):
            out.append(f"line {n + 1}: holds a token value")
    return out
