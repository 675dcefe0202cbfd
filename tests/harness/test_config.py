"""Profiles, overrides, the Go tool's keys, secret rules and every bad-input message."""
from __future__ import annotations

from pathlib import Path

import pytest

from support.config import load_settings
from support.errors import ConfigError
from support.salus.pack import PACK

from .conftest import REAL_ENDPOINTS, write_yaml

KEY = {"E2ET_REGULAR_API_KEY": "regular-api-key-123"}


def test_local_profile_reads_sandbox_file_with_inline_secrets(sandbox_profile: Path) -> None:
    s = load_settings(None, {"E2ET_SANDBOX_PROFILE": str(sandbox_profile)})
    assert s.profile == "local" and s.salus.tenant.id == "123456"
    assert s.salus.regular.api_key.get_secret_value() == "regular-secret-key"
    assert {"admin", "public_zone", "faults"} <= PACK.capabilities(s.salus)
    assert "kafka_tls" not in PACK.capabilities(s.salus)
    assert s.salus.public_api.url.endswith("/v1.0/")


def test_local_without_sandbox_explains_how() -> None:
    with pytest.raises(ConfigError, match="E2ET_SANDBOX_PROFILE"):
        load_settings("local", {})


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_shipped_real_profiles_hold_only_placeholders_and_refuse_to_run_on_them(name: str) -> None:
    """A user who sets only an API key must never reach a real (or guessed) host by accident."""
    text = (Path(__file__).resolve().parents[2] / "profiles" / f"{name}.yaml").read_text()
    assert "rackspacecloud" not in text and "github.com" not in text
    with pytest.raises(ConfigError) as e:
        load_settings(name, KEY)
    msg = str(e.value)
    assert "placeholder" in msg and "CHANGE-ME" in msg and "E2ET_" in msg and "\n" not in msg
    for key, _ in REAL_ENDPOINTS.items():           # each placeholder is named until its value is given
        env = {**KEY, **{k: v for k, v in REAL_ENDPOINTS.items() if k != key}}
        with pytest.raises(ConfigError, match=key):
            load_settings(name, env)


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_real_profiles_load_with_key_and_endpoints_from_env(name: str) -> None:
    s = load_settings(name, {**KEY, **REAL_ENDPOINTS})
    assert s.profile == name and s.salus.tenant.id == "654321"
    assert s.salus.identity.url == "https://identity.e2et.test/v2.0/"
    assert s.salus.public_api.url.startswith("https://") and s.salus.public_api.url.endswith("/v1.0/")
    assert "kafka_tls" in PACK.capabilities(s.salus)
    assert "admin" not in PACK.capabilities(s.salus)          # no admin secret given


def test_real_profile_needs_regular_key() -> None:
    with pytest.raises(ConfigError, match="E2ET_REGULAR_API_KEY"):
        load_settings("dev", REAL_ENDPOINTS)


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(ConfigError) as e:
        load_settings("qa", {})
    assert "unknown profile 'qa'" in str(e.value) and "local, dev, staging, prod" in str(e.value)


def test_nested_env_overrides(tmp_path: Path, real_profile_data: dict) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    s = load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg), "E2ET_EVENTS__TIMEOUT": "60",
                                 "E2ET_EVENTS__FORMAT": "kapacitor", "E2ET_EVENTS__TOPIC": "alerts",
                                 "E2ET_KAFKA__BROKERS": "a:1,b:2",
                                 "E2ET_TENANT__DEDICATED": "false", "E2ET_HTTP__TIMEOUT": "2s"})
    assert s.salus.events.timeout == 60 and s.salus.events.format == "kapacitor"
    assert s.salus.kafka.brokers == ["a:1", "b:2"] and s.salus.tenant.dedicated is False and s.http.timeout == 2


def test_go_keys_flat_in_yaml(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "go.yaml", {
        "mode": "dev", "tenant.id": "777", "regular.id": "u1", "admin.id": "adm",
        "public.api.url": "http://p:1/v1.0/", "admin.api.url": "http://a:1/", "identity.url": "http://i:1/v2.0/",
        "auth.url": "http://au:1", "ambassador.address": "amb:6565", "kafka.brokers": "k1:9093,k2:9093",
        "event.topic": "salus.events.json", "event.timeout": "5m", "cert.dir": "/certs", "cert.file": "c.pem",
        "key.file": "k.pem", "ca.file": "ca.pem", "envoy.tarball.linux": "http://d/e.tgz",
        "envoy.tarball.darwin": "http://d/m.tgz", "telegraf.version": "1.13.2"})
    s = load_settings("x", {**KEY, "E2ET_CONFIG": str(cfg)})
    assert (s.salus.tenant.id, s.salus.regular.username, s.salus.admin.username) == ("777", "u1", "adm")
    assert s.salus.public_api.url == "http://p:1/v1.0/" and s.salus.admin_api.url == "http://a:1/"
    assert s.salus.auth_service.url == "http://au:1/" and s.salus.ambassador.address == "amb:6565"
    assert s.salus.kafka.brokers == ["k1:9093", "k2:9093"] and s.salus.kafka.security_protocol == "SSL"
    assert s.salus.kafka.ssl_certfile == "/certs/c.pem" and s.salus.kafka.ssl_cafile == "/certs/ca.pem"
    assert s.salus.events.topic == "salus.events.json" and s.salus.events.timeout == 300
    assert s.salus.events.format == "kapacitor"          # Go-e2et's topic carries Kapacitor alerts
    assert s.salus.envoy.tarball_url_linux == "http://d/e.tgz" and s.salus.agent_release.version == "1.13.2"


@pytest.mark.parametrize(("topic", "era"), [("salus.state-change-events.json", "state-change"),
                                           ("salus.event-notifications.json", "notification"),
                                           ("my.events", "notification")])
def test_event_format_follows_a_known_era_topic(tmp_path: Path, real_profile_data: dict, topic: str,
                                                era: str) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", {**real_profile_data, "events": {"topic": topic}})
    assert load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg)}).salus.events.format == era


def test_event_format_contradicting_its_era_topic_is_refused(tmp_path: Path, real_profile_data: dict) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    with pytest.raises(ConfigError) as e:
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg), "E2ET_EVENT_TOPIC": "salus.events.json",
                                 "E2ET_EVENTS__FORMAT": "notification"})
    assert "salus.events.json carries kapacitor events but format is notification" in str(e.value)
    assert "E2ET_EVENTS__FORMAT=kapacitor" in str(e.value)


def test_go_keys_viper_nested_in_yaml(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "go.yaml", """
tenant: {id: 778}
regular: {id: u2}
admin: {id: adm2, api: {url: "http://a:1/"}}
public: {api: {url: "http://p:1/v1.0/"}}
identity: {url: "http://i:1/v2.0/"}
auth: {url: "http://au:1"}
ambassador: {address: "amb:6565"}
kafka: {brokers: "k:9092"}
event: {topic: t, timeout: 30s}
envoy: {tarball: {linux: "http://d/e.tgz"}}
""")
    s = load_settings("x", {**KEY, "E2ET_CONFIG": str(cfg)})
    assert s.salus.tenant.id == "778" and s.salus.admin.username == "adm2" and s.salus.admin_api.url == "http://a:1/"
    assert s.salus.events.timeout == 30 and s.salus.kafka.security_protocol == "PLAINTEXT"
    assert s.salus.envoy.tarball_url_linux == "http://d/e.tgz"


def test_go_env_names_override(tmp_path: Path, real_profile_data: dict) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    s = load_settings("custom", {"E2ET_CONFIG": str(cfg), "E2ET_PUBLIC_API_URL": "http://p:9/v1.0/",
                                 "E2ET_TENANT_ID": "999", "E2ET_REGULAR_API_KEY": "rk-0001",
                                 "E2ET_ADMIN_API_KEY": "ak-0002", "E2ET_ADMIN_PASSWORD": "pw-0003",
                                 "E2ET_EVENT_TIMEOUT": "1m", "E2ET_KAFKA_BROKERS": "x:1,y:2",
                                 "E2ET_ENVOY_TARBALL_LINUX": "http://t/e.tgz"})
    assert s.salus.public_api.url == "http://p:9/v1.0/" and s.salus.tenant.id == "999" and s.salus.events.timeout == 60
    assert s.salus.kafka.brokers == ["x:1", "y:2"] and s.salus.envoy.tarball_url_linux == "http://t/e.tgz"
    assert sorted(s.secrets()) == ["ak-0002", "pw-0003", "rk-0001"]
    assert "admin" in PACK.capabilities(s.salus)


def test_secret_files(tmp_path: Path, real_profile_data: dict) -> None:
    (tmp_path / "key").write_text("from-a-file-1\n")
    (tmp_path / "pw").write_text("pw-from-file\n")
    real_profile_data["regular"]["api_key_file"] = str(tmp_path / "key")
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    s = load_settings("custom", {"E2ET_CONFIG": str(cfg), "E2ET_ADMIN__PASSWORD_FILE": str(tmp_path / "pw")})
    assert s.salus.regular.api_key.get_secret_value() == "from-a-file-1"
    assert s.salus.admin.password.get_secret_value() == "pw-from-file"


def test_literal_secret_in_real_profile_is_refused(tmp_path: Path, real_profile_data: dict) -> None:
    real_profile_data["admin"]["password"] = "oops"
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    with pytest.raises(ConfigError) as e:
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg)})
    assert "admin.password is a secret" in str(e.value) and "E2ET_ADMIN_PASSWORD" in str(e.value)
    assert "oops" not in str(e.value)


def test_literal_go_secret_key_is_refused(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", {"regular.api.key": "leaked"})
    with pytest.raises(ConfigError, match=r"regular\.api_key is a secret.*E2ET_REGULAR_API_KEY"):
        load_settings("x", {"E2ET_CONFIG": str(cfg)})


def test_missing_url_names_key_and_env_var(tmp_path: Path, real_profile_data: dict) -> None:
    del real_profile_data["public_api"]
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    with pytest.raises(ConfigError) as e:
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg)})
    assert "public_api.url is missing" in str(e.value) and "E2ET_PUBLIC_API_URL" in str(e.value)


def test_bad_url(tmp_path: Path, real_profile_data: dict) -> None:
    real_profile_data["identity"]["url"] = "identity.example.com"
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    with pytest.raises(ConfigError, match=r"identity\.url: not an http\(s\) URL.*E2ET_IDENTITY_URL"):
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg)})


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "bad.yaml", "tenant:\n  id: 1\n  x: [unclosed\nother: 2\n")
    with pytest.raises(ConfigError) as e:
        load_settings("x", {"E2ET_CONFIG": str(cfg)})
    assert str(cfg) in str(e.value) and "line" in str(e.value) and "\n" not in str(e.value)


def test_unknown_key_and_bad_values(tmp_path: Path, real_profile_data: dict) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", {**real_profile_data, "evnts": {"timeout": 1}})
    with pytest.raises(ConfigError, match="unknown key 'evnts'"):
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg)})
    cfg = write_yaml(tmp_path / "d.yaml", real_profile_data)
    with pytest.raises(ConfigError, match=r"events\.format"):
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg), "E2ET_EVENTS__FORMAT": "xml"})
    with pytest.raises(ConfigError, match="not host:port"):
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg), "E2ET_KAFKA_BROKERS": "nohost"})
    with pytest.raises(ConfigError, match="unknown setting section 'evnts'"):
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(cfg), "E2ET_EVNTS__TIMEOUT": "1"})
    with pytest.raises(ConfigError, match=r"missing file|not found"):
        load_settings("custom", {**KEY, "E2ET_CONFIG": str(tmp_path / "nope.yaml")})


def test_sasl_needs_password(tmp_path: Path, real_profile_data: dict) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", real_profile_data)
    env = {**KEY, "E2ET_CONFIG": str(cfg), "E2ET_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
           "E2ET_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512", "E2ET_KAFKA__SASL_USERNAME": "u"}
    with pytest.raises(ConfigError, match="E2ET_KAFKA__SASL_PASSWORD"):
        load_settings("custom", env)
    s = load_settings("custom", {**env, "E2ET_KAFKA__SASL_PASSWORD": "sasl-pw-1"})
    assert "kafka_sasl" in PACK.capabilities(s.salus) and "sasl-pw-1" in s.secrets()


def test_secrets_never_in_redacted_dict_or_repr(sandbox_profile: Path) -> None:
    s = load_settings("local", {"E2ET_SANDBOX_PROFILE": str(sandbox_profile),
                                "E2ET_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT", "E2ET_KAFKA__SASL_USERNAME": "u",
                                "E2ET_KAFKA__SASL_PASSWORD": "sasl-secret-9"})
    dumped = repr(s.redacted_dict()) + repr(s) + str(s)
    for secret in ("regular-secret-key", "admin-secret-pw", "sasl-secret-9"):
        assert secret not in dumped
        assert secret in s.secrets()
    assert s.redacted_dict()["salus"]["regular"]["api_key"] == "***"
