"""Reject hostile or broken text at the boundary, with a one-line reason a caller can act on.

What is rejected is what no honest client sends and what would hurt us downstream: oversized
bodies, text that cannot be stored as UTF-8 (lone surrogates), NUL (truncates C strings and
PostgreSQL text), Unicode noncharacters, "Zalgo" stacks of combining marks (render over other
content, blow up layout), and texts made mostly of invisible characters. Everything else,
including the empty string (an image post with no caption), is accepted: evasion tricks inside
otherwise-valid text are `tidebreak.text.normalise`'s job, not grounds for rejection.
"""

from __future__ import annotations

import re

from tidebreak.errors import BadInput
from tidebreak.text.charclass import INVISIBLE, MARKS, MARKS_BMP, NONCHARACTERS

MAX_BYTES = 65536
MAX_MARKS_PER_CHARACTER = 8
INVISIBLE_SHARE_LIMIT = 0.5
INVISIBLE_MIN_LENGTH = 20  # shorter texts may legitimately be, e.g., one emoji ZWJ sequence

_NONCHARACTER_RE = re.compile(f"[{NONCHARACTERS}]")
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")
# Bitmap class for the BMP; astral marks only tried on astral characters (keeps the scan fast).
_MARK = f"(?:[{MARKS_BMP}]|(?=[\\U00010000-\\U0010ffff])[{MARKS}])"
_ZALGO_RE = re.compile(f"{_MARK}{{{MAX_MARKS_PER_CHARACTER + 1},}}")


class TextRejected(BadInput):
    """Input text refused at the boundary; `reason` is one human-readable line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TextTooLong(TextRejected):
    """Over the size limit (HTTP 413 rather than 400)."""


def check_text(text: str, max_bytes: int = MAX_BYTES) -> None:
    """Raise TextRejected if `text` must not enter the pipeline; return None if it may."""
    if not isinstance(text, str):
        raise TextRejected(f"text must be a string, not {type(text).__name__}")
    if len(text) > max_bytes:  # every character is at least one byte: no need to encode
        raise TextTooLong(f"text is {len(text)} characters, over the limit of {max_bytes} bytes")
    if "\x00" in text:
        raise TextRejected(f"NUL character at position {text.index(chr(0))}")
    if text.isascii():  # nothing below can occur in ASCII
        return
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise TextRejected(
            f"lone surrogate U+{ord(text[exc.start]):04X} at position {exc.start}"
        ) from None
    if size > max_bytes:
        raise TextTooLong(f"text is {size} bytes, over the limit of {max_bytes}")
    if m := _NONCHARACTER_RE.search(text):
        raise TextRejected(f"Unicode noncharacter U+{ord(m.group()):04X} at position {m.start()}")
    if m := _ZALGO_RE.search(text):
        raise TextRejected(
            f"{len(m.group())} combining marks on one character at position {max(m.start() - 1, 0)}"
            f" (at most {MAX_MARKS_PER_CHARACTER})"
        )
    if len(text) > INVISIBLE_MIN_LENGTH:
        hidden = len(_INVISIBLE_RE.findall(text))
        if hidden > INVISIBLE_SHARE_LIMIT * len(text):
            raise TextRejected(f"text is mostly invisible characters ({hidden} of {len(text)})")


def decode_utf8(data: bytes | bytearray | memoryview) -> str:
    """Decode request bytes strictly; a bad byte is a rejection, never a replacement char."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TextRejected(f"expected bytes, not {type(data).__name__}")
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextRejected(f"invalid UTF-8 at byte {exc.start}") from None
