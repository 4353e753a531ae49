"""The `media` field of a content item: untrusted references in, checked `MediaItem`s out.

Each item is exactly one of `{"data": base64}` (everywhere), `{"url": ...}` (only when the
operator allows fetching: tidebreak.media.fetch) or `{"path": ...}` (the CLI only: an API caller
must never make the server read its own files). Every image is decoded under a pixel limit
and PDQ-hashed here, at the boundary, so a bad file is refused before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidebreak.config import Settings
from tidebreak.media.decode import decode_image
from tidebreak.media.errors import MediaError, MediaRefused, MediaTooLarge
from tidebreak.media.fetch import FetchPolicy, fetch
from tidebreak.media.pdq import query_hashes
from tidebreak.model import MediaItem


@dataclass(frozen=True)
class MediaOptions:
    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 36_000_000
    max_items: int = 4
    allow_path: bool = False  # the CLI sets it; the API and workers never do
    fetch: FetchPolicy = FetchPolicy()

    @classmethod
    def from_settings(cls, s: Settings, *, allow_path: bool = False) -> MediaOptions:
        return cls(max_bytes=s.media_max_bytes, max_pixels=s.media_max_pixels,
                   max_items=s.media_max_items, allow_path=allow_path,
                   fetch=FetchPolicy(enabled=s.media_fetch, hosts=s.media_fetch_hosts,
                                     allow_private=s.media_fetch_private,
                                     timeout=s.media_fetch_timeout, max_bytes=s.media_max_bytes))


def default_options() -> MediaOptions:
    """What the API and workers use: the environment's settings (read each time: cheap, and a
    changed setting takes effect), never local paths."""
    return MediaOptions.from_settings(Settings.from_env())


def parse_media(raw: Any, options: MediaOptions | None = None) -> tuple[MediaItem, ...]:
    opts = options or default_options()
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise MediaError("field 'media' must be a list of {\"data\"}, {\"url\"} or {\"path\"}")
    if len(raw) > opts.max_items:
        raise MediaError(f"field 'media' allows at most {opts.max_items} items")
    return tuple(_one(obj, i, opts) for i, obj in enumerate(raw))


def _one(obj: Any, i: int, opts: MediaOptions) -> MediaItem:
    label = f"media[{i}]"
    if not isinstance(obj, dict):
        raise MediaError(f"{label} must be an object with one of 'data', 'url', 'path'")
    given = [k for k in ("data", "url", "path") if obj.get(k) is not None]
    if len(given) != 1:
        raise MediaError(f"{label} must have exactly one of 'data', 'url', 'path'")
    source = given[0]
    value = obj[source]
    if not isinstance(value, str) or not value:
        raise MediaError(f"{label}.{source} must be a non-empty string")
    ref: str | None = None
    if source == "data":
        data = decode_base64(value, opts.max_bytes, label)
    elif source == "url":
        if len(value) > 2048:
            raise MediaError(f"{label}.url is longer than 2048 characters")
        data = fetch(value, opts.fetch)
        ref = value
    else:
        if not opts.allow_path:
            raise MediaRefused(f"{label}: 'path' is for the command line only; send "
                               "{\"data\": base64} or {\"url\"}")
        data = read_path(Path(value), opts.max_bytes, label)
        ref = value
    return media_item(data, opts.max_pixels, label, source=source, ref=ref)


def media_item(data: bytes, max_pixels: int, label: str, *, source: str = "data",
               ref: str | None = None) -> MediaItem:
    decoded = decode_image(data, max_pixels=max_pixels, label=label)
    h, variants = query_hashes(decoded.image)
    w, ht = decoded.image.size
    return MediaItem(sha256=decoded.sha256, format=decoded.format, width=w, height=ht,
                     pdq=h.pdq, quality=h.quality, variants=variants, source=source, ref=ref,
                     data=data)


def decode_base64(value: str, max_bytes: int, label: str) -> bytes:
    if value.startswith("data:"):  # a data: URL; keep what follows the comma
        value = value.split(",", 1)[-1]
    if len(value) > (max_bytes * 4) // 3 + 8:  # refuse before decoding a huge string
        raise MediaTooLarge(f"{label}: over the limit of {max_bytes} bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MediaError(f"{label}.data is not valid base64") from None
    if len(data) > max_bytes:
        raise MediaTooLarge(f"{label}: {len(data)} bytes is over the limit of {max_bytes}")
    return data


def read_path(path: Path, max_bytes: int, label: str) -> bytes:
    try:
        if not path.is_file():
            raise MediaError(f"{label}: no such file: {path}")
        size = path.stat().st_size
        if size > max_bytes:
            raise MediaTooLarge(f"{label}: {path} is {size} bytes, over the limit of {max_bytes}")
        return path.read_bytes()
    except OSError as e:
        raise MediaError(f"{label}: cannot read {path}: {e.strerror}") from None
