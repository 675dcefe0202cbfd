"""``e2et soak`` and ``e2et compare`` — parsers and entry points, kept here so e2et/cli.py only
registers them (one line there; several people edit that file)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from .. import exitcodes
from .config import SoakConfig


def add_parsers(sub: argparse._SubParsersAction) -> None:
    soak = sub.add_parser("soak", help="run the specs cycle after cycle: percentiles, regressions, fault injection")
    soak.add_argument("--tags", action="append", help="behave tag expression (repeatable); default: every pack")
    soak.add_argument("--profile", default="local", help="local (default), dev, staging, prod")
    soak.add_argument("--cycles", type=int, help="number of cycles (default 10 unless --run-hours is given)")
    soak.add_argument("--run-hours", type=float, help="stop starting cycles after this many hours")
    soak.add_argument("--max-failures", type=int, help="stop after this many unexpected failed cycles")
    soak.add_argument("--cooldown", type=float, default=0.0, metavar="S", help="seconds between cycles")
    soak.add_argument("--stop-on-failure", action="store_true", help="stop after the first unexpected failure")
    soak.add_argument("--resume", action="store_true",
                      help="continue the soak in --output after its last finished cycle")
    soak.add_argument("--dry-run", action="store_true", help="list cycles, phases and injections; touch nothing")
    soak.add_argument("--output", help="soak directory (default reports/soak/<soak-id>)")
    soak.add_argument("--inject-failure", metavar="NAME", help="a sandbox fault switch, or 'random'")
    soak.add_argument("--inject-at-phase", metavar="PHASE", help="feature name during which the fault is on "
                      "(default: the whole cycle)")
    soak.add_argument("--inject-every", type=int, metavar="K", help="inject into cycles K, 2K, … (default every cycle)")
    soak.add_argument("--inject-param", help="fault parameter (JSON or text), e.g. 'zones' for route-500")
    soak.add_argument("--seed", type=int, default=0, help="seed for --inject-failure random")
    soak.add_argument("--cycle-timeout", type=float, default=900.0, metavar="S", help="SIGTERM a cycle after S seconds")
    soak.add_argument("--baseline", help="an earlier soak directory: flag percentile regressions against it")
    soak.add_argument("--regression-margin", type=float, default=0.2,
                      help="fraction over baseline that is a regression")
    soak.add_argument("--regression-min-delta", type=float, default=0.05, help="…and at least this many seconds")
    soak.add_argument("behave_args", nargs=argparse.REMAINDER, help="-- extra behave arguments for every cycle")
    soak.set_defaults(func=cmd_soak)

    cmp_ = sub.add_parser("compare", help="delta table of soak B against soak A (the baseline)")
    cmp_.add_argument("soak_a")
    cmp_.add_argument("soak_b")
    cmp_.add_argument("--margin", type=float, default=0.2)
    cmp_.add_argument("--min-delta", type=float, default=0.05)
    cmp_.add_argument("--percentile", choices=["p50", "p90", "p95"], default="p95")
    cmp_.add_argument("--fail-on-regression", action="store_true", help="exit 1 when B regresses against A")
    cmp_.set_defaults(func=cmd_compare)


def _param(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def config_from_args(args: argparse.Namespace) -> SoakConfig:
    behave_args = list(args.behave_args or [])
    if behave_args[:1] == ["--"]:
        behave_args = behave_args[1:]
    cycles = args.cycles if args.cycles is not None else (None if args.run_hours else 10)
    return SoakConfig(tags=args.tags or [], profile=args.profile, cycles=cycles,
                      run_hours=args.run_hours, max_failures=args.max_failures, cooldown=args.cooldown,
                      stop_on_failure=args.stop_on_failure, inject_failure=args.inject_failure,
                      inject_at_phase=args.inject_at_phase, inject_every=args.inject_every,
                      inject_param=_param(args.inject_param), seed=args.seed,
                      cycle_timeout=args.cycle_timeout, regression_margin=args.regression_margin,
                      regression_min_delta=args.regression_min_delta, baseline=args.baseline,
                      behave_args=behave_args)


def cmd_soak(args: argparse.Namespace) -> int:
    from support.errors import E2etError
    from support.run import new_run_id
    from support.sandboxes import SandboxStartError

    from .orchestrator import SoakInputError, dry_run, start_or_resume
    from .report import write_report

    console = Console(stderr=True)
    cfg = config_from_args(args)
    if args.resume and not args.output:
        print("e2et soak: --resume needs --output <soak directory>", file=sys.stderr)
        return exitcodes.CONFIG
    from support.reporting.paths import reports_root
    output = Path(args.output) if args.output else reports_root() / "soak" / f"soak-{new_run_id()}"
    try:
        if args.dry_run:
            return dry_run(cfg, output, Console(highlight=False))
        soak = start_or_resume(cfg, output, args.resume, console)
        rc = soak.run()
    except (SoakInputError, E2etError, SandboxStartError) as e:
        print(f"e2et soak: {e}", file=sys.stderr)
        return exitcodes.CONFIG
    try:
        c = soak.cfg
        a = write_report(output, Path(c.baseline) if c.baseline else None, c.regression_margin,
                         c.regression_min_delta)
        rate = a["success_rate"]
        console.print(f"report: {output / 'report.md'} — {a['passed']}/{a['cycles']} passed"
                      + (f" ({100 * rate:.1f}%)" if rate is not None else "")
                      + (f", {len(a['regressions'])} regression(s)" if a["regressions"] else ""))
    except Exception as e:  # noqa: BLE001 — the soak's verdict stands even if reporting breaks
        console.print(f"[red]soak report failed: {e}[/]")
    return rc


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare_dirs
    for d in (args.soak_a, args.soak_b):
        if not (Path(d) / "metrics.jsonl").exists() and not (Path(d) / "analysis.json").exists():
            print(f"e2et compare: {d} is not a soak directory (no metrics.jsonl)", file=sys.stderr)
            return exitcodes.CONFIG
    text, flagged = compare_dirs(Path(args.soak_a), Path(args.soak_b), args.margin, args.min_delta,
                                 args.percentile)
    print(text)
    return exitcodes.FAILED if flagged and args.fail_on_regression else exitcodes.OK
