"""Paging over Salus lists, correct even while the caller deletes what it reads.

Walking page numbers while deleting skips items (page 1 shifts into page 0 after a delete), so
``drain`` never deletes during a walk: each pass lists everything read-only, then deletes what
it selected, and passes repeat from page 0 until one finds nothing — bounded, so a server that
never empties cannot hang the run.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Fetch = Callable[[int], Any]


def _is_last(body: dict[str, Any], page: int) -> bool:
    """``PagedContent`` {content, number, totalPages, last} or a raw Spring ``Page`` {content, last, ...}."""
    if "last" in body and body["last"] is not None:
        return bool(body["last"])
    total = body.get("totalPages")
    if total is not None:
        return int(body.get("number", page)) + 1 >= int(total)
    return True


def iter_all(fetch: Fetch, max_pages: int = 1000) -> Iterator[dict[str, Any]]:
    """Every item of a paged list, page by page (read-only use). A plain JSON list is one page."""
    page = 0
    while page < max_pages:
        body = fetch(page)
        if body is None:
            return
        if isinstance(body, list):
            yield from body
            return
        content = body.get("content") or []
        yield from content
        if not content or _is_last(body, page):
            return
        page += 1
    raise RuntimeError(f"list did not end within {max_pages} pages")


def drain(fetch: Fetch, select: Callable[[dict[str, Any]], bool], delete: Callable[[dict[str, Any]], None],
          max_passes: int = 20) -> list[dict[str, Any]]:
    """Delete every selected item (also those that slid between pages); returns what was deleted."""
    deleted: list[dict[str, Any]] = []
    for _ in range(max_passes):
        victims = [item for item in iter_all(fetch) if select(item)]
        if not victims:
            return deleted
        for item in victims:
            delete(item)
            deleted.append(item)
    raise RuntimeError(f"selected items kept appearing after {max_passes} deletion passes "
                       "(does delete really delete?)")
