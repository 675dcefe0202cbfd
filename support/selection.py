"""Which packs a run selects: behave's own tag-expression evaluation over the real feature files.

Why not parse the tag string: ``--tags "not @a"`` names pack a but selects none of it, and
``@a and @story:x`` selects pack a without being ``@a`` alone. A pack is selected when
at least one of its scenarios would run — exactly behave's rule (tags, name filters, outlines).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import packs

REPO_ROOT = Path(__file__).resolve().parents[1]


def pack_of(scenario: Any) -> packs.Pack | None:
    """A scenario's pack: by its tags, else by its folder (``features/<name>/``)."""
    pack = packs.pack_of_tags(scenario.effective_tags)
    if pack is not None:
        return pack
    parts = Path(str(getattr(scenario, "filename", "") or "")).parts
    return next((p for p in packs.registry().values() if p.name in parts), None)


def packs_for(features: Iterable[Any], config: Any) -> list[packs.Pack]:
    """Packs with at least one scenario that ``config`` (behave's) would run, in registry order."""
    chosen: set[str] = set()
    for feature in features:
        for scenario in feature.walk_scenarios():
            if scenario.should_run(config):
                pack = pack_of(scenario)
                if pack is not None:
                    chosen.add(pack.name)
    return [p for n, p in packs.registry().items() if n in chosen]


def packs_for_tags(tags: Sequence[str], extra_args: Sequence[str] = (),
                   features_dir: Path | None = None) -> list[packs.Pack]:
    """The same rule outside behave (``e2et run --parallel``, soak): parse the feature files and
    the ``--tags`` options with behave's own parser and configuration."""
    from behave.configuration import Configuration
    from behave.parser import parse_file

    args: list[str] = []
    for t in tags:
        args += ["--tags", t]
    config = Configuration([*args, *_name_filters(extra_args)], load_config=False)
    root = features_dir or REPO_ROOT / "features"
    features = [f for f in (parse_file(str(p)) for p in sorted(root.rglob("*.feature"))) if f is not None]
    return packs_for(features, config)


def _name_filters(extra: Sequence[str]) -> list[str]:
    """The ``-n/--name`` options among extra behave arguments (the only other scenario filter)."""
    out, it = [], iter(extra)
    for a in it:
        if a in ("-n", "--name"):
            out += [a, next(it, "")]
        elif a.startswith("--name="):
            out.append(a)
    return out
