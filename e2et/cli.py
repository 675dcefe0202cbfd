"""The ``e2et`` console command: thin wrappers over behave, the sandbox and the support library."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from . import exitcodes

REPO_ROOT = Path(__file__).resolve().parents[1]


def _behave_cmd(tags: list[str], reports: Path, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "behave"]
    for t in tags:
        cmd += ["--tags", t]
    cmd += ["-f", "allure", "-o", str(reports / "allure-results"), "-f", "pretty",
            "--junit", "--junit-directory", str(reports / "junit")]
    return cmd + extra


def _tag_set_expression(text: str) -> str:
    """A ``--tag-set`` value as one behave tag expression: the older form, tags separated by
    spaces (every word a tag), means all of them; anything else is an expression as written
    (``"@<pack> and not @slow"``)."""
    words = text.split()
    return " and ".join(words) if words and all(w.startswith("@") for w in words) else text


def _bad_tag_expression(expressions: list[str]) -> str | None:
    """One readable line for the first tag expression behave could not parse (behave itself
    answers with a traceback), before any sandbox starts."""
    from cucumber_tag_expressions import TagExpressionError, parse
    for text in expressions:
        try:
            parse(_tag_set_expression(text))
        except TagExpressionError as e:
            why = str(e).splitlines()[0].rstrip(".")
            return (f"bad tag expression {text!r}: {why} — write e.g. '@<pack> and not @slow' "
                    "(behave's tag-expression syntax)")
    return None


def cmd_run(args: argparse.Namespace) -> int:
    """Run behave with profile, tags and report paths; exit code is behave's (0/1) or 2 for config."""
    env = dict(os.environ)
    if args.profile:
        env["E2ET_PROFILE"] = args.profile
    from support.reporting.paths import reports_root
    reports = (Path(args.reports) if args.reports else reports_root()).resolve()
    env["E2ET_REPORTS_DIR"] = str(reports)
    bad = _bad_tag_expression([*(args.tags or []), *args.tag_set])
    if bad:
        print(f"e2et: {bad}", file=sys.stderr)
        return exitcodes.CONFIG
    if args.parallel or args.tag_set:
        from .parallel import run_parallel
        sets = [[_tag_set_expression(t)] for t in args.tag_set]
        sets += [args.tags or []] * (args.parallel or 0)
        return run_parallel(sets, reports, args.profile, args.behave_args)
    cmd = _behave_cmd(args.tags or [], reports, args.behave_args)
    from support.reporting.paths import clear_results
    clear_results(reports / "allure-results")   # the report shows this run; trends live in reports/history
    proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=env)
    return _wait_forwarding_signals(proc)


def _wait_forwarding_signals(proc: subprocess.Popen) -> int:
    """Forward SIGINT/SIGTERM to the child so its cleanups run, then mirror its exit code."""
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)
    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        rc = proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return exitcodes.of_child(rc)


def cmd_sandbox(args: argparse.Namespace) -> int:
    if args.sandbox_cmd == "up":
        from support.reporting.paths import reports_root

        from .sandbox_cli import sandbox_up
        return sandbox_up(args.packs, Path(args.dir) if args.dir else reports_root() / "sandbox", args.config,
                          args.fault)
    if args.sandbox_cmd == "fault":
        from .sandbox_cli import sandbox_fault
        return sandbox_fault(args.name, args.param, args.off, args.pack, args.profile_file)
    return exitcodes.CONFIG


def cmd_janitor(args: argparse.Namespace) -> int:
    """Remove leftovers of dead e2et runs, pack by pack (each pack's own guard and age rule)."""
    import datetime as dt

    from support import packs
    from support.config import load_settings
    from support.durations import go_duration
    from support.errors import E2etError
    from support.run import RunContext
    try:
        settings = load_settings(args.profile, packs=args.pack or None)
        run = RunContext()
        run.configure(settings.http.timeout, settings.timeout_multiplier)
        older = dt.timedelta(seconds=go_duration(args.older_than))
        results = {name: packs.get(name).janitor(settings.section(name), run, older, set(args.keep_run), args.dry_run)
                   for name in settings.pack_names()}
    except (E2etError, ValueError, AssertionError) as e:
        print(f"e2et janitor: {e}", file=sys.stderr)
        return exitcodes.CONFIG
    verb = "would remove" if args.dry_run else "removed"
    for name, counts in results.items():
        print(f"janitor {verb} ({name}): " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing"))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Service mode: GET / runs the suite (200/500/423), GET /metrics is Prometheus text."""
    from support.reporting.paths import reports_root

    from .serve import serve
    return serve(args.port, args.host, args.profile, args.tags or [], Path(args.reports or reports_root()),
                 run_timeout=args.run_timeout, behave_args=args.behave_args, keep_runs=args.keep_runs)


def cmd_report(args: argparse.Namespace) -> int:
    """Render the Allure HTML report (npm allure CLI); exit 2 with a fix when tools or results are missing."""
    from support.reporting.paths import reports_root

    from .report import main as report_main
    root = reports_root()
    return report_main(args.results or str(root / "allure-results"), args.output or str(root / "allure-report"),
                       args.name)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="e2et", description="End-to-end acceptance suite (behave).")
    sub = p.add_subparsers(dest="cmd", required=True)

    run = sub.add_parser("run", help="run the specs (wraps behave with profile, tags, reports)")
    run.add_argument("--profile", help="local (default), dev, staging, prod")
    run.add_argument("--tags", action="append", help="behave tag expression (repeatable); default: every pack")
    run.add_argument("--reports", help="report root for every file the run writes (default $E2ET_REPORTS_DIR "
                     "or reports/)")
    run.add_argument("--parallel", type=int, default=0, metavar="N",
                     help="start N independent flows (distinct run ids) against one shared environment")
    run.add_argument("--tag-set", action="append", default=[], metavar="EXPR",
                     help="one more parallel flow selecting this tag expression, e.g. '@<pack> and "
                     "not @feature:x' (or '@a @b': all of these tags); repeatable")
    run.add_argument("behave_args", nargs=argparse.REMAINDER, help="-- extra behave arguments")
    run.set_defaults(func=cmd_run)

    sb = sub.add_parser("sandbox", help="the local stand-ins of the systems under test")
    sbs = sb.add_subparsers(dest="sandbox_cmd", required=True)
    up = sbs.add_parser("up", help="start one or more packs' sandboxes in the foreground (default: every pack's)")
    up.add_argument("packs", nargs="*", metavar="PACK", help="packs whose sandbox to start")
    up.add_argument("--dir", help="each sandbox writes <dir>/<pack>/profile.yaml (default <reports>/sandbox)")
    up.add_argument("--config", action="append", default=[], metavar="[PACK=]FILE",
                    help="sandbox configuration overrides (YAML) for a pack")
    up.add_argument("--fault", action="append", default=[], metavar="[PACK:]NAME[=PARAM]",
                    help="start with a fault switched on (repeatable)")
    fault = sbs.add_parser("fault", help="switch a fault of a running sandbox on or off")
    fault.add_argument("name", nargs="?", help="fault name ('all' with --off clears every fault)")
    fault.add_argument("--pack", help="the pack whose sandbox to switch (default: the one that has the fault)")
    fault.add_argument("--param")
    fault.add_argument("--off", action="store_true")
    fault.add_argument("--profile-file", help="the sandbox profile file(s) (default: E2ET_SANDBOX_PROFILE, "
                       "else reports/sandbox/*/profile.yaml)")
    sb.set_defaults(func=cmd_sandbox)

    jan = sub.add_parser("janitor", help="remove leftovers of dead e2et runs (each pack's own rules)")
    jan.add_argument("--pack", action="append", help="only this pack (repeatable; default every configured pack)")
    jan.add_argument("--profile", help="local (needs E2ET_SANDBOX_PROFILE), dev, staging, prod")
    jan.add_argument("--older-than", default="6h", help="only runs started longer ago than this (Go duration)")
    jan.add_argument("--keep-run", action="append", default=[], help="never touch this run id (repeatable)")
    jan.add_argument("--dry-run", action="store_true", help="list counts, delete nothing")
    jan.set_defaults(func=cmd_janitor)

    rep = sub.add_parser("report", help="render reports/allure-results as HTML in reports/allure-report")
    rep.add_argument("--results", help="Allure results directory (default <reports>/allure-results)")
    rep.add_argument("--output", help="HTML report directory, replaced (default <reports>/allure-report)")
    rep.add_argument("--name", default="e2et", help="report title")
    rep.set_defaults(func=cmd_report)

    srv = sub.add_parser("serve", help="service mode: GET / runs the suite, GET /metrics for Prometheus")
    srv.add_argument("--port", type=int, default=8080)
    srv.add_argument("--host", default="0.0.0.0", help="address to bind (default all interfaces)")
    srv.add_argument("--profile", help="local (default), dev, staging, prod")
    srv.add_argument("--tags", action="append", help="behave tag expression (repeatable); default: every pack")
    srv.add_argument("--reports", help="report root; each run under <reports>/serve/ (default $E2ET_REPORTS_DIR "
                     "or reports/)")
    srv.add_argument("--run-timeout", type=float, default=None, metavar="SECONDS",
                     help="stop a run taking longer than this (it still cleans up)")
    srv.add_argument("--keep-runs", type=int, default=20, metavar="N",
                     help="keep the newest N run folders under <reports>/serve/ (default 20)")
    srv.add_argument("behave_args", nargs=argparse.REMAINDER, help="-- extra behave arguments for every run")
    srv.set_defaults(func=cmd_serve)

    from .soak.cli import add_parsers as add_soak_parsers  # `soak` and `compare` (e2et/soak/cli.py)
    add_soak_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "behave_args", None) and args.behave_args[:1] == ["--"]:
        args.behave_args = args.behave_args[1:]
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
