"""Fixtures for tests that run the real @salus specs against a real sandbox."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.sandboxes import SandboxHandle, start_sandbox

from .behave_runner import FaultSwitch


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox("salus", tmp_path_factory.mktemp("salus-sandbox")) as handle:
        yield handle


@pytest.fixture()
def faults(sandbox: SandboxHandle) -> Iterator[FaultSwitch]:
    switch = FaultSwitch("salus", sandbox.profile_path)
    switch.clear()
    try:
        yield switch
    finally:
        switch.clear()
        switch.close()
