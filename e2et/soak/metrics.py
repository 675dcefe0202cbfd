"""``metrics.jsonl``: one line per cycle × phase × scenario, appended as each cycle finishes.

Lines are flushed and fsynced one cycle at a time so a crash loses at most the running cycle.
Readers keep only lines of *completed* cycles (by run id), so an interrupted cycle that wrote
nothing — or a torn last line — never skews the statistics.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"


class MetricsWriter:
    """Appends JSON lines; one ``write_many`` call per cycle keeps a cycle's lines together."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / METRICS_FILE

    def write_many(self, records: Iterable[dict[str, Any]]) -> None:
        with open(self.path, "a") as fh:
            for rec in records:
                fh.write(json.dumps(rec, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read_metrics(directory: Path, run_ids: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every parseable line, filtered to ``run_ids`` when given (the state's completed cycles)."""
    path = Path(directory) / METRICS_FILE
    if not path.exists():
        return
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue          # a torn last line after a crash
            if run_ids is None or rec.get("run_id") in run_ids:
                yield rec
