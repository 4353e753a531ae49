"""`tidebreak governance ...` and /v1/governance: people act under their own account, bad input
exits 2 (CLI) or answers 4xx (HTTP) with one reason, and nothing stored changes."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.cli import app
from tidebreak.config import Settings
from tidebreak.policy import default_policy_path, load_default_policy
from tidebreak.review.accounts import create_user
from tidebreak.store.db import open_store
from tidebreak.store.schema import LedgerEntryRow

from .test_governance import TEST_ELECTION, make, post

runner = CliRunner()


def _ledger(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one()


def test_cli_policy_workflow_and_refusals(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path}/g.db"
    engine = open_store(db)
    for user, role in (("pat", "policy_admin"), ("ada", "policy_admin"),
                       ("cora", "civil_rights_reviewer"), ("rita", "reviewer")):
        create_user(engine, tenant="default", username=user, role=role,
                    password="a long password", by="admin", now=clock())
    draft = tmp_path / "draft.yaml"
    draft.write_text(Path(default_policy_path()).read_text().replace(
        f'version: "{load_default_policy().version}"', 'version: "2026.12.0"', 1))
    r = runner.invoke(app, ["governance", "policy", "draft", "-f", str(draft), "--by", "pat",
                            "--db", db])
    assert r.exit_code == 0, r.output
    before = _ledger(engine)
    for args in (["policy", "draft", "-f", str(draft), "--by", "nobody"],  # no such user
                 ["policy", "draft", "-f", str(tmp_path / "missing.yaml"), "--by", "pat"],
                 ["policy", "approve", "default", "2026.12.0", "--by", "rita"],  # not an approver
                 ["policy", "publish", "default", "2026.12.0", "--by", "ada"],  # no approvals
                 ["exceptions", "grant", "x", "--by", "rita", "--category", "violence",
                  "--justification", "j", "--days", "1"],
                 ["impact", "report", "--from", "yesterday", "--to", "2026-12-01"]):
        r = runner.invoke(app, ["governance", *args, "--db", db])
        assert r.exit_code == 2, (args, r.output)
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert _ledger(engine) == before
    for user in ("ada", "cora"):
        r = runner.invoke(app, ["governance", "policy", "approve", "default", "2026.12.0",
                                "--by", user, "--db", db])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["governance", "policy", "publish", "default", "2026.12.0", "--by",
                            "ada", "--db", db])
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "published"
    spec = tmp_path / "e.json"
    spec.write_text(json.dumps(TEST_ELECTION))
    assert runner.invoke(app, ["governance", "elections", "create", "-f", str(spec), "--by",
                               "rita", "--db", db]).exit_code == 2  # reviewers may not
    r = runner.invoke(app, ["governance", "elections", "create", "-f", str(spec), "--by", "pat",
                            "--db", db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["governance", "elections", "dashboard", "testland-2026", "--db", db])
    assert r.exit_code == 0 and "volume" in json.loads(r.stdout)
    engine.dispose()


def test_api_exceptions_need_the_senior_role_and_publish_needs_approvals(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make(engine, clock)
    p.process(post("p1", "Burn their office down [violence=0.9]"))
    client = TestClient(create_app(engine, Settings(), lambda tenant: p))
    keys = {r: create_key(engine, r) for r in ("reviewer", "senior_reviewer", "policy_admin",
                                               "civil_rights_reviewer", "admin")}
    h = {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}
    body = {"content_id": "p1", "category": "violence", "expires_at": "2026-11-10T00:00:00Z",
            "justification": "Statement by an elected official on a matter of public debate."}
    before = _ledger(engine)
    for role in ("reviewer", "admin"):
        r = client.post("/v1/governance/exceptions", headers=h[role], json=body)
        assert r.status_code == 403 and "reason" in r.json()
    r = client.post("/v1/governance/exceptions", headers=h["senior_reviewer"],
                    json={**body, "justification": ""})
    assert r.status_code == 400 and "justification" in r.json()["reason"]
    assert _ledger(engine) == before
    r = client.post("/v1/governance/exceptions", headers=h["senior_reviewer"], json=body)
    assert r.status_code == 201, r.text
    assert r.json()["decision"]["reasons"][0]["ground"].startswith("Public-interest exception")
    source = Path(default_policy_path()).read_text().replace(
        f'"{load_default_policy().version}"', '"2026.12.0"', 1)
    assert client.post("/v1/governance/policies", headers=h["policy_admin"],
                       json={"source": source}).status_code == 201
    r = client.post("/v1/governance/policies/default/2026.12.0/publish", headers=h["policy_admin"])
    assert r.status_code == 403 and "civil_rights_reviewer" in r.json()["reason"]
    r = client.post("/v1/governance/policies/default/2026.12.0/approvals",
                    headers=h["civil_rights_reviewer"], json={"note": "ok"})
    assert r.status_code == 201 and r.json()["missing_roles"] == ["policy_admin"]
    r = client.get("/v1/governance/policies/default/2026.12.0/review?labels=false",
                   headers=h["civil_rights_reviewer"])
    assert r.status_code == 200 and r.json()["diff"]["rules_changed"] == {}
    r = client.post("/v1/governance/elections", headers=h["policy_admin"],
                    json={**TEST_ELECTION, "info_links": []})
    assert r.status_code == 400 and "info_links" in r.json()["reason"]
