"""A throwaway pack ("demo"), written into a temp copy of the repository by test_minimal_pack.py.

It is the smallest system the pack protocol admits: one feature, one step module, a declaration,
a settings model, a world, and a stdlib HTTP sandbox with one fault switch — enough to prove that
every shared command works for a system the harness has never heard of.
"""
from __future__ import annotations

FILES: dict[str, str] = {
    "features/demo/01_greeting.feature": '''\
@demo @epic:demo @feature:greeting
Feature: Greeting
  The demo service greets whoever asks.

  @severity:critical @story:greet
  Scenario: The demo service greets this run
    When this run asks the demo service for a greeting
    Then the demo service answers hello

  @severity:minor @story:alone @exclusive
  Scenario: The demo service is used by this run alone
    When this run holds the demo service for a moment
''',
    "steps/demo_steps.py": '''\
from behave import then, when
from hamcrest import assert_that, equal_to

from support.demo.world import world_of


@when("this run asks the demo service for a greeting")
def ask(context):
    context.scenario_state["greeting"] = world_of(context).greeting()


@when("this run holds the demo service for a moment")
def hold(context):
    log_interval(context, hold=0.6)


def log_interval(context, hold=0.3):
    """Test pack only: record when a scenario used the service, held long enough to overlap."""
    import os
    import threading
    import time
    start = time.time()
    threading.Event().wait(hold)
    path = os.environ.get("DEMO_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(f"{context.run.run_id} {context.scenario.name} {start} {time.time()}\\n")


@then("the demo service answers hello")
def answers_hello(context):
    log_interval(context)
    got = context.scenario_state["greeting"]
    assert_that(got, equal_to("hello"), f"the demo service greeted {got!r} instead of hello")
''',
    "support/demo/__init__.py": "",
    "support/demo/settings.py": '''\
from pydantic import SecretStr

from ..packs import PackSettings


class DemoSettings(PackSettings):
    url: str
    token: SecretStr | None = None
''',
    "support/demo/world.py": '''\
from typing import Any

from ..http import ApiClient
from ..world import BaseWorld
from ..world import world_of as _world_of


class DemoWorld(BaseWorld):
    def __init__(self, settings: Any, run: Any, run_cleanup: Any = None) -> None:
        super().__init__(settings, run, run_cleanup)
        self.api = ApiClient(settings.url, run.http_timeout, self.exchanges, service="demo service",
                             setting="demo.url")

    def greeting(self) -> str:
        return self.api.get("greet", expect=(200,))["greeting"]

    def close(self) -> None:
        super().close()
        self.api.close()


def world_of(context: Any) -> DemoWorld:
    return _world_of(context, "demo")
''',
    "support/demo/pack.py": '''\
from ..packs import Endpoint, Pack
from .settings import DemoSettings


class DemoPack(Pack):
    name = "demo"
    title = "Demo greeting service"
    settings_model = DemoSettings
    sandbox_module = "sandbox.demo"
    fault_catalog_module = "sandbox.demo.faults"
    leak_markers = ("sandbox.demo",)

    def world(self, settings, run, run_cleanup):
        from .world import DemoWorld
        return DemoWorld(settings, run, run_cleanup)

    def endpoints(self, s):
        return [Endpoint("url", s.url)]

    def janitor(self, s, run, older_than, keep_runs, dry_run):
        return {"greetings": 0}

    def unavailable_reason(self):
        import os
        return os.environ.get("DEMO_UNAVAILABLE") or None


PACK = DemoPack()
''',
    "sandbox/demo/__init__.py": "",
    "sandbox/demo/faults.py": '''\
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultSpec:
    name: str
    description: str


CATALOG = {"wrong-greeting": FaultSpec("wrong-greeting", "the service answers bye instead of hello")}
''',
    "sandbox/demo/__main__.py": '''\
import argparse
import http.server
import json
import os
import signal
import sys
import threading

from .faults import CATALOG

ACTIVE: dict = {}


class Handler(http.server.BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _faults(self):
        return {"active": dict(ACTIVE), "catalog": {k: v.description for k, v in CATALOG.items()}}

    def do_GET(self):
        if self.path == "/greet":
            return self._send(200, {"greeting": "bye" if "wrong-greeting" in ACTIVE else "hello"})
        if self.path == "/_sandbox/faults":
            return self._send(200, self._faults())
        self._send(404, {"error": "not found"})

    def do_PUT(self):
        name = self.path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        param = json.loads(self.rfile.read(length) or b"{}").get("param")
        if name not in CATALOG:
            return self._send(404, {"error": f"unknown fault {name}"})
        ACTIVE[name] = param
        self._send(200, self._faults())

    def do_DELETE(self):
        name = self.path.rsplit("/", 1)[-1]
        if name == "faults":
            ACTIVE.clear()
        else:
            ACTIVE.pop(name, None)
        self._send(200, self._faults())

    def log_message(self, *args):
        pass


def main(argv=None):
    p = argparse.ArgumentParser(prog="sandbox.demo")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--profile-out", required=True)
    up.add_argument("--log-file")
    up.add_argument("--config")
    up.add_argument("--data-dir")
    up.add_argument("--fault", action="append", default=[])
    up.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    for f in args.fault:
        name, _, param = f.partition("=")
        if name not in CATALOG:
            print(f"e2et sandbox: unknown fault {name!r}: choose one of {', '.join(CATALOG)}", file=sys.stderr)
            return 2
        ACTIVE[name] = param or None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if args.log_file:
        open(args.log_file, "a").write(f"demo sandbox on {base}\\n")
    import yaml
    tmp = args.profile_out + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump({"demo": {"url": base + "/", "token": "demo-secret-token-1",
                                 "sandbox": {"control_url": base + "/_sandbox/", "log_file": args.log_file or "",
                                             "pid": os.getpid()}}}, fh)
    os.replace(tmp, args.profile_out)
    stop = threading.Event()
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
''',
}
