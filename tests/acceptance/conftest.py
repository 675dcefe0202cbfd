"""Fixtures for tests that run the real @salus specs against a real sandbox."""
from __future__ import annotations

from .behave_runner import faults_fixture, sandbox_fixture

sandbox = sandbox_fixture("salus")
faults = faults_fixture("salus")
