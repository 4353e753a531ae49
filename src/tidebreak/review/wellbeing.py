"""Reviewer wellbeing: a cap on consecutive graphic items.

After `limit` graphic items in a row a reviewer is given only non-graphic ones until they have
decided a non-graphic item or taken a break of `pause` since their last decision.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from tidebreak.review.accounts import ConsoleSession
from tidebreak.enforce.review_priority import aware
from tidebreak.store.schema import ConsoleUserRow

GRAPHIC_LIMIT = int(os.environ.get("TIDEBREAK_GRAPHIC_LIMIT", "5") or 5)
BREAK = timedelta(minutes=int(os.environ.get("TIDEBREAK_GRAPHIC_BREAK_MINUTES", "15") or 15))


def must_skip_graphic(user: ConsoleUserRow | ConsoleSession | None, last_decided_at: datetime | None,
                      now: datetime, limit: int | None = None, pause: timedelta | None = None) -> bool:
    limit = GRAPHIC_LIMIT if limit is None else limit
    pause = BREAK if pause is None else pause
    if user is None or (user.graphic_streak or 0) < limit:
        return False
    last = aware(last_decided_at)
    return last is None or now - last < pause
