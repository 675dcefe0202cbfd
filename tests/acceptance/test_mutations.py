"""The @salus specs kill plausible sandbox regressions they were not written against.

``test_every_mutation_applies`` keeps the catalogue honest on every run (each mutation's code
still exists exactly once); the kill-rate run itself is slow (one behave run per mutation, about
ten minutes): ``pytest -m slow tests/acceptance/test_mutations.py``, or ``bench/bench_salus.py
--mutations`` for the figures.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .behave_runner import REPO_ROOT
from .mutation_runner import apply, kill_rate, run_all
from .mutations import MUTATIONS

TARGET = 0.9


def test_every_mutation_applies(tmp_path: Path) -> None:
    assert len({m.id for m in MUTATIONS}) == len(MUTATIONS)
    for m in MUTATIONS:
        target = tmp_path / m.id / m.path
        target.parent.mkdir(parents=True)
        target.write_text((REPO_ROOT / m.path).read_text())
        apply(tmp_path / m.id, m)
        assert target.read_text() != (REPO_ROOT / m.path).read_text()
    known = sum(1 for m in MUTATIONS if m.survives)
    assert len(MUTATIONS) - known >= TARGET * len(MUTATIONS), f"{known} known survivors of {len(MUTATIONS)}"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_mutations_are_killed(tmp_path: Path) -> None:
    outcomes = run_all(tmp_path)
    unexpected = [f"{o.mutation.id} ({o.mutation.why})" for o in outcomes if not o.killed and not o.mutation.survives]
    known = [o.mutation.id for o in outcomes if not o.killed and o.mutation.survives]
    assert not unexpected, f"mutations the specs no longer kill: {unexpected}"
    assert kill_rate(outcomes) >= TARGET, f"kill rate {kill_rate(outcomes):.0%} below {TARGET:.0%}; survivors {known}"
