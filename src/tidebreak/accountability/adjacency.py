"""The adjacency ledger: which ad impressions were served next to which content.

Platforms send impressions `{impression_id, ad_id, advertiser, content_id, served_at, spend}`
(optional `surface`, `currency`). When content is later removed, `advertiser_report` lists, for
one advertiser, exactly the impressions served next to it and their spend (the make-good that
Stop Hate for Profit asked for), with brand-safety figures by GARM category and risk level and
the Advertising Safety Error Rate (impressions next to floor content / all impressions).

Spend is kept in micro-units (integers), so totals are exact.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.accountability.taxonomy import garm_category
from tidebreak.clock import parse_time
from tidebreak.errors import BadInput
from tidebreak.store.schema import AdImpressionRow, ContentRow, DecisionRow

MICROS = Decimal(1_000_000)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
DEFAULT_CURRENCY = "EUR"


class ImpressionError(BadInput):
    pass


@dataclass(frozen=True)
class Impression:
    impression_id: str
    ad_id: str
    advertiser: str
    content_id: str
    served_at: datetime
    spend_micros: int
    currency: str = DEFAULT_CURRENCY
    surface: str | None = None


def _id(obj: dict[str, Any], name: str) -> str:
    v = obj.get(name)
    if not isinstance(v, str) or not v.strip():
        raise ImpressionError(f"field {name!r} must be a non-empty string")
    if len(v) > 256:
        raise ImpressionError(f"field {name!r} is over 256 characters")
    return v


def parse_impression(obj: Any) -> Impression:
    if not isinstance(obj, dict):
        raise ImpressionError("each impression must be a JSON object")
    raw_at = obj.get("served_at")
    if not isinstance(raw_at, str):
        raise ImpressionError("field 'served_at' must be an ISO 8601 timestamp")
    try:
        served = parse_time(raw_at, "field 'served_at'", require_zone=True)
    except BadInput as e:
        raise ImpressionError(str(e)) from None
    spend = obj.get("spend")
    if isinstance(spend, bool) or not isinstance(spend, (int, float, str)):
        raise ImpressionError("field 'spend' must be a number")
    try:
        amount = Decimal(str(spend))
    except InvalidOperation:
        raise ImpressionError(f"field 'spend': not a number: {spend!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ImpressionError("field 'spend' must be a finite number >= 0")
    currency = obj.get("currency", DEFAULT_CURRENCY)
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise ImpressionError("field 'currency' must be a 3-letter ISO 4217 code")
    surface = obj.get("surface")
    if surface is not None and (not isinstance(surface, str) or len(surface) > 64):
        raise ImpressionError("field 'surface' must be a string of at most 64 characters")
    return Impression(_id(obj, "impression_id"), _id(obj, "ad_id"), _id(obj, "advertiser"),
                      _id(obj, "content_id"), served.astimezone(timezone.utc),
                      int((amount * MICROS).to_integral_value(ROUND_HALF_EVEN)), currency, surface)


def _same(row: AdImpressionRow, imp: Impression) -> bool:
    served = row.served_at if row.served_at.tzinfo else row.served_at.replace(tzinfo=timezone.utc)
    return (row.ad_id, row.advertiser, row.content_id, served, row.spend_micros, row.currency,
            row.surface) == (imp.ad_id, imp.advertiser, imp.content_id, imp.served_at,
                             imp.spend_micros, imp.currency, imp.surface)


def ingest(session: Session, tenant: str, impressions: Sequence[Impression], *, actor: str,
           now: datetime) -> tuple[int, int]:
    """Store impressions in the caller's transaction; idempotent by impression_id. Returns
    (added, already present). An id seen before with different data is an error, and nothing of
    the batch is stored (the caller's transaction rolls back)."""
    seen: dict[str, Impression] = {}
    for imp in impressions:
        if imp.impression_id in seen and seen[imp.impression_id] != imp:
            raise ImpressionError(f"impression {imp.impression_id!r} appears twice with "
                                  "different data")
        seen[imp.impression_id] = imp
    existing = {r.impression_id: r for r in session.execute(
        select(AdImpressionRow).where(AdImpressionRow.tenant == tenant,
                                      AdImpressionRow.impression_id.in_(list(seen)))).scalars()}
    added: list[Impression] = []
    for iid, imp in seen.items():
        if iid in existing:
            if not _same(existing[iid], imp):
                raise ImpressionError(f"impression {iid!r} was recorded before with different data")
            continue
        session.add(AdImpressionRow(tenant=tenant, impression_id=iid, ad_id=imp.ad_id,
                                    advertiser=imp.advertiser, content_id=imp.content_id,
                                    surface=imp.surface, served_at=imp.served_at,
                                    spend_micros=imp.spend_micros, currency=imp.currency))
        added.append(imp)
    if added:
        # One ledger entry per batch: a digest of what was added, so make-good figures can be
        # checked against the chain later.
        h = hashlib.sha256()
        for imp in sorted(added, key=lambda i: i.impression_id):
            h.update(ledger.canonical_json([imp.impression_id, imp.advertiser, imp.content_id,
                                            imp.served_at.isoformat(), imp.spend_micros,
                                            imp.currency]).encode())
        ledger.append(session, tenant=tenant, kind="ad_impressions.ingested", subject="adjacency",
                      actor=actor, payload={"count": len(added), "sha256": h.hexdigest()}, at=now)
    return len(added), len(seen) - len(added)


# -- the advertiser report -----------------------------------------------------------------------

RISK_BY_STATE = {"removed": "floor", "warning": "high", "reduced": "high", "labelled": "medium",
                 "pending_review": "medium"}


def money(micros: int) -> str:
    """Micro-units as a decimal string: cents when exact, else up to six places."""
    amount = Decimal(micros) / MICROS
    if micros % 10_000 == 0:
        return str(amount.quantize(Decimal("0.01")))
    return format(amount.normalize(), "f")


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _chunks(ids: Iterable[str], n: int = 500) -> Iterable[list[str]]:
    ids = list(ids)
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


def advertiser_report(session: Session, tenant: str, advertiser: str, *,
                      start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    q = select(AdImpressionRow).where(AdImpressionRow.tenant == tenant,
                                      AdImpressionRow.advertiser == advertiser)
    if start is not None:
        q = q.where(AdImpressionRow.served_at >= start)
    if end is not None:
        q = q.where(AdImpressionRow.served_at < end)
    imps = list(session.execute(q.order_by(AdImpressionRow.served_at,
                                           AdImpressionRow.impression_id)).scalars())
    content_ids = {i.content_id for i in imps}
    contents: dict[str, ContentRow] = {}
    removals: dict[str, DecisionRow] = {}
    latest: dict[str, DecisionRow] = {}
    for chunk in _chunks(content_ids):
        for c in session.execute(select(ContentRow).where(ContentRow.tenant == tenant,
                                                          ContentRow.id.in_(chunk))).scalars():
            contents[c.id] = c
        for d in session.execute(select(DecisionRow).where(DecisionRow.tenant == tenant,
                                                           DecisionRow.content_id.in_(chunk))
                                 .order_by(DecisionRow.created_at, DecisionRow.id)).scalars():
            latest[d.content_id] = d
            if d.action == "remove":
                removals[d.content_id] = d  # the removal in force is the latest one

    make_good: list[dict[str, Any]] = []
    totals: dict[str, int] = defaultdict(int)
    refund: dict[str, int] = defaultdict(int)
    safety: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    floor_imps = 0
    for imp in imps:
        totals[imp.currency] += imp.spend_micros
        c = contents.get(imp.content_id)
        state = c.state if c is not None else "unknown"
        risk = RISK_BY_STATE.get(state, "low")
        basis = removals.get(imp.content_id) if state == "removed" else latest.get(imp.content_id)
        cats = list(basis.categories) if basis is not None else []
        garm = next((g for g in map(garm_category, cats) if g), None)
        key = (garm or ("n/a" if cats else "none"), risk, imp.currency)
        safety[key][0] += 1
        safety[key][1] += imp.spend_micros
        if risk == "floor":
            floor_imps += 1
        if state == "removed" and basis is not None:
            refund[imp.currency] += imp.spend_micros
            make_good.append({
                "impression_id": imp.impression_id, "ad_id": imp.ad_id,
                "content_id": imp.content_id, "surface": imp.surface,
                "served_at": _aware(imp.served_at).isoformat(),
                "spend": money(imp.spend_micros), "currency": imp.currency,
                "removed_at": _aware(basis.created_at).isoformat(),
                "removed_after_serving": _aware(basis.created_at) >= _aware(imp.served_at),
                "rules": list(basis.rules), "categories": cats, "garm_category": garm,
            })
    return {
        "advertiser": advertiser,
        "period": {"from": start.isoformat() if start else None,
                   "to": end.isoformat() if end else None},
        "impressions": len(imps),
        "spend": {cur: money(v) for cur, v in sorted(totals.items())},
        "make_good": {
            "impressions": len(make_good),
            "spend": {cur: money(v) for cur, v in sorted(refund.items())},
            "items": make_good,
        },
        "brand_safety": {
            "advertising_safety_error_rate": (floor_imps / len(imps)) if imps else None,
            "by_garm_category_and_risk": [
                {"garm_category": g, "risk": r, "impressions": n, "spend": money(s),
                 "currency": cur}
                for (g, r, cur), (n, s) in sorted(safety.items())],
        },
    }
