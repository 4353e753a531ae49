"""The policy engine: versioned YAML policy files -> rule hits for each item.

    from tidebreak.policy import load_policy, PolicySet
    policy = load_policy("policies/default.yaml")          # raises PolicyFileError listing all errors
    outcome = policy.evaluate(signals, context)             # PolicyOutcome(hits, shadow_hits)
    both = PolicySet(policy, shadow=[load_policy("next.yaml")])

`check_file(path)` lists every mistake in a file (for CI and the CLI). The condition language is
documented in `tidebreak.policy.expr`; the file format in `tidebreak.policy.loader` and
policies/README.md.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tidebreak.policy.engine import (EVIDENCE_PLACEHOLDERS, RULE_PLACEHOLDERS, SEVERITIES,
                                     ActionSpec, Policy, PolicySet, Rule, Template,
                                     register_evidence_placeholder)
from tidebreak.policy.expr import (Condition, ConditionError, ConditionProblem, Env,
                                   compile_condition)
from tidebreak.policy.loader import (PolicyError, PolicyFileError, check_file, check_text,
                                     load_policy, parse_policy)

__all__ = [
    "ActionSpec", "Condition", "ConditionError", "ConditionProblem", "EVIDENCE_PLACEHOLDERS", "Env",
    "Policy", "PolicyError", "PolicyFileError", "PolicySet", "RULE_PLACEHOLDERS", "Rule",
    "SEVERITIES", "Template", "check_file", "check_text", "compile_condition",
    "default_policy_path", "load_default_policy", "load_policy", "parse_policy",
    "register_evidence_placeholder",
]


def default_policy_path() -> Path:
    """The bundled default policy set. It ships inside the package (tidebreak/policies/), so this
    works from a wheel install too; policies/default.yaml at the repository root points here."""
    return Path(__file__).resolve().parent.parent / "policies" / "default.yaml"


@lru_cache(maxsize=1)
def load_default_policy() -> Policy:
    """The default policy, compiled once per process (a Policy is immutable and shareable)."""
    return load_policy(default_policy_path())
