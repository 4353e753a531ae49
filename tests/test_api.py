"""The HTTP API: submit content, read decisions, roles and tenants, and bad input that changes nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings

from .test_pipeline import counts, make_pipeline


@pytest.fixture
def api(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(max_text_bytes=65536)
    pipelines = {}

    def factory(tenant: str):  # type: ignore[no-untyped-def]
        p = make_pipeline(engine, clock)
        p.tenant = tenant
        pipelines[tenant] = p
        return p

    client = TestClient(create_app(engine, settings, factory))
    keys = {role: create_key(engine, role) for role in ("platform", "auditor", "reviewer")}
    keys["other_tenant"] = create_key(engine, "platform", tenant="other")
    return client, keys, engine


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_submit_then_fetch_the_decision_with_its_reasons(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    r = client.post("/v1/content", headers=auth(keys["platform"]),
                    json={"id": "p1", "kind": "post", "text": "they are vermin [hate=0.99]",
                          "author": "u1"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["action"] == "remove" and body["duplicate"] is False
    assert body["reasons"][0]["ground"] and body["reasons"][0]["notice"]
    got = client.get("/v1/decisions/p1", headers=auth(keys["auditor"])).json()
    assert got["decision_id"] == body["decision_id"]
    assert got["content_state"]["state"] == "removed"
    assert got["rules"] == body["rules"] and got["policy"]["version"]
    assert [h["decision_id"] for h in got["history"]] == [body["decision_id"]]


def test_resubmitting_returns_the_first_decision(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, engine = api
    item = {"id": "p1", "text": "hello there", "author": "u1"}
    first = client.post("/v1/content", headers=auth(keys["platform"]), json=item).json()
    before = counts(engine)
    again = client.post("/v1/content", headers=auth(keys["platform"]), json=item)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["decision_id"] == first["decision_id"]
    assert counts(engine) == before


def test_events_route_takes_edits_and_reports_in_order(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    h = auth(keys["platform"])
    r = client.post("/v1/events", headers=h, json={"type": "report", "id": "nope", "reason": "hate"})
    assert r.status_code == 404 and "unknown content" in r.json()["reason"]
    r = client.post("/v1/events", headers=h, json={"type": "content.edit", "id": "nope", "text": "x"})
    assert r.status_code == 409 and "content.create first" in r.json()["reason"]
    client.post("/v1/content", headers=h, json={"id": "p1", "text": "fine", "author": "u1"})
    r = client.post("/v1/events", headers=h,
                    json={"type": "content.edit", "id": "p1", "text": "now [violence=0.99]"})
    assert r.status_code == 201 and r.json()["action"] == "remove"


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer tb_nope_nope"}, 401),
    ({"Authorization": "Basic abc"}, 401),
])
def test_requests_without_a_valid_key_are_refused(api, headers, status) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    for method, path in (("post", "/v1/content"), ("post", "/v1/events"), ("get", "/v1/decisions/p1")):
        r = getattr(client, method)(path, headers=headers, **({"json": {}} if method == "post" else {}))
        assert r.status_code == status and r.json()["reason"]


def test_roles_are_checked_on_every_route(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    for role in ("auditor", "reviewer"):
        r = client.post("/v1/content", headers=auth(keys[role]), json={"id": "p1", "text": "x"})
        assert r.status_code == 403 and role in r.json()["reason"]
        r = client.post("/v1/events", headers=auth(keys[role]),
                        json={"type": "content.create", "id": "p1", "text": "x"})
        assert r.status_code == 403


def test_tenants_cannot_read_each_others_decisions(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    client.post("/v1/content", headers=auth(keys["platform"]), json={"id": "p1", "text": "hi"})
    r = client.get("/v1/decisions/p1", headers=auth(keys["other_tenant"]))
    assert r.status_code == 404


BAD_BODIES = [
    (b'{"id": "p2", "text": ', 400, "malformed JSON"),
    (b'{"id": "p2"}', 400, "'text' is required"),
    (b'{"id": "p2", "text": 12}', 400, "must be a string"),
    (b'{"id": ["p2"], "text": "x"}', 400, "'id' must be a string"),
    (b'{"id": "p2", "text": "\xff\xfe"}', 400, "UTF-8"),
    (json.dumps({"id": "p2", "text": "a" * 70000}).encode(), 413, "65536"),
    (json.dumps({"id": "p2", "text": "z" + "\u0336" * 40}).encode(), 400, "combining"),
    (json.dumps({"id": "p2", "text": "bad \u0000 nul"}).encode(), 400, "'text'"),
    (b'"just a string"', 400, "JSON object"),
    (b"[" * 50000, 400, "malformed JSON"),
]


@pytest.mark.parametrize("body, status, reason", BAD_BODIES)
def test_bad_input_gets_a_4xx_with_a_reason_and_changes_nothing(api, body, status, reason) -> None:  # type: ignore[no-untyped-def]
    client, keys, engine = api
    h = {**auth(keys["platform"]), "Content-Type": "application/json"}
    client.post("/v1/content", headers=h, json={"id": "p1", "text": "kept as it was"})
    before = counts(engine)
    stored = client.get("/v1/decisions/p1", headers=h).json()
    r = client.post("/v1/content", headers=h, content=body)
    assert r.status_code == status, r.text
    assert reason.lower() in r.json()["reason"].lower()
    assert counts(engine) == before
    assert client.get("/v1/decisions/p1", headers=h).json() == stored


def test_health_metrics_and_openapi(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    assert client.get("/healthz").json()["status"] == "ok"
    client.post("/v1/content", headers=auth(keys["platform"]), json={"id": "p1", "text": "hi"})
    metrics = client.get("/metrics").text
    assert "tidebreak_decisions_total" in metrics and "tidebreak_events_total" in metrics
    schema = client.get("/openapi.json").json()
    assert "/v1/content" in schema["paths"] and "/v1/decisions/{content_id}" in schema["paths"]


def test_a_revoked_key_is_refused_at_once_and_the_revocation_is_in_the_ledger(api) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from tidebreak.auth import revoke_key
    from tidebreak.store.schema import LedgerEntryRow

    client, keys, engine = api
    h = auth(keys["auditor"])
    assert client.get("/v1/decisions/nope", headers=h).status_code == 404  # verified, now cached
    assert revoke_key(engine, keys["auditor"].split("_")[1], by="ops")
    r = client.get("/v1/decisions/nope", headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["reason"]
    assert not revoke_key(engine, keys["auditor"].split("_")[1])  # once only
    with Session(engine) as s:
        kinds = s.execute(select(LedgerEntryRow.kind, LedgerEntryRow.actor)
                          .where(LedgerEntryRow.kind.like("api_key.%"))).all()
    assert ("api_key.revoked", "ops") in kinds
    assert sum(k == "api_key.created" for k, _ in kinds) == len(keys)


def test_another_process_revoking_a_key_is_seen_within_the_cache_time(engine) -> None:  # type: ignore[no-untyped-def]
    import time

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from tidebreak.auth import KeyCache
    from tidebreak.store.schema import ApiKeyRow

    key = create_key(engine, "platform")
    cache = KeyCache(ttl_s=0.2)
    assert cache.verify(engine, key) is not None
    assert cache.verify(engine, key + "x") is None  # a wrong secret is never taken from the cache
    with Session(engine) as s, s.begin():  # as `tidebreak keys revoke` does from another process
        s.execute(update(ApiKeyRow).values(revoked_at=ApiKeyRow.created_at))
    assert cache.get(key) is not None  # still trusted for at most ttl_s
    time.sleep(0.25)
    assert cache.get(key) is None and cache.verify(engine, key) is None
