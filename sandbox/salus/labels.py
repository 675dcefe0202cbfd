"""Labels and label selectors: the one matcher for installs, monitors, resource queries and event tasks.

Semantics (decided from the contract and the services it cites, see ``selector_matches``):
the real services type selectors and labels as ``Map<String, String>`` — RM's
``getResourcesFromLabels`` matches ``labels_key = k AND labels = v`` in SQL, EE's
``EventContextResolver.matchesLabelSelector`` requires ``value != null && value.equals(selector
value)``. So a selector entry matches only a present label whose *string* value is equal; JSON
scalars arrive as strings (Jackson coerces ``80`` → ``"80"``, ``true`` → ``"true"``); a ``null``
selector value or an absent label never matches; an empty (or missing) selector matches
everything; ``OR`` needs one entry to match, ``AND`` (the default, and the only method event
tasks have) every entry.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9_]+$")


def label_errors(labels: Any, field: str, bad: list[str]) -> None:
    """Append ``field`` to ``bad`` unless ``labels`` is absent or a map with ``[A-Za-z0-9_]+`` keys."""
    if labels is None:
        return
    if not isinstance(labels, dict) or any(not LABEL_KEY_RE.match(str(k)) for k in labels):
        bad.append(field)


def label_text(value: Any) -> str | None:
    """A label or selector value as the Java services hold it: a string (JSON scalars as Jackson
    coerces them), or None for null and for values no ``String`` can hold (objects, arrays)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return None


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, Any],
                     method: str | None = "AND") -> bool:
    """True when ``labels`` satisfy ``selector`` under ``method`` (``AND``/``OR``; see the module doc)."""
    if not selector:
        return True
    hits = []
    for key, value in selector.items():
        want = label_text(value)
        hits.append(want is not None and label_text(labels.get(key)) == want)
    return any(hits) if (method or "AND").upper() == "OR" else all(hits)
