"""Profiles → typed settings: run-wide settings plus one validated section per selected pack.

Where settings come from, highest priority first:
  1. ``E2ET_<KEY>`` / ``E2ET_<PACK>__<KEY>__<SUBKEY>`` environment variables (pydantic-settings);
  2. the aliases packs declare for configuration written before packs existed (``Pack.legacy``:
     top-level sections such as ``tenant:`` and their ``E2ET_TENANT__ID``, an earlier tool's keys
     such as ``public.api.url`` / ``E2ET_PUBLIC_API_URL``), renamed into the pack's section;
  3. the profile: ``profiles/<name>.yaml`` (``dev``, ``staging``, ``prod`` …), ``E2ET_CONFIG`` (any
     file), or for ``local`` the profile each sandbox wrote (in memory, or files in
     ``E2ET_SANDBOX_PROFILE`` separated by ``os.pathsep`` for sandboxes already running).

Only the packs a run selects are validated, so a run of one system needs no other system's
settings. Secrets (``SecretStr`` fields) come only from the environment, ``<key>_file`` paths, or a
sandbox-written profile: a real profile is committed to git, so a literal secret there is refused.
Every problem is one ``ConfigError`` line naming the setting and how to fix it.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from . import profile_data
from .durations import Seconds
from .errors import ConfigError
from .packs import Pack, PackSettings, registry
from .profile_data import (
    ENV_PREFIX,
    apply_secret_files,
    env_name,
    first_required,
    legacy_claims,
    mask,
    merge,
    read_secret_file,
    read_yaml,
    secret_paths,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILE_DIR = REPO_ROOT / "profiles"
PROFILES = ("local", "dev", "staging", "prod")

class Http(BaseModel):
    model_config = ConfigDict(extra="ignore")
    timeout: Seconds = 10.0


class RunSettings(BaseSettings):
    """Run-wide settings; each selected pack adds a field named after it, holding its section."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False,
                                      extra="ignore", enable_decoding=False)
    profile: str = "local"
    http: Http = Field(default_factory=Http)
    #: Stretches every wait deadline (slow CI machines, remote environments), never shortens one.
    timeout_multiplier: float = Field(1.0, ge=1.0)

    def section(self, pack: str) -> Any:
        """The validated settings section of a selected pack."""
        value = getattr(self, pack, None)
        if not isinstance(value, PackSettings):
            raise KeyError(f"pack {pack!r} is not selected in this run")
        return value

    def pack_names(self) -> list[str]:
        return [n for n in type(self).model_fields if isinstance(getattr(self, n, None), PackSettings)]

    def secrets(self) -> list[str]:
        """Every secret value of every section, for redaction filters (logs, curl evidence, reports)."""
        from .world import secret_values
        return secret_values(self)

    def redacted_dict(self) -> dict[str, Any]:
        """Everything but secrets (for environment.properties, logs and reports)."""
        return mask(self.model_dump(mode="json", exclude_none=False), secret_paths(type(self)))


RUN_KEYS = set(RunSettings.model_fields)


def known_profiles() -> list[str]:
    extra = sorted(p.stem for p in PROFILE_DIR.glob("*.yaml") if p.stem not in PROFILES) if PROFILE_DIR.is_dir() else []
    return list(PROFILES) + extra


def normalise(raw: Mapping[str, Any], source: str, packs: Mapping[str, Pack]) -> dict[str, Any]:
    """A file's settings in canonical shape: run-wide keys, then ``{pack: section}`` (legacy moved in)."""
    return profile_data.normalise(raw, source, packs, RUN_KEYS)


# ----------------------------------------------------------------------------- environment
def _canonical_env(env: Mapping[str, str], packs: Mapping[str, Pack]) -> tuple[dict[str, str], dict[str, str]]:
    """(canonical, legacy) env maps: legacy names renamed to ``E2ET_<PACK>__…``; ``…_FILE`` secrets read.

    An ``E2ET_X__…`` whose X is neither a run-wide key, a pack, nor a pack's legacy section is a
    typo that would silently do nothing: refused.
    """
    claims = legacy_claims(packs.values())
    legacy_flat = {e: (p.name, path) for p in packs.values() for e, path in p.legacy.env.items()}
    known = RUN_KEYS | set(registry()) | set(claims)
    canonical: dict[str, str] = {}
    legacy: dict[str, str] = {}
    for name, value in sorted(env.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        if upper in legacy_flat:
            pack, path = legacy_flat[upper]
            if path is not None:
                legacy[ENV_PREFIX + "__".join((pack, *path)).upper()] = value
            continue
        if "__" not in upper:
            canonical[upper] = value        # run-wide scalars (E2ET_TIMEOUT_MULTIPLIER); the rest is ignored
            continue
        head = upper[len(ENV_PREFIX):].split("__", 1)[0].lower()
        if head not in known:
            raise ConfigError(f"{name}: unknown setting section {head!r}: use one of "
                              f"{', '.join(sorted(RUN_KEYS | set(registry())))}")
        if head in claims:
            legacy[ENV_PREFIX + claims[head].upper() + "__" + upper[len(ENV_PREFIX):]] = value
        else:
            canonical[upper] = value
    for mapping in (canonical, legacy):
        _env_secret_files(mapping, packs)
    return canonical, legacy


def _env_secret_files(mapping: dict[str, str], packs: Mapping[str, Pack]) -> None:
    secret_env = {ENV_PREFIX + "__".join((p.name, *path)).upper() for p in packs.values()
                  for path in secret_paths(p.settings_model)}
    for name in [n for n in mapping if n.endswith("_FILE") and n[:-5] in secret_env]:
        mapping[name[:-5]] = read_secret_file(name, mapping.pop(name))


class _MappingEnv(EnvSettingsSource):
    """pydantic-settings' env source over a given mapping (tests and legacy renames), not os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = dict(env)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._mapping, False, False, None)


class _Data(PydanticBaseSettingsSource):
    """The profile file's (normalised) data as the lowest-priority source."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k in self.settings_cls.model_fields}


def _settings_class(packs: Sequence[Pack], env: dict[str, str], legacy: dict[str, str],
                    data: dict[str, Any]) -> type[RunSettings]:
    class _Sourced(RunSettings):
        @classmethod
        def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: Any, *_: Any,
                                       **__: Any) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, _MappingEnv(settings_cls, env), _MappingEnv(settings_cls, legacy),
                    _Data(settings_cls, data))

    from pydantic import create_model
    fields: dict[str, Any] = {p.name: (p.settings_model, ...) for p in packs}
    return create_model("Settings", __base__=_Sourced, **fields)


def _validation_error(e: ValidationError, profile: str, source: str, packs: Mapping[str, Pack],
                      model: type[BaseModel]) -> ConfigError:
    err = e.errors()[0]
    loc = [str(x) for x in err["loc"] if not str(x).isdigit()]
    pack = packs.get(loc[0]) if loc else None
    if err["type"] == "missing" and pack is not None and len(loc) == 1:
        return ConfigError(f"profile {profile}: no {pack.name} settings: add a {pack.name}: section to {source} "
                           f"(docs/adding-a-system.md lists its keys) or select other tags")
    if err["type"] == "missing":
        loc = first_required(model, loc)
    key = ".".join(loc)
    hint = env_name(pack, loc[1:]) if pack is not None else ENV_PREFIX + "__".join(loc).upper()
    if err["type"] == "missing":
        return ConfigError(f"profile {profile}: {key} is missing: set it in {source} or set {hint}")
    msg = str(err["msg"]).removeprefix("Value error, ")
    return ConfigError(f"profile {profile}: {key}: {msg}: fix it in {source} or set {hint}")


# ----------------------------------------------------------------------------- the loader
def profile_name(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (explicit or env.get("E2ET_PROFILE") or "local").strip()


def uses_sandboxes(profile: str, env: Mapping[str, str] | None = None) -> bool:
    """True when the run's systems are local sandboxes (profile local, no ``E2ET_CONFIG`` file)."""
    env = os.environ if env is None else env
    return profile == "local" and not env.get("E2ET_CONFIG")


def sandbox_profile_files(env: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    return [Path(p) for p in (env.get("E2ET_SANDBOX_PROFILE") or "").split(os.pathsep) if p]


def read_sandbox_profiles(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The sections already-running sandboxes wrote (``E2ET_SANDBOX_PROFILE``), normalised and merged."""
    data: dict[str, Any] = {}
    for path in sandbox_profile_files(env):
        raw = read_yaml(path, "start the sandbox (`e2et sandbox up`) or fix E2ET_SANDBOX_PROFILE")
        merge(data, normalise(raw, str(path), registry()))
    data.pop("profile", None)
    return data


def load_settings(profile: str | None = None, env: Mapping[str, str] | None = None, *,
                  packs: Sequence[str] | None = None, provided: Mapping[str, Any] | None = None) -> RunSettings:
    """The run's settings for the given packs (default: every pack the configuration has a section for).

    ``provided``: pack sections in memory (what the sandboxes this run started wrote).
    """
    env = os.environ if env is None else env
    profile = profile_name(profile, env)
    allp = registry()
    inline = False
    if env.get("E2ET_CONFIG"):
        path = Path(env["E2ET_CONFIG"])
        data = normalise(read_yaml(path, "fix E2ET_CONFIG"), str(path), allp)
        source = str(path)
    elif profile == "local":
        data = read_sandbox_profiles(env)
        merge(data, dict(provided or {}))
        source, inline = "the sandbox profile", True
        if (packs is None or packs) and not any(isinstance(data.get(n), dict) for n in allp):
            raise ConfigError("profile local needs a sandbox: run through behave/e2et (which start one) or set "
                              "E2ET_SANDBOX_PROFILE to the profile file `e2et sandbox up` wrote")
    elif profile in known_profiles():
        path = PROFILE_DIR / f"{profile}.yaml"
        data = normalise(read_yaml(path, f"create profiles/{profile}.yaml (copy profiles/dev.yaml)"), str(path), allp)
        source = str(path)
    else:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(known_profiles())} "
                          "(or set E2ET_CONFIG to a YAML file)")
    data.pop("profile", None)
    apply_secret_files(data, allp, source, inline)
    canonical, legacy = _canonical_env(env, allp)
    names = list(packs) if packs is not None else [
        n for n in allp if isinstance(data.get(n), dict)
        or any(k.startswith(f"{ENV_PREFIX}{n.upper()}__") for k in (*canonical, *legacy))]
    chosen = [allp[n] if n in allp else _unknown_pack(n) for n in names]
    model = _settings_class(chosen, canonical, legacy, data)
    try:
        settings = model(profile=profile)  # type: ignore[call-arg]  # the rest comes from the sources
    except ValidationError as e:
        raise _validation_error(e, profile, source, allp, model) from None
    for pack in chosen:
        refuse_placeholders(pack, settings.section(pack.name), profile, source)
        pack.check(settings.section(pack.name), profile)
    return settings


#: What a shipped template writes where only the user knows the value (a host name, a tenant):
#: refused before any connection or name lookup, so a profile holding only an API key can never
#: send it somewhere real by accident (``.invalid`` never resolves anyway, RFC 2606).
PLACEHOLDER = "CHANGE-ME"


def refuse_placeholders(pack: Pack, section: Any, profile: str, source: str) -> None:
    """A ``ConfigError`` naming the first setting still holding the template's placeholder."""
    def walk(node: Any, path: tuple[str, ...]) -> tuple[tuple[str, ...], str] | None:
        if isinstance(node, str):
            return (path, node) if PLACEHOLDER in node else None
        if isinstance(node, BaseModel):
            items: Iterable[tuple[str, Any]] = ((k, getattr(node, k)) for k in type(node).model_fields)
        elif isinstance(node, dict):
            items = node.items()
        elif isinstance(node, (list, tuple)):
            items = ((str(i), v) for i, v in enumerate(node))
        else:
            return None
        for key, value in items:
            found = walk(value, (*path, str(key)))
            if found:
                return found
        return None
    found = walk(section, ())
    if found:
        path, value = found
        keys = tuple(p for p in path if not p.isdigit())
        raise ConfigError(f"profile {profile}: {pack.name}.{'.'.join(path)} is still the template's placeholder "
                          f"({value}): set the real value in {source} or set {env_name(pack, keys)}")


def _unknown_pack(name: str) -> Pack:
    raise ConfigError(f"unknown system {name!r}: registered packs are {', '.join(registry())}")
