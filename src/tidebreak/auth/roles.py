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
    # --- governance: reviews policy changes for their effect on protected groups ---
    CIVIL_RIGHTS_REVIEWER = "civil_rights_reviewer"


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
    # fact-checks (tidebreak.factcheck): policy admins import them; whoever reads decisions may
    # ask what a text matches.
    "factchecks:write": frozenset({Role.POLICY_ADMIN, Role.ADMIN}),
    "factchecks:read": frozenset({Role.PLATFORM, Role.REVIEWER, Role.SENIOR_REVIEWER,
                                  Role.POLICY_ADMIN, Role.AUDITOR, Role.ADMIN}),
    # --- governance (tidebreak.governance) ---
    # Public-interest exceptions are granted by a named senior role only, never by an operator
    # key or the platform: that is the point of the audit trail.
    "exceptions:grant": frozenset({Role.SENIOR_REVIEWER, Role.POLICY_ADMIN}),
    "exceptions:read": frozenset({Role.SENIOR_REVIEWER, Role.POLICY_ADMIN, Role.AUDITOR,
                                  Role.CIVIL_RIGHTS_REVIEWER, Role.ADMIN}),
    "policy:draft": frozenset({Role.POLICY_ADMIN, Role.ADMIN}),
    "policy:read": frozenset({Role.POLICY_ADMIN, Role.CIVIL_RIGHTS_REVIEWER, Role.AUDITOR,
                              Role.SENIOR_REVIEWER, Role.ADMIN}),
    # Approval is by role: a policy admin and a civil-rights reviewer must both approve.
    "policy:approve": frozenset({Role.POLICY_ADMIN, Role.CIVIL_RIGHTS_REVIEWER}),
    "policy:publish": frozenset({Role.POLICY_ADMIN, Role.ADMIN}),
    "impact:read": frozenset({Role.POLICY_ADMIN, Role.CIVIL_RIGHTS_REVIEWER, Role.AUDITOR,
                              Role.ADMIN}),
    "elections:write": frozenset({Role.POLICY_ADMIN, Role.ADMIN}),
    "elections:read": frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER, Role.POLICY_ADMIN,
                                 Role.CIVIL_RIGHTS_REVIEWER, Role.AUDITOR, Role.ADMIN}),
    "harassment:read": frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER, Role.POLICY_ADMIN,
                                  Role.AUDITOR, Role.ADMIN}),
    "harassment:write": frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER, Role.ADMIN}),
}


def allowed(role: str, permission: str) -> bool:
    try:
        return Role(role) in PERMISSIONS[permission]
    except (ValueError, KeyError):
        return False
