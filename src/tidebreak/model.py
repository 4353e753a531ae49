"""Domain types shared by every stage of the pipeline.

Plain frozen dataclasses: cheap to build in the hot path, hashable, and easy to turn into JSON
(`to_dict`). Validation of untrusted input happens once, at the boundary (`tidebreak.ingest`),
so everything here may assume well-formed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Mapping


class ContentKind(StrEnum):
    POST = "post"
    COMMENT = "comment"
    AD = "ad"
    GROUP_DESCRIPTION = "group_description"
    PROFILE = "profile"
    MESSAGE = "message"


class EventType(StrEnum):
    """What happened. Every event goes through the same pipeline; the type picks the enforcement."""

    CREATE = "content.create"
    EDIT = "content.edit"
    DELETE = "content.delete"
    REPORT = "report"
    REVIEW = "review.decision"  # a person's decision; recorded by tidebreak, never submitted
    # Re-run detection and policy over stored content (backfill after a new model, policy or
    # fact-check); made by tidebreak itself, never submitted. Like an edit that keeps the text.
    RESCAN = "content.rescan"


# What platforms may submit; the rest are recorded by tidebreak itself.
SUBMITTABLE_EVENTS = (EventType.CREATE, EventType.EDIT, EventType.DELETE, EventType.REPORT)


class ActionType(StrEnum):
    """Enforcement actions, declared from strongest to weakest (see `ACTION_STRENGTH`)."""

    REMOVE = "remove"
    REDUCE = "reduce"
    LABEL = "label"
    WARN = "warn"
    REVIEW = "review"
    NONE = "none"


# Lower is stronger: the order in which DESIGN.md lists them for `moderate`.
ACTION_STRENGTH: dict[ActionType, int] = {a: i for i, a in enumerate(ActionType)}


class OutcomeKind(StrEnum):
    """The three kinds of outcome (DESIGN.md), kept apart everywhere.

    - ENFORCEMENT restricts something: remove, reduce, warning screen, a fact-check label. Only
      enforcement creates a statement of reasons, a notice to the author, a strike, a count in
      group health and in the transparency report's actioned figures.
    - ROUTING asks a person (review). It restricts nothing and counts against no one until a person,
      or a later automated determination, decides.
    - INFORMATION adds context (an information label, e.g. a link to official voting information).
      It carries no violation category and never counts against anyone.
    """

    ENFORCEMENT = "enforcement"
    ROUTING = "routing"
    INFORMATION = "information"


class ContentState(StrEnum):
    VISIBLE = "visible"
    REMOVED = "removed"
    REDUCED = "reduced"
    LABELLED = "labelled"
    WARNING = "warning"
    PENDING_REVIEW = "pending_review"
    DELETED = "deleted"  # deleted by its author, not by us


# Harm and integrity categories the detectors emit and policies refer to. Policies may only name
# these (a typo in a policy file is an error, not a rule that never fires). Detectors that add a
# category register it here via `register_category`.
CATEGORIES: dict[str, str] = {
    "hate": "Abuse aimed at a protected group, or at a person for belonging to one",
    "violence": "Threats, incitement or glorification of violence against people",
    "harassment": "Abuse aimed at an individual",
    "misinformation": "Repeats a claim that fact-checkers rated false or misleading",
    "voting_misinformation": "False or misleading claims about when, where, how or who may vote",
    "known_violating": "Copy or near-copy of content already removed (a bank match)",
    "spam": "Spam or scams",
    "unauthorised_political_ad": "Political or issue ad from an advertiser not authorised for "
                                 "them, or without its verified 'paid for by' line",
    "language_not_covered": "In a language the harm classifier was not trained on: not scored "
                            "for harm, so a person must look",
}

# Categories that say how an item must be handled, not that it breaks a rule: a policy may send
# such items to review, never remove, reduce, label or warn for them (no strike follows).
ROUTING_CATEGORIES: frozenset[str] = frozenset({"language_not_covered"})

# Categories that describe what a post is about, not a violation: a policy may add an information
# label (`info`) for them, never restrict or route for them (tidebreak.policy.loader refuses it).
INFORMATION_CATEGORIES: frozenset[str] = frozenset({"election_fraud_claim",
                                                    "election_information",
                                                    "election_civic"})
CATEGORIES["election_fraud_claim"] = (
    "Alleges election fraud (rigged machines, dead voters, stolen elections) without false "
    "instructions about voting: answered with official information, not a violation in itself")
CATEGORIES["election_civic"] = (
    "Reads as ordinary election-season talk (accurate procedure, civic discussion or a "
    "counter-message) to the election-claims model: context a policy may weigh against another "
    "detector's reading, never a violation in itself")

# Categories that are never a violation found: they never appear in a decision's `categories`.
NON_VIOLATION_CATEGORIES: frozenset[str] = ROUTING_CATEGORIES | INFORMATION_CATEGORIES


def register_category(name: str, description: str) -> None:
    CATEGORIES.setdefault(name, description)


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """A text in the forms detectors need; `original` is kept for display and evidence.

    - `text`: NFKC, invisible and control characters removed, spaced-out letters joined; case and
      ordinary punctuation kept. What classifiers read.
    - `key`: additionally case-folded, homoglyphs and leetspeak folded, repeated letters squeezed,
      punctuation dropped. What exact and near-duplicate matching hash.
    - `flags`: which evasion tricks were seen (e.g. "zero_width", "homoglyph", "leet", "spacing").
    """

    original: str
    text: str
    key: str
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One image attached to content, decoded and PDQ-hashed at the boundary (tidebreak.media).

    `pdq` is the 64-hex PDQ hash as HMA writes it; `variants` the hashes matched against banks:
    its 8 rotations and flips (the first is `pdq`), then the image with its edges extended (which
    undoes a small crop: tidebreak.media.pdq.query_hashes). `data` holds the encoded bytes only
    while the item is in flight (OCR reads them); it is never stored and never compared."""

    sha256: str
    format: str  # "jpeg", "png", "gif", "webp", "bmp"
    width: int
    height: int
    pdq: str
    quality: int  # PDQ quality 0-100; under 50 is too featureless to match on
    variants: tuple[str, ...] = ()
    source: str = "data"  # "data" | "url" | "path"
    ref: str | None = None  # the URL or path it came from; None for inline data
    data: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Content:
    id: str
    kind: ContentKind
    text: str
    author: str | None = None
    group: str | None = None
    created_at: datetime | None = None
    parent_id: str | None = None
    urls: tuple[str, ...] = ()
    language: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    media: tuple[MediaItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened on the platform. `event_id` is the idempotency key."""

    event_id: str
    type: EventType
    content: Content
    received_at: datetime
    report_reason: str | None = None
    reporter: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """What a detector sees: the content and its normalised text."""

    content: Content
    norm: NormalisedText


@dataclass(frozen=True, slots=True)
class Signal:
    """One detector's opinion about one item: a category and a score in [0, 1]."""

    detector: str
    category: str
    score: float
    evidence: Mapping[str, Any] = field(default_factory=dict)
    detector_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "category": self.category,
            "score": round(float(self.score), 6),
            "evidence": dict(self.evidence),
            "detector_version": self.detector_version,
        }


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a decision. `factor` is the reach multiplier for REDUCE; `label` the text or
    fact-check link for LABEL and WARN; `queue` and `priority` place a REVIEW task. `info` marks a
    LABEL that only adds context (an information label: OutcomeKind.INFORMATION), not a
    fact-check or other restricting label."""

    type: ActionType
    factor: float | None = None
    label: str | None = None
    queue: str | None = None
    priority: int | None = None
    info: bool = False

    @property
    def outcome(self) -> OutcomeKind | None:
        """Which kind of outcome this step is; None for NONE."""
        if self.type == ActionType.NONE:
            return None
        if self.type == ActionType.REVIEW:
            return OutcomeKind.ROUTING
        if self.info:
            return OutcomeKind.INFORMATION
        return OutcomeKind.ENFORCEMENT

    @property
    def restricts(self) -> bool:
        return self.outcome == OutcomeKind.ENFORCEMENT

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type.value}
        for k in ("factor", "label", "queue", "priority"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.outcome is not None:
            d["outcome"] = self.outcome.value
        return d


@dataclass(frozen=True, slots=True)
class Context:
    """What the policy may know about an item beyond its signals."""

    surface: ContentKind
    author_strikes: int = 0
    author_strikes_by_category: Mapping[str, int] = field(default_factory=dict)
    author_status: str = "active"
    group_stage: str | None = None
    velocity: float = 0.0  # shares per hour
    views: int = 0
    reports: int = 0
    language: str | None = None
    event_type: EventType = EventType.CREATE


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A policy rule whose condition held, with what it cites. `shadow` hits are recorded apart
    and never enforced."""

    rule_id: str
    category: str
    actions: tuple[Action, ...]
    ground: str
    notice: str
    signals: tuple[Signal, ...] = ()
    shadow: bool = False
    severity: str = "medium"
    policy_version: str = ""
    # The author gets a strike of this category although nothing is removed (e.g. sharing a claim
    # fact-checkers rated false); the policy's `penalties.separate` keeps such strikes off the
    # removal ladder. Only an enforcing rule may strike (the policy loader checks).
    strike: bool = False

    @property
    def enforces(self) -> bool:
        """A determination: at least one of its actions restricts something."""
        return any(a.restricts for a in self.actions)

    @property
    def routes(self) -> bool:
        return any(a.outcome == OutcomeKind.ROUTING for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"strike": True} if self.strike else {}
        return {
            **extra,
            "rule_id": self.rule_id,
            "policy_version": self.policy_version,
            "category": self.category,
            "actions": [a.to_dict() for a in self.actions],
            "ground": self.ground,
            "notice": self.notice,
            "signals": [s.to_dict() for s in self.signals],
            "shadow": self.shadow,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    policy_id: str
    policy_version: str
    hits: tuple[RuleHit, ...]  # enforced hits
    shadow_hits: tuple[RuleHit, ...] = ()


def _rank(a: Action) -> tuple[int, int]:
    # Enforcement first (remove > reduce > label > warn), then routing, then information: an item
    # sent to review with an information label is "review", not "label".
    kind = {OutcomeKind.ENFORCEMENT: 0, OutcomeKind.ROUTING: 1, OutcomeKind.INFORMATION: 2}
    return (kind.get(a.outcome, 3) if a.outcome else 3, ACTION_STRENGTH[a.type])


def strongest(actions: list[Action] | tuple[Action, ...]) -> ActionType:
    """The action `moderate` and the API report: the strongest enforcement, else review, else an
    information label, else none."""
    if not actions:
        return ActionType.NONE
    return min(actions, key=_rank).type


def violation_categories(hits: tuple[RuleHit, ...] | list[RuleHit]) -> tuple[str, ...]:
    """The violation categories a decision found: those of its enforcing hits, in order. A
    routing (a suspicion sent to review) or an information label finds nothing."""
    return tuple(dict.fromkeys(h.category for h in hits
                               if h.enforces and h.category not in NON_VIOLATION_CATEGORIES))


def routed_categories(hits: tuple[RuleHit, ...] | list[RuleHit]) -> tuple[str, ...]:
    """The categories a decision sent to a person for review (suspicions, not findings)."""
    return tuple(dict.fromkeys(h.category for h in hits if h.routes))


# Whether a decision's evidence is all there: "pending" while a signal's costly evidence (the harm
# detector's occlusion spans) is deferred (`"spans_pending": true`, see tidebreak.detect.base);
# tidebreak.evidence computes it later beside the decision, whose recorded payload never changes.
EVIDENCE_COMPLETE = "complete"
EVIDENCE_PENDING = "pending"


def evidence_state(signals: "tuple[Signal, ...] | list[Signal]") -> str:
    return (EVIDENCE_PENDING if any(s.evidence and s.evidence.get("spans_pending")
                                    for s in signals) else EVIDENCE_COMPLETE)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one event: what was done, why, and by which model and policy version."""

    id: str
    event_id: str
    content_id: str
    action: ActionType
    actions: tuple[Action, ...]
    categories: tuple[str, ...]
    reasons: tuple[RuleHit, ...]
    shadow: tuple[RuleHit, ...]
    signals: tuple[Signal, ...]
    policy_id: str
    policy_version: str
    model_versions: Mapping[str, str]
    decided_by: str  # "automation" or "reviewer:<id>"
    created_at: datetime
    note: str | None = None

    @property
    def rules(self) -> list[str]:
        return [h.rule_id for h in self.reasons]

    @property
    def evidence(self) -> str:
        """"pending" while any of its signals waits for deferred evidence, else "complete"."""
        return evidence_state([*self.signals,
                               *(s for h in (*self.reasons, *self.shadow) for s in h.signals)])

    @property
    def enforcement(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.restricts)

    @property
    def outcome(self) -> str:
        """"enforcement", "routing", "information" or "none": the kind of `action`."""
        kinds = {a.outcome for a in self.actions}
        for k in OutcomeKind:
            if k in kinds:
                return k.value
        return "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.id,
            "event_id": self.event_id,
            "content_id": self.content_id,
            "action": self.action.value,
            "outcome": self.outcome,
            "actions": [a.to_dict() for a in self.actions],
            "categories": list(self.categories),
            "review_categories": list(routed_categories(self.reasons)),
            "rules": self.rules,
            "reasons": [h.to_dict() for h in self.reasons],
            "shadow": [h.to_dict() for h in self.shadow],
            "signals": [s.to_dict() for s in self.signals],
            "evidence": self.evidence,
            "policy": {"id": self.policy_id, "version": self.policy_version},
            "model_versions": dict(self.model_versions),
            "decided_by": self.decided_by,
            "created_at": self.created_at.isoformat(),
            "note": self.note,
        }
