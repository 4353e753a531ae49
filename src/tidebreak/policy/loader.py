"""Policy files: YAML -> `Policy`, with every mistake reported with its line.

The file is read with `yaml.compose` (nodes with marks) instead of `yaml.safe_load`, so each error
can name the line and column of the key or value at fault, and the whole file is checked before
anything is reported: one run of `check_file` lists all the mistakes, not just the first.

File format (see policies/README.md for the full reference):

    policy: core                 # id, [a-z0-9._-]
    version: "2026.11.0"         # any string; the ledger records it with every decision
    description: ...
    mode: enforce                # or shadow: the whole version runs in shadow
    thresholds: {hate_remove: 0.9, ...}   # named numbers, read as thresholds.<name>
    rules:
      - id: hate-remove
        category: hate           # one of tidebreak.model.CATEGORIES
        severity: high           # low | medium | high | critical
        description: ...
        when: score.hate >= thresholds.hate_remove
        actions: [remove]        # remove, warn, none, review, {reduce: 0.3}, {label: text},
                                 # {warn: text}, {review: {queue: q, priority: 1}}
        ground: CS 3.1 Hate speech
        notice: ...              # may use {placeholders}
        applies_to: [post, comment]   # optional surfaces
        shadow: false            # optional
        stop: false              # optional
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tidebreak.errors import BadInput
from tidebreak.model import (
    CATEGORIES,
    INFORMATION_CATEGORIES,
    ROUTING_CATEGORIES,
    Action,
    ActionType,
    ContentKind,
)
from tidebreak.policy.engine import (EVIDENCE_PLACEHOLDERS, MODES, RULE_PLACEHOLDERS, SEVERITIES,
                                     ActionSpec, Policy, Rule, Template)
from tidebreak.policy.expr import Condition, ConditionError, compile_condition
from tidebreak.policy.sections import PARSERS as SECTION_PARSERS
from tidebreak.policy.sections import Sections

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_QUEUE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

TOP_KEYS = ("policy", "version", "description", "mode", "thresholds", "rules", *SECTION_PARSERS)
RULE_KEYS = ("id", "category", "severity", "description", "when", "actions", "ground", "notice",
             "shadow", "applies_to", "stop", "strike")
RULE_REQUIRED = ("id", "category", "severity", "when", "actions", "ground")
# Review priority when a rule says just `review`: lower is more urgent.
DEFAULT_PRIORITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True, slots=True)
class PolicyError:
    """One mistake in a policy file. `line` and `column` are 1-based."""

    file: str
    line: int
    column: int
    message: str
    rule: str | None = None

    def __str__(self) -> str:
        where = f"rule '{self.rule}': " if self.rule else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class PolicyFileError(BadInput):
    """Raised by `load_policy` when a file has mistakes; `errors` lists them all."""

    def __init__(self, errors: list[PolicyError]) -> None:
        self.errors = errors
        lines = "\n".join(str(e) for e in errors)
        super().__init__(f"{len(errors)} error{'s' * (len(errors) != 1)} in policy file:\n{lines}")


Node = yaml.Node


class _Checker:
    """Walks the node tree once, collecting errors and building the policy as it goes."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.lines = text.splitlines()
        self.name = name
        self.errors: list[PolicyError] = []
        self.rule_id: str | None = None  # the rule being checked, for messages
        self.loader: yaml.SafeLoader | None = None

    # -- reporting
    def err(self, node: Node | None, message: str, *, line: int | None = None,
            column: int | None = None) -> None:
        if node is not None:
            line = node.start_mark.line + 1 if line is None else line
            column = node.start_mark.column + 1 if column is None else column
        self.errors.append(PolicyError(self.name, line or 1, column or 1, message, self.rule_id))

    # -- typed access to nodes
    def scalar(self, node: Node) -> Any:
        assert self.loader is not None
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            self.err(node, f"cannot read value: {getattr(e, 'problem', None) or e}")
            return None

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.err(node, f"{what} must be a mapping (key: value lines)")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                self.err(k, f"keys of {what} must be plain names")
                continue
            key = k.value
            if key in out:
                self.err(k, f"duplicate key '{key}' (first on line {out[key][0].start_mark.line + 1})")
                continue
            out[key] = (k, v)
        return out

    def string(self, node: Node, what: str, *, raw: bool = False) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.err(node, f"{what} must be a string")
            return None
        if raw:  # e.g. a version: `2026.11` must stay "2026.11", not become a float
            return node.value
        v = self.scalar(node)
        if not isinstance(v, str):
            self.err(node, f"{what} must be a string, got {_kind(v)}")
            return None
        return v

    def nonempty(self, node: Node, what: str) -> str | None:
        v = self.string(node, what)
        if v is not None and not v.strip():
            self.err(node, f"{what} must not be empty")
            return None
        return v

    def boolean(self, node: Node, what: str) -> bool:
        v = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(v, bool):
            self.err(node, f"{what} must be true or false")
            return False
        return v

    def number(self, node: Node, what: str) -> float | None:
        v = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.err(node, f"{what} must be a number")
            return None
        return v

    def unknown_keys(self, m: dict[str, tuple[Node, Node]], allowed: tuple[str, ...],
                     what: str) -> None:
        for key, (k, _) in m.items():
            if key not in allowed:
                self.err(k, f"unknown key '{key}' in {what}{_suggest(key, allowed)}")

    # -- the file
    def check(self) -> Policy | None:
        self.loader = yaml.SafeLoader(self.text)
        try:
            try:
                root = self.loader.get_single_node()
            except yaml.MarkedYAMLError as e:
                mark = e.problem_mark or e.context_mark
                line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                self.err(None, f"YAML syntax error: {e.problem or e}", line=line, column=col)
                return None
            except yaml.YAMLError as e:
                self.err(None, f"YAML error: {e}", line=1, column=1)
                return None
            if root is None:
                self.err(None, "the file is empty", line=1, column=1)
                return None
            return self._policy(root)
        finally:
            self.loader.dispose()

    def _policy(self, root: Node) -> Policy | None:
        top = self.mapping(root, "a policy file")
        if top is None:
            return None
        self.unknown_keys(top, TOP_KEYS, "the policy")
        for key in ("policy", "version", "rules"):
            if key not in top:
                self.err(root, f"missing required key '{key}'")
        pid = version = None
        if "policy" in top:
            node = top["policy"][1]
            pid = self.nonempty(node, "policy")
            if pid is not None and not _ID.match(pid):
                self.err(node, f"policy id '{pid}' may only use a-z, 0-9, '.', '_' and '-'")
        if "version" in top:
            node = top["version"][1]
            version = self.string(node, "version", raw=True)
            if version is not None and not _VERSION.match(version):
                self.err(node, f"version '{version}' may only use letters, digits, '.', '+', '_', '-'")
        description = ""
        if "description" in top:
            description = self.string(top["description"][1], "description") or ""
        mode = "enforce"
        if "mode" in top:
            node = top["mode"][1]
            m = self.string(node, "mode")
            if m is not None and m not in MODES:
                self.err(node, f"mode must be 'enforce' or 'shadow', not '{m}'")
            elif m is not None:
                mode = m
        thresholds = self._thresholds(top["thresholds"][1]) if "thresholds" in top else {}
        rules = self._rules(top["rules"][1], thresholds) if "rules" in top else []
        # Optional sections (penalties, groups, breaker): see tidebreak.policy.sections.
        sections = Sections(**{name: parse(self, top[name][1])
                               for name, parse in SECTION_PARSERS.items() if name in top})
        if self.errors or pid is None or version is None:
            return None
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        return Policy(id=pid, version=version, description=description, mode=mode, digest=digest,
                      rules=rules, thresholds=thresholds, source=self.name, sections=sections)

    def _thresholds(self, node: Node) -> dict[str, float]:
        m = self.mapping(node, "thresholds")
        out: dict[str, float] = {}
        for key, (k, v) in (m or {}).items():
            if not _NAME.match(key):
                self.err(k, f"threshold name '{key}' must be lower_case_with_underscores")
                continue
            n = self.number(v, f"threshold '{key}'")
            if n is not None:
                out[key] = n
        return out

    def _rules(self, node: Node, thresholds: dict[str, float]) -> list[Rule]:
        if not isinstance(node, yaml.SequenceNode):
            self.err(node, "rules must be a list (lines starting with '- ')")
            return []
        if not node.value:
            self.err(node, "rules must not be empty")
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for item in node.value:
            rule = self._rule(item, thresholds, seen)
            if rule is not None:
                rules.append(rule)
            self.rule_id = None
        return rules

    def _rule(self, node: Node, thresholds: dict[str, float], seen: dict[str, int]) -> Rule | None:
        m = self.mapping(node, "a rule")
        if m is None:
            return None
        n_errors = len(self.errors)
        rid = None
        if "id" in m:
            k, v = m["id"]
            rid = self.nonempty(v, "id")
            if rid is not None:
                self.rule_id = rid
                if not _ID.match(rid):
                    self.err(v, f"rule id '{rid}' may only use a-z, 0-9, '.', '_' and '-'")
                if rid in seen:
                    self.err(v, f"duplicate rule id '{rid}' (first defined on line {seen[rid]})")
                else:
                    seen[rid] = v.start_mark.line + 1
        self.unknown_keys(m, RULE_KEYS, "a rule")
        for key in RULE_REQUIRED:
            if key not in m:
                self.err(node, f"missing required key '{key}'")

        category = severity = None
        if "category" in m:
            v = m["category"][1]
            category = self.string(v, "category")
            if category is not None and category not in CATEGORIES:
                self.err(v, f"unknown category '{category}'"
                         + (_suggest(category, CATEGORIES) or f" (known: {', '.join(CATEGORIES)})"))
                category = None
        if "severity" in m:
            v = m["severity"][1]
            severity = self.string(v, "severity")
            if severity is not None and severity not in SEVERITIES:
                self.err(v, f"severity must be one of {', '.join(SEVERITIES)}, not '{severity}'")
                severity = None
        description = self.string(m["description"][1], "description") if "description" in m else ""
        ground = self.nonempty(m["ground"][1], "ground") if "ground" in m else None
        shadow = self.boolean(m["shadow"][1], "shadow") if "shadow" in m else False
        stop = self.boolean(m["stop"][1], "stop") if "stop" in m else False
        strike = self.boolean(m["strike"][1], "strike") if "strike" in m else False
        applies_to = self._surfaces(m["applies_to"][1]) if "applies_to" in m else None

        condition = self._condition(m["when"][1], thresholds) if "when" in m else None
        reads_signals = bool(condition and condition.categories)
        actions = self._actions(m["actions"][1], category, severity, reads_signals) \
            if "actions" in m else []

        notice = Template(("",), "")
        if "notice" in m:
            v = m["notice"][1]
            text = self.nonempty(v, "notice")
            if text is not None:
                notice = self._template(v, text, "notice", reads_signals)
        elif any(a.action.restricts for a in actions):
            shown = sorted({a.action.type.value for a in actions if a.action.restricts})
            self.err(node, f"missing required key 'notice' (the user must be told why: "
                           f"{', '.join(shown)})")
        # The three kinds of outcome (tidebreak.model.OutcomeKind) stay apart: a rule that only
        # routes (review) or informs (an info label) is a suspicion or context, not a finding, so
        # it may neither notify the author nor strike them.
        if (actions and len(self.errors) == n_errors
                and not any(a.action.restricts for a in actions)):
            kinds = "only informs" if all(a.action.info for a in actions
                                          if a.action.type != ActionType.NONE) else "only routes"
            if "notice" in m:
                self.err(m["notice"][0], f"'notice' on a rule that {kinds}: the author is told "
                         "only of a restriction (remove, reduce, label, warn); drop the notice or "
                         "make the rule restrict")
            if strike:
                self.err(m["strike"][0], f"'strike' on a rule that {kinds}: only a restriction "
                         "(remove, reduce, label, warn) may count against the author")
        if len(self.errors) > n_errors or None in (rid, category, severity, ground, condition):
            return None
        assert rid and category and severity and ground and condition
        return Rule(id=rid, category=category, severity=severity, description=description or "",
                    condition=condition, actions=tuple(actions), ground=ground, notice=notice,
                    shadow=shadow, applies_to=applies_to, stop=stop, strike=strike,
                    line=node.start_mark.line + 1)

    def _surfaces(self, node: Node) -> frozenset[ContentKind] | None:
        items = node.value if isinstance(node, yaml.SequenceNode) else None
        if not items:
            self.err(node, "applies_to must be a non-empty list of surfaces, e.g. [post, comment]")
            return None
        known = [k.value for k in ContentKind]
        out: set[ContentKind] = set()
        for item in items:
            s = self.string(item, "a surface")
            if s is None:
                continue
            if s not in known:
                self.err(item, f"unknown surface '{s}'"
                         + (_suggest(s, known) or f" (known: {', '.join(known)})"))
                continue
            out.add(ContentKind(s))
        return frozenset(out)

    def _condition(self, node: Node, thresholds: dict[str, float]) -> Condition | None:
        source = self.nonempty(node, "when")
        if source is None:
            return None
        try:
            return compile_condition(source, thresholds=thresholds)
        except ConditionError as e:
            for p in e.problems:
                line, col = self._position_in(node, p.line, p.column)
                self.err(node, p.message, line=line, column=col)
            return None

    def _position_in(self, node: Node, line: int, col: int) -> tuple[int, int]:
        """Map a (line, column) inside a scalar's value back to the file (1-based)."""
        start = node.start_mark
        style = getattr(node, "style", None)
        if style == "|":
            # Literal block: content starts on the next line, at that line's indentation.
            file_line = start.line + 1 + (line - 1)
            if file_line < len(self.lines):
                raw = self.lines[file_line]
                indent = len(raw) - len(raw.lstrip(" "))
                return file_line + 1, indent + col + 1
            return start.line + 2, 1
        if style == ">" or node.end_mark.line != start.line:
            # Folded text: the parser joined lines, so columns no longer match. Cite the start.
            return start.line + 1 + (1 if style == ">" else 0), 1
        quote = 1 if style in ("'", '"') else 0
        return start.line + 1, start.column + 1 + quote + col

    def _template(self, node: Node, text: str, what: str, reads_signals: bool) -> Template:
        known = RULE_PLACEHOLDERS | EVIDENCE_PLACEHOLDERS
        tmpl, problems = Template.parse(text, known)
        for p in problems:
            self.err(node, f"{what}: {p}")
        evidence = [f for f in tmpl.fields if f in EVIDENCE_PLACEHOLDERS]
        if evidence and not reads_signals:
            # The values come from the signals the condition read; with none, they'd be empty.
            self.err(node, f"{what} uses {{{evidence[0]}}} but the condition reads no signal to "
                           "take it from")
        return tmpl

    def _actions(self, node: Node, category: str | None, severity: str | None,
                 reads_signals: bool) -> list[ActionSpec]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.err(node, "actions must be a non-empty list, e.g. [remove] or [{reduce: 0.3}]")
            return []
        out: list[ActionSpec] = []
        seen: dict[tuple[ActionType, bool], Node] = {}
        for item in node.value:
            spec = self._action(item, category, severity, reads_signals)
            if spec is None:
                continue
            t, info = spec.action.type, spec.action.info
            name = "info" if info else t.value
            if (t, info) in seen:
                self.err(item, f"action '{name}' appears twice")
                continue
            seen[(t, info)] = item
            if category in ROUTING_CATEGORIES and t not in (ActionType.REVIEW, ActionType.NONE):
                self.err(item, f"category '{category}' only routes items: its rules may review "
                               f"or do nothing, not '{name}'")
                continue
            if category in INFORMATION_CATEGORIES and not (info or t == ActionType.NONE):
                self.err(item, f"category '{category}' is information, not a violation: its "
                               f"rules may add an info label or do nothing, not '{name}'")
                continue
            out.append(spec)
        if (ActionType.NONE, False) in seen and len(node.value) > 1:
            self.err(seen[(ActionType.NONE, False)], "'none' cannot be combined with other actions")
        return out

    def _action(self, node: Node, category: str | None, severity: str | None,
                reads_signals: bool) -> ActionSpec | None:
        forms = "remove, warn, review, none, {reduce: 0.3}, {label: text}, {info: text}, " \
                "{warn: text} or {review: {queue: name, priority: 1}}"
        default_review = Action(ActionType.REVIEW, queue=category or "general",
                                priority=DEFAULT_PRIORITY.get(severity or "", 2))
        if isinstance(node, yaml.ScalarNode):
            word = self.scalar(node)
            simple = {"remove": Action(ActionType.REMOVE), "none": Action(ActionType.NONE),
                      "warn": Action(ActionType.WARN), "review": default_review}
            if word in simple:
                return ActionSpec(simple[word])
            if word in ("reduce", "label", "info"):
                example = "{reduce: 0.3}" if word == "reduce" else f'{{{word}: "text"}}'
                self.err(node, f"'{word}' needs a value, e.g. {example}")
                return None
            self.err(node, f"unknown action '{word}' (allowed: {forms})")
            return None
        if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
            self.err(node, f"an action is one of: {forms}")
            return None
        k, v = node.value[0]
        kind = k.value if isinstance(k, yaml.ScalarNode) else None
        if kind == "reduce":
            f = self.number(v, "the reduce factor")
            if f is None:
                return None
            if not 0 < f < 1:
                self.err(v, f"reduce factor must be between 0 and 1 (exclusive), got {f}; "
                            "it multiplies reach")
                return None
            return ActionSpec(Action(ActionType.REDUCE, factor=float(f)))
        if kind in ("label", "warn", "info"):
            text = self.nonempty(v, f"the {kind} text")
            if text is None:
                return None
            tmpl = self._template(v, text, f"{kind} text", reads_signals)
            t = ActionType.WARN if kind == "warn" else ActionType.LABEL
            return ActionSpec(Action(t, label=text if tmpl.static else None, info=kind == "info"),
                              tmpl)
        if kind == "review":
            return self._review(v, default_review)
        self.err(k, f"unknown action '{kind}' (allowed: {forms})")
        return None

    def _review(self, node: Node, default: Action) -> ActionSpec | None:
        if isinstance(node, yaml.ScalarNode) and self.scalar(node) is None:
            return ActionSpec(default)  # `{review: }` / `{review: null}`
        m = self.mapping(node, "review")
        if m is None:
            return None
        self.unknown_keys(m, ("queue", "priority"), "review")
        queue, priority = default.queue, default.priority
        if "queue" in m:
            v = m["queue"][1]
            q = self.string(v, "queue")
            if q is not None and not _QUEUE.match(q):
                self.err(v, f"queue name '{q}' may only use a-z, 0-9, '.', '_' and '-'")
            elif q is not None:
                queue = q
        if "priority" in m:
            v = m["priority"][1]
            p = self.scalar(v) if isinstance(v, yaml.ScalarNode) else None
            if isinstance(p, bool) or not isinstance(p, int) or p < 0:
                self.err(v, "priority must be a whole number >= 0 (0 is the most urgent)")
            else:
                priority = p
        return ActionSpec(Action(ActionType.REVIEW, queue=queue, priority=priority))


def _kind(v: Any) -> str:
    return "nothing" if v is None else {bool: "true/false", int: "a number", float: "a number",
                                        list: "a list", dict: "a mapping"}.get(type(v), type(v).__name__)


def _suggest(word: str, options: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _read(path: str | Path) -> tuple[str | None, str, list[PolicyError]]:
    p = Path(path)
    name = p.name
    try:
        data = p.read_bytes()
    except OSError as e:
        return None, name, [PolicyError(name, 1, 1, f"cannot read file: {e.strerror or e}")]
    try:
        return data.decode("utf-8"), name, []
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        return None, name, [PolicyError(name, line, 1, "file is not valid UTF-8")]


def _check(text: str, name: str) -> tuple[Policy | None, list[PolicyError]]:
    c = _Checker(text, name)
    policy = c.check()
    errors = sorted(c.errors, key=lambda e: (e.line, e.column))
    return (None if errors else policy), errors


def check_text(text: str, name: str = "<policy>") -> list[PolicyError]:
    """All mistakes in a policy given as text; empty when it is valid."""
    return _check(text, name)[1]


def check_file(path: str | Path) -> list[PolicyError]:
    """All mistakes in a policy file, sorted by line; empty when it is valid."""
    text, name, errors = _read(path)
    return errors if text is None else check_text(text, name)


def parse_policy(text: str, name: str = "<policy>") -> Policy:
    """Compile a policy from text; raise `PolicyFileError` listing every mistake."""
    policy, errors = _check(text, name)
    if policy is None:
        raise PolicyFileError(errors)
    return policy


def load_policy(path: str | Path) -> Policy:
    """Compile a policy file; raise `PolicyFileError` listing every mistake.

    `Policy.digest` is the sha256 of the file's bytes, so the ledger can prove which file
    decided."""
    text, name, errors = _read(path)
    if text is None:
        raise PolicyFileError(errors)
    policy = parse_policy(text, name)
    policy.source = str(path)
    return policy

