"""Matching records against what a spec expects, and scoring the near misses.

Why apart from the Kafka watcher: an expectation (field path → PyHamcrest matcher) is how any
pack says what a wanted message looks like — on a topic, in an audit log, in a status file — and
the near-miss score (how many expected fields a record does match) is what makes a timeout
message useful.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hamcrest import equal_to
from hamcrest.core.matcher import Matcher
from hamcrest.core.string_description import StringDescription

_MISSING = object()


def get_path(obj: Any, path: str) -> Any:
    """``labels.system_resource_id`` → obj["labels"]["system_resource_id"] (None when absent)."""
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def lookup(msg: dict[str, Any], path: str) -> Any:
    """A field of the normalised view, else of the original message (``raw``): so both
    ``resourceId`` and the era-specific ``labels.system_resource_id`` can be expected."""
    value = get_path(msg, path)
    if value is None and isinstance(msg.get("raw"), dict):
        value = get_path(msg["raw"], path)
    return value


def _describe(m: Matcher) -> str:
    d = StringDescription()
    m.describe_to(d)
    return str(d)


@dataclass
class Expectation:
    """What a wanted message looks like: field path → matcher (plain values mean ``equal_to``).

    Made of separate fields (not one opaque matcher) so a miss can be scored: the near-miss
    report ranks messages by how many expected fields they do match.
    """

    fields: dict[str, Matcher]
    description: str = ""

    @classmethod
    def of(cls, description: str = "", **fields: Any) -> Expectation:
        """Keyword form; ``a__b`` stands for the path ``a.b``."""
        return cls({k.replace("__", "."): v if isinstance(v, Matcher) else equal_to(v) for k, v in fields.items()},
                   description)

    @property
    def tenant(self) -> str | None:
        """The expected tenant when given as a plain value (decides which messages may be printed)."""
        m = self.fields.get("tenantId")
        value = getattr(m, "object", _MISSING)  # IsEqual keeps its operand in .object
        return None if value is _MISSING or value is None else str(value)

    def score(self, msg: dict[str, Any]) -> int:
        return sum(1 for path, m in self.fields.items() if m.matches(lookup(msg, path)))

    def matches(self, msg: dict[str, Any]) -> bool:
        return self.score(msg) == len(self.fields)

    def mismatches(self, msg: dict[str, Any]) -> list[str]:
        return [f"{p}={lookup(msg, p)!r}" for p, m in self.fields.items() if not m.matches(lookup(msg, p))]

    def describe(self) -> str:
        inner = ", ".join(f"{p} {_describe(m)}" for p, m in self.fields.items())
        return f"{self.description} ({inner})" if self.description else inner


def expect(description: str = "", **fields: Any) -> Expectation:
    """``expect(tenantId="123", **{"labels.system_resource_id": "r1", "state": "CRITICAL"})``."""
    return Expectation({k: v if isinstance(v, Matcher) else equal_to(v) for k, v in fields.items()}, description)


class Predicate:
    """Adapts a bare PyHamcrest matcher or a callable to the Expectation interface (score 0/1)."""

    def __init__(self, check: Matcher | Callable[[dict[str, Any]], bool], description: str, tenant: str | None):
        self.check, self.description, self.tenant = check, description, tenant
        self.fields = {"message": check}

    def matches(self, msg: dict[str, Any]) -> bool:
        return bool(self.check.matches(msg) if isinstance(self.check, Matcher) else self.check(msg))

    def score(self, msg: dict[str, Any]) -> int:
        return int(self.matches(msg))

    def mismatches(self, msg: dict[str, Any]) -> list[str]:
        return []

    def describe(self) -> str:
        what = (_describe(self.check) if isinstance(self.check, Matcher)
                else getattr(self.check, "__name__", "predicate"))
        return f"{self.description} ({what})" if self.description else what
