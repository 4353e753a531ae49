"""Evaluating a loaded policy: signals + context -> rule hits.

Rules run in file order. Every rule whose surface filter and condition hold becomes a `RuleHit`,
except that a rule with `stop: true` that fires keeps the later rules of its category from
running. Shadow rules (and every rule of a shadow-mode policy) are evaluated the same way but
their hits go to `shadow_hits`, which are recorded and never enforced.

Stop and shadow: an enforced stop rule stops later enforced *and* shadow rules of its category
(had the shadow rule been enforced, it would not have run either); a shadow stop rule only stops
later shadow rules, because shadow rules must never change what is enforced.
"""

from __future__ import annotations

import dataclasses

import logging
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from tidebreak.model import Action, Context, ContentKind, PolicyOutcome, RuleHit, Signal
from tidebreak.policy.expr import Condition, Env
from tidebreak.policy.sections import Sections

log = logging.getLogger(__name__)

SEVERITIES = ("low", "medium", "high", "critical")
MODES = ("enforce", "shadow")

# Placeholders a notice or label may use. Rule-level ones are always known; evidence ones come
# from the evidence of the signals the rule's condition read (strongest first).
RULE_PLACEHOLDERS = frozenset({"category", "rule", "ground", "severity", "policy", "version"})
EVIDENCE_PLACEHOLDERS: set[str] = {"rating", "claim_id", "fact_check_url", "publisher"}


def register_evidence_placeholder(name: str) -> None:
    """Detectors that put another key in their evidence call this so notices may cite it."""
    EVIDENCE_PLACEHOLDERS.add(name)


_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PLACEHOLDER_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Template:
    """Notice or label text with {placeholders}, split once at load time.

    Deliberately not `str.format`: format strings allow `{x.__class__}` and friends, and a
    policy file must not be able to reach into Python objects."""

    parts: tuple[str, ...]  # literal, field, literal, field, ..., literal
    text: str

    @property
    def fields(self) -> tuple[str, ...]:
        return self.parts[1::2]

    @property
    def static(self) -> bool:
        return len(self.parts) == 1

    @staticmethod
    def parse(text: str, known: Iterable[str]) -> tuple["Template", list[str]]:
        """Return the template and a list of problems (unknown or malformed placeholders)."""
        known = set(known)
        parts: list[str] = []
        literal: list[str] = []
        problems: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            literal.append(text[pos:m.start()])
            pos = m.end()
            tok = m.group(0)
            if tok in ("{{", "}}"):
                literal.append(tok[0])
            elif tok in ("{", "}"):
                problems.append(f"unmatched '{tok}' in text (write '{tok}{tok}' for a literal brace)")
            else:
                name = m.group(1)
                if not _PLACEHOLDER_NAME.match(name):
                    problems.append(f"bad placeholder '{tok}': only {{name}} is allowed")
                elif name not in known:
                    problems.append(f"unknown placeholder '{{{name}}}' (known: "
                                    + ", ".join("{" + k + "}" for k in sorted(known)) + ")")
                else:
                    parts.append("".join(literal))
                    parts.append(name)
                    literal = []
        literal.append(text[pos:])
        parts.append("".join(literal))
        return Template(tuple(parts), text), problems

    def render(self, values: Mapping[str, object]) -> str:
        if len(self.parts) == 1:
            return self.parts[0]
        out = []
        for i, p in enumerate(self.parts):
            if i % 2:
                v = values.get(p)
                out.append("" if v is None else str(v))
            else:
                out.append(p)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action as written in the file; `label` may be a template filled per hit."""

    action: Action
    template: Template | None = None

    def build(self, values: Mapping[str, object]) -> Action:
        if self.template is None or self.template.static:
            return self.action
        return dataclasses.replace(self.action, label=self.template.render(values))


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str
    severity: str
    description: str
    condition: Condition
    actions: tuple[ActionSpec, ...]
    ground: str
    notice: Template
    shadow: bool = False
    applies_to: frozenset[ContentKind] | None = None
    stop: bool = False
    strike: bool = False  # a strike for the author even without a removal (see RuleHit.strike)
    line: int = 0  # where the rule starts in its file, for messages and the console

    @property
    def templated(self) -> bool:
        return not self.notice.static or any(
            a.template is not None and not a.template.static for a in self.actions)


class Policy:
    """One version of one policy file, compiled. Immutable after loading; safe to share."""

    __slots__ = ("id", "version", "description", "mode", "digest", "rules", "thresholds", "source",
                 "sections", "_static_actions")

    def __init__(self, *, id: str, version: str, description: str, mode: str, digest: str,
                 rules: Sequence[Rule], thresholds: Mapping[str, float], source: str = "",
                 sections: Sections | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.id = id
        self.version = version
        self.description = description
        self.mode = mode
        self.digest = digest
        self.rules = tuple(rules)
        self.thresholds = dict(thresholds)
        self.source = source
        self.sections = sections or Sections()  # penalties, groups, breaker (optional)
        # Most rules have no placeholders: build their Action tuples once.
        self._static_actions = {r.id: tuple(a.action for a in r.actions)
                                for r in self.rules if not r.templated}

    def __repr__(self) -> str:
        return f"Policy({self.id!r}, version={self.version!r}, mode={self.mode!r}, " \
               f"rules={len(self.rules)})"

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def evaluate(self, signals: Sequence[Signal], context: Context) -> PolicyOutcome:
        hits, shadow_hits = self.run(Env(signals, context))
        return PolicyOutcome(self.id, self.version, tuple(hits), tuple(shadow_hits))

    def run(self, env: Env, *, all_shadow: bool = False) -> tuple[list[RuleHit], list[RuleHit]]:
        """Evaluate against a prepared `Env`; `all_shadow` records every hit as shadow (used for
        the shadow policies of a PolicySet, which share one Env)."""
        all_shadow = all_shadow or self.mode == "shadow"
        hits: list[RuleHit] = []
        shadow_hits: list[RuleHit] = []
        stopped: set[str] = set()  # categories stopped for every later rule
        shadow_stopped: set[str] = set()  # categories stopped for later shadow rules only
        surface = env.ctx.surface
        for rule in self.rules:
            if rule.applies_to is not None and surface not in rule.applies_to:
                continue
            cat = rule.category
            if cat in stopped or (rule.shadow and cat in shadow_stopped):
                continue
            try:
                fired = rule.condition.test(env)
            except Exception:  # noqa: BLE001 - one broken rule must not stop moderation
                log.exception("policy %s@%s rule %s failed; treated as not matching",
                              self.id, self.version, rule.id)
                continue
            if not fired:
                continue
            if rule.stop:
                (shadow_stopped if rule.shadow else stopped).add(cat)
            hit = self._hit(rule, env, all_shadow or rule.shadow)
            (shadow_hits if hit.shadow else hits).append(hit)
        return hits, shadow_hits

    def _hit(self, rule: Rule, env: Env, shadow: bool) -> RuleHit:
        top = env.top
        signals = tuple(top[c] for c in rule.condition.categories if c in top)
        actions = self._static_actions.get(rule.id)
        notice = rule.notice.parts[0] if rule.notice.static else None
        if actions is None or notice is None:
            values = self._values(rule, signals)
            if actions is None:
                actions = tuple(a.build(values) for a in rule.actions)
            if notice is None:
                notice = rule.notice.render(values)
        return RuleHit(rule.id, rule.category, actions, rule.ground, notice, signals, shadow,
                       rule.severity, self.version, strike=rule.strike)

    def _values(self, rule: Rule, signals: Sequence[Signal]) -> dict[str, object]:
        values: dict[str, object] = {}
        # Strongest signal first among those the rule read: its evidence wins.
        for s in sorted(signals, key=lambda s: -s.score):
            for k, v in s.evidence.items():
                values.setdefault(k, v)
        values.update(category=rule.category, rule=rule.id, ground=rule.ground,
                      severity=rule.severity, policy=self.id, version=self.version)
        return values


class PolicySet:
    """The active policy plus policies run in shadow beside it (e.g. the next version)."""

    __slots__ = ("active", "shadow")

    def __init__(self, active: Policy, shadow: Sequence[Policy] = ()) -> None:
        if active.mode == "shadow":
            raise ValueError(f"policy {active.id}@{active.version} is in shadow mode and cannot be "
                             "the active policy; pass it in `shadow` instead")
        self.active = active
        self.shadow = tuple(shadow)

    @property
    def id(self) -> str:
        return self.active.id

    @property
    def version(self) -> str:
        return self.active.version

    @property
    def digest(self) -> str:
        return self.active.digest

    @property
    def policies(self) -> tuple[Policy, ...]:
        return (self.active, *self.shadow)

    def evaluate(self, signals: Sequence[Signal], context: Context) -> PolicyOutcome:
        env = Env(signals, context)  # built once for all policies
        hits, shadow_hits = self.active.run(env)
        for p in self.shadow:
            h, s = p.run(env, all_shadow=True)
            shadow_hits.extend(h)
            shadow_hits.extend(s)
        return PolicyOutcome(self.active.id, self.active.version, tuple(hits), tuple(shadow_hits))
