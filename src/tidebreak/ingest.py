"""The boundary: untrusted JSON in, a validated `Event` out, or `InvalidInput` with one line.

Everything past this point may trust its input. Nothing here touches the store, so a rejected
event can never change what is stored.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from tidebreak.clock import parse_time
from tidebreak.errors import BadInput
from tidebreak.model import SUBMITTABLE_EVENTS, Content, ContentKind, Event, EventType
from tidebreak.text.validate import TextRejected, TextTooLong, check_text, decode_utf8

MAX_ID_LEN = 256
MAX_URLS = 50
MAX_URL_LEN = 2048
MAX_META_BYTES = 16384
REPORT_REASONS = ("hate", "violence", "harassment", "false_information", "voting_misinformation",
                  "spam", "self_harm", "other")
_KNOWN = {"event_id", "type", "id", "kind", "text", "author", "group", "created_at", "parent_id",
          "urls", "language", "reason", "reporter", "tenant", "media"}


class InvalidInput(BadInput):
    """Bad input, with a one-line reason fit for an HTTP 4xx body or a CLI error line."""

    status = 400


class InputTooLarge(InvalidInput):
    status = 413


def _str_field(obj: dict[str, Any], name: str, *, required: bool = False,
               max_len: int = MAX_ID_LEN) -> str | None:
    v = obj.get(name)
    if v is None:
        if required:
            raise InvalidInput(f"field '{name}' is required")
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise InvalidInput(f"field '{name}' must be a string, got {type(v).__name__}")
    v = str(v)
    if not v.strip():
        raise InvalidInput(f"field '{name}' must not be empty")
    if len(v) > max_len:
        raise InvalidInput(f"field '{name}' is longer than {max_len} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise InvalidInput(f"field '{name}' contains control characters")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"field '{name}' is not valid Unicode (lone surrogate)") from None
    return v


def _timestamp(v: Any) -> datetime | None:
    if v is None:
        return None
    try:
        return parse_time(v, "field 'created_at'", numbers=True)
    except BadInput as e:
        raise InvalidInput(str(e)) from None


def parse_event(obj: Any, *, max_text_bytes: int = 65536, now: datetime | None = None,
                default_type: EventType = EventType.CREATE, media_options: Any = None) -> Event:
    """Validate one event object (already JSON-decoded). `media_options`
    (tidebreak.media.load.MediaOptions; default: the environment's, no local paths) governs the
    optional `media` list, decoded and hashed here so a bad image is refused at the boundary."""
    if not isinstance(obj, dict):
        raise InvalidInput(f"an event must be a JSON object, got {type(obj).__name__}")
    raw_type = obj.get("type", default_type.value)
    try:
        etype = EventType(raw_type)
        if etype not in SUBMITTABLE_EVENTS:
            raise ValueError
    except (ValueError, TypeError):
        raise InvalidInput(
            f"field 'type' must be one of {', '.join(t.value for t in SUBMITTABLE_EVENTS)}, "
            f"got {raw_type!r:.40}"
        ) from None
    content_id = _str_field(obj, "id", required=True)
    assert content_id is not None
    raw_kind = obj.get("kind", ContentKind.POST.value)
    try:
        kind = ContentKind(raw_kind)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"field 'kind' must be one of {', '.join(k.value for k in ContentKind)}, got {raw_kind!r:.40}"
        ) from None

    text = obj.get("text")
    has_media = obj.get("media") is not None
    if text is None and has_media:  # an image post may have no caption
        text = ""
    if etype in (EventType.CREATE, EventType.EDIT):
        if text is None:
            raise InvalidInput("field 'text' is required (use \"\" for content without text)")
    elif text is None:
        text = ""
    if not isinstance(text, str):
        raise InvalidInput(f"field 'text' must be a string, got {type(text).__name__}")
    try:
        check_text(text, max_bytes=max_text_bytes)
    except TextTooLong as e:
        raise InputTooLarge(f"field 'text': {e}") from None
    except TextRejected as e:
        raise InvalidInput(f"field 'text': {e}") from None

    urls_raw = obj.get("urls") or []
    if not isinstance(urls_raw, list) or not all(isinstance(u, str) for u in urls_raw):
        raise InvalidInput("field 'urls' must be a list of strings")
    if len(urls_raw) > MAX_URLS or any(len(u) > MAX_URL_LEN for u in urls_raw):
        raise InvalidInput(f"field 'urls' allows at most {MAX_URLS} URLs of {MAX_URL_LEN} characters")

    reason = None
    if etype == EventType.REPORT:
        reason = _str_field(obj, "reason", required=True, max_len=64)
        if reason not in REPORT_REASONS:
            raise InvalidInput(f"field 'reason' must be one of {', '.join(REPORT_REASONS)}")

    meta = {k: v for k, v in obj.items() if k not in _KNOWN}
    if meta and len(json.dumps(meta, default=str)) > MAX_META_BYTES:
        raise InvalidInput(f"extra fields exceed {MAX_META_BYTES} bytes")

    media: tuple[Any, ...] = ()
    if has_media:  # decoding and hashing cost: only for items that carry media, and last
        from tidebreak.media.load import parse_media

        media = parse_media(obj.get("media"), media_options)
    content = Content(
        id=content_id,
        kind=kind,
        text=text,
        author=_str_field(obj, "author"),
        group=_str_field(obj, "group"),
        created_at=_timestamp(obj.get("created_at")),
        parent_id=_str_field(obj, "parent_id"),
        urls=tuple(urls_raw),
        language=_str_field(obj, "language", max_len=16),
        meta=meta,
        media=media,
    )
    event_id = _str_field(obj, "event_id")
    if event_id is None:
        # A create is keyed by its content id (so resubmitting the same item is a no-op); other
        # events by what they say, so a repeated identical report or edit is also a no-op.
        if etype == EventType.CREATE:
            event_id = content_id
        else:
            digest = hashlib.sha256(f"{text}\x00{obj.get('reporter')}\x00{reason}".encode("utf-8",
                                    "surrogatepass")).hexdigest()[:16]
            event_id = f"{content_id}:{etype.value}:{digest}"
    return Event(
        event_id=event_id,
        type=etype,
        content=content,
        received_at=now or datetime.now(timezone.utc),
        report_reason=reason,
        reporter=_str_field(obj, "reporter"),
    )


def parse_json_line(line: bytes | str, **kw: Any) -> Event:
    """Decode one JSON document (bytes are checked as UTF-8 first) and validate it."""
    if isinstance(line, bytes):
        try:
            line = decode_utf8(line)
        except TextRejected as e:
            raise InvalidInput(str(e)) from None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise InvalidInput("malformed JSON: nested too deeply") from None
    return parse_event(obj, **kw)
