"""``e2et sandbox up|fault``: the local stand-ins of one or more packs, from the command line."""
from __future__ import annotations

import glob
import os
import signal
import sys
import threading
from pathlib import Path

from . import exitcodes

EXIT_START = 3


def _split(items: list[str], sep: str, packs: list[str]) -> dict[str, list[str]]:
    """``[PACK<sep>]VALUE`` options → {pack: [values]}; a bare value belongs to the only pack."""
    out: dict[str, list[str]] = {}
    for item in items:
        head, found, rest = item.partition(sep)
        if found and head in packs:
            out.setdefault(head, []).append(rest)
        elif len(packs) == 1:
            out.setdefault(packs[0], []).append(item)
        else:
            raise ValueError(f"{item!r}: say which pack it is for ({sep.join(['PACK', 'VALUE'])}; packs: "
                             f"{', '.join(packs)})")
    return out


def sandbox_up(names: list[str], root: Path, configs: list[str], faults: list[str]) -> int:
    """Start the packs' sandboxes (concurrently), print their endpoints, wait for Ctrl-C, stop them."""
    from support import packs
    from support.sandboxes import Sandboxes, SandboxStartError, start_sandbox

    registry = packs.registry()
    names = names or [n for n, p in registry.items() if p.sandbox_module]
    unknown = [n for n in names if n not in registry or not registry[n].sandbox_module]
    if unknown:
        with_sandbox = ", ".join(n for n, p in registry.items() if p.sandbox_module)
        print(f"e2et sandbox: no sandbox for {unknown[0]!r}: choose from {with_sandbox}", file=sys.stderr)
        return exitcodes.CONFIG
    try:
        cfg = {k: v[-1] for k, v in _split(configs, "=", names).items()}
        fault_map = _split(faults, ":", names)
    except ValueError as e:
        print(f"e2et sandbox: {e}", file=sys.stderr)
        return exitcodes.CONFIG
    root = root.resolve()
    stop = threading.Event()
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            if cfg:
                sandboxes = Sandboxes({n: start_sandbox(n, root / n, config_file=Path(cfg[n]) if n in cfg else None,
                                                        faults=fault_map.get(n, ())) for n in names})
            else:
                sandboxes = Sandboxes.start(names, root, fault_map)
        except SandboxStartError as e:
            print(f"e2et sandbox: could not start: {e}", file=sys.stderr)
            return EXIT_START
        with sandboxes:
            data = sandboxes.sections()
            for name in names:
                print(f"{name}: {registry[name].title}")
                section = data.get(name) or {}
                model = registry[name].settings_model.model_validate(section)
                for key, value in sorted(registry[name].environment(model).items()):
                    print(f"  {key:<32} {value}")
            env = sandboxes.profile_env({})
            print(f"export E2ET_SANDBOX_PROFILE={env.get('E2ET_SANDBOX_PROFILE', '')}")
            print("Ctrl-C stops the sandboxes", flush=True)
            while not stop.is_set():
                if not all(h.alive() for h in sandboxes.handles.values()):
                    dead = [n for n, h in sandboxes.handles.items() if not h.alive()]
                    print(f"e2et sandbox: {', '.join(dead)} sandbox exited; stopping the others", file=sys.stderr)
                    return EXIT_START
                stop.wait(0.5)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 0


def _profile_files(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("E2ET_SANDBOX_PROFILE"):
        return os.environ["E2ET_SANDBOX_PROFILE"]
    from support.reporting.paths import reports_root
    return os.pathsep.join(sorted(glob.glob(str(reports_root() / "sandbox" / "*" / "profile.yaml"))))


def sandbox_fault(name: str | None, param: str | None, off: bool, pack: str | None, profile_file: str | None) -> int:
    from support import faults
    from support.config import read_sandbox_profiles
    from support.errors import E2etError

    env = {**os.environ, "E2ET_SANDBOX_PROFILE": _profile_files(profile_file)}
    try:
        running = [n for n, v in read_sandbox_profiles(env).items() if isinstance(v, dict)]
        if pack:
            target = pack
        elif name and name != "all":
            target, name = faults.resolve(name, running)
        elif len(running) == 1:
            target = running[0]
        else:
            print(f"e2et sandbox: several sandboxes run ({', '.join(running)}): name one with --pack", file=sys.stderr)
            return exitcodes.CONFIG
        control = faults.control_for(target, "local", env)
        try:
            if off:
                control.disable(name) if name and name != "all" else control.clear()
            elif name:
                control.enable(name, param)
            print(control.active())
        finally:
            control.close()
    except E2etError as e:
        print(f"e2et: {e}", file=sys.stderr)
        return exitcodes.CONFIG
    return 0
