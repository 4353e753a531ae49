"""The one notion of "now": aware UTC datetimes, and a clock type tests replace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: object, what: str, *, numbers: bool = False,
               require_zone: bool = False) -> datetime:
    """The one reader of times at the boundary: ISO 8601 ("2026-11-03", "...T10:00:00Z",
    "+02:00"), and Unix seconds where `numbers` allows; naive times are UTC unless
    `require_zone`. Always an aware UTC datetime; a `BadInput` naming `what` otherwise."""
    from tidebreak.errors import BadInput

    expected = ("must be an ISO 8601 time or a Unix timestamp" if numbers
                else f"not an ISO date or time: {str(value)[:80]!r}")
    try:
        if isinstance(value, bool):
            raise TypeError
        if numbers and isinstance(value, (int, float)):
            dt = datetime.fromtimestamp(float(value), tz=timezone.utc)
        elif isinstance(value, str):
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError, OSError):
        raise BadInput(f"{what} {expected}" if numbers else f"{what}: {expected}") from None
    if dt.tzinfo is None:
        if require_zone:
            raise BadInput(f"{what} needs a time zone (e.g. 'Z')")
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
