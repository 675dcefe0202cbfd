"""Profile data before validation: YAML files, legacy aliases, secret rules, model introspection.

Split from support/config.py (the loader) so each stays readable: here is everything about the
*shape* of configuration — reading a file with a one-line error, moving legacy keys into their
pack's section, reading ``<secret>_file`` keys and refusing literal secrets, and walking a pydantic
model for its secret fields and first required keys.
"""
from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr

from .errors import ConfigError
from .packs import Pack, registry

ENV_PREFIX = "E2ET_"


# ----------------------------------------------------------------------------- model introspection
def models_in(annotation: Any) -> list[type[BaseModel]]:
    """Model classes inside an annotation (``User | None`` → [User])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return [m for a in typing.get_args(annotation) for m in models_in(a)]
    return []


def is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and SecretStr in typing.get_args(annotation)


def secret_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        if is_secret(info.annotation):
            paths.append((*prefix, name))
        for sub in models_in(info.annotation):
            paths += secret_paths(sub, (*prefix, name))
    return paths


def first_required(model: type[BaseModel], path: Sequence[str]) -> list[str]:
    """``path`` extended to the first required key of the sub-model it names (for "X is missing")."""
    node: type[BaseModel] | None = model
    for part in path:
        info = node.model_fields.get(part) if node else None
        subs = models_in(info.annotation) if info else []
        node = subs[0] if subs else None
    if node is None:
        return list(path)
    first = next((n for n, i in node.model_fields.items() if i.is_required()), None)
    return [*path, first] if first else list(path)


def mask(data: Any, paths: Iterable[tuple[str, ...]]) -> Any:
    for path in paths:
        node = data
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = "***" if node[path[-1]] else None
    return data


# ----------------------------------------------------------------------------- files
def read_yaml(path: Path, hint: str) -> dict[str, Any]:
    """A YAML mapping, or a ConfigError naming the file (and line) and the fix."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: {hint}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where} is not valid YAML ({getattr(e, 'problem', None) or e}): "
                          "fix the syntax there") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a YAML mapping of settings, not a {type(raw).__name__}: "
                          "see profiles/dev.yaml for the shape")
    return raw


def put(data: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[path[-1]] = value


def merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in top.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = dict(v) if isinstance(v, Mapping) else v
    return base


def legacy_claims(packs: Iterable[Pack]) -> dict[str, str]:
    """Top-level legacy section → the pack that owns it."""
    return {s: p.name for p in packs for s in p.legacy.sections}


def dotted_legacy(packs: Iterable[Pack]) -> dict[str, tuple[str, tuple[str, ...] | None]]:
    return {k: (p.name, path) for p in packs for k, path in p.legacy.keys.items()}


def normalise(raw: Mapping[str, Any], source: str, packs: Mapping[str, Pack], run_keys: set[str]) -> dict[str, Any]:
    """The file's settings in canonical shape: run-wide keys, then ``{pack: section}``.

    Legacy keys (flat dotted or nested the way viper reads them) and legacy top-level sections are
    moved into their pack's section; an explicit ``<pack>:`` section wins over them.
    """
    claims, dotted = legacy_claims(packs.values()), dotted_legacy(packs.values())
    prefixes = {".".join(k.split(".")[:i]) for k in dotted for i in range(1, k.count(".") + 1)}
    flat: dict[str, Any] = {}
    explicit: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for k, v in node.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if path in dotted and not isinstance(v, dict):
                pack, target = dotted[path]
                if target is not None:
                    put(flat, [pack, *target], v)
            elif isinstance(v, dict) and (path in prefixes or (not prefix and path in claims)):
                walk(v, path)
            elif prefix or path in claims:
                parts = path.split(".")
                put(flat, [claims[parts[0]], *parts] if parts[0] in claims else parts, v)
            else:
                explicit[path] = v
    walk(raw, "")
    known = run_keys | set(registry()) | set(claims) | {"profile"}
    unknown = sorted(k for k in explicit if k not in known)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}: remove it or use one of "
                          f"{', '.join(sorted(run_keys | set(registry())))}")
    return merge(flat, explicit)


def apply_secret_files(data: dict[str, Any], packs: Mapping[str, Pack], source: str, allow_inline: bool) -> None:
    """``<secret>_file`` keys read into their secret; a literal secret refused unless allowed."""
    for pack in packs.values():
        section = data.get(pack.name)
        if not isinstance(section, dict):
            continue
        for path in secret_paths(pack.settings_model):
            node: Any = section
            for part in path[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                continue
            key, dotted = path[-1], ".".join((pack.name, *path))
            if node.get(f"{key}_file"):
                node[key] = read_secret_file(f"{source} {dotted}_file", str(node.pop(f"{key}_file")))
            elif node.get(key) and not allow_inline:
                raise ConfigError(f"{source}: {dotted} is a secret and must not be written in a config file: set "
                                  f"{env_name(pack, path)} or {dotted}_file instead")


def read_secret_file(where: str, path: str) -> str:
    try:
        return Path(path).expanduser().read_text().strip()
    except OSError as e:
        raise ConfigError(f"{where}: secret file {path} unreadable ({e.strerror}): fix the path") from None


def env_name(pack: Pack, path: Sequence[str]) -> str:
    """The env var to name for a setting: the pack's legacy name where one exists, else the nested one."""
    legacy = pack.legacy.env_name(tuple(path))
    if legacy:
        return legacy
    if path and path[0] in pack.legacy.sections:
        return ENV_PREFIX + "__".join(path).upper()
    return ENV_PREFIX + "__".join((pack.name, *path)).upper()
