"""Roles, and what each may do. Routes name the permission they need, never a role."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PLATFORM = "platform"  # the platform's backend: submit content, read decisions
    REVIEWER = "reviewer"
    SENIOR_REVIEWER = "senior_reviewer"  # appeals
    POLICY_ADMIN = "policy_admin"
    AUDITOR = "auditor"  # read-only: ledger, decisions, reports
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "content:submit": frozenset({Role.PLATFORM, Role.ADMIN}),
    "decisions:read": frozenset({Role.PLATFORM, Role.REVIEWER, Role.SENIOR_REVIEWER,
                                 Role.POLICY_ADMIN, Role.AUDITOR, Role.ADMIN}),
    "bank:write": frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER, Role.ADMIN}),
    "bank:read": frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER, Role.POLICY_ADMIN, Role.AUDITOR,
                            Role.ADMIN}),
    "ledger:read": frozenset({Role.AUDITOR, Role.POLICY_ADMIN, Role.ADMIN}),
}


def allowed(role: str, permission: str) -> bool:
    try:
        return Role(role) in PERMISSIONS[permission]
    except (ValueError, KeyError):
        return False
