"""Policy clauses a reviewer cites: the active policy's rules, by id.

A human decision must name the rule it applies, so its ground, category and notice are the same
words automation would have used, and transparency reports can count both together.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidebreak.policy import PolicySet
from tidebreak.review.errors import ReviewError


@dataclass(frozen=True)
class Clause:
    rule_id: str
    category: str
    severity: str
    ground: str
    notice: str

    def to_dict(self) -> dict[str, str]:
        return {"rule_id": self.rule_id, "category": self.category, "severity": self.severity,
                "ground": self.ground}


def clauses(policy: PolicySet) -> list[Clause]:
    out: dict[str, Clause] = {}
    for r in policy.active.rules:
        if r.shadow:
            continue
        # Templated notices need signal values a person's decision does not have.
        notice = r.notice.parts[0] if r.notice.static else ""
        out.setdefault(r.id, Clause(r.id, r.category, r.severity, r.ground, notice))
    return sorted(out.values(), key=lambda c: (c.category, c.rule_id))


def clause(policy: PolicySet, rule_id: str | None) -> Clause:
    if not rule_id or not str(rule_id).strip():
        raise ReviewError("a decision must cite a policy clause (a rule id of the active policy)")
    found = next((c for c in clauses(policy) if c.rule_id == rule_id), None)
    if found is None:
        raise ReviewError(f"unknown clause {rule_id!r}: cite a rule id of policy "
                          f"{policy.active.id}@{policy.active.version}")
    return found
