"""The one moderation path: ingest -> detect -> decide -> enforce -> record.

Every event kind (create, edit, delete, report) goes through `Pipeline.process_batch`. Detection
runs outside any database transaction (it is the slow part and batches well); each event's
decide -> enforce -> record then runs in one short transaction, so an event is either fully
recorded (state, decision, ledger entry) or not at all. The events table's primary key makes the
whole path idempotent: a redelivered event returns its first decision and changes nothing, even
when two processes race on it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Protocol, TypeVar

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tidebreak import ledger, metrics
from tidebreak.clock import Clock, utcnow
from tidebreak.detect.base import Detector
from tidebreak.enforce.content import apply_to_content
from tidebreak.errors import TidebreakError
from tidebreak.events.decisions import content_state, emit_decision_events
from tidebreak.events.outbox import emit
from tidebreak.events.types import DomainEventType
from tidebreak.enforce.hooks import Enforcement, Enforcer
from tidebreak.enforce.penalties import live_penalties
from tidebreak.enforce.strikes import (
    active_strikes,
    add_strike,
    recall_active_strikes,
    revoke_strikes_for,
    strike_ids_for_content,
)
from tidebreak.model import (
    CATEGORIES,
    Action,
    ActionType,
    Content,
    ContentKind,
    Context,
    Decision,
    Event,
    EventType,
    Item,
    RuleHit,
    Signal,
    strongest,
    violation_categories,
)
from tidebreak.policy import PolicySet
from tidebreak.enforce.review_queue import close_tasks, open_task
from tidebreak.detect.bank_store import add_entry
from tidebreak.store import insert_at_commit
from tidebreak.store.coactions import coaction_rows
from tidebreak.store.db import read_only
from tidebreak.store.decisions import decision_from_dict
from tidebreak.store.schema import (
    ActorRow,
    CoActionRow,
    ContentRow,
    DecisionRow,
    EventRow,
    GroupRow,
    ShadowDecisionRow,
)
from tidebreak.store.txcache import announce, mark_new
from tidebreak.text import normalise

_DECISIONS = DecisionRow.__table__
_SHADOW_DECISIONS = ShadowDecisionRow.__table__
_EVENTS = EventRow.__table__


class PipelineError(TidebreakError):
    """An event that is well-formed but cannot be applied; `status` is its HTTP status."""

    status = 409


class UnknownContent(PipelineError):
    status = 404


class OutOfOrder(PipelineError):
    status = 409


class InvalidDecision(PipelineError):
    status = 400


class _AlreadyRecorded(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    duplicate: bool  # True when the event was seen before and this is its first decision


T = TypeVar("T")


@dataclass(frozen=True)
class Prepared:
    """A batch between `Pipeline.prepare` (detected) and `Pipeline.record` (decided)."""

    events: list[Event]
    results: list[Outcome | PipelineError | None]  # known already: duplicates, refusals
    todo: list[tuple[int, Event, Content]]  # (position, event, what it is about)
    signals: list[list[Signal]]
    batch_ids: dict[str, int]
    # each detector's version when it ran (a decision names the models its signals came
    # from, also when it is recorded elsewhere: tidebreak.recorder_process)
    model_versions: dict[str, str]


class Recorder(Protocol):
    """Records prepared batches somewhere else (tidebreak.recorder_process.RecorderProcess)."""

    def record(self, tenant: str, prepared: Prepared) -> list[Outcome | PipelineError]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Adjustment:
    """What a decide-step adjuster sees: the policy's enforced hits for one event, inside the
    decision's transaction (so what it reads and records commits with the decision)."""

    session: Session
    tenant: str
    event: Event
    content: Content
    context: Context
    signals: Sequence[Signal]
    hits: tuple[RuleHit, ...]
    now: datetime
    policy: PolicySet


# Returns the hits the decision carries. Used for what the policy file cannot know: audited
# public-interest exceptions and election mode (tidebreak.governance). Each replaced hit must be
# replaced by one that says why, so the decision's reasons stay complete.
Adjuster = Callable[[Adjustment], tuple[RuleHit, ...]]


class Pipeline:
    def __init__(self, engine: Engine, detectors: Sequence[Detector], policy: PolicySet, *,
                 tenant: str = "default", strike_days: int = 90, clock: Clock = utcnow,
                 before_batch: Sequence[Callable[[], None]] = (),
                 enforcers: Sequence[Enforcer] = (),
                 adjusters: Sequence[Adjuster] = ()) -> None:
        self.engine = engine
        self.detectors = list(detectors)
        # batches `overlapped` may prepare while one records (more with detector processes)
        self.prepare_ahead = 1
        self.policy = policy
        self.tenant = tenant
        self.strike_days = strike_days
        self.clock = clock
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        # reads that prepare a batch: on SQLite they do not wait for a batch that is recording
        self.readers = sessionmaker(read_only(engine), expire_on_commit=False)
        self.before_batch = list(before_batch)  # e.g. refresh bank indexes written by others
        self.enforcers = list(enforcers)  # see tidebreak.enforce.hooks
        self.adjusters = list(adjusters)  # see Adjustment
        # where `record` runs: here (None) or a recorder process built with this pipeline's
        # settings (tidebreak.runtime.build_pipeline, TIDEBREAK_RECORD_IN)
        self.recorder: Recorder | None = None

    @property
    def model_versions(self) -> dict[str, str]:
        """Each detector's version as it is now. Read for each batch as it is detected
        (`Prepared.model_versions`), not once at build: a detector that reloads its data (the
        factcheck detector's index after `factcheck import`) changes its version, and a
        decision must name the one its signals came from."""
        return {d.name: d.version for d in self.detectors}

    # -- public -------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Let each detector load now what it would load on first use (`warm_up`, optional):
        a server calls this before serving, so no request's batch waits for a model load."""
        for det in self.detectors:
            warm = getattr(det, "warm_up", None)
            if warm is not None:
                warm()

    def process(self, event: Event) -> Outcome:
        result = self.process_batch([event])[0]
        if isinstance(result, PipelineError):
            raise result
        return result

    def process_batch(self, events: Sequence[Event]) -> list[Outcome | PipelineError]:
        """Process events in order; each result is an Outcome or the error for that event."""
        return self.record(self.prepare(events))

    def prepare(self, events: Sequence[Event], in_flight: Sequence[Event] = ()) -> Prepared:
        """The first half of `process_batch`: drop events already decided, find what each event
        is about, and run the detectors (no transaction is open). `in_flight`: events of
        batches prepared earlier and not yet recorded, so a report on a post created there is
        about that post. Callers that overlap batches (`overlapped`) prepare the next batch in
        one thread while this one records in another: model passes release the GIL."""
        for hook in self.before_batch:
            hook()
        results: list[Outcome | PipelineError | None] = [None] * len(events)
        todo: list[tuple[int, Event, Content]] = []
        batch_ids: dict[str, int] = {}
        with metrics.stage("ingest"):
            seen = self._known_events([e.event_id for e in events])
            for i, ev in enumerate(events):
                metrics.EVENTS.labels(ev.type.value).inc()
                if ev.event_id in seen:
                    results[i] = Outcome(seen[ev.event_id], duplicate=True)
                    continue
                if ev.event_id in batch_ids:  # repeated inside this batch: answered after its first
                    continue
                batch_ids[ev.event_id] = i
                try:
                    todo.append((i, ev, self._subject(ev, [*in_flight, *events[:i]])))
                except PipelineError as err:
                    results[i] = err
        if any(c.media for _, _, c in todo):
            # images: OCR text, hashes and a thumbnail go into the content's meta, so they are
            # stored with it and read by the detectors (tidebreak.media.prepare)
            from tidebreak.media.prepare import with_media_summary

            with metrics.stage("media"):
                todo = [(i, ev, with_media_summary(c) if c.media else c) for i, ev, c in todo]
        with metrics.stage("detect"):
            signals = self._detect([c for _, _, c in todo])
        return Prepared(list(events), results, todo, signals, batch_ids, self.model_versions)

    def record(self, prepared: Prepared) -> list[Outcome | PipelineError]:
        """The second half of `process_batch`: decide and record the prepared batch in one
        transaction; each result is an Outcome or the error for that event. With a recorder
        process (tidebreak.recorder_process) the batch is recorded there, by this same code."""
        if self.recorder is not None:
            return self.recorder.record(self.tenant, prepared)
        results = list(prepared.results)
        recorded = self._decide_and_record_batch(prepared.todo, prepared.signals,
                                                 prepared.model_versions)
        for (i, _, _), res in zip(prepared.todo, recorded):
            results[i] = res
        for i, ev in enumerate(prepared.events):
            if results[i] is None:
                first = results[prepared.batch_ids[ev.event_id]]
                results[i] = Outcome(first.decision, True) if isinstance(first, Outcome) else first
        return results  # type: ignore[return-value]

    # -- ingest ---------------------------------------------------------------------------------

    def _known_events(self, event_ids: list[str]) -> dict[str, Decision]:
        if not event_ids:
            return {}
        with self.readers() as s:
            rows = s.execute(
                select(EventRow.event_id, DecisionRow.payload)
                .join(DecisionRow, DecisionRow.id == EventRow.decision_id)
                .where(EventRow.tenant == self.tenant, EventRow.event_id.in_(set(event_ids)))
            ).all()
        return {eid: decision_from_dict(payload) for eid, payload in rows}

    def _subject(self, ev: Event, earlier: Sequence[Event]) -> Content:
        """The content the event is about, as detectors should see it. Reports and deletes carry
        no text of their own: they are about the stored content."""
        if ev.type == EventType.CREATE:
            return ev.content
        with self.readers() as s:
            row = s.get(ContentRow, (self.tenant, ev.content.id))
        versions = [e for e in earlier if e.content.id == ev.content.id
                    and e.type in (EventType.CREATE, EventType.EDIT)]  # not yet recorded
        if row is None and not any(e.type == EventType.CREATE for e in versions):
            if ev.type == EventType.REPORT:
                raise UnknownContent(f"report on unknown content {ev.content.id!r}")
            raise OutOfOrder(f"{ev.type.value} for unknown content {ev.content.id!r}: "
                             "send its content.create first")
        if ev.type == EventType.EDIT:
            return ev.content
        if row is None:  # created earlier in this batch or one still being recorded
            base = next(e.content for e in versions if e.type == EventType.CREATE)
        else:
            base = Content(id=row.id, kind=ContentKind(row.kind), text=row.text,
                           author=row.author_id, group=row.group_id, created_at=row.created_at,
                           parent_id=row.parent_id, urls=tuple(row.urls or ()),
                           meta=row.meta or {})
        if versions and versions[-1].type == EventType.EDIT:  # as recorded, the edit's text
            base = replace(base, text=versions[-1].content.text, urls=versions[-1].content.urls)
        return base

    # -- detect ---------------------------------------------------------------------------------

    def _detect(self, contents: Sequence[Content]) -> list[list[Signal]]:
        imaged = any(c.media or (c.meta and "media" in c.meta) for c in contents)
        if imaged:  # caption + image text for the text detectors (tidebreak.media.prepare)
            from tidebreak.media.prepare import detection_item, has_media, mark_sources

            items = [detection_item(c) if has_media(c) else Item(c, normalise(c.text))
                     for c in contents]
        else:
            items = [Item(c, normalise(c.text)) for c in contents]
        out: list[list[Signal]] = [[] for _ in items]
        if not items:
            return out
        for det in self.detectors:
            t0 = time.perf_counter()
            per_item = det.detect(items)
            metrics.DETECTOR_SECONDS.labels(det.name).observe(time.perf_counter() - t0)
            for acc, sigs in zip(out, per_item):
                acc.extend(sigs)
        if imaged:
            mark_sources(contents, out)
        return out

    # -- decide, enforce, record ----------------------------------------------------------------

    def _context(self, s: Session, ev: Event, content: Content, row: ContentRow | None,
                 now: datetime, known: _BatchRows) -> Context:
        strikes = active_strikes(s, self.tenant, content.author, now) if content.author else {}
        author = known.get(s, ActorRow, content.author) if content.author else None
        group = known.get(s, GroupRow, content.group) if content.group else None
        velocity = 0.0
        if row is not None and row.created_at is not None and row.shares:
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
            hours = max((now - created).total_seconds() / 3600, 1 / 60)
            velocity = row.shares / hours
        return Context(
            surface=content.kind,
            author_strikes=sum(strikes.values()),
            author_strikes_by_category=dict(strikes),
            author_status=author.status if author else "active",
            group_stage=group.stage if group else None,
            velocity=velocity,
            views=row.views if row else 0,
            reports=(row.reports if row else 0) + (1 if ev.type == EventType.REPORT else 0),
            language=content.language,
            event_type=ev.type,
        )

    def _decide_and_record_batch(self, todo: Sequence[tuple[int, Event, Content]],
                                 signals: Sequence[list[Signal]], versions: Mapping[str, str]
                                 ) -> list[Outcome | PipelineError]:
        """Decide and record a batch in ONE transaction: the batch's rows are read once, written
        together and committed once, so it is all recorded or none of it (exactly-once holds
        under kill -9 as before). Each event still sees every earlier one's effects (strikes,
        penalties, group stages), so a batch decides exactly as one event at a time would. An
        event that cannot be applied (OutOfOrder) is refused before it writes anything; a race
        with another process on any event of the batch falls back to one at a time."""
        if not todo:
            return []
        if len(todo) == 1:
            _, ev, content = todo[0]
            try:
                return [self._decide_and_record(ev, content, signals[0], versions)]
            except PipelineError as err:
                return [err]
        results: list[Outcome | PipelineError] = []
        now = self.clock()  # one time for the batch: its events are decided together
        try:
            with self.sessions() as s, s.begin():
                with metrics.stage("context"):
                    known = _BatchRows.load(s, self.tenant, [ev for _, ev, _ in todo])
                    known.recall_standing(s, now)
                for (_, ev, content), sigs in zip(todo, signals):
                    t0 = time.perf_counter()
                    try:
                        decision = self._record_in(s, ev, content, sigs, now, known, versions)
                    except PipelineError as err:
                        results.append(err)
                        continue
                    results.append(Outcome(decision, duplicate=False))
                    metrics.observe(metrics.PIPELINE_SECONDS, time.perf_counter() - t0)
                with metrics.stage("coactions"):  # for the coordination sweep: one bulk INSERT
                    _record_coactions(s, self.tenant, [
                        content for (_, ev, content), res in zip(todo, results)
                        if isinstance(res, Outcome) and ev.type == EventType.CREATE])
                committing = time.perf_counter()
            metrics.observe(metrics.STAGE_SECONDS, time.perf_counter() - committing, "commit")
        except (IntegrityError, _AlreadyRecorded):
            # Another process recorded one of these events (or created one of these contents)
            # since we looked: nothing of this batch was written; go one at a time.
            out: list[Outcome | PipelineError] = []
            for (_, ev, content), sigs in zip(todo, signals):
                try:
                    out.append(self._decide_and_record(ev, content, sigs, versions))
                except PipelineError as err:
                    out.append(err)
            return out
        for res in results:
            if isinstance(res, Outcome):
                metrics.observe(metrics.DECISIONS, 1, res.decision.action.value)
        return results

    def _decide_and_record(self, ev: Event, content: Content, signals: list[Signal],
                           versions: Mapping[str, str]) -> Outcome:
        t0 = time.perf_counter()
        now = self.clock()
        try:
            decision = self._record(ev, content, signals, now, versions)
        except (IntegrityError, _AlreadyRecorded):
            # Another process recorded this event (or created this content) first.
            first = self._known_events([ev.event_id]).get(ev.event_id)
            if first is None:
                raise OutOfOrder(f"content {content.id!r} already exists: send a content.edit to "
                                 "change it") from None
            return Outcome(first, duplicate=True)
        metrics.observe(metrics.DECISIONS, 1, decision.action.value)
        metrics.observe(metrics.PIPELINE_SECONDS, time.perf_counter() - t0)
        return Outcome(decision, duplicate=False)

    def _record(self, ev: Event, content: Content, signals: list[Signal], now: datetime,
                versions: Mapping[str, str]) -> Decision:
        with self.sessions() as s, s.begin():
            with metrics.stage("context"):
                known = _BatchRows.load(s, self.tenant, [ev])
            decision = self._record_in(s, ev, content, signals, now, known, versions)
            if ev.type == EventType.CREATE:
                _record_coactions(s, self.tenant, [content])
            committing = time.perf_counter()
        metrics.observe(metrics.STAGE_SECONDS, time.perf_counter() - committing, "commit")
        return decision

    def _record_in(self, s: Session, ev: Event, content: Content, signals: list[Signal],
                   now: datetime, known: _BatchRows, versions: Mapping[str, str]) -> Decision:
        """Decide one event and record it in the caller's transaction. Raises a PipelineError
        before writing anything when the event cannot be applied."""
        with metrics.stage("context"):
            row = known.content(s, content.id)
            if ev.type == EventType.CREATE and row is not None:
                raise OutOfOrder(f"content {content.id!r} already exists (event "
                                 f"{ev.event_id!r} is new): send a content.edit to change it")
            if ev.type != EventType.CREATE and row is None:  # its create was refused meanwhile
                raise OutOfOrder(f"{ev.type.value} for unknown content {content.id!r}: "
                                 "send its content.create first")
            context = self._context(s, ev, content, row, now, known)
        with metrics.stage("policy"):
            if ev.type == EventType.DELETE:
                outcome_hits: tuple[RuleHit, ...] = ()
                shadow_hits: tuple[RuleHit, ...] = ()
            else:
                po = self.policy.evaluate(signals, context)
                outcome_hits, shadow_hits = po.hits, po.shadow_hits
                for adjust in self.adjusters:
                    outcome_hits = adjust(Adjustment(s, self.tenant, ev, content, context,
                                                     signals, outcome_hits, now, self.policy))
        actions = tuple(a for h in outcome_hits for a in h.actions if a.type != ActionType.NONE)
        decision = Decision(
            id=uuid.uuid4().hex,
            event_id=ev.event_id,
            content_id=content.id,
            action=strongest(actions),
            actions=actions,
            categories=violation_categories(outcome_hits),
            reasons=outcome_hits,
            shadow=shadow_hits,
            signals=tuple(signals),
            policy_id=self.policy.active.id,
            policy_version=self.policy.active.version,
            model_versions=dict(versions),
            decided_by="automation",
            created_at=now,
            note="deleted by its author" if ev.type == EventType.DELETE else None,
        )
        with metrics.stage("content"):
            row = self._upsert_content(s, ev, content, row, now)
            known.contents[content.id] = row
            self._ensure_actor_and_group(s, content, now, known)
        self._enforce_and_record(s, decision, ev, row, now)
        return decision

    def _enforce_and_record(self, s: Session, decision: Decision, ev: Event, row: ContentRow,
                            now: datetime) -> None:
        """Enforce a decision and record it (decision row, shadow hits, event, ledger entry), in
        the caller's transaction. Automated and human decisions both come through here."""
        with metrics.stage("record"):
            newly_removed, restored = self._write_decision(s, decision, ev, row, now)
        if self.enforcers:
            with metrics.stage("enforce"):
                e = Enforcement(session=s, tenant=self.tenant, decision=decision, event=ev,
                                content=row, newly_removed=newly_removed, restored=restored,
                                now=now, policy=self.policy.active)
                for enforcer in self.enforcers:
                    enforcer(e)

    def _write_decision(self, s: Session, decision: Decision, ev: Event, row: ContentRow,
                        now: datetime) -> tuple[bool, bool]:
        """The content's new state, strikes, review tasks, decision, event and ledger rows.
        Returns (newly removed, restored)."""
        was_removed = row.state == "removed"
        before = content_state(row)
        newly_removed = apply_to_content(row, decision, ev.type)
        restored = was_removed and row.state != "removed"
        row.last_decision_id = decision.id
        if newly_removed and row.author_id:
            add_strike(s, self.tenant, row.author_id, decision, now, self.strike_days)
        elif (row.author_id and any(h.strike and h.enforces and not h.shadow
                                    for h in decision.reasons)
              and not strike_ids_for_content(s, self.tenant, row.id)):
            # e.g. sharing a claim rated false: one strike per item, however often re-decided
            add_strike(s, self.tenant, row.author_id, decision, now, self.strike_days)
        if restored:
            revoke_strikes_for(s, self.tenant, row.id, now)
        for a in decision.actions:
            if a.type == ActionType.REVIEW:
                hit = next(h for h in decision.reasons if a in h.actions)
                open_task(s, tenant=self.tenant, content_id=row.id, decision_id=decision.id,
                          queue=a.queue, priority=float(a.priority or 0), reason=hit.rule_id,
                          now=now)
        as_dict = decision.to_dict()  # stored with the decision and sent with its event
        # decision, shadow and event rows: append-only, read by later transactions only, so
        # written together at commit without ORM objects (tidebreak.store.insert_at_commit)
        insert_at_commit.add(s, _DECISIONS, {
            "id": decision.id, "tenant": self.tenant, "event_id": ev.event_id,
            "content_id": row.id, "action": decision.action.value,
            "categories": list(decision.categories), "rules": decision.rules,
            "policy_version": decision.policy_version, "decided_by": decision.decided_by,
            "created_at": now, "payload": as_dict})
        for h in decision.shadow:
            insert_at_commit.add(s, _SHADOW_DECISIONS, {
                "tenant": self.tenant, "decision_id": decision.id, "content_id": row.id,
                "rule_id": h.rule_id,
                "policy_version": h.policy_version or decision.policy_version,
                "action": strongest(h.actions).value, "created_at": now,
                "payload": h.to_dict()})
        insert_at_commit.add(s, _EVENTS, {
            "tenant": self.tenant, "event_id": ev.event_id, "type": ev.type.value,
            "content_id": row.id, "received_at": ev.received_at,
            "payload": _event_payload(ev), "decision_id": decision.id})
        ledger.append(s, tenant=self.tenant, kind="decision", subject=row.id,
                      actor=decision.decided_by, payload=_ledger_payload(decision, ev), at=now)
        emit_decision_events(s, self.tenant, decision, ev, row, before, now, as_dict=as_dict)
        return newly_removed, restored

    # -- human decisions ----------------------------------------------------------------------

    def decide_by_human(self, content_id: str, *, reviewer: str, actions: Sequence[Action],
                        category: str, ground: str, notice: str = "", note: str | None = None,
                        key: str | None = None, bank: bool = True) -> Outcome:
        """Record a reviewer's decision on stored content through the same enforcement and
        ledger as automation. It replaces the item's state (so "no action" on an automated
        removal restores it and lifts the strike it caused); a removal is banked so copies are
        caught. `key` makes the call idempotent (e.g. "task:42")."""
        if category not in CATEGORIES:
            raise InvalidDecision(f"unknown category {category!r}")
        if not ground.strip():
            raise InvalidDecision("a human decision must cite the policy clause (ground)")
        now = self.clock()
        event_id = f"review:{key}" if key else f"review:{uuid.uuid4().hex}"
        try:
            with self.sessions() as s, s.begin():
                if s.get(EventRow, (self.tenant, event_id)) is not None:
                    raise _AlreadyRecorded
                row = s.get(ContentRow, (self.tenant, content_id))
                if row is None:
                    raise UnknownContent(f"no content {content_id!r}")
                acts = tuple(a for a in actions if a.type != ActionType.NONE)
                hit = RuleHit(rule_id=f"human:{category}", category=category,
                              actions=acts or (Action(ActionType.NONE),), ground=ground,
                              notice=notice, severity="medium",
                              policy_version=self.policy.active.version)
                decision = Decision(
                    id=uuid.uuid4().hex, event_id=event_id, content_id=content_id,
                    action=strongest(acts), actions=acts,
                    categories=violation_categories((hit,)), reasons=(hit,), shadow=(),
                    signals=(), policy_id=self.policy.active.id,
                    policy_version=self.policy.active.version, model_versions={},
                    decided_by=f"reviewer:{reviewer}", created_at=now, note=note)
                content = Content(id=row.id, kind=ContentKind(row.kind), text=row.text,
                                  author=row.author_id, group=row.group_id)
                ev = Event(event_id=event_id, type=EventType.REVIEW, content=content,
                           received_at=now, reporter=reviewer)
                self._enforce_and_record(s, decision, ev, row, now)
                closed = close_tasks(s, tenant=self.tenant, content_id=content_id, by=reviewer,
                                     now=now)
                if closed:
                    emit(s, tenant=self.tenant, type=DomainEventType.REVIEW_TASK_DECIDED,
                         key=f"review:{event_id}", subject=content_id, at=now,
                         payload={"content_id": content_id, "reviewer": reviewer,
                                  "tasks_closed": closed, "decision": decision.to_dict()})
                if bank and ActionType.REMOVE in {a.type for a in acts} and row.norm_key.strip():
                    add_entry(s, tenant=self.tenant, text=row.text, bank="reviewed-removals",
                              category=category, added_by=f"reviewer:{reviewer}", now=now,
                              source_content_id=content_id, note=ground)
                if bank and ActionType.REMOVE in {a.type for a in acts} and (row.meta or {}).get(
                        "media"):  # its images too, by PDQ hash, as HMA banks them
                    from tidebreak.detect.bank_store import bank_content_images

                    bank_content_images(s, tenant=self.tenant, media=row.meta["media"],
                                        bank="reviewed-removals", category=category,
                                        added_by=f"reviewer:{reviewer}", now=now,
                                        source_content_id=content_id, note=ground)
        except (IntegrityError, _AlreadyRecorded):
            first = self._known_events([event_id]).get(event_id)
            if first is None:
                raise
            return Outcome(first, duplicate=True)
        metrics.observe(metrics.DECISIONS, 1, decision.action.value)
        return Outcome(decision, duplicate=False)

    def _upsert_content(self, s: Session, ev: Event, content: Content, row: ContentRow | None,
                        now: datetime) -> ContentRow:
        if row is None:
            norm = normalise(content.text)
            row = ContentRow(tenant=self.tenant, id=content.id, kind=content.kind.value,
                             text=content.text, norm_text=norm.text, norm_key=norm.key,
                             author_id=content.author, group_id=content.group,
                             parent_id=content.parent_id, urls=list(content.urls),
                             meta=dict(content.meta), created_at=content.created_at or now,
                             updated_at=now, version=1, state="visible", reach=1.0, labels=[],
                             reports=0, views=0, shares=0)
            s.add(row)
            mark_new(s, "content", (self.tenant, content.id), row)
        elif ev.type == EventType.EDIT:
            norm = normalise(content.text)
            row.text, row.norm_text, row.norm_key = content.text, norm.text, norm.key
            row.urls = list(content.urls)
            row.version += 1
            row.updated_at = now
        if ev.type == EventType.REPORT:
            row.reports = (row.reports or 0) + 1
        return row

    def _ensure_actor_and_group(self, s: Session, content: Content, now: datetime,
                                known: _BatchRows) -> None:
        if content.author and known.get(s, ActorRow, content.author) is None:
            actor = ActorRow(tenant=self.tenant, id=content.author, status="active",
                             first_seen=now, meta={})
            s.add(actor)
            known.rows[ActorRow][content.author] = actor
            mark_new(s, "actor", (self.tenant, content.author), actor)
        if content.group and known.get(s, GroupRow, content.group) is None:
            group = GroupRow(tenant=self.tenant, id=content.group, stage="healthy", health=1.0,
                             first_seen=now)
            s.add(group)
            known.rows[GroupRow][content.group] = group


class _BatchRows:
    """The rows a batch is about (its contents, authors and groups), read with one query each
    at the start of the batch's transaction instead of one per event, and kept as the batch
    creates them. Rows stay in the session, so what an event changes, later events see."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.rows: dict[type, dict[str, object]] = {ContentRow: {}, ActorRow: {}, GroupRow: {}}
        self.wanted: dict[type, set[str]] = {}  # keys read at load; absent ones are known absent

    @property
    def contents(self) -> dict[str, object]:
        return self.rows[ContentRow]

    @classmethod
    def load(cls, s: Session, tenant: str, events: Sequence[Event]) -> _BatchRows:
        """Raises _AlreadyRecorded when another process recorded one of the events since the
        batch looked (the caller then goes one event at a time)."""
        ids = [ev.event_id for ev in events]
        if s.execute(select(EventRow.event_id).where(EventRow.tenant == tenant,
                                                     EventRow.event_id.in_(ids)).limit(1)).first():
            raise _AlreadyRecorded
        known = cls(tenant)
        wanted = {ContentRow: {ev.content.id for ev in events},
                  ActorRow: {ev.content.author for ev in events if ev.content.author},
                  GroupRow: {ev.content.group for ev in events if ev.content.group}}
        for model, keys in wanted.items():
            if not keys:
                continue
            for r in s.execute(select(model).where(model.tenant == tenant,  # type: ignore[attr-defined]
                                                   model.id.in_(keys))).scalars():  # type: ignore[attr-defined]
                known.rows[model][r.id] = r
            known.wanted[model] = keys
        announce(s, tenant, "authors", wanted[ActorRow])
        announce(s, tenant, "groups", wanted[GroupRow])
        return known

    def recall_standing(self, s: Session, now: datetime) -> None:
        """The batch's authors' strikes and penalties, one query each (see tx_cache)."""
        authors = self.wanted.get(ActorRow, set())
        if authors:
            recall_active_strikes(s, self.tenant, authors, now)
            live_penalties(s, self.tenant, authors, now)

    def get(self, s: Session, model: type, key: str):  # type: ignore[no-untyped-def]
        found = self.rows[model].get(key)
        if found is not None:
            return found
        if key in self.wanted.get(model, ()):
            # absent when the batch began, and not created since (creating it records it here)
            return None
        return s.get(model, (self.tenant, key))

    def content(self, s: Session, content_id: str) -> ContentRow | None:
        return self.get(s, ContentRow, content_id)  # type: ignore[no-any-return]


def overlapped(pipeline: Pipeline, batches: Iterable[tuple[T, Sequence[Event]]],
               ) -> Iterator[tuple[T, Sequence[Event], list[Outcome | PipelineError]]]:
    """Process batches in order, preparing (detecting) batches k+1.. k+`prepare_ahead` in helper
    threads while batch k records: model passes run outside the GIL (or in detector processes,
    tidebreak.detector_process), so detection and recording share the cores.
    Results are exactly those of `process_batch` on each batch in turn. Yields (tag, events,
    results) per batch; `tag` is the caller's (e.g. the batch's input line numbers)."""
    depth = max(1, pipeline.prepare_ahead)
    with ThreadPoolExecutor(depth, thread_name_prefix="tidebreak-prepare") as pool:
        ahead: deque[tuple[T, Sequence[Event], Future[Prepared]]] = deque()
        for tag, events in batches:
            in_flight = [e for _, evs, _ in ahead for e in evs]
            ahead.append((tag, events, pool.submit(pipeline.prepare, events, in_flight)))
            if len(ahead) > depth:
                t, evs, fut = ahead.popleft()
                yield t, evs, pipeline.record(fut.result())
        while ahead:
            t, evs, fut = ahead.popleft()
            yield t, evs, pipeline.record(fut.result())


def _record_coactions(s: Session, tenant: str, created: Sequence[Content]) -> None:
    """What coordination detection needs from new content (links, hashtags, reply and repost
    targets, image hashes, text), as one bulk INSERT (tidebreak.coordination.sweep reads it)."""
    rows = [r for c in created for r in coaction_rows(tenant, c)]
    if rows:
        s.execute(insert(CoActionRow), rows)


def _event_payload(ev: Event) -> dict[str, object]:
    c = ev.content
    return {"type": ev.type.value, "id": c.id, "kind": c.kind.value, "author": c.author,
            "group": c.group, "created_at": c.created_at.isoformat() if c.created_at else None,
            "report_reason": ev.report_reason, "reporter": ev.reporter}


def _ledger_payload(d: Decision, ev: Event) -> dict[str, object]:
    """What the audit trail keeps: who decided, which rules, which signals with scores, which
    model and policy versions. Not the text itself (it may be personal data and is erasable)."""
    return {
        "decision_id": d.id,
        "event_id": ev.event_id,
        "event_type": ev.type.value,
        "content_id": d.content_id,
        "action": d.action.value,
        "actions": [a.to_dict() for a in d.actions],
        "categories": list(d.categories),
        "rules": [{"rule_id": h.rule_id, "ground": h.ground, "policy_version": h.policy_version}
                  for h in d.reasons],
        "shadow_rules": [h.rule_id for h in d.shadow],
        "signals": [{"detector": s.detector, "category": s.category, "score": round(s.score, 6),
                     "detector_version": s.detector_version} for s in d.signals],
        "policy": {"id": d.policy_id, "version": d.policy_version},
        "model_versions": dict(d.model_versions),
        "decided_by": d.decided_by,
    }


def count_decisions(engine: Engine, tenant: str = "default") -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(DecisionRow)
                         .where(DecisionRow.tenant == tenant)).scalar_one()


__all__ = ["Outcome", "OutOfOrder", "Pipeline", "PipelineError", "UnknownContent", "Action"]
