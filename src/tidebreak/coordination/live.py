"""Co-action events from live traffic: what the pipeline records, what the sweep reads.

When content is created through the pipeline, what coordination needs is taken from it
(`store.coactions.coaction_rows`: its text, each link, each hashtag, the post it replies
to or reposts, the PDQ hash of each image once the media stage has put one in its meta) and
written to `coordination_coactions` in the pipeline's own recording transaction, so a decision
and its co-actions are recorded together or not at all: one bulk INSERT per batch, nothing
read. (The definition lives with the table, below the pipeline, which may not import this
package.) Reading validates again: a stored link that is not a web URL, or a type from a newer
version, is skipped, never a crashed sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tidebreak.coordination.events import CoordEvent, ObjectType
from tidebreak.store.coactions import coaction_rows
from tidebreak.text.urls import NotAUrl, canonical_url
from tidebreak.model import Content
from tidebreak.store.schema import CoActionRow

_COLUMNS = (CoActionRow.event_id, CoActionRow.account_id, CoActionRow.object_type,
            CoActionRow.object_id, CoActionRow.text, CoActionRow.ts)


def record_coactions(session: Session, tenant: str, contents: Iterable[Content]) -> int:
    """Insert the co-actions of newly created contents in the caller's transaction, as one
    bulk INSERT (what the pipeline does). Returns the number of rows."""
    rows = [r for c in contents for r in coaction_rows(tenant, c)]
    if rows:
        session.execute(insert(CoActionRow), rows)
    return len(rows)


def to_event(row: Any) -> CoordEvent | None:
    """A stored row (event_id, account_id, object_type, object_id, text, ts) as an event, or
    None when it could never match (unknown type, a link that is not a web URL)."""
    eid, acc, otype, oid, text, ts = row
    try:
        kind = ObjectType(otype)
        if kind is ObjectType.URL:
            canonical_url(oid)
    except (ValueError, NotAUrl):
        return None
    return CoordEvent(eid, acc, kind, oid, text or "", float(ts))


def _query(tenant: str, since_ts: float, until_ts: float | None) -> Any:
    q = select(*_COLUMNS).where(CoActionRow.tenant == tenant, CoActionRow.ts >= since_ts)
    if until_ts is not None:
        q = q.where(CoActionRow.ts < until_ts)
    return q.order_by(CoActionRow.ts, CoActionRow.event_id)


def load_coactions(session: Session, tenant: str, since_ts: float,
                   until_ts: float | None = None) -> list[CoordEvent]:
    """Stored co-actions of a tenant from `since_ts` (Unix seconds), in time order."""
    return [ev for row in session.execute(_query(tenant, since_ts, until_ts))
            if (ev := to_event(row)) is not None]


def iter_coaction_chunks(session: Session, tenant: str, since_ts: float,
                         size: int) -> Iterator[list[CoordEvent]]:
    """The same, streamed in chunks (the out-of-core sweep never holds them all)."""
    result = session.execute(_query(tenant, since_ts, None).execution_options(yield_per=size))
    for part in result.partitions(size):
        yield [ev for row in part if (ev := to_event(row)) is not None]


def count_coactions(session: Session, tenant: str, since_ts: float) -> int:
    return int(session.execute(select(func.count()).select_from(CoActionRow).where(
        CoActionRow.tenant == tenant, CoActionRow.ts >= since_ts)).scalar_one())
