"""User reports and trusted flaggers.

Reports themselves enter through the pipeline as `report` events (so they are idempotent and
ledgered like everything else); review.enforcer records them and merges them into tasks. This
module reads them back and manages the list of trusted flaggers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.review.errors import ReviewError
from tidebreak.store.schema import ReviewReportRow, TrustedFlaggerRow


def add_flagger(session: Session, *, tenant: str, reporter: str, organisation: str, by: str,
                now: datetime) -> TrustedFlaggerRow:
    reporter, organisation = reporter.strip(), organisation.strip()
    if not reporter or not organisation:
        raise ReviewError("a trusted flagger needs a reporter id and an organisation name")
    row = session.get(TrustedFlaggerRow, (tenant, reporter))
    if row is None:
        row = TrustedFlaggerRow(tenant=tenant, reporter=reporter, organisation=organisation,
                                added_by=by, created_at=now, active=True)
        session.add(row)
    else:
        row.organisation, row.active = organisation, True
    ledger.append(session, tenant=tenant, kind="flagger.add", subject=reporter, actor=by,
                  payload={"reporter": reporter, "organisation": organisation}, at=now)
    return row


def remove_flagger(session: Session, *, tenant: str, reporter: str, by: str, now: datetime) -> None:
    row = session.get(TrustedFlaggerRow, (tenant, reporter))
    if row is None or not row.active:
        raise ReviewError(f"{reporter!r} is not a trusted flagger")
    row.active = False
    ledger.append(session, tenant=tenant, kind="flagger.remove", subject=reporter, actor=by,
                  payload={"reporter": reporter}, at=now)


def flaggers(session: Session, tenant: str) -> list[TrustedFlaggerRow]:
    return list(session.execute(
        select(TrustedFlaggerRow).where(TrustedFlaggerRow.tenant == tenant,
                                        TrustedFlaggerRow.active.is_(True))
        .order_by(TrustedFlaggerRow.organisation)).scalars())


def reports_on(session: Session, tenant: str, content_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ReviewReportRow).where(ReviewReportRow.tenant == tenant,
                                      ReviewReportRow.content_id == content_id)
        .order_by(ReviewReportRow.created_at, ReviewReportRow.id)).scalars()
    return [{"report_id": r.id, "reason": r.reason, "reporter": r.reporter,
             "trusted_flagger": r.trusted_org, "statement": r.statement, "task_id": r.task_id,
             "created_at": r.created_at.isoformat()} for r in rows]
