"""charts/e2et rendered without a cluster: every environment renders and validates against the
Kubernetes schemas, runs exactly once with a deadline, and carries secrets only by reference."""
from __future__ import annotations

import re

import pytest
import yaml

pytest.importorskip("helm_python", reason="pip install -e '.[test]' (helm-python-sdk)")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

from .chart_support import ENVIRONMENTS, by_kind, documents, env_values, job_spec, pod_spec, render, set_path  # noqa: E402

K8S_VERSION = "1.30"
CANARY = "CANARY-s3cr3t-value-0451"


def all_workloads(env: str) -> dict:
    """Values turning on every variant (Job, helm-test Job, CronJob, PVC) for one environment."""
    v = env_values(env)
    v["helmTest"] = {"enabled": True}
    v["cronJob"] = {"enabled": True}
    return v


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_values_file_renders_and_validates_strictly(env):
    docs = documents(all_workloads(env))
    kinds = sorted(d["kind"] for d in docs)
    assert kinds.count("Job") == 2 and "CronJob" in kinds and "ConfigMap" in kinds, kinds
    for d in docs:
        kubernetes_validate.validate(d, K8S_VERSION, strict=True)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_values_file_alone_renders_its_defaults(env):
    docs = documents(env_values(env))
    assert by_kind(docs, "Job"), "the one-shot Job is on by default"
    for d in docs:
        kubernetes_validate.validate(d, K8S_VERSION, strict=True)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_run_is_one_attempt_with_a_deadline(env):
    values = all_workloads(env)
    docs = documents(values)
    runs = by_kind(docs, "Job") + by_kind(docs, "CronJob")
    assert len(runs) == 3
    for obj in runs:
        spec = job_spec(obj)
        assert spec["backoffLimit"] == 0, obj["metadata"]["name"]
        assert spec["activeDeadlineSeconds"] == values["job"]["activeDeadlineSeconds"]
        assert spec["ttlSecondsAfterFinished"] == 86400
        assert pod_spec(obj)["restartPolicy"] == "Never"


def test_ttl_seconds_after_finished_is_configurable_and_can_be_dropped():
    v = env_values("dev")
    v["job"]["ttlSecondsAfterFinished"] = 600
    (job,) = by_kind(documents(v), "Job")
    assert job["spec"]["ttlSecondsAfterFinished"] == 600
    v["job"]["ttlSecondsAfterFinished"] = None      # null in values: keep finished Jobs
    (job,) = by_kind(documents(v), "Job")
    assert "ttlSecondsAfterFinished" not in job["spec"]


def test_helm_test_variant_carries_the_hook_annotation():
    v = env_values("staging")
    v["job"]["enabled"] = False
    v["helmTest"] = {"enabled": True}
    docs = documents(v)
    (test_job,) = by_kind(docs, "Job")
    assert test_job["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert test_job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    # the profile it mounts must exist when only `helm test` creates things
    (cm,) = by_kind(docs, "ConfigMap")
    assert cm["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert int(cm["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0


def test_plain_job_is_not_a_hook():
    (job,) = by_kind(documents(env_values("dev")), "Job")
    assert "helm.sh/hook" not in (job["metadata"].get("annotations") or {})


def test_cronjob_never_overlaps_runs():
    v = env_values("prod")
    v["cronJob"] = {"enabled": True, "schedule": "*/10 * * * *"}
    (cron,) = by_kind(documents(v), "CronJob")
    assert cron["spec"]["schedule"] == "*/10 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_come_from_the_existing_secret_by_reference(env):
    v = env_values(env)
    (job,) = by_kind(documents(v), "Job")
    (container,) = pod_spec(job)["containers"]
    env_vars = {e["name"]: e for e in container["env"]}
    ref = env_vars["E2ET_REGULAR_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": v["secrets"]["existingSecret"], "key": "regular-api-key"}
    for name in ("E2ET_ADMIN_API_KEY", "E2ET_ADMIN_PASSWORD", "E2ET_KAFKA__SASL_PASSWORD"):
        assert env_vars[name]["valueFrom"]["secretKeyRef"]["optional"] is True
    for name, e in env_vars.items():
        if re.search(r"KEY|PASSWORD|TOKEN|SECRET", name):
            assert "value" not in e and "secretKeyRef" in e["valueFrom"], name
    volumes = {vol["name"]: vol for vol in pod_spec(job)["volumes"]}
    assert volumes["kafka-tls"]["secret"]["secretName"] == v["secrets"]["kafkaTls"]["existingSecret"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_literal_secret_anywhere_in_the_rendered_output(env):
    v = all_workloads(env)
    v["extraEnv"] = [{"name": "E2ET_HTTP__TIMEOUT", "value": "20"}]
    text = "\n".join(render(v).values())
    docs = documents(v)
    assert not by_kind(docs, "Secret"), "the chart must never create a Secret with values"
    for cm in by_kind(docs, "ConfigMap"):
        profile = yaml.safe_load(cm["data"]["profile.yaml"])
        for section in ("regular", "admin", "kafka"):
            node = profile.get(section) or {}
            assert not {"api_key", "password", "sasl_password"} & set(node), (section, node)
    assert not re.search(r"(?im)^\s*(api_key|password|sasl_password|token)\s*:", text)


@pytest.mark.parametrize("key", ["regular.api_key", "admin.password", "admin.api_key", "kafka.sasl_password"])
def test_a_secret_written_into_config_is_refused_without_echoing_it(key):
    from helm_python.errors import HelmRenderError

    v = env_values("dev")
    set_path(v, f"config.{key}", CANARY)
    with pytest.raises(HelmRenderError) as err:
        render(v)
    assert f"config.{key}" in str(err.value) and "existingSecret" in str(err.value)
    assert CANARY not in str(err.value)


@pytest.mark.parametrize("missing, empty", [
    ("profile", ""),
    ("image.repository", ""),
    ("secrets.existingSecret", ""),
    ("config.tenant.id", ""),
    ("config.identity.url", ""),
    ("config.regular.username", ""),
    ("config.public_api.url", ""),
    ("config.auth_service.url", ""),
    ("config.ambassador.address", ""),
    ("config.kafka.brokers", []),
])
def test_a_missing_required_value_fails_rendering_naming_it(missing, empty):
    from helm_python.errors import HelmRenderError

    v = env_values("prod")
    set_path(v, missing, empty)
    with pytest.raises(HelmRenderError, match=re.escape(f"{missing} is required")):
        render(v)


def test_chart_defaults_alone_fail_naming_the_first_missing_value():
    from helm_python.errors import HelmRenderError

    with pytest.raises(HelmRenderError, match="profile is required"):
        render({})


def test_results_go_to_a_volume_mounted_at_results():
    v = env_values("dev")
    v["results"] = {"persistence": {"enabled": False}}
    (job,) = by_kind(documents(v), "Job")
    (container,) = pod_spec(job)["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["results"] == "/results"
    assert container["args"][:5] == ["run", "--profile", "dev", "--reports", "/results"]
    vols = {vol["name"]: vol for vol in pod_spec(job)["volumes"]}
    assert vols["results"] == {"name": "results", "emptyDir": {}}

    v["results"] = {"persistence": {"enabled": True, "size": "2Gi"}}
    docs = documents(v)
    (pvc,) = by_kind(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    (job,) = by_kind(docs, "Job")
    vols = {vol["name"]: vol for vol in pod_spec(job)["volumes"]}
    assert vols["results"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]

    v["results"] = {"persistence": {"enabled": True, "existingClaim": "shared-reports"}}
    docs = documents(v)
    assert not by_kind(docs, "PersistentVolumeClaim")
    (job,) = by_kind(docs, "Job")
    vols = {vol["name"]: vol for vol in pod_spec(job)["volumes"]}
    assert vols["results"]["persistentVolumeClaim"]["claimName"] == "shared-reports"


def test_pod_runs_as_non_root_with_a_read_only_root():
    (job,) = by_kind(documents(env_values("prod")), "Job")
    spec = pod_spec(job)
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def test_behave_tags_reach_the_container_args():
    v = env_values("staging")
    v["tags"] = ["@salus", "not @severity:minor"]
    v["behaveArgs"] = ["--stop"]
    (job,) = by_kind(documents(v), "Job")
    args = pod_spec(job)["containers"][0]["args"]
    assert args[5:] == ["--tags", "@salus", "--tags", "not @severity:minor", "--", "--stop"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rendered_profile_is_one_e2et_accepts(env, tmp_path):
    """The ConfigMap's profile.yaml plus the Secret's env vars is a valid e2et configuration."""
    from support.config import load_settings
    from support.errors import ConfigError
    from tests.harness.conftest import REAL_ENDPOINTS

    (cm,) = by_kind(documents(env_values(env)), "ConfigMap")
    path = tmp_path / "profile.yaml"
    path.write_text(cm["data"]["profile.yaml"])
    base = {"E2ET_PROFILE": env, "E2ET_CONFIG": str(path), "E2ET_REGULAR_API_KEY": CANARY}
    with pytest.raises(ConfigError, match="placeholder"):     # the shipped values hold no real host
        load_settings(None, env=base)
    settings = load_settings(None, env={**base, **REAL_ENDPOINTS})
    assert settings.profile == env
    assert settings.salus.kafka.security_protocol == "SSL"
    assert settings.salus.envoy.executable == "/usr/local/bin/telemetry-envoy"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_helm_lint_is_clean_for_every_environment(env):
    import helm_python as helm

    from .chart_support import CHART_DIR

    report = helm.lint(str(CHART_DIR), all_workloads(env), strict=True, namespace="salus", kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not problems, problems
