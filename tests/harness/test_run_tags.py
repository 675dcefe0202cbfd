"""``e2et run`` tag options: a bad expression is one readable line and exit 2 before anything
starts; ``--tag-set`` takes a full behave tag expression (or the older space-separated tags)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2et import exitcodes
from e2et.cli import _bad_tag_expression, _tag_set_expression

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("given", "expression"), [
    ("@salus @story:tcp-monitor", "@salus and @story:tcp-monitor"),
    ("@salus", "@salus"),
    ("@salus and not @feature:failure-events", "@salus and not @feature:failure-events"),
    ("not @slow", "not @slow"),
    ("(@a or @b) and @c", "(@a or @b) and @c"),
    ("@notify @x", "@notify and @x"),
])
def test_a_tag_set_is_one_tag_expression(given: str, expression: str) -> None:
    assert _tag_set_expression(given) == expression
    assert _bad_tag_expression([given]) is None


@pytest.mark.parametrize("option", ["--tags", "--tag-set"])
def test_a_bad_tag_expression_is_one_line_and_exit_2_with_nothing_created(option: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("E2ET_")}
    e2et = str(Path(sys.executable).with_name("e2et"))
    res = subprocess.run([e2et, "run", "--reports", str(reports), option, "@salus and ("],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == exitcodes.CONFIG == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad tag expression '@salus and ('" in lines[0], res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not reports.exists()
