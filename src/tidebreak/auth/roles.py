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
    # --- accountability ---
    "sor:read": frozenset({Role.AUDITOR, Role.POLICY_ADMIN, Role.ADMIN}),
    "reports:read": frozenset({Role.AUDITOR, Role.POLICY_ADMIN, Role.ADMIN}),
    "audit:sample": frozenset({Role.AUDITOR, Role.POLICY_ADMIN, Role.ADMIN}),
    # The platform fetches notices to deliver them to its users.
    "notices:read": frozenset({Role.PLATFORM, Role.AUDITOR, Role.POLICY_ADMIN, Role.ADMIN}),
    "ads:write": frozenset({Role.PLATFORM, Role.ADMIN}),
    # review (tidebreak.review): reports and appeals come from the platform on users' behalf;
    # auditors may look at queues and tasks but never decide.
    "reports:submit": frozenset({Role.PLATFORM, Role.ADMIN}),
    "appeals:submit": frozenset({Role.PLATFORM, Role.ADMIN}),
    "appeals:read": frozenset({Role.PLATFORM, Role.REVIEWER, Role.SENIOR_REVIEWER,
                               Role.POLICY_ADMIN, Role.AUDITOR, Role.ADMIN}),
    "review:read": frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER, Role.POLICY_ADMIN,
                              Role.AUDITOR, Role.ADMIN}),
    "review:decide": frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER, Role.ADMIN}),
    "appeals:decide": frozenset({Role.SENIOR_REVIEWER, Role.ADMIN}),
    # accounts, groups, reach (tidebreak.enforce): feed rankers read distribution in bulk; the
    # platform reports engagement and group rosters; account standing is shown to its holder
    # through the platform.
    "distribution:read": frozenset({Role.PLATFORM, Role.REVIEWER, Role.SENIOR_REVIEWER,
                                    Role.POLICY_ADMIN, Role.AUDITOR, Role.ADMIN}),
    "engagement:submit": frozenset({Role.PLATFORM, Role.ADMIN}),
    "accounts:read": frozenset({Role.PLATFORM, Role.REVIEWER, Role.SENIOR_REVIEWER,
                                Role.POLICY_ADMIN, Role.AUDITOR, Role.ADMIN}),
    "groups:read": frozenset({Role.PLATFORM, Role.REVIEWER, Role.SENIOR_REVIEWER,
                              Role.POLICY_ADMIN, Role.AUDITOR, Role.ADMIN}),
    "groups:write": frozenset({Role.PLATFORM, Role.ADMIN}),
}


def allowed(role: str, permission: str) -> bool:
    try:
        return Role(role) in PERMISSIONS[permission]
    except (ValueError, KeyError):
        return False
