"""behave hooks: run-scoped set-up and teardown, shared by every spec pack.

before_all  loads the profile (bad input → one line, exit 2, nothing created), creates the run
            context, starts the pack's sandbox for `local`, and checks the platform is reachable.
scenarios   get a fresh cleanup stack; what they create is registered when created.
after_all   runs run-scoped cleanups (reverse order) and stops the sandbox, on every exit path,
            including SIGINT/SIGTERM (exit 130/143).
"""
from __future__ import annotations

import atexit
import os
import sys

from support import lifecycle, reporting


def before_all(context):
    lifecycle.install_signal_handlers(context)
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
    reporting.after_all(context)
    code = lifecycle.forced_exit_code(context)
    if code is not None:
        # behave would exit 1 after an abort; SIGINT/SIGTERM must be told apart (130/143).
        atexit.register(lambda: (sys.stdout.flush(), sys.stderr.flush(), os._exit(code)))
