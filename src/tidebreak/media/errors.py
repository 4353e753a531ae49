"""Media errors are input errors: the same classes (and HTTP statuses) as the rest of ingest, so
the API answers 4xx with the reason and the CLI exits 2 with one line, before anything is stored."""

from __future__ import annotations

from tidebreak.ingest import InputTooLarge, InvalidInput


class MediaError(InvalidInput):
    """Corrupt, truncated or otherwise unreadable media (400)."""


class MediaTooLarge(InputTooLarge, MediaError):
    """Over the byte or pixel limit (413); a decompression bomb is one."""


class UnsupportedMedia(MediaError):
    """A file that is not one of the image formats we decode (415)."""

    status = 415


class MediaRefused(MediaError):
    """A reference we will not follow: fetching is off, a host not allowed, a private address,
    a local path through the API (403: the request is understood and refused)."""

    status = 403
