"""The phases (features) and scenarios a tag selection runs — read from the feature files with
behave's own parser and tag-expression logic, so a dry run needs no sandbox and no behave hooks."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Phase:
    name: str
    file: str
    scenarios: list[str]


def discover_phases(tags: list[str], features_dir: Path | None = None) -> list[Phase]:
    """Features in file order (behave's order), keeping scenarios the tags select."""
    from behave.parser import parse_file
    from behave.tag_expression.builder import make_tag_expression

    expr = make_tag_expression(tags or [])
    root = features_dir or REPO_ROOT / "features"
    phases = []
    for path in sorted(root.rglob("*.feature")):
        feature = parse_file(str(path))
        if feature is None or not feature.should_run_with_tags(expr):
            continue
        names = [s.name for s in feature.walk_scenarios() if s.should_run_with_tags(expr)]
        phases.append(Phase(feature.name, str(path.relative_to(REPO_ROOT)), names))
    return phases
