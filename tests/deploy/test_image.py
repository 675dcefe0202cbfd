"""The container image builds from nothing but apt and PyPI and runs the suite's entry points.

Marked ``docker``: excluded from the default run (it needs a Docker daemon and minutes); CI runs
it as its own step (scripts/ci-docker.sh) after the main tests pass.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TAG = os.environ.get("E2ET_TEST_IMAGE", "e2et:test")

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1500)]


def docker(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.skip("no Docker daemon (bash docker/start-dockerd.sh starts one as root)")
    if os.environ.get("E2ET_TEST_IMAGE_PREBUILT") != "1":
        proc = subprocess.run(["bash", "scripts/docker-build.sh", TAG], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=1200)
        assert proc.returncode == 0, f"image build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        print(proc.stdout.strip().splitlines()[-1])      # "built e2et:test in Ns, M MiB"
    return TAG


def test_e2et_help_runs_in_the_image(image):
    out = docker("run", "--rm", image, "--help").stdout
    assert "run" in out and "serve" in out and "sandbox" in out


def test_behave_dry_run_finds_every_spec_and_step(image):
    proc = docker("run", "--rm", "--entrypoint", "behave", image, "--dry-run", "--tags", "@salus", check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = proc.stdout[proc.stdout.rfind("features passed") - 40:]
    assert "undefined" not in summary and "untested" in summary, summary   # every step has a definition


def test_runs_as_non_root_with_envoy_on_a_fixed_path(image):
    out = docker("run", "--rm", "--entrypoint", "sh", image, "-c",
                 "id -u; test -x /usr/local/bin/telemetry-envoy && telemetry-envoy --help >/dev/null "
                 "&& echo envoy-ok").stdout
    uid, envoy = out.split()
    assert uid != "0" and envoy == "envoy-ok"


def test_results_land_on_the_mounted_volume_with_a_read_only_root(image, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    results.chmod(0o777)
    proc = docker("run", "--rm", "--read-only", "--tmpfs", "/tmp:exec", "-v", f"{results}:/results", image,
                  "run", "--reports", "/results", "--tags", "@salus", "--", "-i", "01_test_run_setup",
                  timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list((results / "junit").glob("*.xml")), "JUnit XML must be written to /results"
