"""Coordination events: one account acting on one object at one time, validated at the boundary.

An event is `(event_id, account_id, object_type, object_id, text, timestamp)`. They come from
JSONL or CSV files (`read_jsonl`, `read_csv`) or from the pipeline's content
(`events_from_content`). Every line that is not used is accounted for in an `InputReport`:
malformed lines are errors with their line number, and exact re-deliveries of an event id are
counted as duplicates (at-least-once delivery is normal, so they are not errors), but a reused
event id carrying different data is an error. Nothing is dropped without a count and a reason.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import IO, Any

from tidebreak.errors import BadInput
from tidebreak.store.coactions import coaction_rows
from tidebreak.text.urls import NotAUrl, canonical_url
from tidebreak.model import Content

MAX_FIELD_LEN = 2048  # ids and URLs; longer is a broken producer, not a real object
MAX_TEXT_LEN = 65536


class ObjectType(StrEnum):
    """What kind of object two accounts acted on together."""

    REPOST = "repost"  # object_id: the reposted post
    REPLY = "reply"  # object_id: the post replied to
    URL = "url"  # object_id: the link (canonicalised before matching)
    TEXT = "text"  # text: the post's words (near-duplicates become one object)
    HASHTAG = "hashtag"  # object_id: the tag, with or without '#'
    MEDIA_HASH = "media_hash"  # object_id: a perceptual hash of an image or video


OBJECT_TYPES = tuple(t.value for t in ObjectType)


@dataclass(frozen=True, slots=True)
class CoordEvent:
    event_id: str
    account_id: str
    object_type: ObjectType
    object_id: str
    text: str
    timestamp: float  # Unix seconds, UTC

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "account_id": self.account_id,
                "object_type": self.object_type.value, "object_id": self.object_id,
                "text": self.text, "timestamp": self.timestamp}


class BadEvent(BadInput):
    """One line that cannot be used; `kind` names the problem for the report's counts."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class InputReport:
    """What happened to every input line: accepted, duplicate, or rejected (and why)."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    # (line, message) for every problem, in input order; duplicates are notes, rejections errors
    errors: list[tuple[int, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        parts = [f"{self.lines} lines: {self.accepted} events accepted",
                 f"{self.duplicates} exact duplicates counted once",
                 f"{self.rejected_total} rejected"]
        if self.rejected:
            parts[-1] += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.rejected.items())) + ")"
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "accepted": self.accepted, "duplicates": self.duplicates,
                "rejected": dict(self.rejected)}


def _str(obj: dict[str, Any], name: str, *, required: bool, max_len: int = MAX_FIELD_LEN) -> str:
    v = obj.get(name)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise BadEvent(f"missing_{name}", f"missing {name}")
        return ""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise BadEvent(f"bad_{name}", f"{name} must be a string, got {type(v).__name__}")
    s = str(v)
    if len(s) > max_len:
        raise BadEvent(f"bad_{name}", f"{name} is longer than {max_len} characters")
    if _SURROGATE_RE.search(s) or "\x00" in s:
        # a lone surrogate ("\ud800" in JSON) or NUL cannot be written as UTF-8 or stored
        raise BadEvent("bad_unicode", f"{name} holds a lone surrogate or NUL character")
    return s


_MASK64 = (1 << 64) - 1
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_DIGITS_RE = re.compile(r"-?\d+(\.\d+)?")


def parse_timestamp(v: Any) -> float:
    """Unix seconds from a number, a numeric string, or an ISO 8601 time (naive means UTC)."""
    if v is None or (isinstance(v, str) and not v.strip()):
        raise BadEvent("missing_timestamp", "missing timestamp")
    if isinstance(v, bool):
        raise BadEvent("bad_timestamp", "timestamp must be Unix seconds or ISO 8601, got a boolean")
    try:
        if isinstance(v, (int, float)):
            ts = float(v)
        elif isinstance(v, str) and _DIGITS_RE.fullmatch(v.strip()):
            ts = float(v)
        elif isinstance(v, str):
            dt = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            ts = dt.timestamp()
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        raise BadEvent("bad_timestamp", f"timestamp {str(v)[:40]!r} is neither Unix seconds nor "
                                        "ISO 8601") from None
    if not math.isfinite(ts):
        raise BadEvent("bad_timestamp", f"timestamp {v!r} is not a finite number")
    return ts


def parse_event(obj: Any) -> CoordEvent:
    """Validate one decoded record; raise BadEvent with a one-line reason."""
    if not isinstance(obj, dict):
        raise BadEvent("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    event_id = _str(obj, "event_id", required=True)
    account_id = _str(obj, "account_id", required=True)
    raw_type = obj.get("object_type")
    if raw_type is None or raw_type == "":
        raise BadEvent("missing_object_type", "missing object_type")
    if raw_type not in OBJECT_TYPES:
        raise BadEvent("unknown_object_type", f"unknown object_type {str(raw_type)[:40]!r} "
                                              f"(expected one of {', '.join(OBJECT_TYPES)})")
    otype = ObjectType(raw_type)
    text = _str(obj, "text", required=False, max_len=MAX_TEXT_LEN)
    # A text event's object is its text; other kinds need an id to match on.
    object_id = _str(obj, "object_id", required=otype is not ObjectType.TEXT)
    if otype is ObjectType.TEXT and not (text or object_id):
        raise BadEvent("missing_text", "text event without text")
    if otype is ObjectType.URL:
        try:
            canonical_url(object_id)
        except NotAUrl as e:
            raise BadEvent("bad_url", str(e)) from None
    return CoordEvent(event_id, account_id, otype, object_id, text,
                      parse_timestamp(obj.get("timestamp")))


class EventReader:
    """Turns records into events, keeping the report and the duplicate check across a stream."""

    def __init__(self, compact: bool = False) -> None:
        self.report = InputReport()
        # compact (out of core): keep a hash of each event, not the event, for the duplicate
        # check; tens of millions of events would not fit otherwise
        self.compact = compact
        self._seen: dict[str, tuple[int, CoordEvent]] = {}
        # compact: keyed by a 64-bit hash of the id (a false "conflict" needs two of tens of
        # millions of ids to collide: about 1e-5 at 1e7 events)
        self._seen_compact: dict[int, int] = {}

    def _first(self, event_id: str) -> tuple[int, CoordEvent | int] | None:
        if not self.compact:
            return self._seen.get(event_id)
        packed = self._seen_compact.get(hash(event_id))
        return None if packed is None else (packed >> 64, packed & _MASK64)

    def forget(self) -> None:
        """Drop the duplicate index (the report stays): call when the stream has ended."""
        self._seen, self._seen_compact = {}, {}

    def take(self, line: int, record: Any | BadEvent) -> CoordEvent | None:
        self.report.lines += 1
        try:
            if isinstance(record, BadEvent):
                raise record
            ev = parse_event(record)
        except BadEvent as e:
            self.report.rejected[e.kind] += 1
            self.report.errors.append((line, e.reason))
            return None
        first = self._first(ev.event_id)
        if first is not None:
            if first[1] == ((hash(ev) & _MASK64) if self.compact else ev):
                self.report.duplicates += 1
                self.report.notes.append(
                    (line, f"duplicate of event {ev.event_id!r} on line {first[0]}, counted once"))
            else:
                self.report.rejected["conflicting_duplicate"] += 1
                self.report.errors.append(
                    (line, f"event_id {ev.event_id!r} already used on line {first[0]} with "
                           "different data"))
            return None
        if self.compact:  # one int key and one int value: (line, event hash) packed
            self._seen_compact[hash(ev.event_id)] = (line << 64) | (hash(ev) & _MASK64)
        else:
            self._seen[ev.event_id] = (line, ev)
        self.report.accepted += 1
        return ev


def _json_records(stream: IO[bytes]) -> Iterator[tuple[int, Any | BadEvent]]:
    for n, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            yield n, json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            yield n, BadEvent("bad_encoding", f"invalid UTF-8 at byte {e.start}")
        except json.JSONDecodeError as e:
            yield n, BadEvent("bad_json", f"invalid JSON: {e.msg} at column {e.colno}")


def _csv_records(stream: IO[bytes]) -> Iterator[tuple[int, Any | BadEvent]]:
    """CSV with a header naming the columns (any order); line numbers count the header as 1."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
    try:
        rows = csv.DictReader(text)
        for row in rows:
            n = rows.line_num
            if None in row:
                yield n, BadEvent("bad_csv", "more fields than the header names")
                continue
            yield n, {k.strip(): v for k, v in row.items() if k is not None}
    except UnicodeDecodeError as e:
        yield -1, BadEvent("bad_encoding", f"invalid UTF-8 at byte {e.start}; reading stopped")
    finally:
        text.detach()


def read_events(stream: IO[bytes], fmt: str = "jsonl",
                reader: EventReader | None = None) -> tuple[list[CoordEvent], InputReport]:
    """All valid events of a JSONL or CSV stream, and the report on the rest."""
    reader = reader or EventReader()
    records = _csv_records(stream) if fmt == "csv" else _json_records(stream)
    events = [ev for n, rec in records if (ev := reader.take(n, rec)) is not None]
    return events, reader.report


def events_from_records(records: Iterable[dict[str, Any]]) -> tuple[list[CoordEvent], InputReport]:
    """Validate in-memory records (numbered from 1), as the CLI does for a file."""
    reader = EventReader()
    events = [ev for n, rec in enumerate(records, 1) if (ev := reader.take(n, rec)) is not None]
    return events, reader.report


def events_from_content(content: Content) -> list[CoordEvent]:
    """The coordination events one piece of pipeline content implies: its text, each link, each
    hashtag, the post it replies to (a repost is `meta["repost_of"]`) and each image's PDQ hash
    (`meta["media"]`). Needs an author and a creation time: without them there is nothing to
    line up, so it returns no events. The same definition the pipeline records with
    (`store.coactions.coaction_rows`)."""
    return [CoordEvent(r["event_id"], r["account_id"], ObjectType(r["object_type"]),
                       r["object_id"], r["text"], r["ts"])
            for r in coaction_rows("", content)]
