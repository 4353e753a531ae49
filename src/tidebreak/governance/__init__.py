"""Policy governance and election integrity.

- `exceptions`: public-interest (newsworthiness) exceptions, granted only by a named senior role
  with a written justification and an expiry; applied in the decide step, counted in the
  transparency report. Rules apply to every account alike: nothing here looks at who the author is
  except to count exceptions by actor type.
- `versions`: policy drafts, approvals (policy admin + civil-rights reviewer), diff, backtest,
  shadow results, publish. A published version is what the runtime loads.
- `impact`: the disparate-impact report.
- `elections`: election records and election mode (tightened thresholds, information labels).
- `harassment`: severe-harassment and credible-threat cases with a contact deadline.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tidebreak.store.schema import ConsoleUserRow


def register_report_sections() -> None:
    """Public-interest exceptions get their section in the transparency report (called by the
    built-in plug-in, tidebreak.plugins.builtin)."""
    from tidebreak.accountability.transparency import DEFINITIONS, REPORT_SECTIONS
    from tidebreak.governance import exceptions

    REPORT_SECTIONS["public_interest_exceptions"] = exceptions.report_section
    DEFINITIONS.setdefault("public_interest_exceptions", exceptions.DEFINITION)


def console_role(session: Session, tenant: str, username: str) -> str | None:
    """The role of an active console user, or None. People act under their own name: the
    governance CLI's --by names a console user and the role is read from the account, never
    taken from the command line."""
    user = session.get(ConsoleUserRow, (tenant, username))
    if user is None or user.disabled_at is not None:
        return None
    return user.role


def actor_type(meta: dict[str, Any] | None) -> str:
    """How the transparency report groups authors: `actor_type` in the account's meta (set with
    `tidebreak governance actors flag`), else "ordinary"."""
    meta = meta or {}
    value = meta.get("actor_type")
    if isinstance(value, str) and value:
        return value
    return "politician" if meta.get("politician") else "ordinary"
