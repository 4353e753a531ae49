"""One error type for the review workflow; `status` is what HTTP answers with."""

from __future__ import annotations

from tidebreak.errors import TidebreakError


class ReviewError(TidebreakError):
    """A request the review workflow refuses, with a one-line reason. Nothing was changed."""

    status = 400


class NotFound(ReviewError):
    status = 404


class Conflict(ReviewError):
    status = 409


class Forbidden(ReviewError):
    status = 403
