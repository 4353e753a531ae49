"""Helpers shared by the review tests: a pipeline with the review stage, and items that the
default policy sends to review ("[violence=0.6]" is a grey-zone threat: the violence queue)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.ingest import parse_event
from tidebreak.pipeline import Pipeline
from tidebreak.review.enforcer import ReviewEnforcer
from tidebreak.store.schema import ReviewTaskRow

from .test_pipeline import make_pipeline, post


def review_pipeline(engine, clock) -> Pipeline:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    p.enforcers.append(ReviewEnforcer())
    return p


def report(content_id: str, reason: str, reporter: str, **kw: object):  # type: ignore[no-untyped-def]
    return parse_event({"type": "report", "id": content_id, "reason": reason,
                        "reporter": reporter, **kw})


def open_tasks(engine, content_id: str | None = None) -> list[ReviewTaskRow]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        q = select(ReviewTaskRow).where(ReviewTaskRow.status.in_(("open", "claimed")))
        if content_id:
            q = q.where(ReviewTaskRow.content_id == content_id)
        return list(s.execute(q.order_by(ReviewTaskRow.id)).scalars())


__all__ = ["open_tasks", "post", "report", "review_pipeline"]
