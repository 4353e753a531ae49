"""The distribution service, engagement and the virality circuit breaker, through the HTTP API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.model import Action, ActionType
from tidebreak.store.schema import ContentRow, EngagementSampleRow, ReviewTaskRow, StatementRow

from .reach_helpers import ledger_kinds, reach_pipeline
from .test_pipeline import counts


@pytest.fixture
def api(engine, clock):  # type: ignore[no-untyped-def]
    pipelines: dict = {}

    def factory(tenant: str):  # type: ignore[no-untyped-def]
        pipelines[tenant] = reach_pipeline(engine, clock)
        pipelines[tenant].tenant = tenant
        return pipelines[tenant]

    client = TestClient(create_app(engine, Settings(), factory))
    keys = {role: create_key(engine, role) for role in ("platform", "auditor")}
    return client, keys, pipelines


def H(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def submit(client, key, id: str, text: str, **kw) -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/v1/content", headers=H(key), json={"id": id, "text": text,
                                                          "author": kw.pop("author", "u1"), **kw})
    assert r.status_code == 201, r.text
    return r.json()


def reach_of(client, key, **ids) -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/v1/distribution", headers=H(key), json=ids)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_risky_item_spreading_fast_trips_the_breaker_until_a_reviewer_looks(api, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, keys, pipelines = api
    k = keys["platform"]
    submit(client, k, "rumour", "they are hiding the real numbers [misinformation=0.62]")
    submit(client, k, "cats", "my cat learned to open doors [hate=0.01]")
    start = clock()
    clock.advance(minutes=30)
    r = client.post("/v1/engagement", headers=H(k), json={"updates": [
        {"id": "rumour", "views": 9000, "shares": 400, "at": clock().isoformat()},
        {"id": "cats", "views": 9000, "shares": 400, "at": clock().isoformat()}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] == 2 and body["rejected"] == []
    # Only the item with a grey-zone risk signal trips; a fast benign item is left alone.
    assert [t["id"] for t in body["tripped"]] == ["rumour"]
    assert body["tripped"][0]["risk_signals"] == {"misinformation": 0.62}
    assert body["tripped"][0]["shares_per_hour"] == 800.0
    got = {c["id"]: c for c in reach_of(client, k, content=["rumour", "cats"])["content"]}
    assert got["rumour"]["multiplier"] == 0.1 and got["rumour"]["recommendable"] is False
    assert "circuit breaker" in got["rumour"]["reasons"][0]
    assert got["cats"] == {"id": "cats", "multiplier": 1.0, "recommendable": True, "reasons": [],
                           "state": "visible"}
    with Session(engine) as s:  # in the queue for viral items, as a critical task
        task = s.execute(select(ReviewTaskRow).where(ReviewTaskRow.content_id == "rumour")).scalar_one()
        assert (task.queue, task.severity, task.status) == ("viral", 4.0, "open")
        # holding it back is a restriction, so it has its statement of reasons (the review beside
        # it is the routing); the decision itself only routed, and had none
        [stmt] = s.execute(select(StatementRow).where(StatementRow.subject_id == "rumour")).scalars()
        assert stmt.action == "content_capped" and stmt.subject_type == "content"
        assert stmt.statement["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DEMOTED"]
        assert stmt.statement["content_type"] == ["CONTENT_TYPE_TEXT"]
    # A reviewer finds nothing wrong: the breaker releases and the item travels freely again.
    pipelines["default"].decide_by_human("rumour", reviewer="r1", actions=[Action(ActionType.NONE)],
                                         category="misinformation", ground="CS 4.1: not a claim")
    assert reach_of(client, k, content=["rumour"])["content"][0]["multiplier"] == 1.0
    kinds = ledger_kinds(engine, "rumour")
    assert kinds[-2:] == ["decision", "breaker.release"] and "breaker.trip" in kinds
    # It was looked at: more growth does not trip it again.
    clock.advance(minutes=30)
    again = client.post("/v1/engagement", headers=H(k), json={"updates": [
        {"id": "rumour", "views": 90000, "shares": 4000, "at": clock().isoformat()}]}).json()
    assert again["tripped"] == [] and start < clock()


def test_bulk_distribution_answers_500_ids_with_penalties_and_unknown_ids(api, clock) -> None:  # type: ignore[no-untyped-def]
    client, keys, pipelines = api
    k = keys["platform"]
    reach_of(client, k, content=["c0"])  # the first call builds the tenant's pipeline
    pipelines["default"].process_batch([
        parse_event({"id": f"c{i}", "text": f"hello {i} [hate=0.01]", "author": f"a{i % 50}"})
        for i in range(498)])
    submit(client, k, "t1", "I will hurt you [violence=0.97]", author="a1")  # a1 is banned
    ids = [f"c{i}" for i in range(498)] + ["t1", "never-seen"]
    body = reach_of(client, k, content=ids, accounts=["a1", "a2", "ghost"], groups=["nogroup"])
    assert len(body["content"]) == 499
    by_id = {c["id"]: c for c in body["content"]}
    assert by_id["t1"]["multiplier"] == 0.0
    assert by_id["c1"]["multiplier"] == 0.0 and "author banned" in by_id["c1"]["reasons"][0]
    assert by_id["c2"]["multiplier"] == 1.0 and by_id["c2"]["recommendable"]
    accounts = {a["id"]: a for a in body["accounts"]}
    assert accounts["a1"]["status"] == "banned" and accounts["a2"]["status"] == "active"
    assert body["unknown"] == {"content": ["never-seen"], "accounts": ["ghost"],
                               "groups": ["nogroup"]}


def test_bad_input_gets_a_reason_and_changes_nothing(api, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    k = keys["platform"]
    submit(client, k, "p1", "hello [hate=0.01]")
    clock.advance(hours=1)
    ok = client.post("/v1/engagement", headers=H(k), json={"updates": [
        {"id": "p1", "views": 100, "shares": 5, "at": clock().isoformat()}]})
    assert ok.json()["applied"] == 1
    before = counts(engine)
    with Session(engine) as s:
        samples = len(s.execute(select(EngagementSampleRow)).all())
    cases = [
        ("/v1/distribution", {"content": "p1"}, 400, "'content' must be a list"),
        ("/v1/distribution", {}, 400, "no ids"),
        ("/v1/distribution", {"content": ["x"] * 1001}, 413, "at most 1000"),
        ("/v1/distribution", {"posts": ["p1"]}, 400, "unknown field 'posts'"),
        ("/v1/engagement", {"updates": [{"id": "p1", "views": -1, "shares": 0, "at": 0}]}, 400,
         "'views' must be a whole number"),
        ("/v1/engagement", {"updates": [{"id": "p1", "views": 1, "shares": 0}]}, 400,
         "'at' is required"),
        ("/v1/engagement", {"updates": []}, 400, "empty"),
    ]
    for path, body, status, reason in cases:
        r = client.post(path, headers=H(k), json=body)
        assert r.status_code == status and reason in r.json()["reason"], (path, body, r.text)
        assert r.json()["error"]
    # Per item: unknown content, a reading older than the last one, counters going down.
    r = client.post("/v1/engagement", headers=H(k), json={"updates": [
        {"id": "ghost", "views": 1, "shares": 0, "at": clock().isoformat()},
        {"id": "p1", "views": 50, "shares": 1, "at": clock().isoformat()}]}).json()
    assert r["applied"] == 0
    assert "unknown content 'ghost'" in r["rejected"][0]["reason"]
    assert "out of order" in r["rejected"][1]["reason"]
    clock.advance(minutes=5)
    r = client.post("/v1/engagement", headers=H(k), json={"updates": [
        {"id": "p1", "views": 50, "shares": 1, "at": clock().isoformat()}]}).json()
    assert "cannot go down" in r["rejected"][0]["reason"]
    assert counts(engine) == before
    with Session(engine) as s:
        assert len(s.execute(select(EngagementSampleRow)).all()) == samples
        assert s.get(ContentRow, ("default", "p1")).views == 100
    assert client.get("/v1/accounts/nobody", headers=H(k)).status_code == 404
    assert client.get("/v1/groups/nogroup", headers=H(k)).json()["reason"] == "no group 'nogroup'"
    assert client.post("/v1/engagement", headers=H(keys["auditor"]),
                       json={"updates": []}).status_code == 403


def test_account_standing_and_group_roles_over_http(api, clock) -> None:  # type: ignore[no-untyped-def]
    client, keys, _ = api
    k = keys["platform"]
    submit(client, k, "h1", "vermin [hate=0.97]", author="u5")
    st = client.get("/v1/accounts/u5", headers=H(keys["auditor"])).json()
    assert st["status"] == "warned" and st["penalties"][0]["notice"]
    r = client.put("/v1/groups/g1/roles", headers=H(k), json={"admins": ["u5"], "members": ["m1"]})
    assert r.status_code == 200 and r.json() == {"set": 2, "removed": 0}
    g = client.get("/v1/groups/g1", headers=H(k)).json()
    assert g["roles"] == {"admin": 1, "moderator": 0, "member": 1}
    assert g["current"]["health"] is None and "no posts" in g["current"]["evidence"]["note"]
    bad = client.put("/v1/groups/g1/roles", headers=H(k), json={"admins": ["x"], "removed": ["x"]})
    assert bad.status_code == 400 and "both given a role and removed" in bad.json()["reason"]
