"""Paging of list endpoints: the ``page``/``size`` query parameters and the slice they select.

The response envelope differs per system (Spring ``PagedContent`` or ``Page``, cursor lists, ...)
and stays with each stand-in; reading the parameters the forgiving way and slicing do not.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Spring Data's ``PageableHandlerMethodArgumentResolver`` cap — a sane default for any stand-in.
MAX_PAGE_SIZE = 2000


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    """An unparsable or negative value falls back to ``default`` (never a 400)."""
    try:
        value = int(query.get(name, default))
    except ValueError:
        return default
    return value if value >= 0 else default


def page_request(query: Mapping[str, str], default_size: int, max_size: int = MAX_PAGE_SIZE) -> tuple[int, int]:
    """``(page, size)``: page from 0; size 0 or missing → ``default_size``, capped at ``max_size``."""
    return int_param(query, "page", 0), min(int_param(query, "size", default_size) or default_size, max_size)


def page_slice(items: Sequence[T], page: int, size: int) -> tuple[list[T], int, int]:
    """``(content, total_elements, total_pages)`` of page ``page`` with ``size`` items a page."""
    total = len(items)
    pages = math.ceil(total / size) if total else 0
    return list(items[page * size:(page + 1) * size]), total, pages
