"""Ad review: political and issue ads need an authorised advertiser and a "paid for by" line.

Ads go through the same pipeline as posts: the same detectors, and the stricter ad rules of the
default policy (`applies_to: [ad]`). This module adds what is particular to ads about social
issues, elections or politics (Meta's SIEP policy, SHFP): the advertiser must be authorised, in
the `advertiser_authorisations` table, and the ad must carry the verified "Paid for by" byline.
The `political_ads` detector reports an ad that fails either test as the signal
`unauthorised_political_ad`; the policy rule `ad-political-unauthorised` rejects it, so the
rejection has a decision, a ledger entry, a statement of reasons and a notice like any other.

Deciding that an ad is political is done from what the platform declares (`political: true` or
`ad_category` in the event) and, as a floor, from election and ballot vocabulary and a "paid for
by" line in the text: it errs towards asking for authorisation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.errors import BadInput
from tidebreak.model import ContentKind, Item, Signal

CATEGORY = "unauthorised_political_ad"
POLITICAL_AD_CATEGORIES = frozenset({"political", "issue", "election", "social_issue"})
_TERMS = re.compile(
    r"\b(vote[sd]?|voting|voters?|ballots?|elections?|electoral|candidates?|referendum|"
    r"(?:measure|proposition|prop|amendment)\s+\d+|senators?|congress(?:man|woman)?|parliament|"
    r"mayor(?:al)?|governor|legislation|city council|political|polling (?:place|station)s?|"
    r"re-?elect)\b", re.I)
_PAID_FOR = re.compile(r"\bpaid for by\s*:?\s*([^.\n!?;|]+)", re.I)


class AdAuthorisationError(BadInput):
    pass


@dataclass(frozen=True)
class Authorisation:
    advertiser: str
    paid_for_by: str
    authorised_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def valid_at(self, when: datetime) -> bool:
        def aware(d: datetime) -> datetime:
            return d if d.tzinfo else d.replace(tzinfo=timezone.utc)

        return (self.revoked_at is None
                and (self.expires_at is None or aware(self.expires_at) > when))


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().strip(".,;:!?\"'").casefold()


def byline(text: str) -> str | None:
    m = _PAID_FOR.search(text)
    return m.group(1).strip() if m else None


def political_terms(text: str, meta: dict[str, Any]) -> list[str]:
    """Why the ad counts as political: declared by the platform, or its vocabulary."""
    why = []
    if meta.get("political") is True:
        why.append("declared political")
    cat = meta.get("ad_category")
    if isinstance(cat, str) and cat.lower() in POLITICAL_AD_CATEGORIES:
        why.append(f"declared {cat.lower()}")
    why += list(dict.fromkeys(m.group(0).lower() for m in _TERMS.finditer(text)))
    if byline(text):
        why.append("paid for by")
    return why


def check_ad(text: str, meta: dict[str, Any], auth: Authorisation | None,
             now: datetime) -> dict[str, Any] | None:
    """None when the ad may run as far as political-ad rules go; else the evidence why not."""
    why = political_terms(text, meta)
    if not why:
        return None
    advertiser = meta.get("advertiser")
    line = byline(text) or (meta.get("paid_for_by") if isinstance(meta.get("paid_for_by"), str)
                            else None)
    evidence: dict[str, Any] = {"political": why[:8], "advertiser": advertiser,
                                "paid_for_by": line}
    if not isinstance(advertiser, str) or not advertiser:
        return {**evidence, "reason": "no advertiser named"}
    if auth is None:
        return {**evidence, "reason": "advertiser not authorised for political or issue ads"}
    if not auth.valid_at(now):
        return {**evidence, "reason": "advertiser's authorisation has expired or was revoked"}
    if not line:
        return {**evidence, "reason": "no 'Paid for by' line"}
    if _norm(line) != _norm(auth.paid_for_by):
        return {**evidence, "reason": "'Paid for by' line does not match the verified byline",
                "verified_paid_for_by": auth.paid_for_by}
    return None


# -- the authorisation table -------------------------------------------------------------------


def load_authorisations(session: Session, tenant: str,
                        advertisers: Sequence[str]) -> dict[str, Authorisation]:
    from tidebreak.store.schema import AdvertiserAuthorisationRow as Row

    if not advertisers:
        return {}
    rows = session.execute(select(Row).where(Row.tenant == tenant,
                                             Row.advertiser.in_(set(advertisers)))).scalars()
    return {r.advertiser: Authorisation(r.advertiser, r.paid_for_by, r.authorised_at,
                                        r.expires_at, r.revoked_at) for r in rows}


def authorise(session: Session, *, tenant: str, advertiser: str, paid_for_by: str, by: str,
              now: datetime, expires_at: datetime | None = None) -> None:
    """Authorise (or re-authorise) an advertiser for political and issue ads, with a ledger
    entry. The byline is what its ads must say after "Paid for by"."""
    from tidebreak.store.schema import AdvertiserAuthorisationRow as Row

    advertiser, paid_for_by = advertiser.strip(), paid_for_by.strip()
    if not advertiser or len(advertiser) > 256:
        raise AdAuthorisationError("advertiser: 1 to 256 characters")
    if not paid_for_by or len(paid_for_by) > 256:
        raise AdAuthorisationError("paid for by: 1 to 256 characters")
    if expires_at is not None and expires_at <= now:
        raise AdAuthorisationError("the authorisation would already have expired")
    row = session.get(Row, (tenant, advertiser))
    if row is None:
        row = Row(tenant=tenant, advertiser=advertiser)
        session.add(row)
    row.paid_for_by, row.authorised_at, row.expires_at = paid_for_by, now, expires_at
    row.revoked_at, row.authorised_by = None, by
    ledger.append(session, tenant=tenant, kind="advertiser.authorised", subject=advertiser,
                  actor=by, payload={"paid_for_by": paid_for_by,
                                     "expires_at": expires_at.isoformat() if expires_at else None},
                  at=now)


def revoke(session: Session, *, tenant: str, advertiser: str, by: str, now: datetime) -> bool:
    from tidebreak.store.schema import AdvertiserAuthorisationRow as Row

    row = session.get(Row, (tenant, advertiser))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    ledger.append(session, tenant=tenant, kind="advertiser.revoked", subject=advertiser,
                  actor=by, payload={}, at=now)
    return True


# -- the detector --------------------------------------------------------------------------------


class PoliticalAdDetector:
    """Signals `unauthorised_political_ad` (score 1.0) for political or issue ads whose
    advertiser is not authorised or whose "paid for by" line is missing or wrong. Reads the
    authorisation table once per batch, and only for batches with ads in them."""

    name = "political_ads"
    version = "political-ads-1"

    def __init__(self, engine: Engine | None = None, tenant: str = "default") -> None:
        self.engine, self.tenant = engine, tenant

    def bind_store(self, engine: Engine, tenant: str) -> None:
        self.engine, self.tenant = engine, tenant

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        ads = [it for it in items if it.content.kind == ContentKind.AD]
        out: list[list[Signal]] = [[] for _ in items]
        if not ads:
            return out
        names = [a.content.meta.get("advertiser") for a in ads]
        auths: dict[str, Authorisation] = {}
        if self.engine is not None:
            with Session(self.engine) as s:
                auths = load_authorisations(s, self.tenant, [n for n in names if isinstance(n, str)])
        now = datetime.now(timezone.utc)
        for i, it in enumerate(items):
            if it.content.kind != ContentKind.AD:
                continue
            meta = dict(it.content.meta)
            adv = meta.get("advertiser")
            ev = check_ad(it.content.text, meta, auths.get(adv) if isinstance(adv, str) else None,
                          now)
            if ev is not None:
                out[i].append(Signal(self.name, CATEGORY, 1.0, ev, self.version))
        return out


def seed_authorisations(engine: Engine, tenant: str, path: str, now: datetime) -> int:
    """Authorise the advertisers listed in a JSONL file (the demo's verified committee)."""
    import json

    added = 0
    with open(path, encoding="utf-8") as f, Session(engine) as s, s.begin():
        for line in f:
            if line.strip():
                e = json.loads(line)
                authorise(s, tenant=tenant, advertiser=e["advertiser"],
                          paid_for_by=e["paid_for_by"], by="demo-seed", now=now)
                added += 1
    return added
