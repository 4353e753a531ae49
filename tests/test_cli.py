"""The `tidebreak` command as a user runs it: JSONL in and out, exit 2 with one line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.cli import app
from tidebreak.store.db import open_store
from tidebreak.store.schema import LedgerEntryRow

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fast_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bank detector alone keeps these tests about the CLI, not the models.
    monkeypatch.setenv("TIDEBREAK_DETECTORS", "bank")
    monkeypatch.delenv("TIDEBREAK_DATABASE_URL", raising=False)


def jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_moderate_answers_one_line_per_item(tmp_path: Path) -> None:
    src = jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "hello neighbours"},
                                        {"id": "b", "text": "see you at the market", "kind": "comment"}])
    r = runner.invoke(app, ["moderate", "-i", str(src), "-o", str(tmp_path / "out.jsonl")])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    assert all(set(x) >= {"id", "action", "categories", "rules"} for x in lines)
    assert all(x["action"] == "none" for x in lines)


def test_moderate_reports_bad_lines_answers_good_ones_and_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": "a", "text": "fine"}\n{"id": "b", "text": \n{"id": "c"}\n'
                    b'{"id": "d", "text": "\xff"}\n{"id": "e", "text": "also fine"}\n')
    r = runner.invoke(app, ["moderate", "-i", str(src)])
    assert r.exit_code == 2
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["id"] for x in out] == ["a", "e"]
    errors = r.stderr.splitlines()
    assert errors == [e for e in errors if e.startswith("error: line ")]
    assert [e.split(":")[1].strip() for e in errors] == ["line 2", "line 3", "line 4"]


def test_moderate_reads_stdin_and_writes_stdout() -> None:
    r = runner.invoke(app, ["moderate"], input='{"id": "x", "text": "hi"}\n')
    assert r.exit_code == 0 and json.loads(r.stdout)["id"] == "x"


def test_ingest_then_explore_decisions_bank_and_ledger(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/t.db"
    banked = "The election has been moved to Wednesday for everyone in the county, tell your family"
    assert runner.invoke(app, ["bank", "add", "--text", banked, "--bank", "debunked",
                               "--category", "voting_misinformation", "--db", db]).exit_code == 0
    src = jsonl(tmp_path / "ev.jsonl", [
        {"id": "p1", "text": "the ELECTION has been moved to wednesday for everyone in the county!!", "author": "u1"},
        {"id": "p2", "text": "Great turnout at the farmers market", "author": "u2"},
    ])
    r = runner.invoke(app, ["ingest", str(src), "--db", db])
    assert r.exit_code == 0, r.output
    assert "ingested 2 new events" in r.stdout
    again = runner.invoke(app, ["ingest", str(src), "--db", db])
    assert "ingested 0 new events, 2 already seen" in again.stdout
    show = runner.invoke(app, ["decisions", "show", "p1", "--db", db])
    assert show.exit_code == 0 and "state=removed" in show.stdout and "ground:" in show.stdout
    listed = runner.invoke(app, ["decisions", "list", "--json", "--action", "remove", "--db", db])
    assert [json.loads(x)["content_id"] for x in listed.stdout.splitlines()] == ["p1"]
    assert "debunked" in runner.invoke(app, ["bank", "list", "--db", db]).stdout
    assert runner.invoke(app, ["ledger", "verify", "--db", db]).exit_code == 0
    engine = open_store(db)
    with Session(engine) as s, s.begin():
        s.execute(update(LedgerEntryRow).where(LedgerEntryRow.seq == 2).values(actor="someone"))
    engine.dispose()
    bad = runner.invoke(app, ["ledger", "verify", "--db", db])
    assert bad.exit_code == 1 and "ledger entry 2" in bad.stderr


def test_policy_check_passes_the_default_and_lists_mistakes(tmp_path: Path) -> None:
    from tidebreak.policy import default_policy_path

    assert runner.invoke(app, ["policy", "check", str(default_policy_path())]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: p\nversion: '1'\nrules:\n  - id: r1\n    category: hatee\n"
                   "    when: score.hate >= 2 and\n    actions: [explode]\n")
    r = runner.invoke(app, ["policy", "check", str(bad)])
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) >= 3
    assert all(line.startswith("bad.yaml:") for line in r.stderr.strip().splitlines())


def test_keys_create_prints_a_key_stored_only_as_a_hash(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/k.db"
    r = runner.invoke(app, ["keys", "create", "--role", "platform", "--db", db])
    key = r.stdout.strip()
    assert r.exit_code == 0 and key.startswith("tb_")
    assert key.split("_", 2)[2].encode() not in Path(f"{tmp_path}/k.db").read_bytes()
    assert runner.invoke(app, ["keys", "create", "--role", "wizard", "--db", db]).exit_code == 2


def test_keys_list_and_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/k.db"
    key = runner.invoke(app, ["keys", "create", "--role", "auditor", "--name", "dsa-auditor",
                              "--db", db]).stdout.strip()
    key_id = key.split("_")[1]
    listed = runner.invoke(app, ["keys", "list", "--json", "--db", db])
    [row] = [json.loads(x) for x in listed.stdout.splitlines()]
    assert row["key_id"] == key_id and row["role"] == "auditor" and row["revoked_at"] is None
    assert key.split("_", 2)[2] not in listed.stdout  # the secret is shown once, at creation
    assert runner.invoke(app, ["keys", "revoke", key_id, "--db", db]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list", "--db", db]).stdout
    again = runner.invoke(app, ["keys", "revoke", key, "--db", db])  # the whole key works too
    assert again.exit_code == 2 and "no active key" in again.stderr


@pytest.mark.parametrize("args, reason", [
    (["ingest", "missing.jsonl"], "no such file"),
    (["moderate", "-i", "missing.jsonl"], "cannot read"),
    (["bank", "add"], "exactly one of"),
    (["decisions", "show", "nope"], "no content"),
])
def test_bad_invocations_exit_2_with_one_line(tmp_path: Path, args: list[str], reason: str) -> None:
    r = runner.invoke(app, args + ["--db", f"sqlite:///{tmp_path}/x.db"]
                      if args[0] in ("ingest", "bank", "decisions") else args)
    assert r.exit_code == 2
    assert reason in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_demo_fills_the_database_and_prints_its_summary(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/demo.db"
    r = runner.invoke(app, ["demo", "--db", db])
    assert r.exit_code == 0, r.output
    assert "Decisions by action" in r.stdout and "Rules that fired" in r.stdout
    assert "remove" in r.stdout
    assert runner.invoke(app, ["ledger", "verify", "--db", db]).exit_code == 0


def test_serve_logs_requests_one_by_one_only_when_asked(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    ran: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda api, **kw: ran.append(kw))
    monkeypatch.setenv("TIDEBREAK_RECORD_IN", "thread")
    db = f"sqlite:///{tmp_path}/t.db"
    assert runner.invoke(app, ["serve", "--db", db, "--port", "9"]).exit_code == 0
    assert runner.invoke(app, ["serve", "--db", db, "--access-log"]).exit_code == 0
    assert [(kw["access_log"], kw["port"]) for kw in ran] == [(False, 9), (True, 8080)]
