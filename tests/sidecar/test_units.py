"""Unit tests of the pack's judging code and of the stand-in's rules (no processes)."""
from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from sandbox.sidecar.explainer import hif as standin_hif
from sandbox.sidecar.explainer.backpressure import Controller
from sandbox.sidecar.gateway.ratelimit import Bucket
from sandbox.sidecar.pii import Scrubber
from sandbox.sidecar.store import StatusStore
from support.sidecar import analyzer, hif
from support.sidecar.audit_checks import credential_leaks, raw_pii, scrub
from support.sidecar.load import LoadResult, Trace, percentile
from support.sidecar.metrics import Scrape
from support.sidecar.scopes import Answer, judge
from support.sidecar.settings import Audit, SidecarSettings

EMPTY = {"network-type": "directed", "nodes": [], "incidences": [], "meta": {"version": "hif-1"}}


def graph() -> dict:
    return standin_hif.build("What is two plus two?", "It is four. Four is the sum.", granularity="sentence",
                             featureset="sae-gpt4-2m", model="gpt-4o-mini", method="acdc")


def test_empty_graph_and_the_stand_ins_graphs_are_valid_hif():
    assert hif.problems(EMPTY) == []
    for gran in ("sentence", "token"):
        g = standin_hif.build("Tell me a story about circuits.", "Once upon a time. The end!", granularity=gran,
                              featureset="f", model="m", method="shapley")
        assert hif.problems(g) == [], gran
        assert g["nodes"] and g["incidences"]


@pytest.mark.parametrize("break_it, words", [
    (lambda g: g["nodes"][0].update(layer=None), "is not of type 'integer'"),
    (lambda g: g["meta"].update(created_at=1732800000), "created_at"),
    (lambda g: g.update(extra=1), "Additional properties"),
    (lambda g: g["incidences"][0].update(node_ids=["only"]), "too short"),
    (lambda g: g["meta"].update(version="hif-2"), "'hif-1' was expected"),
    (lambda g: g["incidences"][0].update(node_ids=[g["nodes"][0]["id"], "ghost"]), "missing node"),
    (lambda g: g["incidences"][0].update(weight=1.5), "outside"),
    (lambda g: g["nodes"].append({"id": "lonely", "type": "input_token"}), "no incidence references"),
    (lambda g: g["meta"]["limits"].update(max_nodes=1), "exceed max_nodes"),
])
def test_each_contract_violation_is_named(break_it, words):
    g = copy.deepcopy(graph())
    break_it(g)
    found = " | ".join(hif.problems(g))
    assert words in found, found


def test_pii_masks_follow_the_contract_examples_and_are_idempotent():
    s = Scrubber({"PII_MASK_NUMBERS": "1"})
    text = "a@b.io +1 (415) 555-2671 415-555-2671 415.555.2671 card 4111111111111111 pin 1234"
    out = s(text)
    assert out == "[EMAIL] [PHONE] [PHONE] [PHONE] card [NUMBER] pin 1234"
    assert s(out) == out
    assert Scrubber({})("card 4111111111111111") == "card 4111111111111111"      # numbers default off
    a = Audit(mask_numbers=True)
    assert scrub(out, a) == out and raw_pii(out, a) == []
    assert raw_pii("mail x@y.org", a) == ["x@y.org"]


def test_credential_leaks_find_keys_at_any_depth_and_token_values():
    lines = [json.dumps({"a": {"Authorization": "x"}}), json.dumps({"snippet": "has sk-secret-token"}), "{}"]
    leaks = credential_leaks(lines, ["sk-secret-token"])
    assert leaks == ["line 1: key a.Authorization", "line 2: holds a token value"]


def test_scope_judge():
    ok = Answer("chat", "read", "own", 403, "missing_scope", "Missing required scopes: ['traces:write']", None)
    assert judge(ok, owned=False) is None
    assert "expected 403 missing_scope" in judge(Answer("chat", "read", "own", 200, None, "", None), owned=False)
    assert judge(Answer("status", "write", "unknown", 404, None, "", None), owned=True) is None
    assert judge(Answer("cancel", "write", "own", 409, None, "", None), owned=True) is None
    assert "expected [409]" in judge(Answer("cancel", "write", "own", 202, None, "", None), owned=True)


def test_analyzer_worked_example_and_the_plan_comparison():
    rec = {"replicas": {"mean": {"optimistic": {"total": 2}}, "p95": {"conservative": {"total": 0}}}}
    assert analyzer.compare(rec, 2, 16) == []
    rec["replicas"]["p95"]["conservative"]["total"] = 19
    assert analyzer.compare(rec, 2, 16) == ["p95 conservative total 19 > KEDA maxReplicaCount 16 + 2"]
    recs = {"capacity_recommendations": [{"concurrency": 10}, {"concurrency": 100}]}
    assert analyzer.recommendation_for(recs, 80)["concurrency"] == 100


def test_load_summary_has_the_contract_shape():
    r = LoadResult(plan={}, elapsed=2.0, chat_latencies=[0.01, 0.02, 0.03], statuses={200: 2, 429: 1})
    r.traces = [Trace("t1", "sentence", 0, "complete", 0.5), Trace("t2", "token", 0, "failed", 1.0)]
    s = r.summary()
    assert s["chat"]["count"] == 3 and s["chat"]["rps"] == 1.5 and s["chat"]["errors"]["4xx"] == 1
    assert s["chat"]["latency_ms"]["p50"] == 20.0
    assert s["explanation"]["sla_p95_ms"] == {"sentence": 500.0, "token": None}
    assert s["explanation"]["failed_pct"] == 50.0
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)


def test_metrics_scrape_sums_and_finds_trace_ids():
    text = ('# TYPE http_requests_total counter\nhttp_requests_total{path="/v1/traces/_/status",tenant_id="a"} 2\n'
            'http_requests_total{path="/v1/traces/trc_x1/status",tenant_id="a"} 1\n')
    s = Scrape.parse(text)
    assert s.value("http_requests_total", tenant_id="a") == 3
    assert s.trace_id_labels() == ['http_requests_total{path="/v1/traces/trc_x1/status"}']
    assert s.types["http_requests_total"] == "counter"


def test_token_bucket_retry_after_is_whole_seconds_at_least_one():
    b = Bucket(rps=5, burst=2)
    assert b.take() is None and b.take() is None
    assert b.take() == 1
    assert Bucket(rps=0, burst=3).take() is None
    zero = Bucket(rps=0, burst=1)
    zero.take()
    assert zero.take() == 1


def test_status_store_keeps_tenant_and_terminal_state(tmp_path, capsys):
    store = StatusStore(tmp_path / "status.json")
    store.create("t1", "A", "sentence", "f")
    item, created = store.create("t1", "B", "sentence", "f")
    assert not created and item["tenant_id"] == "A"
    assert "status.tenant_immutable_violation" in capsys.readouterr().err
    store.update("t1", state="complete")
    assert store.update("t1", state="canceled")["state"] == "complete"
    assert store.update("t1", tenant_id="B", progress=5)["state"] == "complete"


def test_backpressure_ladder():
    c = Controller({})
    assert c.decide("sentence", 0.1, 1, 1).level == 0
    soft = c.decide("token", 3.5, 1, 1)            # token threshold 3.0 s, hard above 4.5 s
    assert soft.level == 1 and "token->sentence" in soft.actions and "saliency-fallback" not in soft.actions
    assert c.decide("sentence", 1.0, 0, 0, spike="hard").drop
    assert not c.decide("sentence", 1.0, 0, 0, spike="soft").drop
    deep = c.decide("sentence", 5.0, 10, 10)
    assert deep.level == 2 and deep.drop


BASE = {"base_url": "http://127.0.0.1:8080", "auth_token_write": "w"}


def test_settings_defaults_and_token_kinds_from_tokens_json():
    tokens = {"tw": {"tenant_id": "A", "scopes": ["traces:read", "traces:write"]},
              "tr": {"tenant_id": "B", "scopes": "traces:read"}, "wo": {"tenant_id": "A", "scopes": "traces:write"}}
    s = SidecarSettings.model_validate({"base_url": "http://127.0.0.1:8080/", "auth_token_write": "tw",
                                        "auth_tokens_json": json.dumps(tokens), "tenant_a": "A", "tenant_b": "B"})
    assert s.metrics_gateway == "http://127.0.0.1:8080/metrics"
    assert (s.token("read"), s.token("write_only"), s.token("b_write")) == ("tr", "wo", None)


@pytest.mark.parametrize("change, key", [
    ({"base_url": None}, "base_url"),
    ({"auth_token_write": None}, "auth_token_write"),
    ({"auth_tokens_json": "{not json"}, "auth_tokens_json"),
    ({"webhook_host": "10.1.2.3"}, "webhook_host"),
    ({"load": {"attach_rate": 2}}, "load.attach_rate"),
])
def test_bad_settings_name_the_key(change, key):
    data = {**BASE, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ValidationError) as err:
        SidecarSettings.model_validate(data)
    assert key in ".".join(str(x) for x in err.value.errors()[0]["loc"]) or key in str(err.value)
