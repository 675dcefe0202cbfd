"""Paging over Salus lists, correct even while the caller deletes what it reads.

Walking page numbers while deleting skips items (page 1 shifts into page 0). ``drain`` re-reads
from page 0 after each pass until a pass deletes nothing, bounded so a server that never
empties cannot hang the run.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

Fetch = Callable[[int], dict[str, Any]]


def iter_all(fetch: Fetch, max_pages: int = 1000) -> Iterator[dict[str, Any]]:
    """Every item of a ``PagedContent`` or Spring ``Page`` list, page by page (read-only use)."""
    page = 0
    while page < max_pages:
        body = fetch(page)
        yield from body.get("content") or []
        if body.get("last", True) or not body.get("content"):
            return
        page += 1


def drain(fetch: Fetch, select: Callable[[dict[str, Any]], bool], delete: Callable[[dict[str, Any]], None],
          max_passes: int = 50) -> list[dict[str, Any]]:
    """Delete every selected item; returns what was deleted."""
    deleted: list[dict[str, Any]] = []
    for _ in range(max_passes):
        victims = [item for item in iter_all(fetch) if select(item)]
        if not victims:
            return deleted
        for item in victims:
            delete(item)
            deleted.append(item)
    raise RuntimeError(f"items kept appearing after {max_passes} deletion passes")
