"""Optional top-level sections of a policy file: `penalties:`, `groups:` and `breaker:`.

They hold the numbers that decide who is held to account and how far content may travel (the
strike ladder, group-stage thresholds, the virality circuit breaker), so that changing them is a
policy change: versioned, recorded with every decision, checked by `tidebreak policy check` with
line numbers. A file without them is still valid; the matching enforcer then does nothing.

Each parser takes the loader's checker (`tidebreak.policy.loader._Checker`), reports mistakes
through it, and returns a frozen config object, or None when the section has errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import yaml

from tidebreak.model import CATEGORIES

if TYPE_CHECKING:  # the loader imports this module; only the type is needed here
    from tidebreak.policy.loader import _Checker

Node = yaml.Node
SEVERITY_NAMES = ("low", "medium", "high", "critical")

# Penalties from weakest to strongest. A warning restricts nothing; it is the first notice.
PENALTIES = ("warning", "limited", "suspended", "banned")
PENALTY_STRENGTH = {p: i for i, p in enumerate(PENALTIES)}
# Features a `limited` penalty can take away. The platform enforces them (it reads them from the
# account's standing); tidebreak itself enforces `group_posting` and `ads` through distribution.
FEATURES = ("group_posting", "live", "ads", "comments", "messaging", "recommendations")
# Default reach multiplier of an author's content under each penalty.
DEFAULT_PENALTY_REACH = {"warning": 1.0, "limited": 1.0, "suspended": 0.0, "banned": 0.0}

# Group stages from healthy to shut down ("removed" follows "shutdown" after a grace period).
STAGES = ("healthy", "warned", "not_recommended", "reduced", "shutdown", "removed")
STAGE_ORDER = {s: i for i, s in enumerate(STAGES)}
THRESHOLD_STAGES = STAGES[1:5]  # the ones a health threshold leads to
GROUP_WEIGHTS = ("violating_share", "admin_approval", "admin_offenders", "reports", "overlap")


@dataclass(frozen=True, slots=True)
class LadderStep:
    strikes: int
    penalty: str
    days: float | None  # None: no end (banned) or instantaneous (warning)
    limits: tuple[str, ...]
    reach: float
    notice: str
    line: int

    @property
    def rule_id(self) -> str:
        return f"ladder:{self.strikes}:{self.penalty}"


@dataclass(frozen=True, slots=True)
class ImmediateRule:
    """A strike of this category (and severity, when given) brings this penalty at once."""

    category: str
    severity: str | None
    penalty: str
    days: float | None
    notice: str
    line: int

    @property
    def rule_id(self) -> str:
        return f"immediate:{self.category}:{self.severity or 'any'}:{self.penalty}"


@dataclass(frozen=True, slots=True)
class PenaltyConfig:
    ladder: tuple[LadderStep, ...]
    immediate: tuple[ImmediateRule, ...]
    ground: str
    # Strike categories kept off the ladder (counted by rules through author.strikes_in instead),
    # e.g. misinformation: sharing a claim rated false is not a violation that suspends anyone.
    separate: frozenset[str] = frozenset()

    def step_for(self, strikes: int) -> LadderStep | None:
        """The highest step whose strike count has been reached."""
        reached = [s for s in self.ladder if s.strikes <= strikes]
        return max(reached, key=lambda s: s.strikes) if reached else None


@dataclass(frozen=True, slots=True)
class GroupConfig:
    window_days: float
    min_posts: int
    min_violations: int
    focus: tuple[str, ...]
    weights: Mapping[str, float]
    severity_weights: Mapping[str, float]
    thresholds: Mapping[str, float]  # stage -> health at or below which it applies
    reduced_reach: float
    removal_days: float
    recover_margin: float
    repeat_offender_strikes: int
    admin_penalty: str
    admin_penalty_days: float | None
    ground: str

    def stage_for(self, health: float) -> str:
        stage = "healthy"
        for s in THRESHOLD_STAGES:
            if health <= self.thresholds[s]:
                stage = s
        return stage


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    shares_per_hour: float
    views_per_hour: float
    window_minutes: float
    risk: Mapping[str, float]  # category -> score from which an item counts as risky
    cap: float
    queue: str
    ground: str


@dataclass(frozen=True, slots=True)
class Sections:
    penalties: PenaltyConfig | None = None
    groups: GroupConfig | None = None
    breaker: BreakerConfig | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


# -- helpers --------------------------------------------------------------------------------------


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _num(c: _Checker, m: dict[str, tuple[Node, Node]], key: str, default: float, *,
         lo: float | None = None, hi: float | None = None, integer: bool = False,
         what: str = "") -> float:
    if key not in m:
        return default
    node = m[key][1]
    v = c.number(node, f"{what}{key}")
    if v is None:
        return default
    if integer and not float(v).is_integer():
        c.err(node, f"{what}{key} must be a whole number, got {v}")
    if lo is not None and v < lo or hi is not None and v > hi:
        bounds = f"between {lo:g} and {hi:g}" if lo is not None and hi is not None else \
            (f">= {lo:g}" if lo is not None else f"<= {hi:g}")
        c.err(node, f"{what}{key} must be {bounds}, got {v}")
        return default
    return float(v)


def _str(c: _Checker, m: dict[str, tuple[Node, Node]], key: str, default: str,
         choices: tuple[str, ...] | None = None, what: str = "") -> str:
    if key not in m:
        return default
    node = m[key][1]
    v = c.nonempty(node, f"{what}{key}")
    if v is None:
        return default
    if choices is not None and v not in choices:
        c.err(node, f"{what}{key} must be one of {', '.join(choices)}, not '{v}'")
        return default
    return v


def _categories(c: _Checker, node: Node, what: str) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        c.err(node, f"{what} must be a non-empty list of categories")
        return ()
    out = []
    for item in node.value:
        v = c.string(item, "a category")
        if v is not None and v not in CATEGORIES:
            c.err(item, f"unknown category '{v}' in {what} (known: {', '.join(CATEGORIES)})")
        elif v is not None:
            out.append(v)
    return tuple(out)


# -- penalties ------------------------------------------------------------------------------------


def parse_penalties(c: _Checker, node: Node) -> PenaltyConfig | None:
    n0 = len(c.errors)
    m = c.mapping(node, "penalties")
    if m is None:
        return None
    c.unknown_keys(m, ("ladder", "immediate", "ground", "separate"), "penalties")
    if "ladder" not in m:
        c.err(node, "penalties needs a 'ladder' (strike counts and the penalty each brings)")
    ground = _str(c, m, "ground", "", what="penalties.")
    if not ground:
        c.err(node, "penalties needs a 'ground' (the clause cited to the account holder)")
    ladder: list[LadderStep] = []
    if "ladder" in m:
        seq = m["ladder"][1]
        if not isinstance(seq, yaml.SequenceNode) or not seq.value:
            c.err(seq, "penalties.ladder must be a non-empty list of steps")
        else:
            for item in seq.value:
                step = _step(c, item)
                if step is not None:
                    ladder.append(step)
            counts = [s.strikes for s in ladder]
            if counts != sorted(set(counts)):
                c.err(seq, "penalties.ladder steps must have increasing strike counts")
            strengths = [PENALTY_STRENGTH[s.penalty] for s in ladder]
            if strengths != sorted(strengths):
                c.err(seq, "penalties.ladder must escalate: a later step may not bring a weaker "
                           "penalty than an earlier one")
    immediate: list[ImmediateRule] = []
    if "immediate" in m:
        seq = m["immediate"][1]
        if not isinstance(seq, yaml.SequenceNode):
            c.err(seq, "penalties.immediate must be a list")
        else:
            for item in seq.value:
                rule = _immediate(c, item)
                if rule is not None:
                    immediate.append(rule)
    separate: set[str] = set()
    if "separate" in m:
        seq = m["separate"][1]
        if not isinstance(seq, yaml.SequenceNode) or not all(
                isinstance(v, yaml.ScalarNode) and v.value in CATEGORIES for v in seq.value):
            c.err(seq, "penalties.separate must be a list of known categories")
        else:
            separate = {v.value for v in seq.value}
    if len(c.errors) > n0:
        return None
    return PenaltyConfig(tuple(ladder), tuple(immediate), ground, frozenset(separate))


def _duration(c: _Checker, m: dict[str, tuple[Node, Node]], penalty: str, node: Node,
              what: str) -> float | None:
    days = _num(c, m, "days", -1.0, lo=0.0, what=what) if "days" in m else None
    if penalty in ("limited", "suspended") and days is None:
        c.err(node, f"a '{penalty}' penalty needs 'days' (how long it lasts)")
    if penalty in ("warning", "banned") and days is not None:
        c.err(m["days"][0], f"a '{penalty}' penalty takes no 'days'")
        return None
    return days


def _step(c: _Checker, node: Node) -> LadderStep | None:
    m = c.mapping(node, "a ladder step")
    if m is None:
        return None
    n0 = len(c.errors)
    c.unknown_keys(m, ("strikes", "penalty", "days", "limits", "reach", "notice"), "a ladder step")
    for key in ("strikes", "penalty"):
        if key not in m:
            c.err(node, f"a ladder step needs '{key}'")
    strikes = int(_num(c, m, "strikes", 1, lo=1, integer=True, what="ladder "))
    penalty = _str(c, m, "penalty", "warning", PENALTIES, what="ladder ")
    days = _duration(c, m, penalty, node, "ladder ")
    limits: tuple[str, ...] = ()
    if "limits" in m:
        seq = m["limits"][1]
        if not isinstance(seq, yaml.SequenceNode) or not seq.value:
            c.err(seq, f"limits must be a non-empty list of features ({', '.join(FEATURES)})")
        else:
            vals = [c.string(i, "a feature") for i in seq.value]
            for item, v in zip(seq.value, vals):
                if v is not None and v not in FEATURES:
                    c.err(item, f"unknown feature '{v}' (known: {', '.join(FEATURES)})")
            limits = tuple(v for v in vals if v in FEATURES)
    if penalty == "limited" and not limits:
        c.err(node, "a 'limited' penalty needs 'limits' (which features it takes away)")
    reach = _num(c, m, "reach", DEFAULT_PENALTY_REACH[penalty], lo=0.0, hi=1.0, what="ladder ")
    notice = _str(c, m, "notice", "", what="ladder ")
    if len(c.errors) > n0:
        return None
    return LadderStep(strikes, penalty, days, limits, reach, notice, _line(node))


def _immediate(c: _Checker, node: Node) -> ImmediateRule | None:
    m = c.mapping(node, "an immediate rule")
    if m is None:
        return None
    n0 = len(c.errors)
    c.unknown_keys(m, ("category", "severity", "penalty", "days", "notice"), "an immediate rule")
    for key in ("category", "penalty"):
        if key not in m:
            c.err(node, f"an immediate rule needs '{key}'")
    category = _str(c, m, "category", "", tuple(CATEGORIES), what="immediate ")
    severity = _str(c, m, "severity", "", SEVERITY_NAMES, what="immediate ") or None
    penalty = _str(c, m, "penalty", "banned", ("suspended", "banned"), what="immediate ")
    days = _duration(c, m, penalty, node, "immediate ")
    notice = _str(c, m, "notice", "", what="immediate ")
    if len(c.errors) > n0:
        return None
    return ImmediateRule(category, severity, penalty, days, notice, _line(node))


# -- groups ---------------------------------------------------------------------------------------

_GROUP_KEYS = ("window_days", "min_posts", "min_violations", "focus", "weights", "severity",
               "stages", "reduced_reach", "removal_days", "recover_margin",
               "repeat_offender_strikes", "admin_penalty", "ground")


def parse_groups(c: _Checker, node: Node) -> GroupConfig | None:
    n0 = len(c.errors)
    m = c.mapping(node, "groups")
    if m is None:
        return None
    c.unknown_keys(m, _GROUP_KEYS, "groups")
    for key in ("stages", "ground"):
        if key not in m:
            c.err(node, f"groups needs '{key}'")
    w = "groups."
    focus = _categories(c, m["focus"][1], "groups.focus") if "focus" in m else \
        ("hate", "violence", "misinformation", "voting_misinformation")
    weights = {"violating_share": 1.0, "admin_approval": 0.5, "admin_offenders": 0.2,
               "reports": 0.1, "overlap": 0.2}
    if "weights" in m:
        wm = c.mapping(m["weights"][1], "groups.weights") or {}
        c.unknown_keys(wm, GROUP_WEIGHTS, "groups.weights")
        for k in wm:
            if k in GROUP_WEIGHTS:
                weights[k] = _num(c, wm, k, weights[k], lo=0.0, hi=10.0, what="groups.weights.")
    sev = {"low": 0.25, "medium": 0.5, "high": 1.0, "critical": 1.0}
    if "severity" in m:
        sm = c.mapping(m["severity"][1], "groups.severity") or {}
        c.unknown_keys(sm, SEVERITY_NAMES, "groups.severity")
        for k in sm:
            if k in SEVERITY_NAMES:
                sev[k] = _num(c, sm, k, sev[k], lo=0.0, hi=1.0, what="groups.severity.")
    thresholds: dict[str, float] = {}
    if "stages" in m:
        sm = c.mapping(m["stages"][1], "groups.stages") or {}
        c.unknown_keys(sm, THRESHOLD_STAGES, "groups.stages")
        for s in THRESHOLD_STAGES:
            if s not in sm:
                c.err(m["stages"][1], f"groups.stages needs '{s}' (health at or below which a "
                                      "group reaches it)")
            else:
                thresholds[s] = _num(c, sm, s, 0.0, lo=0.0, hi=1.0, what="groups.stages.")
        vals = [thresholds[s] for s in THRESHOLD_STAGES if s in thresholds]
        if len(vals) == len(THRESHOLD_STAGES) and vals != sorted(vals, reverse=True):
            c.err(m["stages"][1], "groups.stages thresholds must fall from warned to shutdown "
                                  "(a worse stage needs a lower health)")
    admin_penalty, admin_days = "suspended", 30.0
    if "admin_penalty" in m:
        pm = c.mapping(m["admin_penalty"][1], "groups.admin_penalty") or {}
        c.unknown_keys(pm, ("penalty", "days"), "groups.admin_penalty")
        admin_penalty = _str(c, pm, "penalty", "suspended", PENALTIES[1:], what="admin_penalty.")
        admin_days = _duration(c, pm, admin_penalty, m["admin_penalty"][1], "admin_penalty.")
    cfg = GroupConfig(
        window_days=_num(c, m, "window_days", 90, lo=1, what=w),
        min_posts=int(_num(c, m, "min_posts", 10, lo=1, integer=True, what=w)),
        min_violations=int(_num(c, m, "min_violations", 5, lo=2, integer=True, what=w)),
        focus=focus, weights=weights, severity_weights=sev, thresholds=thresholds,
        reduced_reach=_num(c, m, "reduced_reach", 0.3, lo=0.0, hi=1.0, what=w),
        removal_days=_num(c, m, "removal_days", 14, lo=0, what=w),
        recover_margin=_num(c, m, "recover_margin", 0.05, lo=0.0, hi=0.5, what=w),
        repeat_offender_strikes=int(_num(c, m, "repeat_offender_strikes", 2, lo=1, integer=True,
                                         what=w)),
        admin_penalty=admin_penalty, admin_penalty_days=admin_days,
        ground=_str(c, m, "ground", "", what=w))
    return None if len(c.errors) > n0 else cfg


# -- breaker --------------------------------------------------------------------------------------


def parse_breaker(c: _Checker, node: Node) -> BreakerConfig | None:
    n0 = len(c.errors)
    m = c.mapping(node, "breaker")
    if m is None:
        return None
    c.unknown_keys(m, ("shares_per_hour", "views_per_hour", "window_minutes", "risk", "cap",
                       "queue", "ground"), "breaker")
    for key in ("risk", "ground"):
        if key not in m:
            c.err(node, f"breaker needs '{key}'")
    w = "breaker."
    risk: dict[str, float] = {}
    if "risk" in m:
        rm = c.mapping(m["risk"][1], "breaker.risk") or {}
        for k, (kn, _) in rm.items():
            if k not in CATEGORIES:
                c.err(kn, f"unknown category '{k}' in breaker.risk")
            else:
                risk[k] = _num(c, rm, k, 1.0, lo=0.0, hi=1.0, what="breaker.risk.")
    cfg = BreakerConfig(
        shares_per_hour=_num(c, m, "shares_per_hour", 200, lo=1, what=w),
        views_per_hour=_num(c, m, "views_per_hour", 20000, lo=1, what=w),
        window_minutes=_num(c, m, "window_minutes", 60, lo=1, what=w),
        risk=risk, cap=_num(c, m, "cap", 0.1, lo=0.0, hi=1.0, what=w),
        queue=_str(c, m, "queue", "viral", what=w),
        ground=_str(c, m, "ground", "", what=w))
    return None if len(c.errors) > n0 else cfg


PARSERS: dict[str, Callable[[Any, Node], Any]] = {
    "penalties": parse_penalties,
    "groups": parse_groups,
    "breaker": parse_breaker,
}
