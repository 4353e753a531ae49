"""Errors of the governance workflows: each carries the HTTP status the API answers with; the
CLI prints the message on one line and exits 2. Raised before anything is stored."""

from __future__ import annotations

from tidebreak.errors import BadInput


class GovernanceError(BadInput):
    status = 400


class Forbidden(GovernanceError):
    status = 403


class NotFound(GovernanceError):
    status = 404


class Conflict(GovernanceError):
    status = 409
