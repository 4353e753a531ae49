"""What a content item implies for coordination detection: the co-action rows the pipeline
records for it in its own transaction (one bulk INSERT per batch) and
`tidebreak.coordination.events.events_from_content` reads back. Defined once, here, below the
pipeline."""

from __future__ import annotations

import re
from typing import Any

from tidebreak.model import Content

MAX_TEXT = 4000  # enough for near-duplicate matching; the full text stays with the content


def coaction_rows(tenant: str, content: Content) -> list[dict[str, Any]]:
    """Row dicts (for one bulk INSERT) of a created `model.Content`: its text (or the post
    it reposts, `meta["repost_of"]`), the post it replies to, each link, each hashtag, each
    image's PDQ hash. None without an author and a creation time: nothing to line up.
    Values too long for the columns are left out (they could never match anyway)."""
    if not content.author or content.created_at is None or len(content.author) > 256:
        return []
    ts = content.created_at.timestamp()
    out: list[dict[str, Any]] = []

    def add(suffix: str, otype: str, object_id: str, text: str = "") -> None:
        event_id = f"{content.id}#{suffix}"
        if len(event_id) > 300 or len(object_id) > 2048 or not _storable(object_id):
            return  # never let one odd link fail the batch's transaction
        if not _storable(text):
            text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
        out.append({"tenant": tenant, "event_id": event_id,
                    "account_id": content.author, "object_type": otype,
                    "object_id": object_id, "text": text[:MAX_TEXT], "ts": ts})

    meta = content.meta or {}
    repost_of = meta.get("repost_of")
    if isinstance(repost_of, str) and repost_of:
        add("repost", "repost", repost_of)
    elif content.text.strip():
        add("text", "text", "", content.text)
    if content.parent_id:
        add("reply", "reply", content.parent_id)
    for i, url in enumerate(content.urls):
        add(f"url{i}", "url", url)
    for tag in dict.fromkeys(m.lower() for m in _HASHTAG_RE.findall(content.text)):
        add(f"tag:{tag}", "hashtag", tag)
    media = meta.get("media")
    for k, m in enumerate(media if isinstance(media, list) else []):
        pdq = m.get("pdq") if isinstance(m, dict) else None
        if isinstance(pdq, str) and pdq.strip():
            add(f"media{k}", "media_hash", pdq.strip().lower())
    return out


_HASHTAG_RE = re.compile(r"(?<![\w#])#(\w{2,100})")


def _storable(value: str) -> bool:
    """PostgreSQL text takes neither NUL nor a lone surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
