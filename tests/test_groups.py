"""Group health and stages from realistic histories, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tidebreak.enforce import groups
from tidebreak.enforce.penalties import standing
from tidebreak.policy import load_default_policy

from .reach_helpers import ledger_kinds, post, reach_pipeline

CFG = load_default_policy().sections.groups


def group_view(engine, clock, gid: str) -> dict:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return groups.show(s, "default", gid, CFG, clock())


def set_roles(engine, clock, gid: str, **roles: list[str]) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        groups.set_roles(s, "default", gid, roles, [], clock(), by="platform")


def test_a_group_focused_on_hate_whose_admins_approve_it_is_shut_down(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = reach_pipeline(engine, clock)
    set_roles(engine, clock, "g-hate", admin=["boss"], moderator=["mod"],
              member=[f"m{i}" for i in range(12)])
    stages_seen = []
    for i in range(30):
        clock.advance(minutes=30)
        hate = i % 3 != 2  # two posts in three are hate
        text = f"post {i} " + ("[hate=0.96]" if hate else "[hate=0.02]")
        p.process(post(f"gh{i}", text, author=f"m{i % 12}", group="g-hate",
                       approved_by="mod" if i % 2 else "boss"))
        stages_seen.append(group_view(engine, clock, "g-hate")["stage"])
    # Never on a single post: nothing changes before min_violations violating posts.
    assert stages_seen[:6] == ["healthy"] * 6
    g = group_view(engine, clock, "g-hate")
    assert g["stage"] == "shutdown" and g["reach"] == 0.0 and g["recommendable"] is False
    shutdown = g["determinations"][-1]
    assert shutdown["to"] == "shutdown" and shutdown["ground"].startswith("CS 7.1")
    ev = shutdown["evidence"]
    assert ev["focus"] == "hate" and ev["enough_evidence"]
    assert ev["violating_posts"] >= 5 and ev["violating_share"] > 0.5
    assert ev["admin_approval"]["share"] == 1.0 and ev["admin_approval"]["staff"] == ["boss", "mod"]
    assert len(ev["examples"]) == ev["violating_posts"] and ev["distinct_violating_authors"] > 1
    # Its admin and the approving moderator are penalised, with the determination as reason.
    with Session(engine) as s:
        for staff in ("boss", "mod"):
            st = standing(s, "default", staff, clock())
            assert st["status"] == "suspended"
            assert st["penalties"][-1]["reasons"]["determination_id"] == shutdown["id"]
    assert ledger_kinds(engine, "group:g-hate").count("group.stage") == len(g["determinations"])
    # After the read-only grace period the group is removed.
    clock.advance(days=CFG.removal_days + 1)
    with Session(engine) as s, s.begin():
        assert groups.sweep(s, "default", clock()) == ["g-hate"]
    assert group_view(engine, clock, "g-hate")["stage"] == "removed"


def test_a_large_healthy_group_with_a_few_bad_posts_from_different_members_stays_healthy(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = reach_pipeline(engine, clock)
    set_roles(engine, clock, "g-big", admin=["host"])
    events = []
    for i in range(200):
        bad = i in (13, 57, 101, 144, 190)  # five bad posts, five different members
        text = f"garden tip {i} " + ("[hate=0.97]" if bad else "[hate=0.03]")
        events.append(post(f"gb{i}", text, author=f"member{i % 97}", group="g-big",
                           approved_by="host"))
    p.process_batch(events)
    g = group_view(engine, clock, "g-big")
    assert g["stage"] == "healthy" and g["determinations"] == []
    assert g["current"]["evidence"]["violating_posts"] == 5
    assert g["current"]["health"] > CFG.thresholds["warned"]


def test_a_group_with_no_posts_gets_a_clear_answer_and_unknown_groups_an_error(engine, clock) -> None:  # type: ignore[no-untyped-def]
    set_roles(engine, clock, "g-empty", admin=["a"])
    g = group_view(engine, clock, "g-empty")
    assert g["stage"] == "healthy" and g["current"]["health"] is None
    assert "no posts" in g["current"]["evidence"]["note"]
    with pytest.raises(groups.UnknownGroup, match="no group 'nope'"):
        group_view(engine, clock, "nope")
    with Session(engine) as s, s.begin(), pytest.raises(groups.GroupError, match="two roles"):
        groups.set_roles(s, "default", "g-empty", {"admin": ["x"], "member": ["x"]}, [],
                         clock(), by="platform")


def test_health_kept_current_in_a_batch_equals_a_fresh_count(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """In a batch, a group's window is counted once and then updated post by post (a post
    added, a post re-decided: an edit into hate, a report); the counts it ends with are the
    counts a fresh read of the database gives."""
    p = reach_pipeline(engine, clock)
    p.process_batch([post(f"w{i}", f"old post {i} " + ("[hate=0.96]" if i % 4 == 0 else
                                                       "[hate=0.02]"), author=f"a{i % 5}",
                          group="g-mixed") for i in range(12)])
    clock.advance(minutes=5)
    events = [post(f"n{i}", f"new post {i} " + ("[hate=0.97]" if i % 3 == 0 else "[hate=0.01]"),
                   author=f"b{i % 4}", group="g-mixed", approved_by="boss" if i % 2 else None)
              for i in range(10)]
    from tidebreak.ingest import parse_event

    events.append(parse_event({"type": "content.edit", "id": "w1", "text": "now [hate=0.98]"}))
    events.append(parse_event({"type": "report", "id": "w2", "reason": "hate"}))
    seen: dict = {}
    real_apply = groups.apply

    def watch(s, tenant, group_id, cfg, policy_version, now, trigger=None):  # type: ignore[no-untyped-def]
        seen["in_batch"] = groups.assess(s, tenant, group_id, cfg, now)
        return real_apply(s, tenant, group_id, cfg, policy_version, now, trigger)

    groups.apply = watch  # type: ignore[assignment]
    try:
        p.process_batch(events)
    finally:
        groups.apply = real_apply  # type: ignore[assignment]
    with Session(engine) as s:
        fresh = groups.assess(s, "default", "g-mixed", CFG, clock())
    assert seen["in_batch"].posts == fresh.posts == 22
    assert seen["in_batch"].health == fresh.health
    drop = ("note",)
    assert {k: v for k, v in seen["in_batch"].evidence.items() if k not in drop} == \
        {k: v for k, v in fresh.evidence.items() if k not in drop}
    assert fresh.evidence["violating_posts"] >= 8 and fresh.evidence["reports"]["reported_posts"] == 1


def test_a_group_shut_down_in_a_batch_counts_as_closed_for_the_rest_of_it(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Members of a group shut down earlier in the same batch weigh on the groups they also
    post in (the overlap component) exactly as a fresh read of the database says."""
    p = reach_pipeline(engine, clock)
    set_roles(engine, clock, "g-bad", admin=["boss"], member=[f"m{i}" for i in range(6)])
    events = [post(f"b{i}", f"bad {i} [hate=0.97]", author=f"m{i % 6}", group="g-bad",
                   approved_by="boss") for i in range(14)]
    events += [post(f"o{i}", f"other {i} [hate=0.02]", author=f"m{i % 6}", group="g-other")
               for i in range(6)]
    seen: dict = {}
    real_apply = groups.apply

    def watch(s, tenant, group_id, cfg, policy_version, now, trigger=None):  # type: ignore[no-untyped-def]
        det = real_apply(s, tenant, group_id, cfg, policy_version, now, trigger)
        if group_id == "g-other":
            seen["in_batch"] = groups.assess(s, tenant, group_id, cfg, now)
        return det

    groups.apply = watch  # type: ignore[assignment]
    try:
        p.process_batch(events)
    finally:
        groups.apply = real_apply  # type: ignore[assignment]
    assert group_view(engine, clock, "g-bad")["stage"] == "shutdown"
    with Session(engine) as s:
        fresh = groups.assess(s, "default", "g-other", CFG, clock())
    overlap = seen["in_batch"].evidence["overlap"]
    assert overlap == fresh.evidence["overlap"]
    assert overlap["shut_down_groups"] == ["g-bad"] and overlap["share"] == 1.0


def test_a_group_shut_down_with_no_grace_period_is_due_for_removal_in_the_same_transaction(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    set_roles(engine, clock, "g-now", admin=["a"])
    now = clock()
    with Session(engine) as s, s.begin():
        assert groups.sweep(s, "default", now) == []  # read (and remembered) for this transaction
        groups.change_stage(s, "default", "g-now", "shutdown", health=0.0, evidence={},
                            ground="test", policy_version="t", now=now,
                            cfg=replace(CFG, removal_days=0))
        assert groups.sweep(s, "default", now) == ["g-now"]
        assert groups.sweep(s, "default", now) == []  # removed once
    assert group_view(engine, clock, "g-now")["stage"] == "removed"
