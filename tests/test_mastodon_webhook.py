"""POST /v1/adapters/mastodon/webhook, mounted by the plug-in in the real API app: signatures,
statuses, edits, reports, accounts, redelivery and bad bodies. A scripted detector stands in
for the models ("[hate=0.99]" in a text is its score); entities come from
tests/mastodon_fake.py, a fake built from the documented Mastodon API (not Mastodon itself).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak.adapters.mastodon.webhook import sign
from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.store.schema import ActorRow, MastodonReportRow, MastodonStatusRow

from .mastodon_fake import FakeMastodon
from .test_pipeline import counts, make_pipeline

SECRET = "webhook-s3cret"
PATH = "/v1/adapters/mastodon/webhook"


@pytest.fixture
def api(engine, clock, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TIDEBREAK_MASTODON_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TIDEBREAK_MASTODON_RULES", "hate=1")
    for name in ("TIDEBREAK_MASTODON_URL", "TIDEBREAK_MASTODON_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def factory(tenant: str):  # type: ignore[no-untyped-def]
        p = make_pipeline(engine, clock)
        p.tenant = tenant
        return p

    with TestClient(create_app(engine, Settings(), factory)) as client:
        yield client, create_key(engine, "platform"), engine


def hook(client: TestClient, event: str, obj: dict[str, Any], *, secret: str | None = SECRET,
         body: bytes | None = None, signature: str | None = None):  # type: ignore[no-untyped-def]
    raw = body if body is not None else FakeMastodon.webhook_body(event, obj)
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    elif secret is not None:
        headers["X-Hub-Signature"] = sign(secret, raw)
    return client.post(PATH, content=raw, headers=headers)


def stored(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out = counts(engine)
    with Session(engine) as s:
        for t in (ActorRow, MastodonStatusRow, MastodonReportRow):
            out[t.__tablename__] = s.execute(select(func.count()).select_from(t)).scalar_one()
    return out


@pytest.fixture
def fake() -> FakeMastodon:
    return FakeMastodon()  # its entities only: not started


@pytest.mark.parametrize("how", ["missing", "wrong secret", "garbage", "other body"])
def test_a_badly_signed_webhook_gets_401_and_stores_nothing(api, fake, how) -> None:  # type: ignore[no-untyped-def]
    client, _, engine = api
    acct = fake.create_account("bad", notify=False)
    st = fake.post_status(acct["id"], "<p>vermin [hate=0.99]</p>", notify=False)
    before = stored(engine)
    kw: dict[str, Any] = {
        "missing": {"secret": None}, "wrong secret": {"secret": "nope"},
        "garbage": {"signature": "sha256=zz"},
        "other body": {"signature": sign(SECRET, b"{}")}}[how]
    r = hook(client, "status.created", st, **kw)
    assert r.status_code == 401 and "X-Hub-Signature" in r.json()["reason"]
    assert stored(engine) == before


def test_a_status_is_decided_and_its_decision_is_at_the_usual_url(api, fake) -> None:  # type: ignore[no-untyped-def]
    client, key, engine = api
    acct = fake.create_account("ann", notify=False)
    ok = fake.post_status(acct["id"], "<p>Lovely <b>tomatoes</b> [hate=0.01]</p>", notify=False)
    bad = fake.post_status(acct["id"], "<p>they are vermin [hate=0.99]</p>", notify=False)
    r = hook(client, "status.created", ok)
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["action"] == "none"
    assert hook(client, "status.created", bad).json()["results"][0]["action"] == "remove"
    got = client.get(f"/v1/decisions/mastodon:status:{bad['id']}",
                     headers={"Authorization": f"Bearer {key}"})
    assert got.status_code == 200 and got.json()["content_state"]["state"] == "removed"
    assert got.json()["event_id"] == f"mastodon:status.created:{bad['id']}"
    with Session(engine) as s:
        row = s.get(MastodonStatusRow, ("default", f"mastodon:status:{bad['id']}"))
        assert row is not None and row.account_id == acct["id"]


def test_a_redelivered_webhook_changes_nothing(api, fake) -> None:  # type: ignore[no-untyped-def]
    client, _, engine = api
    acct = fake.create_account("ann", notify=False)
    st = fake.post_status(acct["id"], "<p>vermin [hate=0.99]</p>", notify=False)
    body = FakeMastodon.webhook_body("status.created", st)
    first = hook(client, "", {}, body=body).json()["results"][0]
    before = stored(engine)
    again = hook(client, "", {}, body=body).json()["results"][0]
    assert again["duplicate"] is True and again["decision_id"] == first["decision_id"]
    assert stored(engine) == before


def test_an_edit_is_a_content_edit_and_an_unseen_edited_status_is_created(api, fake) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    acct = fake.create_account("ann", notify=False)
    st = fake.post_status(acct["id"], "<p>fine [hate=0.01]</p>", notify=False)
    hook(client, "status.created", st)
    fake.edit_status(st["id"], "<p>now vermin [hate=0.99]</p>", notify=False)
    res = hook(client, "status.updated", st).json()["results"][0]
    assert res["type"] == "content.edit" and res["action"] == "remove"
    assert hook(client, "status.updated", st).json()["results"][0]["duplicate"] is True
    other = fake.post_status(acct["id"], "<p>before tidebreak [hate=0.01]</p>", notify=False)
    fake.edit_status(other["id"], "<p>edited [hate=0.01]</p>", notify=False)
    res = hook(client, "status.updated", other).json()["results"][0]
    assert res["type"] == "content.create" and res["action"] == "none"


def test_a_report_reaches_tidebreak_even_for_a_status_it_never_saw(api, fake) -> None:  # type: ignore[no-untyped-def]
    client, key, engine = api
    remote = fake.create_account("far", notify=False)
    ann = fake.create_account("ann", notify=False)
    # a federated post: no status.created ever arrives for it
    st = fake.post_status(remote["id"], "<p>borderline [hate=0.70]</p>", notify=False)
    r = fake.user_report(ann["id"], remote["id"], [st["id"]], category="violation",
                         rule_ids=["1"], comment="please look")
    res = hook(client, "report.created", fake._admin_report(r))
    assert res.status_code == 200, res.text
    (result,) = res.json()["results"]
    assert result["type"] == "report" and result["event_id"] == f"mastodon:report:{r['id']}:{st['id']}"
    got = client.get(f"/v1/decisions/mastodon:status:{st['id']}",
                     headers={"Authorization": f"Bearer {key}"}).json()
    # created from the report's copy of the status, then reported (one clock time: a set)
    assert {h["event_id"] for h in got["history"]} == {f"mastodon:status.created:{st['id']}",
                                                       f"mastodon:report:{r['id']}:{st['id']}"}
    with Session(engine) as s:
        row = s.get(MastodonReportRow, ("default", r["id"]))
        assert row is not None and row.origin == "received"
    before = stored(engine)
    hook(client, "report.created", fake._admin_report(r))  # redelivered
    assert stored(engine) == before


def test_a_report_tidebreak_filed_itself_is_ignored(api, fake, engine) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    from datetime import datetime, timezone

    from tidebreak.adapters.mastodon import store

    acct = fake.create_account("bad", notify=False)
    st = fake.post_status(acct["id"], "<p>vermin [hate=0.99]</p>", notify=False)
    hook(client, "status.created", st)
    # the webhook of the report the sink is filing may come before the filing call returns
    store.claim(engine, "default", f"report:mastodon:status:{st['id']}", account_id=acct["id"],
                action="report", now=datetime.now(timezone.utc))
    r = fake._create_report(fake.admin["id"], acct["id"], [st["id"]], "other",
                            "tidebreak: remove ...", [], via_api=True)
    before = stored(engine)
    res = hook(client, "report.created", fake._admin_report(r))
    assert res.status_code == 200 and res.json()["ignored"] is True
    assert stored(engine) == before


def test_account_created_records_the_actor_and_other_events_are_acknowledged(api, fake) -> None:  # type: ignore[no-untyped-def]
    client, _, engine = api
    acct = fake.create_account("newbie", notify=False)
    r = hook(client, "account.created", acct)
    assert r.status_code == 200 and r.json()["actor"] == f"mastodon:account:{acct['id']}"
    with Session(engine) as s:
        actor = s.get(ActorRow, ("default", f"mastodon:account:{acct['id']}"))
        assert actor is not None and actor.meta["mastodon"]["username"] == "newbie"
    before = stored(engine)
    for event in ("account.approved", "account.updated", "report.updated", "status.deleted"):
        r = hook(client, event, {"id": "1"})
        assert r.status_code == 200 and r.json()["ignored"] is True
    boost = dict(fake.post_status(acct["id"], "", notify=False))
    boost["reblog"] = fake.post_status(acct["id"], "<p>x</p>", notify=False)
    assert hook(client, "status.created", boost).json()["ignored"] is True
    assert stored(engine) == before


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "malformed JSON"),
    (b'{"event": "status.created", "object": {"id": "1"}}', "object.account"),
    (b'{"event": "status.created", "object": {"id": "1/../x", "account": {"id": "2"}}}',
     "Mastodon id"),
    (b'{"event": "report.created", "object": {"id": "5"}}', "target_account"),
    (b'{"event": "account.created", "object": {"id": []}}', "Mastodon id"),
    (b'{"event": "status.created", "object": {"id": "1", "account": {"id": "2"}, '
     b'"content": "<p>a\\u0000b</p>"}}', "NUL"),
])
def test_bad_bodies_get_400_with_a_reason_never_500(api, body, reason) -> None:  # type: ignore[no-untyped-def]
    client, _, engine = api
    before = stored(engine)
    r = hook(client, "", {}, body=body)
    assert r.status_code == 400 and reason in r.json()["reason"], r.text
    assert stored(engine) == before


def test_no_route_without_the_secret(engine, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("TIDEBREAK_MASTODON_URL", "TIDEBREAK_MASTODON_TOKEN",
                 "TIDEBREAK_MASTODON_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    client = TestClient(create_app(engine, Settings(), lambda t: make_pipeline(engine, clock)))
    assert client.post(PATH, content=b"{}").status_code == 404
    monkeypatch.setenv("TIDEBREAK_MASTODON_URL", "https://m.example")
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        create_app(engine, Settings(), lambda t: make_pipeline(engine, clock))


def test_the_route_needs_no_api_key_but_other_routes_still_do(api, fake) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    assert client.post("/v1/content", json={"id": "x", "text": "y"}).status_code == 401
    acct = fake.create_account("ann", notify=False)
    st = fake.post_status(acct["id"], "<p>hello [hate=0.01]</p>", notify=False)
    assert hook(client, "status.created", st).status_code == 200
    assert json.loads(json.dumps(st))  # the fake's entity is plain JSON
