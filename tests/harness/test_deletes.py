"""Salus deletes are read back: a 204 that leaves the object is a product defect naming family and ids."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from support.http import ApiClient
from support.salus.deletes import delete_all_verified, delete_verified
from support.salus.envoy import EnvoyProcess
from support.salus.expectations import Expectations
from support.salus.models import Release


class Store:
    """A server whose DELETE answers 204 but removes only what ``honest`` allows."""

    def __init__(self, ids: set[str], honest: bool) -> None:
        self.ids, self.honest = set(ids), honest

    def __call__(self, request: httpx.Request) -> httpx.Response:
        ident = request.url.path.rsplit("/", 1)[-1]
        if request.method == "DELETE":
            if ident not in self.ids:
                return httpx.Response(404)
            if self.honest:
                self.ids.discard(ident)
            return httpx.Response(204)
        return httpx.Response(200, json={"resourceId": ident}) if ident in self.ids else httpx.Response(404)


def client(store: Store) -> ApiClient:
    return ApiClient("http://platform.test/", 5, transport=httpx.MockTransport(store))


def test_a_delete_that_removes_passes_and_an_absent_object_is_fine() -> None:
    store = Store({"r1"}, honest=True)
    api = client(store)
    delete_verified(api, "resources", "r1", "resources/r1",
                    lambda: api.get("resources/r1", expect=(200, 404)) is not None)
    delete_verified(api, "resources", "r1", "resources/r1", lambda: False)          # 404: already gone
    assert not store.ids


def test_a_204_that_leaves_the_object_names_family_and_id() -> None:
    api = client(Store({"r1"}, honest=False))
    with pytest.raises(AssertionError, match=r"^resources: DELETE answered 204 but r1 still exists$"):
        delete_verified(api, "resources", "r1", "resources/r1",
                        lambda: api.get("resources/r1", expect=(200, 404)) is not None)


def test_a_batch_reads_back_once_and_names_every_survivor() -> None:
    store = Store({"a", "b", "c"}, honest=False)
    api = client(store)
    with pytest.raises(AssertionError, match=r"monitors: DELETE answered 204 but a, b, c still exist"):
        delete_all_verified("monitors", ["a", "b", "c"], lambda i: api.delete(f"m/{i}"),
                            lambda ids: [i for i in ids if i in store.ids])


def test_the_current_link_must_resolve(tmp_path: Path) -> None:
    envoy = EnvoyProcess.__new__(EnvoyProcess)
    envoy.data_path = tmp_path / "data"
    release = Release("id", "TELEGRAF", "1.13.2", "http://x", "./telegraf/telegraf")
    agents = envoy.data_path / "agents" / "TELEGRAF"
    agents.mkdir(parents=True)
    with pytest.raises(AssertionError, match="no CURRENT link"):
        Expectations.current_link(envoy, release)
    (agents / "CURRENT").symlink_to("1.13.2")
    with pytest.raises(AssertionError, match="does not resolve"):
        Expectations.current_link(envoy, release)           # dangling: the version dir is missing
    (agents / "1.13.2" / "bin").mkdir(parents=True)
    (agents / "1.13.2" / "bin" / "telegraf").write_text("#!/bin/sh\n")
    Expectations.current_link(envoy, release)
    os.unlink(agents / "CURRENT")
    (agents / "CURRENT").symlink_to(agents / "1.13.2")
    with pytest.raises(AssertionError, match="points at"):
        Expectations.current_link(envoy, release)           # absolute: the layout says relative to <version>
