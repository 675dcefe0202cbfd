"""HIF v1 checks: the JSON Schema written from the contract (schemas/hif-v1.schema.json, validated
with ``jsonschema``) plus the semantic rules a schema cannot express (contract §4 "Meaning")."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).with_name("schemas") / "hif-v1.schema.json"
DEFAULT_LIMITS = {"min_edge_weight": 0.01, "max_nodes": 5000, "max_incidences": 20000}


@functools.lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(graph: Any, limit: int = 5) -> list[str]:
    """Readable schema violations, e.g. ``nodes/0/layer: None is not of type 'integer'``."""
    errors = sorted(validator().iter_errors(graph), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors[:limit]]


def semantic_errors(graph: dict[str, Any], limit: int = 5) -> list[str]:
    """References, weights and caps after pruning; call only on a schema-valid graph."""
    limits = {**DEFAULT_LIMITS, **(graph.get("meta", {}).get("limits") or {})}
    ids = [n["id"] for n in graph["nodes"]]
    out: list[str] = []
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        out.append(f"duplicate node ids {dup[:3]}")
    known = set(ids)
    used: set[str] = set()
    for inc in graph["incidences"]:
        missing = [n for n in inc["node_ids"] if n not in known]
        if missing:
            out.append(f"incidence {inc['id']} references missing node(s) {missing[:3]}")
        used.update(inc["node_ids"])
        w = inc["weight"]
        if not (limits["min_edge_weight"] <= w <= 1):
            out.append(f"incidence {inc['id']} weight {w} outside [{limits['min_edge_weight']}, 1]")
    orphans = sorted(known - used)
    if orphans:
        out.append(f"{len(orphans)} node(s) no incidence references, e.g. {orphans[:3]}")
    if len(graph["nodes"]) > limits["max_nodes"]:
        out.append(f"{len(graph['nodes'])} nodes exceed max_nodes {limits['max_nodes']}")
    if len(graph["incidences"]) > limits["max_incidences"]:
        out.append(f"{len(graph['incidences'])} incidences exceed max_incidences {limits['max_incidences']}")
    return out[:limit]


def problems(graph: Any) -> list[str]:
    """Everything wrong with a served graph: schema first, then (if it parses as HIF) semantics."""
    errors = schema_errors(graph)
    if errors:
        return [f"not HIF v1: {e}" for e in errors]
    return [f"HIF v1 rule broken: {e}" for e in semantic_errors(graph)]
