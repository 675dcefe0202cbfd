"""Service mode (``e2et serve``): status codes, concurrency, resilience and metrics, with a fake
suite runner injected into the server, plus one real run of behave through it on the sandbox."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from e2et.serve import SuiteService, make_server
from e2et.suite_run import BehaveSuiteRunner, RunResult, ScenarioResult, parse_behave_json

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeRunner:
    """Returns queued outcomes; a threading.Event can hold a run open to test 423."""

    def __init__(self, *outcomes: object, hold: threading.Event | None = None) -> None:
        self.outcomes = list(outcomes)
        self.hold = hold
        self.started = threading.Event()
        self.calls = 0

    def __call__(self) -> RunResult:
        self.calls += 1
        self.started.set()
        if self.hold is not None:
            assert self.hold.wait(10), "test never released the run"
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def result(exit_code: int, *scenarios: tuple[str, str, str], duration: float = 2.5,
           error: str | None = None) -> RunResult:
    now = time.time()
    return RunResult(exit_code=exit_code, started=now - duration, finished=now, error=error,
                     scenarios=[ScenarioResult(feature=f, name=n, status=s) for f, n, s in scenarios])


def passed() -> RunResult:
    """A fresh passing result (timestamps of now: module-level ones would age during a long run)."""
    return result(0, ("Envoy presence", "A new envoy attaches", "passed"), ("Agent installs", "Uninstall", "skipped"))


def failed() -> RunResult:
    return result(1, ("Envoy presence", "A new envoy attaches", "failed"), ("Failure events", "TCP critical", "passed"))


@contextmanager
def running(service: SuiteService):
    server = make_server(service, "127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def get(url: str, timeout: float = 30) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text (labels matched exactly, in any order)."""
    from prometheus_client.parser import text_string_to_metric_families

    for fam in text_string_to_metric_families(metrics):
        for s in fam.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None


def test_a_passing_run_answers_200_with_the_summary():
    with running(SuiteService(FakeRunner(passed()))) as url:
        status, ctype, body = get(url + "/")
    assert status == 200 and ctype.startswith("application/json")
    summary = json.loads(body)
    assert summary["result"] == "passed" and summary["exit_code"] == 0
    assert summary["scenarios"] == {"passed": 1, "skipped": 1}
    assert summary["failed_scenarios"] == [] and summary["duration_seconds"] == pytest.approx(2.5, abs=0.01)


def test_a_failing_run_answers_500_naming_the_failed_scenario():
    with running(SuiteService(FakeRunner(failed()))) as url:
        status, _, body = get(url + "/")
    assert status == 500
    summary = json.loads(body)
    assert summary["result"] == "failed" and summary["exit_code"] == 1
    assert [s["name"] for s in summary["failed_scenarios"]] == ["A new envoy attaches"]


def test_a_second_concurrent_request_gets_423_and_the_first_completes():
    hold = threading.Event()
    runner = FakeRunner(passed(), hold=hold)
    with running(SuiteService(runner)) as url:
        first: dict = {}
        t = threading.Thread(target=lambda: first.update(zip(("status", "ctype", "body"), get(url + "/"),
                                                             strict=False)))
        t.start()
        assert runner.started.wait(5)
        status, _, body = get(url + "/", timeout=5)
        assert status == 423 and json.loads(body)["result"] == "busy"
        _, _, metrics = get(url + "/metrics", timeout=5)        # /metrics answers during a run
        assert sample(metrics, "e2et_run_in_progress") == 1
        hold.set()
        t.join(10)
    assert first["status"] == 200 and runner.calls == 1


def test_the_server_survives_a_failing_and_a_crashing_run():
    runner = FakeRunner(failed(), RuntimeError("behave not found"), passed())
    with running(SuiteService(runner)) as url:
        assert get(url + "/")[0] == 500
        status, _, body = get(url + "/")
        assert status == 500 and "behave not found" in json.loads(body)["error"]
        assert get(url + "/")[0] == 200, "the lock must be released after a crash"
        _, _, metrics = get(url + "/metrics")
    assert sample(metrics, "e2et_runs_total", result="failed") == 2
    assert sample(metrics, "e2et_runs_total", result="passed") == 1


def test_metrics_expose_success_duration_timestamp_and_per_scenario_status():
    runner = FakeRunner(failed(), passed())
    with running(SuiteService(runner)) as url:
        status, ctype, metrics = get(url + "/metrics")
        assert status == 200 and ctype.startswith("text/plain")
        assert sample(metrics, "e2et_last_run_success") == 0    # no run yet: not healthy
        get(url + "/")
        _, _, metrics = get(url + "/metrics")
        assert sample(metrics, "e2et_last_run_success") == 0
        assert sample(metrics, "e2et_last_run_exit_code") == 1
        assert sample(metrics, "e2et_scenario_status", feature="Envoy presence",
                      scenario="A new envoy attaches", e2et_scenario_status="failed") == 1
        get(url + "/")
        _, _, metrics = get(url + "/metrics")
    assert sample(metrics, "e2et_last_run_success") == 1
    assert sample(metrics, "e2et_last_run_duration_seconds") == pytest.approx(2.5, abs=0.01)
    assert sample(metrics, "e2et_last_run_timestamp_seconds") == pytest.approx(time.time(), abs=60)
    assert sample(metrics, "e2et_scenario_status", feature="Envoy presence",
                  scenario="A new envoy attaches", e2et_scenario_status="passed") == 1
    # scenarios of earlier runs only: "TCP critical" is not in the last run
    assert sample(metrics, "e2et_scenario_status", feature="Failure events",
                  scenario="TCP critical", e2et_scenario_status="passed") is None


def test_secrets_in_the_environment_never_reach_a_response(monkeypatch):
    secret = "rk-0451-very-secret"
    monkeypatch.setenv("E2ET_REGULAR_API_KEY", secret)
    leaky = result(2, error=f"identity refused key {secret}")
    with running(SuiteService(FakeRunner(leaky), log=open("/dev/null", "w"))) as url:
        status, _, body = get(url + "/")
    assert status == 500 and secret not in body and "***" in body


def test_unknown_paths_are_404():
    with running(SuiteService(FakeRunner())) as url:
        assert get(url + "/nope")[0] == 404


def test_behave_json_is_read_into_per_scenario_results(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps([{"name": "F", "elements": [
        {"type": "background", "name": "bg"},
        {"type": "scenario", "name": "S1", "status": "passed", "location": "f:3"},
        {"type": "scenario", "name": "S2", "status": "failed", "location": "f:9"}]}]))
    got = parse_behave_json(tmp_path / "b.json")
    assert [(s.name, s.status) for s in got] == [("S1", "passed"), ("S2", "failed")]
    assert parse_behave_json(tmp_path / "missing.json") == []


@pytest.mark.acceptance
@pytest.mark.timeout(400)
def test_a_real_run_through_the_server_on_the_local_sandbox(tmp_path, monkeypatch):
    """behave --tags @salus -i 01_test_run_setup as a child of the server (sandbox started by it)."""
    monkeypatch.delenv("E2ET_SANDBOX_PROFILE", raising=False)
    monkeypatch.delenv("E2ET_CONFIG", raising=False)
    runner = BehaveSuiteRunner("local", ["@salus"], tmp_path / "reports", timeout=360,
                               extra_args=["-i", "01_test_run_setup"])
    with running(SuiteService(runner, log=open("/dev/null", "w"))) as url:
        status, _, body = get(url + "/", timeout=380)
        _, _, metrics = get(url + "/metrics")
    summary = json.loads(body)
    log = Path(summary["run_dir"]) / "behave.log"
    assert status == 200, f"{summary}\n--- behave.log tail:\n" + "\n".join(log.read_text().splitlines()[-40:])
    assert summary["scenarios"].get("passed", 0) >= 3 and not summary["failed_scenarios"]
    assert sample(metrics, "e2et_last_run_success") == 1
    assert (Path(summary["run_dir"]) / "junit").is_dir()
