"""Database tables (SQLAlchemy 2 ORM). Alembic migrations under migrations/ create them.

Every row that belongs to a platform carries `tenant`, so one deployment can serve several
platforms (or staging and production) without their data meeting. JSON columns hold the
explainable parts of a decision exactly as they were returned to the caller.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite needs INTEGER PRIMARY KEY (not BIGINT) for its rowid autoincrement.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    """Every accepted event, keyed by its id: the idempotency record."""

    __tablename__ = "events"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    content_id: Mapped[str] = mapped_column(String(256))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSON)
    decision_id: Mapped[str | None] = mapped_column(String(64))


class ContentRow(Base):
    __tablename__ = "contents"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(256), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)  # original, for display and evidence
    norm_text: Mapped[str] = mapped_column(Text)
    norm_key: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(String(256))
    group_id: Mapped[str | None] = mapped_column(String(256))
    parent_id: Mapped[str | None] = mapped_column(String(256))
    urls: Mapped[list] = mapped_column(JSON, default=list)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(32), default="visible")
    reach: Mapped[float] = mapped_column(Float, default=1.0)
    labels: Mapped[list] = mapped_column(JSON, default=list)
    warning: Mapped[str | None] = mapped_column(Text)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    last_decision_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_contents_author", "tenant", "author_id"),
        Index("ix_contents_group", "tenant", "group_id"),
    )


class ActorRow(Base):
    __tablename__ = "actors"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(256), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), default="active")
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class GroupRow(Base):
    __tablename__ = "groups"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(256), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), default="healthy")
    health: Mapped[float] = mapped_column(Float, default=1.0)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StrikeRow(Base):
    __tablename__ = "strikes"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    decision_id: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_strikes_actor", "tenant", "actor_id"),)


class DecisionRow(Base):
    __tablename__ = "decisions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(256))
    content_id: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list] = mapped_column(JSON)
    rules: Mapped[list] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSON)  # Decision.to_dict(), as returned

    __table_args__ = (
        Index("ix_decisions_content", "tenant", "content_id", "created_at"),
        Index("ix_decisions_created", "tenant", "created_at"),
        UniqueConstraint("tenant", "event_id", name="uq_decisions_event"),
    )


class ShadowDecisionRow(Base):
    """Would-be decisions of shadow rules and shadow policy versions, kept apart from enforcement."""

    __tablename__ = "shadow_decisions"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    rule_id: Mapped[str] = mapped_column(String(128))
    policy_version: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index("ix_shadow_rule", "tenant", "rule_id"),)


class BankEntryRow(Base):
    __tablename__ = "bank_entries"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    bank: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    source_content_id: Mapped[str | None] = mapped_column(String(256))
    added_by: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # --- media (0011_media): an image entry has its PDQ hash here and an empty key/text ---
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (Index("ix_bank_hash", "tenant", "key_hash"),
                      Index("ix_bank_pdq", "tenant", "pdq"))


class ReviewTaskRow(Base):
    __tablename__ = "review_tasks"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    decision_id: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|claimed|done
    reason: Mapped[str] = mapped_column(Text, default="")
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Added by 0004_review: what the task is, why it ranks where it does, and how it ended.
    kind: Mapped[str] = mapped_column(String(16), default="escalation")  # escalation|report|appeal
    severity: Mapped[float] = mapped_column(Float, default=2.0)
    reach: Mapped[float] = mapped_column(Float, default=1.0)
    confidence_gap: Mapped[float] = mapped_column(Float, default=1.0)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    graphic: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    excluded_reviewer: Mapped[str | None] = mapped_column(String(128))  # who may not decide it
    verdict: Mapped[str | None] = mapped_column(String(16))
    clause: Mapped[str | None] = mapped_column(String(128))
    outcome_decision_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_review_open", "tenant", "queue", "status", "priority"),
        Index("ix_review_content", "tenant", "content_id", "status"),
    )


class LedgerEntryRow(Base):
    """Append-only, hash-chained record of every state change (see tidebreak.ledger)."""

    __tablename__ = "ledger"
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[str] = mapped_column(String(40))  # ISO text: hashed exactly as stored
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed exactly as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_ledger_subject", "tenant", "subject"),)


class LedgerHeadRow(Base):
    """One row: the chain head. Appenders lock it (FOR UPDATE) so concurrent writers serialise."""

    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # public key id (prefix)
    tenant: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- accountability: statements of reasons, ad authorisations, ad adjacency ---


class StatementRow(Base):
    """One DSA statement of reasons per restriction, with the user notice built from it.

    `statement` holds exactly the fields sent to the Transparency Database (no personal data);
    `notice` what the affected user is told. `content_id`/`subject_id` stay here, never in the
    statement, so exports can drop them."""

    __tablename__ = "statements_of_reasons"
    puid: Mapped[str] = mapped_column(String(500), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(16))  # content | account | group
    subject_id: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(64))  # internal category of the main reason
    schema_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    statement: Mapped[dict] = mapped_column(JSON)
    notice: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_sor_decision", "tenant", "decision_id"),
        Index("ix_sor_created", "tenant", "created_at"),
        Index("ix_sor_subject", "tenant", "subject_type", "subject_id"),
    )


class AdvertiserAuthorisationRow(Base):
    """Advertisers allowed to run ads about social issues, elections or politics, with the
    verified "paid for by" byline their ads must carry."""

    __tablename__ = "advertiser_authorisations"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    advertiser: Mapped[str] = mapped_column(String(256), primary_key=True)
    paid_for_by: Mapped[str] = mapped_column(String(256))
    authorised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    authorised_by: Mapped[str] = mapped_column(String(128))


class AdImpressionRow(Base):
    """The adjacency ledger: one ad impression served next to one content item."""

    __tablename__ = "ad_impressions"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    impression_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    ad_id: Mapped[str] = mapped_column(String(256))
    advertiser: Mapped[str] = mapped_column(String(256))
    content_id: Mapped[str] = mapped_column(String(256))
    surface: Mapped[str | None] = mapped_column(String(64))
    served_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    spend_micros: Mapped[int] = mapped_column(BigInteger)  # spend x 1e6: exact sums, no floats
    currency: Mapped[str] = mapped_column(String(3))

    __table_args__ = (
        Index("ix_impressions_advertiser", "tenant", "advertiser", "served_at"),
        Index("ix_impressions_content", "tenant", "content_id"),
    )


# --- review ---
# Tables of human review (tidebreak.review), created by migration 0004_review, which also adds
# the review columns at the end of ReviewTaskRow.

class ReviewReportRow(Base):
    """One user report on an item; many reports on one item share its open task."""

    __tablename__ = "review_reports"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    event_id: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(String(64))
    reporter: Mapped[str | None] = mapped_column(String(256))
    trusted_org: Mapped[str | None] = mapped_column(String(256))
    statement: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_review_reports_content", "tenant", "content_id"),)


class TrustedFlaggerRow(Base):
    """A reporter whose reports jump the queue: a named organisation (DSA art. 22 style)."""

    __tablename__ = "review_trusted_flaggers"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    reporter: Mapped[str] = mapped_column(String(256), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(256))
    added_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AppealRow(Base):
    __tablename__ = "review_appeals"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    decision_id: Mapped[str] = mapped_column(String(64))  # the decision appealed
    first_decider: Mapped[str] = mapped_column(String(128))  # its decided_by
    appellant: Mapped[str] = mapped_column(String(256))
    appellant_role: Mapped[str] = mapped_column(String(32))  # author | group_admin
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open | reversed | maintained
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome_decision_id: Mapped[str | None] = mapped_column(String(64))
    clause: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_review_appeals_content", "tenant", "content_id", "status"),)


class ReviewQueueRow(Base):
    """Per-queue service-level target; queues without a row use the defaults in enforce.review_priority."""

    __tablename__ = "review_queues"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sla_minutes: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)


class ConsoleUserRow(Base):
    """A person who logs in to the console (API keys are for machines)."""

    __tablename__ = "review_users"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    blur_all: Mapped[bool] = mapped_column(Boolean, default=False)
    grayscale: Mapped[bool] = mapped_column(Boolean, default=False)
    graphic_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleSessionRow(Base):
    """Server side of a signed session cookie: lets logout and disabling a user end it."""

    __tablename__ = "review_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's id
    tenant: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReviewSecretRow(Base):
    """The key that signs console cookies when TIDEBREAK_SECRET_KEY is not set: one per
    database, so every replica of the API accepts the others' cookies."""

    __tablename__ = "review_secrets"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


# --- accounts, groups, reach ---
# Tables of tidebreak.enforce.penalties, .groups, .breaker and .distribution (migration 0005_reach).


class PenaltyRow(Base):
    """A penalty on an account: a decision with its reasons. Never deleted: lifting one (an
    appeal restored the strike behind it) sets `lifted_at` and writes a ledger entry."""

    __tablename__ = "account_penalties"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(256))
    penalty: Mapped[str] = mapped_column(String(16))  # warning | limited | suspended | banned
    limits: Mapped[list] = mapped_column(JSON, default=list)
    reach: Mapped[float] = mapped_column(Float, default=1.0)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: no end
    rule: Mapped[str] = mapped_column(String(128))  # ladder step, immediate rule or group shutdown
    ground: Mapped[str] = mapped_column(Text)
    notice: Mapped[str] = mapped_column(Text, default="")
    cause_content_id: Mapped[str | None] = mapped_column(String(256))
    cause_group_id: Mapped[str | None] = mapped_column(String(256))
    strike_ids: Mapped[list] = mapped_column(JSON, default=list)  # the strikes it counted
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)
    policy_version: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str] = mapped_column(String(128))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_penalties_actor", "tenant", "actor_id"),)


class GroupPostRow(Base):
    """What each item posted in a group counts for its health, kept current by every decision."""

    __tablename__ = "group_posts"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(256))
    author_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    violating: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str | None] = mapped_column(String(16))
    approved_by: Mapped[str | None] = mapped_column(String(256))
    reports: Mapped[int] = mapped_column(Integer, default=0)
    decision_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_group_posts_group", "tenant", "group_id", "created_at"),)


class GroupRoleRow(Base):
    """Who runs and who belongs to a group, as the platform reports it."""

    __tablename__ = "group_roles"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | moderator | member
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_group_roles_actor", "tenant", "actor_id"),)


class GroupStandingRow(Base):
    """The distribution consequences of a group's stage, fixed when the stage was decided."""

    __tablename__ = "group_standing"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32))
    reach: Mapped[float] = mapped_column(Float, default=1.0)
    recommendable: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    remove_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    determination_id: Mapped[int | None] = mapped_column(BigInteger)


class GroupDeterminationRow(Base):
    """A change of a group's stage: a decision with its measured evidence."""

    __tablename__ = "group_determinations"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(String(256))
    from_stage: Mapped[str] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    health: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict] = mapped_column(JSON)
    ground: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str] = mapped_column(String(128))
    trigger: Mapped[str | None] = mapped_column(String(64))  # the decision that led to it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_group_determinations", "tenant", "group_id", "created_at"),)


class BreakerRow(Base):
    """A tripped virality circuit breaker; released on review or fact-check."""

    __tablename__ = "breakers"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    cap: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict] = mapped_column(JSON)
    tripped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (Index("ix_breakers_content", "tenant", "content_id"),)


class EngagementSampleRow(Base):
    """Cumulative views and shares of an item at a time, as the platform reported them."""

    __tablename__ = "engagement_samples"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    views: Mapped[int] = mapped_column(BigInteger)
    shares: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_engagement_content", "tenant", "content_id", "at"),)


# --- scale-out ---
# Domain events and their deliveries (tidebreak.events), events that failed for good in a
# worker, backfill runs (tidebreak.scale).


class DomainEventRow(Base):
    """One domain event (tidebreak.events), written in the transaction of the change it
    describes. `key` is its idempotency key, unique per tenant."""

    __tablename__ = "domain_events"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(320))
    type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("tenant", "key", name="uq_domain_event_key"),)


class EventSinkRow(Base):
    """A destination that takes domain events: registered by the dispatcher that runs it, read
    by every emitting transaction, which queues one delivery per subscribed sink."""

    __tablename__ = "event_sinks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    types: Mapped[list | None] = mapped_column(JSON)  # None: every type
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventDeliveryRow(Base):
    """One event to one sink. status: pending (due at next_attempt_at), delivered, dead
    (retries exhausted or refused by the destination; replayable)."""

    __tablename__ = "event_deliveries"
    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_event_delivery_due", "sink", "status", "next_attempt_at"),)


class EventFailureRow(Base):
    """An event a worker could not apply for good (e.g. an edit whose create never came), so an
    async caller polling its decision URL learns why instead of waiting forever."""

    __tablename__ = "event_failures"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    content_id: Mapped[str] = mapped_column(String(256))
    status: Mapped[int] = mapped_column(Integer)  # the HTTP status the sync API would answer
    reason: Mapped[str] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(Integer)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BackfillRunRow(Base):
    """A backfill: which stored content is re-decided, and how far publishing got (the cursor is
    the last content id handed to the broker, so a crashed run resumes after it)."""

    __tablename__ = "backfill_runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # publishing | published
    cursor: Mapped[str | None] = mapped_column(String(256))
    total: Mapped[int] = mapped_column(Integer)
    published: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- coordination ---


class CoordinationCaseRow(Base):
    """A detected coordinated group awaiting (or after) human review: never an automatic action.
    `id` is the group id, derived from the member list, so re-detecting the same group updates
    the same case."""

    __tablename__ = "coordination_cases"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    accounts: Mapped[list] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|confirmed|dismissed
    detector_version: Mapped[str] = mapped_column(String(32))
    review_task_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_coordination_cases_status", "tenant", "status", "score"),)


class CoActionRow(Base):
    """One co-action event recorded from live content: an account acting on an object (the post
    it reposts or replies to, a link, a hashtag, an image's PDQ hash, or its own text) at the
    content's creation time. `tidebreak coordination sweep` reads these by time; append-only.
    What a content item implies is defined once, in `tidebreak.store.coactions`."""

    __tablename__ = "coordination_coactions"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(256))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(2048))
    text: Mapped[str] = mapped_column(Text, default="")
    ts: Mapped[float] = mapped_column(Float)  # Unix seconds of the action (content created_at)

    __table_args__ = (Index("ix_coordination_coactions_ts", "tenant", "ts"),)


# --- fact-checks ---


class FactCheckRow(Base):
    """An imported fact-check (`tidebreak.factcheck.store`). `record` is the flat form
    (`FactCheck.to_dict`), so nothing the parser kept is lost; `history` holds every earlier
    record of the same claim id that a later import replaced (fact-checkers revise ratings).
    `backfill_id` is null until a retroactive backfill has matched stored content against it:
    that is how a backfill knows which fact-checks are new."""

    __tablename__ = "factchecks"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    rating: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    record: Mapped[dict] = mapped_column(JSON)
    history: Mapped[list] = mapped_column(JSON, default=list)
    import_id: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    backfill_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_factchecks_new", "tenant", "backfill_id"),)


class FactCheckBackfillRow(Base):
    """One retroactive matching run: stored content in [window_start, created_at) is matched
    against the fact-checks in `claim_ids` only, in content-id order; `cursor` is the last id
    of the last finished chunk, so an interrupted run resumes after it."""

    __tablename__ = "factcheck_backfills"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    claim_ids: Mapped[list] = mapped_column(JSON)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # running | done
    cursor: Mapped[str | None] = mapped_column(String(256))
    scanned: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    actioned: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_factcheck_backfills_status", "tenant", "status"),)


# --- governance ---

from datetime import date  # noqa: E402 - kept with the governance tables they serve

from sqlalchemy import Date  # noqa: E402


class PolicyVersionRow(Base):
    """One version of a policy, as text: a draft until approved and published. Never deleted, so
    every version stays readable. `status`: draft | published | superseded."""

    __tablename__ = "policy_versions"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    base_version: Mapped[str | None] = mapped_column(String(64))  # what its diff is against
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(128))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_policy_versions_status", "tenant", "status"),)


class PolicyApprovalRow(Base):
    """A reviewer's approval of a draft, with the role they approved in."""

    __tablename__ = "policy_approvals"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    policy_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("tenant", "policy_id", "version", "approver",
                                       name="uq_policy_approvals_approver"),)


class PolicyExceptionRow(Base):
    """A public-interest (newsworthiness) exception for one item and category, granted by a
    named senior reviewer with a written justification, until `expires_at`."""

    __tablename__ = "policy_exceptions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # newsworthiness | public_interest
    justification: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(128))
    granted_role: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(32))  # the author's, when granted
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | expired | revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_policy_exceptions_content", "tenant", "content_id", "status"),)


class ElectionRow(Base):
    """An election: its jurisdiction, dates and authoritative information links. `state` is the
    election mode last recorded in the ledger (scheduled | active | ended)."""

    __tablename__ = "elections"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    registration_deadline: Mapped[date | None] = mapped_column(Date)
    early_voting_start: Mapped[date | None] = mapped_column(Date)
    election_day: Mapped[date] = mapped_column(Date)
    certification_date: Mapped[date] = mapped_column(Date)
    info_links: Mapped[list] = mapped_column(JSON, default=list)
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)  # overrides while active
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HarassmentCaseRow(Base):
    """A severe-harassment or credible-threat report, with a named person who must contact the
    target before `contact_due`."""

    __tablename__ = "harassment_cases"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(32))  # severe_harassment | credible_threat
    target: Mapped[str | None] = mapped_column(String(256))
    reporter: Mapped[str | None] = mapped_column(String(256))
    assignee: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | contacted | closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    contact_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    missed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # alert raised
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_harassment_cases_status", "tenant", "status", "contact_due"),)


# --- evidence: deferred explanations (occlusion spans), computed after the decision ---


class DecisionEvidenceRow(Base):
    """Spans a detector deferred (`"spans_pending"` in a decision's signal), computed later for
    what a person will look at (tidebreak.evidence). Lives beside the decision: the decision's
    payload, as returned and ledgered, is never rewritten. One row per decision, detector and
    category; `detector_version` is the model that computed them (the decision's own)."""

    __tablename__ = "decision_evidence"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    detector: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    spans: Mapped[list] = mapped_column(JSON)
    detector_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- adapters: Mastodon (tidebreak.adapters.mastodon) ---


class MastodonStatusRow(Base):
    """A status that came from the instance in a signed webhook (itself, or inside a report).
    The adapter acts back only on these: content merely *named* `mastodon:status:...` by an API
    caller never makes tidebreak file reports or take account actions on the instance."""

    __tablename__ = "mastodon_statuses"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    status_id: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MastodonReportRow(Base):
    """A report on the instance: filed by tidebreak (`origin` "filed") or received from the
    instance's report.created webhook ("received"). `content_ids` are the tidebreak ids of its
    statuses; `resolved_at` is set when tidebreak resolved it (or an account action did)."""

    __tablename__ = "mastodon_reports"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(32))
    content_ids: Mapped[list] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(String(16))  # filed | received
    category: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_mastodon_reports_account", "tenant", "account_id"),)


class MastodonActionRow(Base):
    """One call tidebreak makes on the instance, claimed before it is made so it is made once:
    `key` is "report:<content id>" (the one report filed for a status) or "penalty:<id>" /
    "lift:<id>" (the account action for a tidebreak penalty). `done_at` is None while claimed;
    `report_id` the instance report filed or cited."""

    __tablename__ = "mastodon_actions"
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # report | silence | suspend | none | unsilence | unsuspend
    penalty_id: Mapped[int | None] = mapped_column(BigInteger)
    report_id: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_mastodon_actions_account", "tenant", "account_id", "done_at"),)
