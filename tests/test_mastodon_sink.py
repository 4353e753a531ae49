"""Acting back on a Mastodon instance: reports filed once, account actions citing them, reviews
resolving them, and what happens when the instance is down or refuses.

The instance is tests/mastodon_fake.py: a fake built from the documented Mastodon API (a real
HTTP server on loopback), not Mastodon itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tidebreak.adapters.mastodon import store
from tidebreak.adapters.mastodon.config import MastodonConfig, parse_rules
from tidebreak.adapters.mastodon.sink import MastodonSink
from tidebreak.events.dispatch import Dispatcher, RetryPolicy
from tidebreak.events.outbox import emit
from tidebreak.events.sinks import Rejected, RetryLater
from tidebreak.events.types import DomainEvent

from .mastodon_fake import FakeMastodon

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    f = FakeMastodon().start()
    yield f
    f.stop()


def make_sink(engine, fake: FakeMastodon, *, rules: str = "hate=1,violence=2",  # type: ignore[no-untyped-def]
              token: str | None = None) -> MastodonSink:
    config = MastodonConfig(url=fake.url, token=token or fake.admin_token, webhook_secret="s",
                            rules=parse_rules(rules), timeout=2.0)
    return MastodonSink(config, engine)


def seen(engine, fake: FakeMastodon, username: str = "bad", n: int = 1):  # type: ignore[no-untyped-def]
    """An account and n statuses, as if they had come in through the signed webhook."""
    acct = fake.create_account(username, notify=False)
    statuses = [fake.post_status(acct["id"], f"<p>status {i}</p>", notify=False) for i in range(n)]
    store.record_statuses(engine, "default", [(f"mastodon:status:{s['id']}", s["id"], acct["id"])
                                              for s in statuses], T0)
    return acct, statuses


_ids = iter(range(1, 10_000))


def decision_event(status: dict[str, Any], *, action: str = "remove",
                   categories: tuple[str, ...] = ("hate",), decision_id: str = "d1") -> DomainEvent:
    cid = f"mastodon:status:{status['id']}"
    rule = f"{categories[0]}-{action}" if categories else "x"
    decision = {"decision_id": decision_id, "action": action, "actions": [{"type": action}],
                "categories": list(categories), "rules": [rule],
                "reasons": [{"rule_id": rule, "ground": "CS 3.1 Hate speech",
                             "actions": [{"type": action}]}]}
    return DomainEvent(next(_ids), f"decision:{decision_id}", "decision.made", "default", cid, T0,
                       {"content_id": cid, "author": f"mastodon:account:{status['account']['id']}",
                        "decision": decision, "decided_by": "automation"})


def penalty_event(acct: dict[str, Any], cause: dict[str, Any], penalty: str, pid: int) -> DomainEvent:
    actor = f"mastodon:account:{acct['id']}"
    return DomainEvent(next(_ids), f"penalty:{pid}", "account.penalty_imposed", "default",
                       f"account:{actor}", T0,
                       {"actor_id": actor, "id": pid, "penalty": penalty, "rule": "ladder",
                        "ground": "CS 9.1 Repeated or severe violations",
                        "notice": "Your account is restricted.",
                        "cause_content_id": f"mastodon:status:{cause['id']}"})


def test_a_removal_files_one_report_with_the_mapped_rule(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (st,) = seen(engine, fake)
    ev = decision_event(st)
    sink.deliver(ev)
    sink.deliver(ev)  # redelivered
    sink.deliver(decision_event(st, decision_id="d2"))  # decided again (a report, a review)
    (call,) = fake.calls_to("POST", "/api/v1/reports")
    assert call.content_type == "application/json" and call.token == fake.admin_token
    body = json.loads(call.body)
    assert body["account_id"] == acct["id"] and body["status_ids"] == [st["id"]]
    assert "status_ids[]" not in body and body["category"] == "violation"
    assert body["rule_ids"] == ["1"]
    assert "hate-remove" in body["comment"] and "CS 3.1 Hate speech" in body["comment"]
    (report,) = fake.filed_reports()
    assert report["status_ids"] == [st["id"]] and report["target"] == acct["id"]
    row = store.report(engine, "default", report["id"])
    assert row is not None and row.origin == "filed"
    assert row.content_ids == [f"mastodon:status:{st['id']}"]


def test_without_a_mapped_rule_the_category_is_other_or_spam(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake, rules="hate=99")  # the instance has no rule 99: not cited
    _, (a, b, c) = seen(engine, fake, n=3)
    sink.deliver(decision_event(a, categories=("hate",), decision_id="a"))
    sink.deliver(decision_event(b, categories=("spam",), decision_id="b"))
    sink.deliver(decision_event(c, action="reduce", categories=("harassment",), decision_id="c"))
    cats = [json.loads(x.body)["category"] for x in fake.calls_to("POST", "/api/v1/reports")]
    assert cats == ["other", "spam", "other"]
    assert all(x.status == 200 for x in fake.calls)


def test_labels_reviews_and_statuses_that_never_came_from_the_instance_file_nothing(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    _, (st,) = seen(engine, fake)
    sink.deliver(decision_event(st, action="label", decision_id="l"))
    sink.deliver(decision_event(st, action="review", decision_id="r"))
    sink.deliver(decision_event(st, action="none", decision_id="n"))
    # named like a status, but only ever submitted through the API: not the instance's word
    stranger = fake.post_status(fake.create_account("x", notify=False)["id"], "<p>y</p>",
                                notify=False)
    sink.deliver(decision_event(stranger, decision_id="s"))
    assert fake.calls_to("POST", "/api") == []


def test_penalties_silence_then_suspend_citing_reports_and_a_ban_adds_nothing(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, sts = seen(engine, fake, n=4)
    for i, st in enumerate(sts):
        sink.deliver(decision_event(st, decision_id=f"d{i}"))
    reports = [r["id"] for r in fake.filed_reports()]
    assert len(reports) == 4
    warn = penalty_event(acct, sts[0], "warning", 1)
    sink.deliver(warn)
    sink.deliver(penalty_event(acct, sts[1], "limited", 2))
    sink.deliver(penalty_event(acct, sts[2], "suspended", 3))
    sink.deliver(penalty_event(acct, sts[2], "suspended", 3))  # redelivered
    sink.deliver(penalty_event(acct, sts[3], "banned", 4))
    sink.deliver(warn)  # redelivered
    kinds = [(a["type"], a.get("report_id")) for a in fake.actions]
    assert kinds == [("none", None), ("silence", reports[1]), ("suspend", reports[2])]
    assert "CS 9.1" in fake.actions[1]["text"]
    assert fake.accounts[acct["id"]]["suspended"] and fake.accounts[acct["id"]]["silenced"]
    # Mastodon resolved every open report on the account when it silenced it
    assert all(fake.reports[r]["action_taken"] for r in reports)


def test_a_penalty_before_any_report_files_one_on_its_cause_first(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (st,) = seen(engine, fake)
    sink.deliver(penalty_event(acct, st, "suspended", 7))
    (report,) = fake.filed_reports()
    assert report["status_ids"] == [st["id"]]
    assert fake.actions == [{"account_id": acct["id"], "type": "suspend",
                             "report_id": report["id"], "text": fake.actions[0]["text"],
                             "send_email_notification": True}]
    sink.deliver(decision_event(st))  # the removal's own event, delivered late: no 2nd report
    assert len(fake.filed_reports()) == 1


def test_a_lifted_penalty_is_undone_only_while_it_is_what_holds_the_account(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (a, b) = seen(engine, fake, n=2)
    sink.deliver(penalty_event(acct, a, "limited", 10))
    sink.deliver(penalty_event(acct, b, "suspended", 11))
    actor = f"mastodon:account:{acct['id']}"

    def lifted(pid: int) -> DomainEvent:
        return DomainEvent(next(_ids), f"penalty:{pid}:lifted", "account.penalty_lifted",
                           "default", f"account:{actor}", T0,
                           {"actor_id": actor, "penalty_id": pid, "penalty": "x"})

    sink.deliver(lifted(10))  # the silence is not what holds the account now: nothing
    assert [x["type"] for x in fake.actions] == ["silence", "suspend"]
    sink.deliver(lifted(11))
    sink.deliver(lifted(11))
    assert [x["type"] for x in fake.actions] == ["silence", "suspend", "unsuspend"]
    assert not fake.accounts[acct["id"]]["suspended"]


def test_a_reviewers_decision_resolves_the_instances_reports_on_the_status(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (st, other) = seen(engine, fake, n=2)
    ann = fake.create_account("ann", notify=False)
    cid = f"mastodon:status:{st['id']}"
    users = fake.user_report(ann["id"], acct["id"], [st["id"]], comment="bad")
    store.record_report(engine, "default", report_id=users["id"], account_id=acct["id"],
                        content_ids=[cid], origin="received", category="other", now=T0)
    sink.deliver(decision_event(st))
    sink.deliver(decision_event(other, decision_id="o"))
    ours = next(r for r in fake.filed_reports() if r["status_ids"] == [st["id"]])
    sink.deliver(DomainEvent(next(_ids), "review:x", "review.task_decided", "default", cid, T0,
                             {"content_id": cid, "reviewer": "rev1", "tasks_closed": 1}))
    resolved = {c.path.split("/")[-2] for c in fake.calls_to("POST", "/api/v1/admin/reports/")}
    assert resolved == {users["id"], ours["id"]}  # not the report on the other status
    assert fake.reports[users["id"]]["action_taken"] and fake.reports[ours["id"]]["action_taken"]


@pytest.mark.parametrize("how", ["503", "429", "refuse"])
def test_an_unavailable_instance_means_retry_and_nothing_is_claimed(engine, fake, how) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (st,) = seen(engine, fake)
    fake.down(how)
    with pytest.raises(RetryLater):
        sink.deliver(decision_event(st))
    with pytest.raises(RetryLater):
        sink.deliver(penalty_event(acct, st, "suspended", 5))
    fake.up()
    sink.deliver(decision_event(st))
    sink.deliver(penalty_event(acct, st, "suspended", 5))
    assert len(fake.filed_reports()) == 1 and [a["type"] for a in fake.actions] == ["suspend"]


def test_a_bad_token_or_missing_scope_is_rejected_with_a_clear_reason(engine, fake) -> None:  # type: ignore[no-untyped-def]
    _, (st,) = seen(engine, fake)
    with pytest.raises(Rejected, match="scopes"):
        make_sink(engine, fake, token="wrong").deliver(decision_event(st))
    fake.add_token("readonly", account_id=fake.admin["id"], scopes=frozenset({"read"}))
    with pytest.raises(Rejected, match="403.*outside the authorized scopes"):
        make_sink(engine, fake, token="readonly").deliver(decision_event(st))
    # nothing was claimed: with a good token it is filed
    make_sink(engine, fake).deliver(decision_event(st))
    assert len(fake.filed_reports()) == 1


def test_a_validation_error_is_rejected_with_mastodons_reason(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    _, (st,) = seen(engine, fake)
    fake.rules = fake.rules[1:]  # rule 1 is gone, but the cached list still has it
    sink.client.rules()
    sink.client._rules = (0.0, [])  # force a re-read: now rule 1 is not cited at all
    sink.deliver(decision_event(st))
    assert json.loads(fake.calls_to("POST", "/api/v1/reports")[0].body)["category"] == "other"
    # a violation without valid rules is what a real instance refuses: said, not retried
    with pytest.raises(Rejected, match="422.*Rule ids"):
        sink.client.file_report(account_id=st["account"]["id"], status_ids=[st["id"]],
                                comment="x", category="violation", rule_ids=[])


def test_a_dead_process_claim_is_taken_over_but_a_live_one_waits(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (st,) = seen(engine, fake)
    cid = f"mastodon:status:{st['id']}"
    now = datetime.now(timezone.utc)
    assert store.claim(engine, "default", f"report:{cid}", account_id=acct["id"],
                       action="report", now=now).mine
    with pytest.raises(RetryLater, match="another process"):
        sink.deliver(decision_event(st))
    sink.clock = lambda: now + timedelta(minutes=6)
    sink.deliver(decision_event(st))
    assert len(fake.filed_reports()) == 1


def test_through_the_dispatcher_an_outage_is_retried_and_delivered_once(engine, fake, clock) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (st,) = seen(engine, fake)
    dispatcher = Dispatcher(engine, [sink], clock=clock,
                            retry=RetryPolicy(max_attempts=5, backoff=1.0, claim_s=5))
    ev = decision_event(st)
    with Session(engine) as s, s.begin():
        emit(s, tenant="default", type=ev.type, key=ev.key, subject=ev.subject,
             payload=ev.payload, at=clock())
    fake.down("503")
    assert dispatcher.run_once()["retry"] == 1
    assert fake.filed_reports() == []
    fake.up()
    clock.now += timedelta(seconds=5)
    assert dispatcher.run_once()["delivered"] == 1
    clock.now += timedelta(seconds=60)
    assert dispatcher.run_once() == {"delivered": 0, "retry": 0, "dead": 0}
    assert len(fake.filed_reports()) == 1


def test_a_weaker_penalty_delivered_late_does_not_weaken_the_account(engine, fake) -> None:  # type: ignore[no-untyped-def]
    sink = make_sink(engine, fake)
    acct, (a, b) = seen(engine, fake, n=2)
    sink.deliver(penalty_event(acct, b, "suspended", 21))
    sink.deliver(penalty_event(acct, a, "limited", 20))  # retried, so it arrives after
    assert [x["type"] for x in fake.actions] == ["suspend"]
    assert not fake.accounts[acct["id"]]["silenced"]


def test_the_pipelines_own_events_reach_the_instance(engine, fake, clock) -> None:  # type: ignore[no-untyped-def]
    """Decisions, penalties and a reviewer's decision, as the pipeline emits them, through
    the real dispatcher: three removals file three reports and end in a suspension; a
    reviewer's removal of a fourth status files its report and resolves it."""
    from tidebreak.config import Settings
    from tidebreak.ingest import parse_event
    from tidebreak.model import Action, ActionType
    from tidebreak.runtime import enforcers

    from .test_pipeline import make_pipeline

    sink = make_sink(engine, fake)
    dispatcher = Dispatcher(engine, [sink], clock=clock)
    pipeline = make_pipeline(engine, clock)
    pipeline.enforcers = list(enforcers(Settings()))  # penalties follow removals, as in serve
    acct, sts = seen(engine, fake, n=4)
    author = f"mastodon:account:{acct['id']}"
    for st, score in zip(sts, ("0.99", "0.99", "0.99", "0.70")):
        out = pipeline.process(parse_event({"id": f"mastodon:status:{st['id']}",
                                            "text": f"vermin [hate={score}]", "author": author}))
        clock.now += timedelta(minutes=1)
    assert out.decision.action == ActionType.REVIEW
    dispatcher.run_once()
    assert sorted(s for r in fake.filed_reports() for s in r["status_ids"]) == sorted(
        s["id"] for s in sts[:3])
    assert [a["type"] for a in fake.actions] == ["none", "silence", "suspend"]
    assert fake.accounts[acct["id"]]["suspended"]
    pipeline.decide_by_human(f"mastodon:status:{sts[3]['id']}", reviewer="rev1",
                             actions=[Action(ActionType.REMOVE)], category="hate",
                             ground="CS 3.1 Hate speech", key="task:1")
    dispatcher.run_once()
    (last,) = [r for r in fake.filed_reports() if r["status_ids"] == [sts[3]["id"]]]
    assert last["action_taken"]  # resolved by the review
    assert dispatcher.run_once()["delivered"] == 0
