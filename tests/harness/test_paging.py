"""Paging: PagedContent and raw Spring pages, and deleting while paging stays correct."""
from __future__ import annotations

import pytest

from support.salus.paging import drain, iter_all


class FakeList:
    """A server-side list paged like Salus (page size 3), whose items shift when one is deleted."""

    def __init__(self, n: int, size: int = 3, spring: bool = False) -> None:
        self.items = [{"id": i, "mine": i % 2 == 0} for i in range(n)]
        self.size, self.spring, self.fetches = size, spring, 0

    def fetch(self, page: int) -> dict:
        self.fetches += 1
        chunk = self.items[page * self.size:(page + 1) * self.size]
        total = max(1, -(-len(self.items) // self.size))
        if self.spring:
            return {"content": chunk, "last": page + 1 >= total, "size": self.size, "number": page,
                    "pageable": {}, "empty": not chunk}
        return {"content": chunk, "number": page, "totalPages": total, "totalElements": len(self.items),
                "last": page + 1 >= total, "first": page == 0}

    def delete(self, item: dict) -> None:
        self.items = [i for i in self.items if i["id"] != item["id"]]


@pytest.mark.parametrize("spring", [False, True])
def test_iter_all_reads_every_page(spring: bool) -> None:
    fake = FakeList(10, spring=spring)
    assert [i["id"] for i in iter_all(fake.fetch)] == list(range(10))
    assert fake.fetches == 4


def test_iter_all_without_last_uses_total_pages_and_plain_lists() -> None:
    pages = {0: {"content": [1, 2], "number": 0, "totalPages": 2}, 1: {"content": [3], "number": 1, "totalPages": 2}}
    assert list(iter_all(pages.__getitem__)) == [1, 2, 3]
    assert list(iter_all(lambda p: [7, 8])) == [7, 8]


def test_naive_delete_while_paging_skips_items_but_drain_does_not() -> None:
    naive = FakeList(20)
    page = 0
    while True:   # the bug drain avoids: deleting during a numbered walk
        body = naive.fetch(page)
        for item in body["content"]:
            if item["mine"]:
                naive.delete(item)
        if body["last"]:
            break
        page += 1
    assert any(i["mine"] for i in naive.items)

    fake = FakeList(20)
    deleted = drain(fake.fetch, lambda i: i["mine"], fake.delete)
    assert sorted(i["id"] for i in deleted) == list(range(0, 20, 2))
    assert not any(i["mine"] for i in fake.items) and len(fake.items) == 10


def test_drain_names_what_deletes_left_behind() -> None:
    """A DELETE answered 204 that leaves the item is a product defect naming family and ids."""
    fake = FakeList(5)
    with pytest.raises(AssertionError, match="resources: DELETE answered 204 but 0, 1, 2, 3, 4 still exist"):
        drain(fake.fetch, lambda i: True, lambda i: None, family="resources")


def test_drain_is_bounded_when_new_items_keep_appearing() -> None:
    fake = FakeList(2)

    def delete_and_breed(item: dict) -> None:
        fake.delete(item)
        fake.items.append({"id": max(i["id"] for i in [*fake.items, item]) + 1, "mine": True})
    with pytest.raises(RuntimeError, match="deletion passes"):
        drain(fake.fetch, lambda i: True, delete_and_breed, max_passes=3)
