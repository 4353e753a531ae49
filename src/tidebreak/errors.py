"""The one error hierarchy. Every error tidebreak raises on purpose is a `TidebreakError` with
a one-line reason and the HTTP status it means; the API maps it once (an exception handler in
tidebreak.api.app: `{"error": code, "reason": ...}` with that status) and the CLI maps it once
(`tidebreak.cli.main`: `error: <reason>` on stderr, exit 2). Parts keep their own subclasses
(review, governance, pipeline, ...) for callers that want to catch just those."""

from __future__ import annotations

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid",
              429: "too_many_requests", 500: "misconfigured", 503: "unavailable"}


class TidebreakError(Exception):
    """A refusal with a one-line reason; nothing stored was changed by the refused request."""

    status: int = 400

    def __init__(self, reason: str = "", status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status

    @property
    def code(self) -> str:
        return HTTP_CODES.get(self.status, "error")


class BadInput(TidebreakError, ValueError):
    status = 400


class TooLarge(BadInput):
    status = 413


class Forbidden(TidebreakError):
    status = 403


class NotFound(TidebreakError, LookupError):
    status = 404


class Conflict(TidebreakError):
    status = 409


class Unavailable(TidebreakError):
    """A service tidebreak needs (the broker, a database) is not there; retry later."""

    status = 503


class ConfigError(BadInput):
    """The operator's configuration is wrong (an unknown detector, a sink without a secret)."""

    status = 500
