"""Shared fixtures of the sandbox component tests."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.kafka import Broker


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One real Tansu broker for the whole session (starts in ~50 ms); tests use their own topics."""
    log_dir: Path = tmp_path_factory.mktemp("broker")
    b = Broker(log_path=log_dir / "broker.log")
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(broker: Broker) -> str:
    return broker.bootstrap
