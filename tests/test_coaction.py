"""Co-actions from live traffic: the pipeline records them with each created item (one bulk
INSERT per batch), the sweep turns the networks in them into one review case each (updated,
never duplicated; a second sweep opens nothing), and nothing acts on anyone before a reviewer
decides. The worker runs the sweep on a schedule."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.config import Settings
from tidebreak.coordination.sweep import parse_since, sweep
from tidebreak.ingest import parse_event
from tidebreak.runtime import build_pipeline
from tidebreak.store.coactions import coaction_rows
from tidebreak.store.schema import (
    CoActionRow,
    CoordinationCaseRow,
    LedgerEntryRow,
    PenaltyRow,
    ReviewTaskRow,
    StrikeRow,
)

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc)
runner = CliRunner()


def _post(n: int, author: str, text: str, **kw: object) -> dict:
    return {"event_id": f"ev{n}", "type": "content.create", "id": f"c{n}", "kind": "post",
            "text": text, "author": author, "created_at": (NOW - timedelta(hours=1)).isoformat(),
            **kw}


def test_the_migration_creates_the_coaction_table(engine) -> None:  # type: ignore[no-untyped-def]
    cols = {c["name"] for c in inspect(engine).get_columns("coordination_coactions")}
    assert cols == {"tenant", "event_id", "account_id", "object_type", "object_id", "text", "ts"}


def test_the_pipeline_records_coactions_in_one_insert_per_batch(
        engine, clock) -> None:  # type: ignore[no-untyped-def]
    pipeline = build_pipeline(engine, Settings.from_env(), clock=clock)
    batch = [parse_event(e) for e in [
        _post(1, "alice", "Read this now #Rigged #rigged", urls=["https://x.example/a?utm_source=q"]),
        _post(2, "bob", "me too", parent_id="c1"),
        _post(3, "carol", "no author time", created_at=None),
        {"event_id": "ev4", "type": "content.edit", "id": "c1", "kind": "post",
         "text": "edited #other", "author": "alice"},
    ]]
    inserts: list[tuple[str, bool]] = []

    def seen(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "coordination_coactions" in statement and statement.lstrip().upper().startswith(
                "INSERT"):
            inserts.append((statement, executemany))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        results = pipeline.process_batch(batch)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert all(hasattr(r, "decision") for r in results)
    assert len(inserts) == 1 and inserts[0][1]  # one executemany for the whole batch
    with Session(engine) as s:
        rows = s.execute(select(CoActionRow.account_id, CoActionRow.object_type,
                                CoActionRow.object_id).order_by(CoActionRow.event_id)).all()
    assert sorted(rows) == sorted([
        ("alice", "text", ""), ("alice", "url", "https://x.example/a?utm_source=q"),
        ("alice", "hashtag", "rigged"), ("bob", "text", ""), ("bob", "reply", "c1")])
    # carol's post has no creation time to line up (nothing recorded); the edit adds nothing
    # a redelivered batch is a duplicate: no second set of co-actions
    pipeline.process_batch(batch)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(CoActionRow)).scalar_one() == 5


def _traffic(rng: np.random.Generator) -> tuple[list[dict], set[str], set[str]]:
    """A day of stored co-actions: organic link sharing, two campaigns acting all day (one
    within seconds, one minutes apart), and a live audience replying for two hours."""
    t_end = NOW.timestamp()
    day = 22 * 3600.0
    rows: list[dict] = []

    def add(acc: str, otype: str, oid: str, ts: float) -> None:
        rows.append({"tenant": "default", "event_id": f"x{len(rows)}", "account_id": acc,
                     "object_type": otype, "object_id": oid, "text": "", "ts": ts})

    pop = 1.0 / np.arange(1, 501) ** 1.1
    pop /= pop.sum()
    births = rng.uniform(t_end - day, t_end, 500)
    for a in range(700):
        for o in rng.choice(500, int(rng.integers(5, 30)), p=pop).tolist():
            add(f"user{a}", "url", f"https://news{o % 40}.example/s/{o}",
                min(t_end - 1, births[o] + float(rng.lognormal(np.log(1200), 1.2))))
    campaigns: set[str] = set()
    for name, delay in (("bot", 3.0), ("troll", 600.0)):
        members = [f"{name}{m}" for m in range(10)]
        campaigns.update(members)
        for k in range(25):
            trigger = t_end - day + k * (day - 3600) / 25
            for m in members:
                if rng.random() < 0.75:
                    add(m, "url", f"https://{name}.example/p/{k}",
                        trigger + float(rng.exponential(delay)))
    core = [f"user{a}" for a in range(15)]
    for k in range(40):
        tk = t_end - 6 * 3600 + k * 180.0
        for a in range(300):
            acc = f"user{a}"
            if rng.random() < (0.6 if acc in core else 0.05):
                add(acc, "reply", f"broadcaster/status/{k}",
                    tk + float(rng.lognormal(np.log(15), 0.8)))
    return rows, campaigns, set(core)


def test_sweep_opens_one_case_per_network_updates_it_and_never_duplicates(
        engine) -> None:  # type: ignore[no-untyped-def]
    rows, campaigns, live_core = _traffic(np.random.default_rng(3))
    with Session(engine) as s, s.begin():
        s.execute(insert(CoActionRow), rows)
    first = sweep(engine, tenant="default", now=NOW, since_s=parse_since("24h"))
    assert len(first.opened) == 2 and first.engine == "memory"
    with Session(engine) as s:
        cases = s.execute(select(CoordinationCaseRow)).scalars().all()
        flagged = {a for c in cases for a in c.accounts}
        assert flagged <= campaigns and not flagged & live_core
        assert len(flagged) >= 0.9 * len(campaigns)
        tasks = s.execute(select(ReviewTaskRow).where(ReviewTaskRow.queue == "coordination")
                          ).scalars().all()
        assert sorted(t.content_id for t in tasks) == sorted(f"coordination:{c.id}"
                                                             for c in cases)
        # suspicion routes, only a reviewer's determination restricts: no strike, no penalty
        assert s.execute(select(func.count()).select_from(StrikeRow)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(PenaltyRow)).scalar_one() == 0
        ledger_before = s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one()

    second = sweep(engine, tenant="default", now=NOW, since_s=86400)
    assert second.opened == [] and second.updated == [] and len(second.unchanged) == 2
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one() \
            == ledger_before  # nothing changed, nothing written

    # the bot network recruits a new account: the same case is updated, not a new one opened
    extra = [{"tenant": "default", "event_id": f"new{k}", "account_id": "bot_new",
              "object_type": "url", "object_id": f"https://bot.example/p/{k}", "text": "",
              "ts": r["ts"] + 1.0}
             for k, r in enumerate(r for r in rows if r["account_id"] == "bot0"
                                   and "/p/" in r["object_id"])]
    for e, r in zip(extra, [r for r in rows if r["account_id"] == "bot0"]):
        e["object_id"] = r["object_id"]
    with Session(engine) as s, s.begin():
        s.execute(insert(CoActionRow), extra)
    third = sweep(engine, tenant="default", now=NOW, since_s=86400)
    assert third.opened == [] and len(third.updated) == 1
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(CoordinationCaseRow)).scalar_one() == 2
        case = s.get(CoordinationCaseRow, ("default", third.updated[0]))
        assert case is not None and "bot_new" in case.accounts
        kinds = s.execute(select(LedgerEntryRow.kind)).scalars().all()
        assert kinds.count("coordination.case_updated") == 1
        assert s.execute(select(func.count()).select_from(ReviewTaskRow).where(
            ReviewTaskRow.queue == "coordination")).scalar_one() == 2
        # a dismissed case stays dismissed on the next sweep
        case.status = "dismissed"
        s.commit()
    fourth = sweep(engine, tenant="default", now=NOW, since_s=86400)
    assert fourth.opened == [] and third.updated[0] in fourth.already_decided


def test_cli_sweep_reports_and_refuses_bad_input(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.cli import app

    url = f"sqlite:///{tmp_path}/t.db"
    r = runner.invoke(app, ["coordination", "sweep", "--db", url, "--since", "24h", "--json"])
    assert r.exit_code == 0, r.output
    assert '"opened": []' in r.stdout and "coordination sweep: 0 co-actions" in r.stderr
    r = runner.invoke(app, ["coordination", "sweep", "--db", url, "--since", "yesterday"])
    assert r.exit_code == 2 and r.stderr.startswith("error: --since must be")
    assert len(r.stderr.strip().splitlines()) == 1


def test_sweep_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEBREAK_COORDINATION_SWEEP_S", "0")
    assert Settings.from_env().coordination_sweep_s == 0.0
    monkeypatch.setenv("TIDEBREAK_COORDINATION_SWEEP_S", "soon")
    with pytest.raises(SystemExit):
        Settings.from_env()
    monkeypatch.delenv("TIDEBREAK_COORDINATION_SWEEP_S")
    assert Settings.from_env().coordination_sweep_s == 3600.0


def test_the_worker_sweeps_on_its_schedule(engine) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.scale.worker import Worker

    rows, campaigns, _ = _traffic(np.random.default_rng(4))
    now_rows = [{**r, "ts": r["ts"] - NOW.timestamp() + datetime.now(timezone.utc).timestamp()}
                for r in rows]
    with Session(engine) as s, s.begin():
        s.execute(insert(CoActionRow), now_rows)
    worker = Worker(engine, None, lambda tenant: None,  # type: ignore[arg-type]
                    coordination_sweep_s=0.05, coordination_sweep_since="24h")

    async def run_briefly() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker._sweep_coordination(stop))
        for _ in range(600):
            await asyncio.sleep(0.05)
            with Session(engine) as s:
                if s.execute(select(func.count()).select_from(CoordinationCaseRow)
                             ).scalar_one() >= 2:
                    break
        stop.set()
        await task

    asyncio.run(run_briefly())
    with Session(engine) as s:
        cases = s.execute(select(CoordinationCaseRow)).scalars().all()
    assert len(cases) == 2 and {a for c in cases for a in c.accounts} <= campaigns


def test_hostile_content_never_breaks_the_recording_transaction() -> None:
    """NUL and lone surrogates cannot be stored in PostgreSQL text: such links are left out
    and such text cleaned, so one odd post cannot fail its whole batch."""
    from tidebreak.model import Content, ContentKind

    c = Content("p1", ContentKind.POST, "hi\x00 #Tag \ud800 there", author="a", created_at=NOW,
                urls=("https://x.example/\x00", "https://ok.example/\ud800",
                      "https://fine.example/a"),
                meta={"media": [{"pdq": "ABCD"}, "junk", {"pdq": 5}]})
    rows = coaction_rows("t", c)
    assert [(r["object_type"], r["object_id"]) for r in rows] == [
        ("text", ""), ("url", "https://fine.example/a"), ("hashtag", "tag"),
        ("media_hash", "abcd")]
    assert "\x00" not in rows[0]["text"] and "\ud800" not in rows[0]["text"]
    long_id = Content("x" * 400, ContentKind.POST, "words", author="a", created_at=NOW)
    assert coaction_rows("t", long_id) == []  # the event id would not fit its column
