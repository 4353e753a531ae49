"""The notice a user gets: the statement of reasons for the standing decision on their content,
and how to appeal it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.review.appeals import appeal_dict
from tidebreak.review.errors import NotFound
from tidebreak.store.schema import AppealRow, ContentRow, DecisionRow

HOW_TO_APPEAL = ("Reply through the platform's appeal form within 6 months; the platform sends "
                 "POST /v1/appeals with content_id, appellant, appellant_role (author or "
                 "group_admin) and your statement. A person who did not make this decision "
                 "reviews it.")


def notice(session: Session, tenant: str, content_id: str) -> dict[str, Any]:
    row = session.get(ContentRow, (tenant, content_id))
    decision = session.get(DecisionRow, row.last_decision_id) if row and row.last_decision_id else None
    if row is None or decision is None:
        raise NotFound(f"no decision for content {content_id!r}")
    d = decision.payload
    # The author is told of restrictions only: a pending review or an information label is not a
    # finding against them (tidebreak.model.OutcomeKind).
    acted = [h for h in d["reasons"] if any(a.get("outcome", "enforcement") == "enforcement"
                                            and a["type"] not in ("none", "review")
                                            for a in h["actions"])]
    appeals = session.execute(select(AppealRow).where(
        AppealRow.tenant == tenant, AppealRow.content_id == content_id)
        .order_by(AppealRow.id)).scalars().all()
    appealed = any(a.decision_id == decision.id for a in appeals)
    return {
        "content_id": content_id,
        "decision_id": decision.id,
        "action": d["action"],
        "content_state": row.state,
        "reasons": [{"rule": h["rule_id"], "ground": h["ground"], "notice": h["notice"],
                     "category": h["category"]} for h in acted],
        "automated": d["decided_by"] == "automation",
        "decided_by": "automated system" if d["decided_by"] == "automation" else "a reviewer",
        "decided_at": d["created_at"],
        "appealable": bool(acted) and not appealed,
        "how_to_appeal": HOW_TO_APPEAL,
        "appeals": [appeal_dict(a) for a in appeals],
    }
