"""behave hooks: run-scoped set-up and teardown, shared by every spec pack.

before_all  puts every report file under the report root, selects the packs (behave's tag
            evaluation), starts their sandboxes for `local`, loads their settings (bad input → one
            line, exit 2, nothing created) and checks the platforms are reachable.
scenarios   get a fresh cleanup stack; what they create is registered when created.
after_all   runs run-scoped cleanups (reverse order) and stops the sandboxes, on every exit path,
            including SIGINT/SIGTERM (exit 130/143); the console ends with the verdict and the
            paths of the summary and the HTML report.
"""
from __future__ import annotations

import atexit
import os
import sys

from support import lifecycle, reporting


def before_all(context):
    lifecycle.install_signal_handlers(context)
    reporting.prepare(context)
    try:
        lifecycle.start_run(context)
    except lifecycle.FatalInput as e:
        lifecycle.stop_run(context)
        print(f"e2et: {e}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(e.exit_code)
    reporting.before_all(context)


def before_feature(context, feature):
    with reporting.before_feature_guard(context, feature):
        lifecycle.before_feature(context, feature)


def before_scenario(context, scenario):
    lifecycle.before_scenario(context, scenario)
    reporting.before_scenario(context, scenario)


def after_scenario(context, scenario):
    # evidence is collected before the scenario's cleanups stop envoys and watchers
    reporting.after_scenario(context, scenario, lambda: lifecycle.after_scenario(context, scenario))


def after_all(context):
    lifecycle.stop_run(context)
    verdict = reporting.after_all(context)
    code = lifecycle.forced_exit_code(context)

    def finish() -> None:
        # after behave's own summary (atexit runs last): the verdict and where to read more; behave
        # captures hook output, so this goes to the real stdout
        out = sys.__stdout__ or sys.stdout
        sys.stdout.flush()
        print("\n".join(verdict), file=out, flush=True)
        if code is not None:
            # behave would exit 1 after an abort; SIGINT/SIGTERM must be told apart (130/143)
            sys.stderr.flush()
            os._exit(code)
    atexit.register(finish)
