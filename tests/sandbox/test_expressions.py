"""State expressions (sandbox/salus/expressions.py) and UMF regrouping (sandbox/salus/umf.py), in
memory: evaluation of every comparator and input kind, and the tree validation of both task eras."""
from __future__ import annotations

from typing import Any

import pytest

from sandbox.salus.expressions import History, evaluate, expression_errors
from sandbox.salus.umf import group_frame

try:  # works whether or not tests/sandbox is a package
    from .kafka_support import cmp, umf
except ImportError:
    from kafka_support import cmp, umf  # type: ignore[no-redef]


# ============================================================================ expressions
@pytest.mark.parametrize("expr, values, expected", [
    (cmp(">", "code", 0), {"code": 1}, True),
    (cmp(">", "code", "0"), {"code": "1"}, True),             # numeric strings compare as numbers
    (cmp("==", "code", 1), {"code": 1.0}, True),
    (cmp("<=", "code", 0), {"code": 1}, False),
    (cmp("!=", "result", "success"), {"result": "timeout"}, True),
    (cmp("=~", "result", "^time"), {"result": "timeout"}, True),
    (cmp("!~", "result", "^time"), {"result": "timeout"}, False),
    (cmp(">", "missing", 0), {"code": 1}, False),              # a missing input never holds
    ({"type": "logical", "operator": "AND", "expressions": [cmp(">", "a", 1), cmp("<", "b", 1)]},
     {"a": 2, "b": 0}, True),
    ({"type": "logical", "operator": "AND", "expressions": [cmp(">", "a", 1), cmp("<", "b", 1)]},
     {"a": 2, "b": 5}, False),
    ({"type": "logical", "operator": "OR", "expressions": [cmp(">", "a", 1), cmp("<", "b", 1)]},
     {"a": 0, "b": 5}, False),
    ({"type": "logical", "operator": "OR", "expressions": [cmp(">", "a", 1), cmp("<", "b", 1)]},
     {"a": 0, "b": 0}, True),
    (cmp(">", {"type": "percentage", "part": "used", "whole": "total"}, 90), {"used": 95, "total": 100}, True),
])
def test_expressions(expr: dict[str, Any], values: dict[str, Any], expected: bool) -> None:
    assert evaluate(expr, values) is expected


def test_previous_and_rate_inputs_use_the_last_metric() -> None:
    history = History(values={"bytes": 100}, at=1000.0)
    assert evaluate(cmp("<", {"type": "previous", "of": "bytes"}, 150), {"bytes": 500}, history, now=1010.0)
    assert evaluate(cmp("==", {"type": "rate", "of": "bytes"}, 40), {"bytes": 500}, history, now=1010.0)
    assert not evaluate(cmp(">", {"type": "rate", "of": "bytes"}, 0), {"bytes": 500}, History(), now=1010.0)


def test_frames_regroup_by_timestamp_group_and_metadata() -> None:
    frame = umf("t", "r", "net_response", {"result_code": 1, "response_time": 0.5}, {"port": "80"})
    frame["metrics"].append({"timestamp": frame["metrics"][0]["timestamp"], "group": "net_response",
                             "name": "result_code", "int": "0", "metadata": {"port": "443"}})
    groups = group_frame(frame)
    assert [g.values for g in groups] == [{"result_code": 1, "response_time": 0.5}, {"result_code": 0}]
    labels = groups[0].labels
    assert labels["port"] == "80" and labels["system_resource_id"] == "r"
    assert labels["resource_agent_discovered_os"] == "linux" and labels["resource_name"] == "t:r"


@pytest.mark.parametrize("expr, legacy, expected", [
    (cmp(">", "code", 0), False, []),
    ({"type": "comparison", "comparator": ">", "valueName": "code", "comparisonValue": 0}, True, []),
    (cmp(">", 0, 0), False, []),                                       # any non-empty input (a name or 0)
    ({"type": "comparison", "comparator": ">", "valueName": 0, "comparisonValue": 0}, True, ["e.valueName"]),
    (cmp(">", {"type": "rate", "of": "x"}, 0), False, []),
    (cmp(">", "", 0), False, ["e.input"]),
    (cmp("~", None, None), False, ["e.comparator", "e.input", "e.comparisonValue"]),
    (cmp(">", "code", 0), True, ["e.valueName"]),                      # the 2021 ``input`` did not exist yet
    ({"type": "logical", "operator": "XOR", "expressions": []}, False, ["e.operator", "e.expressions"]),
    ({"type": "logical", "operator": "AND", "expressions": [cmp(">", "a", 0), {"type": "?"}, 3]}, False,
     ["e.expressions[1].type", "e.expressions[2]"]),
    ([], False, ["e"]),
])
def test_expression_validation_per_era(expr: Any, legacy: bool, expected: list[str]) -> None:
    bad: list[str] = []
    expression_errors(expr, "e", bad, legacy)
    assert bad == expected
