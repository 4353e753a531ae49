"""One error type for the review workflow; `status` is what HTTP answers with."""

from __future__ import annotations


class ReviewError(Exception):
    """A request the review workflow refuses, with a one-line reason. Nothing was changed."""

    status = 400

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status


class NotFound(ReviewError):
    status = 404


class Conflict(ReviewError):
    status = 409


class Forbidden(ReviewError):
    status = 403
