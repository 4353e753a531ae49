"""The auditor API: read-only, reproducible samples of decisions with their evidence,
statements of reasons, notices and reports; an auditor cannot change anything."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.store.schema import AdImpressionRow

from .accountability_helpers import acc_pipeline, post


@pytest.fixture
def api(engine, clock):  # type: ignore[no-untyped-def]
    p = acc_pipeline(engine, clock)
    p.process_batch([post(f"p{i}", f"post {i}" + (" [hate=0.99]" if i % 3 == 0 else ""))
                     for i in range(12)])
    client = TestClient(create_app(engine, Settings(), lambda tenant: p))
    keys = {r: create_key(engine, r) for r in ("auditor", "platform", "reviewer")}
    return client, {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}


def test_auditor_samples_decisions_with_evidence_reproducibly(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    r = client.get("/v1/audit/decisions/sample?n=5&seed=3", headers=h["auditor"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["population"], body["n"]) == (12, 5)
    assert client.get("/v1/audit/decisions/sample?n=5&seed=3", headers=h["auditor"]).json() == body
    for d in body["decisions"]:
        assert d["ledger"]["seq"] >= 1 and len(d["ledger"]["hash"]) == 64
        assert {"signals", "reasons", "policy", "model_versions"} <= set(d)
    removed = client.get("/v1/audit/decisions/sample?n=50&action=remove", headers=h["auditor"]).json()
    assert removed["n"] == 4 and all(len(d["statements_of_reasons"]) == 1 for d in removed["decisions"])
    assert all(d["signals"][0]["score"] == 0.99 for d in removed["decisions"])


def test_auditor_reads_statements_notices_and_reports(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    listing = client.get("/v1/statements", headers=h["auditor"]).json()
    assert listing["total"] == 4
    puid = listing["statements"][0]["puid"]
    one = client.get(f"/v1/statements/{puid}", headers=h["auditor"])
    assert one.status_code == 200 and one.json()["statement"]["puid"] == puid
    n = client.get("/v1/statements/notices/p0", headers=h["platform"])
    assert n.status_code == 200 and "Appeal until" in n.json()["notices"][0]["text"]
    rep = client.get("/v1/reports/transparency?from=2026-11-01&to=2026-11-05", headers=h["auditor"])
    assert rep.status_code == 200 and rep.json()["content_actioned"]["total"] == 4
    assert client.get("/v1/ledger/anchor", headers=h["auditor"]).json()["seq"] == 19  # 16 decisions and actions, 3 keys created
    assert client.get("/v1/reports/advertiser/acme", headers=h["auditor"]).json()["impressions"] == 0


def test_errors_are_json_with_a_reason(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    r = client.get("/v1/statements/tb-nope", headers=h["auditor"])
    assert r.status_code == 404 and r.json() == {"error": "not_found", "reason": "no statement 'tb-nope'"}
    r = client.get("/v1/reports/transparency?from=tuesday&to=2026-11-05", headers=h["auditor"])
    assert r.status_code == 400 and "not an ISO date" in r.json()["reason"]
    r = client.get("/v1/statements", headers=h["reviewer"])
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_the_auditor_cannot_write_and_bad_impressions_change_nothing(api, engine) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    imp = {"impression_id": "i1", "ad_id": "a", "advertiser": "acme", "content_id": "p0",
           "served_at": "2026-11-03T12:00:00Z", "spend": 0.5}
    r = client.post("/v1/ads/impressions", headers=h["auditor"], json={"impressions": [imp]})
    assert r.status_code == 403
    r = client.post("/v1/ads/impressions", headers=h["platform"],
                    json={"impressions": [imp, dict(imp, impression_id="i2", spend=-1)]})
    assert r.status_code == 400 and "spend" in r.json()["reason"]
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(AdImpressionRow)).scalar_one() == 0
    r = client.post("/v1/ads/impressions", headers=h["platform"], json={"impressions": [imp]})
    assert r.status_code == 201 and r.json() == {"recorded": 1, "already_recorded": 0}
    rep = client.get("/v1/reports/advertiser/acme", headers=h["auditor"]).json()
    assert rep["make_good"]["spend"] == {"EUR": "0.50"}
