"""State expressions of event tasks (contract §6.1): comparison/logical trees over a metric's
values, with the ``previous``/``rate``/``percentage`` inputs, and the first-match-wins rule (§6.3);
plus their bean validation (the task API of every era refuses a tree the engine could not run)."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from .umf import MetricGroup, as_number

COMPARATORS = {"==", "!=", ">", ">=", "<", "<=", "=~", "!~"}


def expression_errors(e: Any, path: str, bad: list[str], legacy: bool = False) -> None:
    """Append the field paths of an invalid comparison/logical tree to ``bad``. A comparison names its
    field in ``input`` (current era: a name or an input object) or, in the older eras, in
    ``valueName`` (a plain name; the 2021 ``input`` did not exist yet)."""
    if not isinstance(e, dict):
        bad.append(path)
    elif e.get("type") == "comparison":
        if e.get("comparator") not in COMPARATORS:
            bad.append(f"{path}.comparator")
        field_name = "valueName" if legacy else "input"
        value = e.get(field_name)
        if (not value) if legacy else value in (None, ""):
            bad.append(f"{path}.{field_name}")
        if e.get("comparisonValue") is None:
            bad.append(f"{path}.comparisonValue")
    elif e.get("type") == "logical":
        if e.get("operator") not in ("AND", "OR"):
            bad.append(f"{path}.operator")
        subs = e.get("expressions")
        if not isinstance(subs, list) or not subs:
            bad.append(f"{path}.expressions")
        else:
            for i, sub in enumerate(subs):
                expression_errors(sub, f"{path}.expressions[{i}]", bad, legacy)
    else:
        bad.append(f"{path}.type")


@dataclass
class History:
    """The previous metric values of one task context (inputs ``previous`` and ``rate``)."""

    values: dict[str, Any] = field(default_factory=dict)
    at: float | None = None              # epoch seconds of the previous metric


def state_expression_errors(exprs: list[Any], states: tuple[str, ...], bad: list[str], legacy: bool = False) -> None:
    """Append the failing paths of ``taskParameters.stateExpressions`` (each ``{state, expression}``)."""
    for i, se in enumerate(exprs):
        path = f"taskParameters.stateExpressions[{i}]"
        if not isinstance(se, dict):
            bad.append(path)
            continue
        if se.get("state") not in states:
            bad.append(f"{path}.state")
        expression_errors(se.get("expression"), f"{path}.expression", bad, legacy)


def input_value(inp: Any, values: dict[str, Any], history: History, now: float) -> Any:
    """Resolve an expression ``input``: a field name, or ``{type: previous|rate|percentage, ...}``."""
    if not isinstance(inp, dict):
        return values.get(inp)
    kind = inp.get("type")
    if kind == "previous":
        return history.values.get(inp.get("of"))
    if kind == "percentage":
        part, whole = as_number(values.get(inp.get("part"))), as_number(values.get(inp.get("whole")))
        return part / whole * 100 if part is not None and whole else None
    if kind == "rate":
        cur, prev = as_number(values.get(inp.get("of"))), as_number(history.values.get(inp.get("of")))
        if cur is None or prev is None or history.at is None or now <= history.at:
            return None
        return (cur - prev) / (now - history.at)
    return None


def compare(left: Any, op: str | None, right: Any) -> bool:
    """One comparison; numbers compare as floats when both sides read as numbers, else as strings."""
    if op in ("=~", "!~"):
        try:
            hit = re.search(str(right), str(left)) is not None
        except re.error:
            return False
        return hit if op == "=~" else not hit
    ln, rn = as_number(left), as_number(right)
    a, b = (ln, rn) if ln is not None and rn is not None else (str(left), str(right))
    ops = {"==": lambda: a == b, "!=": lambda: a != b, ">": lambda: a > b, ">=": lambda: a >= b,
           "<": lambda: a < b, "<=": lambda: a <= b}
    fn = ops.get(op or "")
    return bool(fn()) if fn else False


def evaluate(expr: dict[str, Any], values: dict[str, Any], history: History | dict[str, Any] | None = None,
             now: float | None = None) -> bool:
    """Evaluate a ``comparison`` or ``logical`` (AND/OR) expression; a missing input is false.
    The comparison's field is ``input`` (current era), ``valueName`` or ``metricName`` (older ones)."""
    if not isinstance(history, History):
        history = History(values=dict(history or {}))
    now = time.time() if now is None else now
    if expr.get("type") == "logical":
        results = [evaluate(e, values, history, now) for e in expr.get("expressions") or []]
        return all(results) if str(expr.get("operator")).upper() == "AND" else any(results)
    left = input_value(expr.get("input", expr.get("valueName", expr.get("metricName"))), values, history, now)
    if left is None:
        return False
    return compare(left, expr.get("comparator"), expr.get("comparisonValue"))


def render_message(template: str | None, values: dict[str, Any], labels: dict[str, str]) -> str | None:
    """Fill ``#{field}`` / ``#{label}`` placeholders (unknown names render empty)."""
    if not template:
        return template
    return re.sub(r"#\{(\w+)\}", lambda mo: str(values.get(mo.group(1), labels.get(mo.group(1), ""))), template)


def first_matching_state(tp: dict[str, Any], g: MetricGroup, history: History, now: float) -> tuple[str, str | None]:
    """First state expression that holds wins; none → OK (with the task's message template)."""
    for se in tp.get("stateExpressions") or []:
        if evaluate(se.get("expression") or {}, g.values, history, now):
            return str(se.get("state") or "OK").upper(), se.get("message") or tp.get("messageTemplate")
    return "OK", tp.get("messageTemplate")
