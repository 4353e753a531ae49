"""User notices (DSA Art. 17, Santa Clara "Notice"), built from the statement of reasons.

A notice names the content, the rule and the clause of the terms it breaks, what was done and
for how long, how it was detected and whether a person or automation decided, where the
restriction applies, and how and until when to appeal (Art. 20: at least six months), plus the
out-of-court and court routes (Art. 21). It is stored with the statement, so it stays readable
after the account is suspended.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from tidebreak.accountability import sor_schema as schema
from tidebreak.model import Decision

if TYPE_CHECKING:
    from tidebreak.accountability.sor import AccountabilitySettings, Restriction

NOTICE_VERSION = "1"

RESTRICTION_TEXT = {
    "DECISION_VISIBILITY_CONTENT_REMOVED": "removed",
    "DECISION_VISIBILITY_CONTENT_DISABLED": "access disabled",
    "DECISION_VISIBILITY_CONTENT_DEMOTED": "shown to fewer people",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": "age-restricted",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": "interactions restricted",
    "DECISION_VISIBILITY_CONTENT_LABELLED": "labelled",
    "DECISION_ACCOUNT_SUSPENDED": "account suspended",
    "DECISION_ACCOUNT_TERMINATED": "account closed",
    "DECISION_PROVISION_PARTIAL_SUSPENSION": "some features suspended",
    "DECISION_PROVISION_TOTAL_SUSPENSION": "service suspended",
    "DECISION_PROVISION_PARTIAL_TERMINATION": "part of the service ended",
    "DECISION_PROVISION_TOTAL_TERMINATION": "service ended",
    "DECISION_MONETARY_SUSPENSION": "payments suspended",
    "DECISION_MONETARY_TERMINATION": "payments ended",
}
DETECTION_TEXT = {
    "automated": "found by our automated systems",
    "user_report": "reported by other users",
    "trusted_flagger": "reported by a trusted flagger",
    "reviewer": "found by our reviewers",
}
REDRESS = (
    "You can also use a certified out-of-court dispute settlement body (DSA Art. 21) or go to "
    "court; neither depends on appealing to us first."
)


def _restrictions(stmt: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pairs = [(v, "end_date_visibility_restriction") for v in stmt.get("decision_visibility", [])]
    for fld, end in (("decision_monetary", "end_date_monetary_restriction"),
                     ("decision_provision", "end_date_service_restriction"),
                     ("decision_account", "end_date_account_restriction")):
        if stmt.get(fld):
            pairs.append((stmt[fld], end))
    for value, end in pairs:
        text = RESTRICTION_TEXT.get(value)
        if value in ("DECISION_VISIBILITY_OTHER", "DECISION_MONETARY_OTHER"):
            text = stmt.get("decision_visibility_other") or stmt.get("decision_monetary_other")
        out.append({"restriction": value, "description": text,
                    "until": stmt.get(end) or None})  # None: until further decision
    return out


def _appeal(stmt: dict[str, Any], cfg: "AccountabilitySettings") -> dict[str, Any]:
    from tidebreak.accountability.sor import appeal_deadline

    deadline = appeal_deadline(date.fromisoformat(stmt["application_date"]), cfg)
    return {
        "how": ("Ask for a review through the appeal link on this notice, or in your account's "
                "notices, quoting the reference below. A person who did not take this decision "
                "will look at it, and you can add information."),
        "reference": stmt["puid"],
        "until": deadline.isoformat(),
        "redress": REDRESS,
    }


def build_notice(stmt: dict[str, Any], decision: Decision, *, content_id: str, kind: str,
                 detection_source: str, cfg: "AccountabilitySettings") -> dict[str, Any]:
    hit_rules = [h.rule_id for h in decision.reasons]
    return {
        "notice_version": NOTICE_VERSION,
        "schema_version": schema.SCHEMA_VERSION,
        "subject": {"type": "ad" if kind == "ad" else "content", "id": content_id, "kind": kind},
        "rules": hit_rules,
        "ground": stmt["incompatible_content_ground"],
        "decision_ground": stmt["decision_ground"],
        "explanation": stmt["incompatible_content_explanation"],
        "restrictions": _restrictions(stmt),
        "territorial_scope": stmt.get("territorial_scope") or [],
        "detection_source": detection_source,
        "automated_detection": stmt["automated_detection"] == "Yes",
        "automated_decision": stmt["automated_decision"] != "AUTOMATED_DECISION_NOT_AUTOMATED",
        "decided_at": decision.created_at.isoformat(),
        "appeal": _appeal(stmt, cfg),
    }


def notice_for_restriction(stmt: dict[str, Any], r: "Restriction", *, cfg: "AccountabilitySettings",
                           now: datetime) -> dict[str, Any]:
    return {
        "notice_version": NOTICE_VERSION,
        "schema_version": schema.SCHEMA_VERSION,
        "subject": {"type": r.subject_type, "id": r.subject_id, "kind": r.subject_type},
        "rules": [r.kind],
        "ground": r.ground,
        "decision_ground": stmt["decision_ground"],
        "explanation": r.explanation,
        "restrictions": _restrictions(stmt),
        "territorial_scope": stmt.get("territorial_scope") or [],
        "detection_source": "user_report" if r.reports else (
            "automated" if r.decided_by == "automation" else "reviewer"),
        "automated_detection": stmt["automated_detection"] == "Yes",
        "automated_decision": stmt["automated_decision"] != "AUTOMATED_DECISION_NOT_AUTOMATED",
        "decided_at": now.isoformat(),
        "appeal": _appeal(stmt, cfg),
    }


def render_notice(notice: dict[str, Any]) -> str:
    """The notice as plain text for e-mail or an in-app message (English)."""
    subj = notice["subject"]
    what = "Your ad" if subj["type"] == "ad" else f"Your {subj['kind'].replace('_', ' ')}"
    lines = [f"{what} ({subj['id']}):"]
    for r in notice["restrictions"]:
        until = f" until {r['until']}" if r["until"] else " until further notice"
        lines.append(f"- {r['description']}{until}")
    lines.append(f"Why: {notice['explanation']}")
    lines.append(f"Rule: {', '.join(notice['rules'])} - {notice['ground']} "
                 "(our terms and conditions)")
    lines.append(f"How it was found: {DETECTION_TEXT.get(notice['detection_source'], notice['detection_source'])}; "
                 f"decided {'automatically' if notice['automated_decision'] else 'by a person'}.")
    scope = notice["territorial_scope"]
    lines.append("Where: " + ("the EU and EEA" if set(scope) >= set(schema.EEA) else ", ".join(scope)))
    a = notice["appeal"]
    lines.append(f"Appeal until {a['until']}: {a['how']} Reference: {a['reference']}.")
    lines.append(a["redress"])
    return "\n".join(lines)
