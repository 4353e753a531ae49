"""Backfill on PostgreSQL through a private broker and a worker: stored content is re-decided
after the bank learns new content, and a run that crashed mid-way resumes where it stopped."""

from __future__ import annotations

import json

from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak import ledger
from tidebreak.cli import app
from tidebreak.scale.backfill import progress, publish_run, start_run
from tidebreak.scale.broker import BrokerConfig, BrokerUnavailable, Producer
from tidebreak.scale.worker import Worker
from tidebreak.detect.bank_store import add_entry
from tidebreak.store.db import open_store
from tidebreak.store.schema import BackfillRunRow, ContentRow, LedgerEntryRow

from .natsd import nats_server, running_worker, wait_until  # noqa: F401 - fixture
from .test_pipeline import make_pipeline, post

pytestmark = pytest.mark.postgres

HOAX = ("Polling stations close at noon this year, so if you vote after lunch your ballot "
        "will be thrown away by the counting staff")


class CrashingProducer(Producer):
    """Dies (as a broker outage or a killed process would) on its second chunk."""

    calls = 0

    def publish_many(self, subject, items):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 2:
            raise BrokerUnavailable("broker went away")
        return super().publish_many(subject, items)


def test_a_crashed_backfill_resumes_and_redecides_everything_once(pg_url, nats_server, clock) -> None:  # type: ignore[no-untyped-def]
    engine = open_store(pg_url)
    pipeline = make_pipeline(engine, clock)
    copies = {f"p{i:02d}" for i in range(0, 30, 3)}
    pipeline.process_batch([post(f"p{i:02d}", HOAX if f"p{i:02d}" in copies else f"post {i}")
                            for i in range(30)])
    with Session(engine) as s:
        assert {r.state for r in s.query(ContentRow)} == {"visible"}
    # A fact-checker's debunk reaches the bank after the posts: only a backfill catches them.
    with Session(engine) as s, s.begin():
        add_entry(s, tenant="default", text=HOAX, bank="debunked",
                  category="voting_misinformation", added_by="factcheck:import", now=clock())
    cfg = BrokerConfig(url=nats_server.url)
    run_id = start_run(engine, "default", "fact-check import 2026-11-03", now=clock())
    with pytest.raises(BrokerUnavailable):
        publish_run(engine, CrashingProducer(cfg), run_id, chunk=10)
    with Session(engine) as s:
        run = s.get(BackfillRunRow, run_id)
        assert (run.status, run.published, run.cursor, run.total) == ("publishing", 10, "p09", 30)

    producer = Producer(cfg)
    assert publish_run(engine, producer, run_id, chunk=10) == 20  # the rest, not all again
    producer.close()
    with running_worker(Worker(engine, cfg, lambda tenant: pipeline, batch=8)):
        wait_until(lambda: progress(engine, run_id).decided == 30, 60, "30 re-decisions")
    p = progress(engine, run_id)
    assert (p.status, p.total, p.published, p.decided, p.failed) == ("published", 30, 30, 30, 0)
    with Session(engine) as s:
        removed = {r.id for r in s.query(ContentRow).filter(ContentRow.state == "removed")}
        assert removed == copies
        assert ledger.verify(s)[1] is None
        kinds = Counter(s.execute(select(LedgerEntryRow.kind)).scalars())
        assert kinds["decision"] == 60  # 30 first decisions + 30 re-decisions

    out = CliRunner().invoke(app, ["backfill", "status", run_id, "--db", pg_url])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["decided"] == 30
    missing = CliRunner().invoke(app, ["backfill", "status", "nope", "--db", pg_url])
    assert missing.exit_code == 2 and "no backfill run 'nope'" in missing.stderr
    engine.dispose()
