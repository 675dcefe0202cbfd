"""Deletes that are read back: an object the platform answered 204 for must really be gone.

Why: a cleanup that trusts the 204 leaks silently, and a janitor that "removed" 25 leftovers may
have removed none. Every Salus client deletes through here — the DELETE (204, or 404: already
gone), then a read-back — and an object still there is a product defect: an ``AssertionError``
``"<API family>: DELETE answered 204 but <ids> still exist"``, which the lifecycle turns into a
failed scenario when it comes from a cleanup. Batch deletes (the janitor) read back once.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ApiError
from ..http import ApiClient

#: How many surviving ids a message names (the count is always given).
SHOWN = 10


def send_delete(api: ApiClient, path: str) -> int:
    """DELETE ``path``; returns 204 (or 200), or 404 when the object was already gone."""
    try:
        api.delete(path, expect=(204, 200))
    except ApiError as e:
        if e.status == 404:
            return 404
        raise
    return 204


def survivors_message(family: str, status: int, ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN]) + (f" … ({len(ids)} in all)" if len(ids) > SHOWN else "")
    verb = "exists" if len(ids) == 1 else "exist"
    return f"{family}: DELETE answered {status} but {shown} still {verb}"


def delete_verified(api: ApiClient, family: str, ident: str, path: str, still_there: Callable[[], bool]) -> None:
    """DELETE one object and read it back (``still_there`` asks the platform, not a cache)."""
    status = send_delete(api, path)
    if still_there():
        raise AssertionError(survivors_message(family, status, [ident]))


def delete_all_verified(family: str, ids: Iterable[str], delete: Callable[[str], object],
                        remaining: Callable[[list[str]], list[str]]) -> list[str]:
    """Delete every id (``delete`` sends one DELETE, unchecked), then read back once: survivors
    are named in one ``AssertionError``. Returns the ids deleted."""
    ids = list(ids)
    for ident in ids:
        delete(ident)
    left = remaining(ids) if ids else []
    if left:
        raise AssertionError(survivors_message(family, 204, left))
    return ids


def delete_named(items: Callable[[], list[dict[str, Any]]], matches: Callable[[dict[str, Any]], bool],
                 delete: Callable[[str], None], key: str = "id") -> Callable[[], None]:
    """A cleanup registered *before* a create: it finds the object by its run-scoped name (so an
    interrupt between the create and its response leaks nothing) and deletes it, read back."""
    def run() -> None:
        for item in items():
            if matches(item):
                delete(item[key])
    return run
