"""The boundary: every kind of bad input gets a one-line reason; good input becomes an Event."""

from __future__ import annotations

import json

import pytest

from tidebreak.ingest import InvalidInput, parse_event, parse_json_line
from tidebreak.model import ContentKind, EventType


def test_minimal_post_becomes_a_create_event_keyed_by_its_id() -> None:
    ev = parse_event({"id": "p1", "text": "hello"})
    assert ev.type == EventType.CREATE
    assert ev.event_id == "p1"
    assert ev.content.kind == ContentKind.POST
    assert ev.content.author is None


def test_full_event_keeps_every_field_and_extra_fields_as_meta() -> None:
    ev = parse_event({"id": "a1", "kind": "ad", "text": "Buy boots", "author": "u1",
                      "group": "g1", "created_at": "2026-11-01T10:00:00Z",
                      "urls": ["https://example.org/x"], "advertiser": "adv_9"})
    assert ev.content.kind == ContentKind.AD
    assert ev.content.created_at.isoformat() == "2026-11-01T10:00:00+00:00"
    assert ev.content.meta == {"advertiser": "adv_9"}


def test_repeated_identical_report_has_the_same_event_id() -> None:
    a = parse_event({"type": "report", "id": "p1", "reason": "hate", "reporter": "u2"})
    b = parse_event({"type": "report", "id": "p1", "reason": "hate", "reporter": "u2"})
    c = parse_event({"type": "report", "id": "p1", "reason": "hate", "reporter": "u3"})
    assert a.event_id == b.event_id != c.event_id


@pytest.mark.parametrize("obj, reason", [
    ([], "must be a JSON object"),
    ({"text": "x"}, "'id' is required"),
    ({"id": "p1"}, "'text' is required"),
    ({"id": "p1", "text": 5}, "'text' must be a string"),
    ({"id": 1.5, "text": "x"}, "'id' must be a string"),
    ({"id": "p1", "text": "x", "kind": "tweet"}, "'kind' must be one of"),
    ({"id": "p1", "text": "x", "type": "explode"}, "'type' must be one of"),
    ({"id": "p1", "text": "x", "created_at": "yesterday"}, "'created_at'"),
    ({"id": "p1", "text": "x", "urls": "http://a"}, "'urls' must be a list"),
    ({"id": "p\n1", "text": "x"}, "control characters"),
    ({"id": "x" * 300, "text": "x"}, "longer than 256"),
    ({"type": "report", "id": "p1", "reason": "dislike"}, "'reason' must be one of"),
    ({"id": "p1", "text": "a\x00b"}, "'text'"),
    ({"id": "p1", "text": "\ud800"}, "'text'"),
    ({"id": "p1", "text": "e" + "\u0301" * 30}, "'text'"),
])
def test_bad_events_are_rejected_with_a_one_line_reason(obj: object, reason: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_event(obj)
    assert reason in str(e.value)
    assert "\n" not in str(e.value)


def test_text_over_the_limit_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="65536"):
        parse_event({"id": "p1", "text": "a" * 65537})
    assert parse_event({"id": "p1", "text": "a" * 100}, max_text_bytes=100)


def test_json_lines_invalid_utf8_and_malformed_json() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_json_line(b'{"id": "p1", "text": "\xff\xfe"}')
    with pytest.raises(InvalidInput, match="malformed JSON"):
        parse_json_line('{"id": "p1", "text": ')
    with pytest.raises(InvalidInput, match="malformed JSON"):
        parse_json_line("[" * 100000)
    ok = parse_json_line(json.dumps({"id": "p1", "text": "ça va 👋"}).encode())
    assert ok.content.text == "ça va 👋"
