"""From validated events to the columns pair detection works on: integer codes for accounts and
objects, and times, one row per event.

An object is (object_type, canonical id): links are canonicalised, hashtags case-folded,
near-duplicate texts merged into one object (see `textmatch`). Co-acting on a repost and on a
URL with the same id are different actions, so the type is part of the object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tidebreak.coordination.events import CoordEvent, ObjectType
from tidebreak.coordination.textmatch import DEFAULT_TEXT_THRESHOLD, cluster_texts
from tidebreak.text.urls import canonical_url

NO_OBJECT = -1


@dataclass
class EventTable:
    events: Sequence[CoordEvent]
    account: np.ndarray  # int32 code per event
    obj: np.ndarray  # int32 object code per event, NO_OBJECT when it cannot match anything
    t: np.ndarray  # float64 Unix seconds
    accounts: list[str]
    objects: list[tuple[ObjectType, str]]
    text_samples: dict[str, str] = field(default_factory=dict)
    unmatchable: Counter[str] = field(default_factory=Counter)  # why events have NO_OBJECT

    @property
    def activity(self) -> np.ndarray:
        """Events per account (all of them, matchable or not): how busy each account is."""
        return np.bincount(self.account, minlength=len(self.accounts))


def object_key(ev: CoordEvent) -> str:
    """The matching key of a non-text event's object."""
    if ev.object_type is ObjectType.URL:
        return canonical_url(ev.object_id)
    if ev.object_type is ObjectType.HASHTAG:
        return ev.object_id.strip().lstrip("#").casefold()
    if ev.object_type is ObjectType.MEDIA_HASH:
        return ev.object_id.strip().lower()
    return ev.object_id.strip()


def build_table(events: Sequence[CoordEvent],
                text_threshold: float = DEFAULT_TEXT_THRESHOLD) -> EventTable:
    n = len(events)
    acc_codes: dict[str, int] = {}
    obj_codes: dict[tuple[ObjectType, str], int] = {}
    account = np.empty(n, dtype=np.int32)
    obj = np.empty(n, dtype=np.int32)
    t = np.empty(n, dtype=np.float64)
    text_rows: list[int] = []
    for i, ev in enumerate(events):
        account[i] = acc_codes.setdefault(ev.account_id, len(acc_codes))
        t[i] = ev.timestamp
        if ev.object_type is ObjectType.TEXT:
            text_rows.append(i)
            continue
        obj[i] = obj_codes.setdefault((ev.object_type, object_key(ev)), len(obj_codes))
    clusters = cluster_texts([events[i].text or events[i].object_id for i in text_rows],
                             text_threshold)
    for i, label in zip(text_rows, clusters.labels):
        obj[i] = NO_OBJECT if label is None else obj_codes.setdefault(
            (ObjectType.TEXT, label), len(obj_codes))
    unmatchable: Counter[str] = Counter()
    if clusters.too_short:
        unmatchable["text_too_short"] = clusters.too_short
    return EventTable(events, account, obj, t, list(acc_codes), list(obj_codes),
                      clusters.samples, unmatchable)
