"""The adapter's own tables (tidebreak.store.schema, migration 0013_mastodon): which statuses
came from the instance, which reports exist there, and which calls were made.

A call on the instance is *claimed* before it is made (a row keyed by what it is for, e.g.
"report:<content id>"), so a redelivered event, a re-decision or a second server never makes
it twice. A claim whose call failed is released; one left by a process that died mid-call is
taken over once it is older than `STALE_CLAIM`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidebreak.store.schema import MastodonActionRow, MastodonReportRow, MastodonStatusRow

STALE_CLAIM = timedelta(minutes=5)


def _aware(dt: datetime | None) -> datetime | None:
    if dt is not None and dt.tzinfo is None:  # SQLite hands naive datetimes back
        return dt.replace(tzinfo=timezone.utc)
    return dt


def record_statuses(engine: Engine, tenant: str, statuses: Iterable[tuple[str, str, str]],
                    now: datetime) -> None:
    """Remember (content id, status id, account id) triples seen in signed webhooks."""
    with Session(engine) as s, s.begin():
        for content_id, status_id, account_id in statuses:
            if s.get(MastodonStatusRow, (tenant, content_id)) is None:
                s.add(MastodonStatusRow(tenant=tenant, content_id=content_id,
                                        status_id=status_id, account_id=account_id,
                                        received_at=now))


def known_status(engine: Engine, tenant: str, content_id: str) -> MastodonStatusRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(MastodonStatusRow, (tenant, content_id))


def record_report(engine: Engine, tenant: str, *, report_id: str, account_id: str,
                  content_ids: list[str], origin: str, category: str, now: datetime) -> bool:
    """Remember a report on the instance; False when it was known already."""
    try:
        with Session(engine) as s, s.begin():
            if s.get(MastodonReportRow, (tenant, report_id)) is not None:
                return False
            s.add(MastodonReportRow(tenant=tenant, report_id=report_id, account_id=account_id,
                                    content_ids=content_ids, origin=origin, category=category,
                                    created_at=now, resolved_at=None))
    except IntegrityError:  # recorded by another process meanwhile
        return False
    return True


def report(engine: Engine, tenant: str, report_id: str) -> MastodonReportRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(MastodonReportRow, (tenant, report_id))


def open_reports_on(engine: Engine, tenant: str, account_id: str,
                    content_id: str) -> list[MastodonReportRow]:
    """Unresolved reports on the instance (filed or received) that cover `content_id`."""
    with Session(engine, expire_on_commit=False) as s:
        rows = s.execute(select(MastodonReportRow).where(
            MastodonReportRow.tenant == tenant, MastodonReportRow.account_id == account_id,
            MastodonReportRow.resolved_at.is_(None))).scalars().all()
    return [r for r in rows if content_id in (r.content_ids or [])]


def latest_filed_report(engine: Engine, tenant: str, account_id: str) -> str | None:
    with Session(engine) as s:
        return s.execute(select(MastodonReportRow.report_id).where(
            MastodonReportRow.tenant == tenant, MastodonReportRow.account_id == account_id,
            MastodonReportRow.origin == "filed")
            .order_by(MastodonReportRow.created_at.desc(), MastodonReportRow.report_id.desc())
            .limit(1)).scalar()


def mark_resolved(engine: Engine, tenant: str, report_ids: Iterable[str], now: datetime) -> None:
    ids = list(report_ids)
    if not ids:
        return
    with Session(engine) as s, s.begin():
        s.execute(update(MastodonReportRow).where(
            MastodonReportRow.tenant == tenant, MastodonReportRow.report_id.in_(ids),
            MastodonReportRow.resolved_at.is_(None)).values(resolved_at=now))


def resolve_open_on_account(engine: Engine, tenant: str, account_id: str, now: datetime) -> None:
    """Mastodon resolves every open report on an account when it is silenced or suspended."""
    with Session(engine) as s, s.begin():
        s.execute(update(MastodonReportRow).where(
            MastodonReportRow.tenant == tenant, MastodonReportRow.account_id == account_id,
            MastodonReportRow.resolved_at.is_(None)).values(resolved_at=now))


# -- claims --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a call: `mine` (go ahead), or the existing row: done
    already (`done`) or being made by someone else right now (neither)."""

    mine: bool
    done: bool
    row: MastodonActionRow | None


def claim(engine: Engine, tenant: str, key: str, *, account_id: str, action: str,
          now: datetime, penalty_id: int | None = None) -> Claim:
    try:
        with Session(engine) as s, s.begin():
            s.add(MastodonActionRow(tenant=tenant, key=key, account_id=account_id, action=action,
                                    penalty_id=penalty_id, report_id=None, claimed_at=now,
                                    done_at=None))
        return Claim(True, False, None)
    except IntegrityError:
        pass
    with Session(engine, expire_on_commit=False) as s, s.begin():
        row = s.get(MastodonActionRow, (tenant, key))
        if row is None:  # released meanwhile: try once more
            s.add(MastodonActionRow(tenant=tenant, key=key, account_id=account_id,
                                    action=action, penalty_id=penalty_id, report_id=None,
                                    claimed_at=now, done_at=None))
            return Claim(True, False, None)
        if row.done_at is not None:
            return Claim(False, True, row)
        claimed = _aware(row.claimed_at)
        if claimed is not None and now - claimed >= STALE_CLAIM:
            # its process died mid-call: take it over (conditional, so only one does)
            took = s.execute(update(MastodonActionRow).where(
                MastodonActionRow.tenant == tenant, MastodonActionRow.key == key,
                MastodonActionRow.done_at.is_(None),
                MastodonActionRow.claimed_at == row.claimed_at).values(claimed_at=now)).rowcount
            return Claim(took == 1, False, row)
        return Claim(False, False, row)


def complete(engine: Engine, tenant: str, key: str, now: datetime, *,
             report_id: str | None = None, action: str | None = None) -> None:
    values: dict[str, object] = {"done_at": now}
    if report_id is not None:
        values["report_id"] = report_id
    if action is not None:
        values["action"] = action
    with Session(engine) as s, s.begin():
        s.execute(update(MastodonActionRow).where(MastodonActionRow.tenant == tenant,
                                                  MastodonActionRow.key == key).values(**values))


def release(engine: Engine, tenant: str, key: str) -> None:
    """Give a claim back after its call failed, so a retry may make it."""
    with Session(engine) as s, s.begin():
        s.execute(delete(MastodonActionRow).where(MastodonActionRow.tenant == tenant,
                                                  MastodonActionRow.key == key,
                                                  MastodonActionRow.done_at.is_(None)))


def done_action(engine: Engine, tenant: str, key: str) -> MastodonActionRow | None:
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(MastodonActionRow, (tenant, key))
    return row if row is not None and row.done_at is not None else None


def account_state(engine: Engine, tenant: str, account_id: str) -> MastodonActionRow | None:
    """The last account action tidebreak took on the instance for this account (silence,
    suspend, unsilence, unsuspend), or None."""
    with Session(engine, expire_on_commit=False) as s:
        return s.execute(select(MastodonActionRow).where(
            MastodonActionRow.tenant == tenant, MastodonActionRow.account_id == account_id,
            MastodonActionRow.done_at.is_not(None),
            MastodonActionRow.action.in_(("silence", "suspend", "unsilence", "unsuspend")))
            .order_by(MastodonActionRow.done_at.desc(), MastodonActionRow.claimed_at.desc())
            .limit(1)).scalar()
