"""The condition language of policy rules: a tiny, safe expression language.

A condition is parsed with Python's `ast` module and only a whitelist of node types is accepted;
nothing is ever passed to `eval`/`exec`. Each condition is compiled once, at load time, into a
tree of Python closures, so evaluating a rule costs a few function calls and no tree walking.

Reference (all names are read-only):

    score.<category>              max score over signals of that category (0.0 if none)
    score_by("detector", "cat")   max score of that detector's signals of that category (0.0)
    has("cat")                    any signal of that category at all
    evidence("cat", "key")        evidence[key] of the strongest signal of that category (None)
    max(a, b, ...), min(a, b, ...)
    surface                       content kind: "post", "comment", "ad", ... (see ContentKind)
    event                         event type: "content.create", "report", ... (see EventType)
    author.strikes                active strikes of the author
    author.strikes_in("cat")      active strikes of the author in one category
    author.status                 "active", ...
    group.stage                   the group's stage, None when the item is in no group
    velocity, views, reports      shares per hour, views, user reports
    language                      language code or None
    thresholds.<name>             a number from the policy file's `thresholds:` block

Operators: `and`, `or`, `not`, comparisons (`== != < <= > >= in not in`, chains such as
`0.5 <= score.hate < 0.9`, `is None`, `is not None`), `+ - * /` on numbers, and list or tuple
literals of constants on the right of `in`. Division by zero gives 0.0 rather than an error, so a
rule can never fail at run time.

Load-time errors, all reported together: syntax, disallowed syntax (lambda, comprehensions,
subscripts, dunder or any other attribute access, calls of anything but the functions above),
unknown names, categories, thresholds and functions, wrong arity, comparisons of a number with a
string, and unknown surface or event names in comparisons with literals.
"""

from __future__ import annotations

import ast
import difflib
import io
import operator
import re
import tokenize
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

from tidebreak.errors import BadInput
from tidebreak.model import CATEGORIES, Context, ContentKind, EventType, Signal

MAX_CONDITION_CHARS = 4000

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_DETECTOR = re.compile(r"^[a-z0-9_.-]+$")


class Env:
    """Everything a condition may read for one item, computed once per evaluation.

    Built once and shared by every rule (and every policy of a PolicySet), so per-rule work is only
    the rule's own closure calls."""

    __slots__ = ("signals", "scores", "top", "ctx", "_by_detector")

    def __init__(self, signals: Sequence[Signal], ctx: Context) -> None:
        scores: dict[str, float] = {}
        top: dict[str, Signal] = {}
        for s in signals:
            c = s.category
            t = top.get(c)
            if t is None or s.score > t.score:
                top[c] = s
                scores[c] = s.score
        self.signals = signals
        self.scores = scores
        self.top = top
        self.ctx = ctx
        self._by_detector: dict[tuple[str, str], float] | None = None

    def score_by(self, detector: str, category: str) -> float:
        # Computed lazily: few policies use score_by, so most evaluations never pay for it.
        d = self._by_detector
        if d is None:
            d = {}
            for s in self.signals:
                k = (s.detector, s.category)
                if s.score > d.get(k, -1.0):
                    d[k] = s.score
            self._by_detector = d
        return d.get((detector, category), 0.0)


Fn = Callable[[Env], Any]


class T(Enum):
    """Static types, so that `score.hate > "high"` or `score.hate or ...` fail at load time."""

    NUM = "a number"
    STR = "a string"
    OPTSTR = "a string or None"
    BOOL = "true/false"
    NONE = "None"
    ANY = "any value"
    LIST = "a list"


_NUMERIC = {T.NUM, T.ANY}
_BOOLISH = {T.BOOL, T.ANY}
_STRINGY = {T.STR, T.OPTSTR, T.NONE, T.ANY}

_NOCONST = object()


@dataclass(slots=True)
class _C:
    """One compiled sub-expression."""

    fn: Fn
    t: T
    const: Any = _NOCONST
    domain: str | None = None  # "surface" or "event": string literals compared with it are checked

    @property
    def is_const(self) -> bool:
        return self.const is not _NOCONST


def _const(v: Any, t: T) -> _C:
    return _C(lambda e, v=v: v, t, v)


@dataclass(frozen=True, slots=True)
class ConditionProblem:
    """One mistake in a condition; `line` (1-based) and `column` (0-based) are within its text."""

    message: str
    line: int
    column: int


class ConditionError(BadInput):
    def __init__(self, source: str, problems: Sequence[ConditionProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in problems))


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition. `categories` lists the categories whose signals it reads, in the
    order they first appear, so a hit can cite the strongest signal of each."""

    source: str
    test: Fn
    categories: tuple[str, ...]

    def __call__(self, env: Env) -> bool:
        return bool(self.test(env))


# ----------------------------------------------------------------------------- closure factories
# Specialised for the commonest shape, `<expr> OP <constant>`, to save a call per comparison.
_CMP_CONST_RIGHT: dict[type, Callable[[Fn, Any], Fn]] = {
    ast.Gt: lambda f, c: lambda e: f(e) > c,
    ast.GtE: lambda f, c: lambda e: f(e) >= c,
    ast.Lt: lambda f, c: lambda e: f(e) < c,
    ast.LtE: lambda f, c: lambda e: f(e) <= c,
    ast.Eq: lambda f, c: lambda e: f(e) == c,
    ast.NotEq: lambda f, c: lambda e: f(e) != c,
    ast.In: lambda f, c: lambda e: f(e) in c,
    ast.NotIn: lambda f, c: lambda e: f(e) not in c,
    ast.Is: lambda f, c: lambda e: f(e) is c,
    ast.IsNot: lambda f, c: lambda e: f(e) is not c,
}
_CMP_OP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b, ast.Is: operator.is_, ast.IsNot: operator.is_not,
}
_ORDERING = (ast.Gt, ast.GtE, ast.Lt, ast.LtE)
_OP_TEXT = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!=",
            ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
            ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
            ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
            ast.BitAnd: "&", ast.BitXor: "^", ast.MatMult: "@", ast.Invert: "~"}


def _none_safe(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], bool]:
    # Values of `evidence(...)` may be missing (None) or of any type: an ordering comparison that
    # cannot be made is simply false instead of an exception in the hot path.
    def cmp(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        try:
            return bool(op(a, b))
        except TypeError:
            return False

    return cmp


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _div,
}

# Friendlier messages for the syntax people are most likely to try.
_FORBIDDEN: dict[type, str] = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.Subscript: "indexing ([...]) is not allowed; use evidence(category, key)",
    ast.IfExp: "conditional expressions (x if c else y) are not allowed; use and/or",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed; use a list",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "* unpacking is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "slices are not allowed",
}

_SIMPLE_NAMES: dict[str, tuple[Fn, T, str | None]] = {
    "surface": (lambda e: e.ctx.surface, T.STR, "surface"),
    "event": (lambda e: e.ctx.event_type, T.STR, "event"),
    "velocity": (lambda e: e.ctx.velocity, T.NUM, None),
    "views": (lambda e: e.ctx.views, T.NUM, None),
    "reports": (lambda e: e.ctx.reports, T.NUM, None),
    "language": (lambda e: e.ctx.language, T.OPTSTR, None),
}
_OBJECTS = {
    "score": "score.<category>, e.g. score.hate",
    "author": "author.strikes, author.status or author.strikes_in(\"category\")",
    "group": "group.stage",
    "thresholds": "thresholds.<name>",
}
_FUNCTIONS = ("has", "score_by", "evidence", "max", "min", "author.strikes_in")
_DOMAINS: dict[str, tuple[str, ...]] = {
    "surface": tuple(k.value for k in ContentKind),
    "event": tuple(k.value for k in EventType),
}


# The whitelist: every other node type is refused (see _FORBIDDEN for the friendlier messages).
_ALLOWED_NODES = frozenset({"Constant", "Name", "Attribute", "List", "Tuple", "Call", "BoolOp",
                            "UnaryOp", "BinOp", "Compare"})


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Compiler:
    def __init__(self, source: str, thresholds: Mapping[str, float],
                 categories: Collection[str]) -> None:
        self.source = source
        self.lines = source.split("\n")
        self.thresholds = thresholds
        self.known_categories = categories
        self.problems: list[ConditionProblem] = []
        self.read: dict[str, None] = {}  # ordered set of categories whose signals are read

    # -- errors
    def _pos(self, node: ast.AST) -> tuple[int, int]:
        # The source was wrapped as "(\n" + source + "\n)": line 2 is the first line of the source.
        line = max(1, min(getattr(node, "lineno", 2) - 1, len(self.lines)))
        col = getattr(node, "col_offset", 0)
        # ast columns are UTF-8 byte offsets; report characters.
        col = len(self.lines[line - 1].encode("utf-8")[:col].decode("utf-8", "ignore"))
        return line, col

    def error(self, node: ast.AST, message: str) -> _C:
        line, col = self._pos(node)
        self.problems.append(ConditionProblem(message, line, col))
        # A harmless stand-in, so compilation can go on and report every mistake at once.
        return _C(lambda e: None, T.ANY)

    # -- entry
    def compile(self, node: ast.AST) -> _C:
        handler = getattr(self, "_" + type(node).__name__, None) \
            if type(node).__name__ in _ALLOWED_NODES else None
        if handler is None:
            msg = _FORBIDDEN.get(type(node)) or f"{type(node).__name__} is not allowed in a condition"
            return self.error(node, msg)
        return handler(node)

    # -- leaves
    def _Constant(self, node: ast.Constant) -> _C:
        v = node.value
        if isinstance(v, bool):
            return _const(v, T.BOOL)
        if isinstance(v, (int, float)):
            return _const(v, T.NUM)
        if isinstance(v, str):
            return _const(v, T.STR)
        if v is None:
            return _const(None, T.NONE)
        return self.error(node, f"constant {v!r} is not allowed")

    def _category(self, node: ast.AST, name: str, *, reads: bool = True) -> bool:
        if name not in self.known_categories:
            self.error(node, f"unknown category '{name}' in condition"
                       + _suggest(name, self.known_categories))
            return False
        if reads:
            self.read.setdefault(name, None)
        return True

    def _Name(self, node: ast.Name) -> _C:
        n = node.id
        if n in _SIMPLE_NAMES:
            fn, t, domain = _SIMPLE_NAMES[n]
            return _C(fn, t, domain=domain)
        if n in _OBJECTS:
            return self.error(node, f"'{n}' needs a field: {_OBJECTS[n]}")
        if n.startswith("_"):
            return self.error(node, f"name '{n}' is not allowed")
        return self.error(node, f"unknown name '{n}'"
                          + _suggest(n, [*_SIMPLE_NAMES, *_OBJECTS, *_FUNCTIONS]))

    def _Attribute(self, node: ast.Attribute) -> _C:
        attr = node.attr
        if attr.startswith("_"):
            return self.error(node, f"access to '{attr}' is not allowed")
        if isinstance(node.value, ast.Name) and node.value.id not in _OBJECTS \
                and not node.value.id.startswith("_"):
            n = node.value.id
            return self.error(node, f"unknown name '{n}'" + _suggest(n, _OBJECTS))
        if not isinstance(node.value, ast.Name) or node.value.id not in _OBJECTS:
            return self.error(node, "attribute access is only allowed on score, author, group and "
                                    f"thresholds, not '{ast.unparse(node)}'")
        obj = node.value.id
        if obj == "score":
            if not self._category(node, attr):
                return _C(lambda e: 0.0, T.NUM)
            return _C(lambda e, c=attr: e.scores.get(c, 0.0), T.NUM)
        if obj == "thresholds":
            if attr not in self.thresholds:
                known = ", ".join(sorted(self.thresholds)) or "none defined"
                return self.error(node, f"unknown threshold '{attr}'"
                                  + (_suggest(attr, self.thresholds) or f" (known: {known})"))
            # Thresholds are constants of the policy version: fold them in.
            return _const(self.thresholds[attr], T.NUM)
        if obj == "author":
            if attr == "strikes":
                return _C(lambda e: e.ctx.author_strikes, T.NUM)
            if attr == "status":
                return _C(lambda e: e.ctx.author_status, T.STR)
            if attr == "strikes_in":
                return self.error(node, "author.strikes_in is a function: author.strikes_in(\"hate\")")
            return self.error(node, f"unknown field 'author.{attr}'"
                              + _suggest(attr, ["strikes", "status", "strikes_in"]))
        if attr == "stage":  # group
            return _C(lambda e: e.ctx.group_stage, T.OPTSTR)
        return self.error(node, f"unknown field 'group.{attr}' (did you mean 'group.stage'?)")

    def _List(self, node: ast.List | ast.Tuple) -> _C:
        values = []
        for elt in node.elts:
            c = self.compile(elt)
            if not c.is_const:
                self.error(elt, "list items must be constants (numbers, strings, True/False/None)")
                continue
            values.append(c.const)
        return _C(lambda e, v=tuple(values): v, T.LIST, tuple(values))

    _Tuple = _List

    # -- functions
    def _str_arg(self, node: ast.AST, what: str) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        self.error(node, f"{what} must be a quoted string")
        return None

    def _Call(self, node: ast.Call) -> _C:
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "author" \
                and f.attr == "strikes_in":
            name = "author.strikes_in"
        elif isinstance(f, ast.Name):
            name = f.id
        else:
            return self.error(node, f"calling '{ast.unparse(f)}' is not allowed")
        if name not in _FUNCTIONS:
            return self.error(node, f"unknown function '{name}'"
                              + (_suggest(name, _FUNCTIONS) or f" (known: {', '.join(_FUNCTIONS)})"))
        if node.keywords:
            return self.error(node, f"{name}() takes no keyword arguments")
        args = node.args
        if name in ("max", "min"):
            if len(args) < 2:
                return self.error(node, f"{name}() takes at least 2 arguments")
            parts = [self.compile(a) for a in args]
            for a, p in zip(args, parts):
                self._expect(a, p, _NUMERIC, f"argument of {name}()")
            fs = tuple(p.fn for p in parts)
            agg = max if name == "max" else min
            if len(fs) == 2:
                f0, f1 = fs
                return _C(lambda e: agg(f0(e), f1(e)), T.NUM)
            return _C(lambda e: agg([g(e) for g in fs]), T.NUM)
        arity = {"has": 1, "author.strikes_in": 1, "score_by": 2, "evidence": 2}[name]
        if len(args) != arity:
            return self.error(node, f"{name}() takes {arity} argument{'s' * (arity > 1)}, "
                                    f"got {len(args)}")
        if name == "has":
            c = self._str_arg(args[0], "the category of has()")
            if c is None or not self._category(args[0], c):
                return _C(lambda e: False, T.BOOL)
            return _C(lambda e: c in e.top, T.BOOL)
        if name == "author.strikes_in":
            c = self._str_arg(args[0], "the category of author.strikes_in()")
            # Strike history, not a signal: the category is checked but not cited.
            if c is None or not self._category(args[0], c, reads=False):
                return _C(lambda e: 0, T.NUM)
            return _C(lambda e: e.ctx.author_strikes_by_category.get(c, 0), T.NUM)
        if name == "score_by":
            d = self._str_arg(args[0], "the detector of score_by()")
            c = self._str_arg(args[1], "the category of score_by()")
            if d is not None and not _DETECTOR.match(d):
                self.error(args[0], f"bad detector name '{d}'")
            if d is None or c is None or not self._category(args[1], c):
                return _C(lambda e: 0.0, T.NUM)
            return _C(lambda e: e.score_by(d, c), T.NUM)
        # evidence
        c = self._str_arg(args[0], "the category of evidence()")
        k = self._str_arg(args[1], "the key of evidence()")
        if k is not None and not _IDENT.match(k):
            self.error(args[1], f"bad evidence key '{k}'")
        if c is None or k is None or not self._category(args[0], c):
            return _C(lambda e: None, T.ANY)

        def evidence(e: Env) -> Any:
            s = e.top.get(c)
            return None if s is None else s.evidence.get(k)

        return _C(evidence, T.ANY)

    # -- operators
    def _expect(self, node: ast.AST, c: _C, allowed: set[T], what: str) -> None:
        if c.t not in allowed:
            want = " or ".join(sorted(t.value for t in allowed if t is not T.ANY))
            self.error(node, f"{what} must be {want}, "
                             f"but '{ast.unparse(node)}' is {c.t.value}")

    def _BoolOp(self, node: ast.BoolOp) -> _C:
        word = "and" if isinstance(node.op, ast.And) else "or"
        parts = [self.compile(v) for v in node.values]
        for v, p in zip(node.values, parts):
            # `score.hate or score.spam > 0.5` reads as intended but means something else: refuse.
            self._expect(v, p, _BOOLISH, f"each side of '{word}'")
        fs = tuple(p.fn for p in parts)
        pure = all(p.t is T.BOOL for p in parts)  # no bool() needed when both sides are bools
        if word == "and":
            if len(fs) == 2:
                a, b = fs
                if pure:
                    return _C(lambda e: a(e) and b(e), T.BOOL)
                return _C(lambda e: bool(a(e) and b(e)), T.BOOL)

            def all_(e: Env) -> bool:
                for g in fs:
                    if not g(e):
                        return False
                return True

            return _C(all_, T.BOOL)
        if len(fs) == 2:
            a, b = fs
            if pure:
                return _C(lambda e: a(e) or b(e), T.BOOL)
            return _C(lambda e: bool(a(e) or b(e)), T.BOOL)

        def any_(e: Env) -> bool:
            for g in fs:
                if g(e):
                    return True
            return False

        return _C(any_, T.BOOL)

    def _UnaryOp(self, node: ast.UnaryOp) -> _C:
        c = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            self._expect(node.operand, c, _BOOLISH, "the operand of 'not'")
            f = c.fn
            return _C(lambda e: not f(e), T.BOOL)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            self._expect(node.operand, c, _NUMERIC, "the operand of unary minus")
            if isinstance(node.op, ast.UAdd):
                return c
            if c.is_const and c.t is T.NUM:
                return _const(-c.const, T.NUM)
            f = c.fn
            return _C(lambda e: -f(e), T.NUM)
        return self.error(node, f"operator '{_OP_TEXT.get(type(node.op), '?')}' is not allowed")

    def _BinOp(self, node: ast.BinOp) -> _C:
        op = _ARITH.get(type(node.op))
        if op is None:
            return self.error(node, f"operator '{_OP_TEXT.get(type(node.op), '?')}' is not allowed; "
                                    "use + - * /")
        left, right = self.compile(node.left), self.compile(node.right)
        self._expect(node.left, left, _NUMERIC, "arithmetic operands")
        self._expect(node.right, right, _NUMERIC, "arithmetic operands")
        if left.is_const and right.is_const and left.t is T.NUM and right.t is T.NUM:
            return _const(op(left.const, right.const), T.NUM)
        a, b = left.fn, right.fn
        return _C(lambda e: op(a(e), b(e)), T.NUM)

    def _check_domain(self, node: ast.AST, var: _C, lit: _C) -> None:
        if var.domain is None or not lit.is_const:
            return
        values = lit.const if lit.t is T.LIST else (lit.const,)
        known = _DOMAINS[var.domain]
        for v in values:
            if isinstance(v, str) and v not in known:
                self.error(node, f"unknown {var.domain} '{v}'"
                           + (_suggest(v, known) or f" (known: {', '.join(known)})"))

    def _check_pair(self, node: ast.AST, op: ast.cmpop, a: _C, b: _C, an: ast.AST,
                    bn: ast.AST) -> None:
        sym = _OP_TEXT[type(op)]
        if isinstance(op, _ORDERING):
            self._expect(an, a, _NUMERIC, f"each side of '{sym}'")
            self._expect(bn, b, _NUMERIC, f"each side of '{sym}'")
        elif isinstance(op, (ast.In, ast.NotIn)):
            if b.t is not T.LIST:
                self.error(bn, f"the right side of '{sym}' must be a list, e.g. [\"post\", \"ad\"]")
            else:
                self._check_domain(node, a, b)
        elif isinstance(op, (ast.Is, ast.IsNot)):
            if b.t is not T.NONE:
                self.error(bn, f"'{sym}' may only be used with None; use == or !=")
        else:  # == !=
            num = {T.NUM}
            if (a.t in num and b.t in _STRINGY - {T.ANY, T.NONE}) or \
                    (b.t in num and a.t in _STRINGY - {T.ANY, T.NONE}):
                self.error(node, f"'{ast.unparse(node)}' compares a number with a string")
            if T.LIST in (a.t, b.t):
                self.error(node, f"use 'in' to compare with a list, not '{sym}'")
            self._check_domain(node, a, b)
            self._check_domain(node, b, a)

    def _Compare(self, node: ast.Compare) -> _C:
        nodes = [node.left, *node.comparators]
        parts = [self.compile(n) for n in nodes]
        for i, op in enumerate(node.ops):
            self._check_pair(node, op, parts[i], parts[i + 1], nodes[i], nodes[i + 1])
        fns: list[Callable[[Any, Any], Any]] = []
        for i, op in enumerate(node.ops):
            f = _CMP_OP[type(op)]
            if isinstance(op, _ORDERING) and T.ANY in (parts[i].t, parts[i + 1].t):
                f = _none_safe(f)
            fns.append(f)
        if len(node.ops) == 1:
            left, right, op = parts[0], parts[1], node.ops[0]
            if fns[0] is _CMP_OP[type(op)] and right.is_const:
                c = right.const
                if isinstance(op, (ast.In, ast.NotIn)):
                    # Membership in a frozenset is one hash lookup; fall back to the tuple when a
                    # value could be unhashable (evidence may hold lists).
                    if left.t is not T.ANY and all(v is None or isinstance(v, (str, int, float))
                                                   for v in c):
                        c = frozenset(c)
                return _C(_CMP_CONST_RIGHT[type(op)](left.fn, c), T.BOOL)
            f, a, b = fns[0], left.fn, right.fn
            return _C(lambda e: bool(f(a(e), b(e))), T.BOOL)
        getters = tuple(p.fn for p in parts)
        ops = tuple(fns)

        def chain(e: Env) -> bool:
            # Python semantics: each operand evaluated at most once, stop at the first false link.
            a = getters[0](e)
            for op_, g in zip(ops, getters[1:]):
                b = g(e)
                if not op_(a, b):
                    return False
                a = b
            return True

        return _C(chain, T.BOOL)


def _paren_problem(source: str) -> ConditionProblem | None:
    """Unbalanced brackets would otherwise pair with the parentheses we wrap the source in."""
    depth = 0
    opener: tuple[int, int] | None = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
                opener = opener or tok.start
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
                if depth < 0:
                    return ConditionProblem(f"unmatched '{tok.string}'", tok.start[0], tok.start[1])
    except (tokenize.TokenError, SyntaxError):
        pass  # unclosed brackets end up here (checked below) or ast reports the real problem
    if depth > 0 and opener is not None:
        return ConditionProblem("bracket opened here is never closed", opener[0], opener[1])
    return None


def compile_condition(source: str, *, thresholds: Mapping[str, float] | None = None,
                      categories: Collection[str] | None = None) -> Condition:
    """Compile a condition, or raise `ConditionError` listing every problem found in it.

    `categories` defaults to `tidebreak.model.CATEGORIES` as it is at call time (detectors may
    register more)."""
    cats: Collection[str] = CATEGORIES if categories is None else categories
    if not source.strip():
        raise ConditionError(source, [ConditionProblem("condition is empty", 1, 0)])
    if len(source) > MAX_CONDITION_CHARS:
        raise ConditionError(source, [ConditionProblem(
            f"condition is longer than {MAX_CONDITION_CHARS} characters", 1, 0)])
    bad = _paren_problem(source)
    if bad is not None:
        raise ConditionError(source, [bad])
    # Wrapping in parentheses lets a condition span several lines (a YAML block scalar) without
    # backslashes, while keeping ast line numbers a fixed offset from the source's.
    try:
        tree = ast.parse("(\n" + source + "\n)", mode="eval")
    except SyntaxError as e:
        line = max(1, min((e.lineno or 2) - 1, source.count("\n") + 1))
        raise ConditionError(source, [ConditionProblem(
            f"syntax error: {e.msg}", line, max(0, (e.offset or 1) - 1))]) from None
    except (RecursionError, MemoryError, ValueError):
        raise ConditionError(source, [ConditionProblem("condition is too deeply nested", 1, 0)]) \
            from None
    comp = _Compiler(source, thresholds or {}, cats)
    try:
        root = comp.compile(tree.body)
    except RecursionError:
        raise ConditionError(source, [ConditionProblem("condition is too deeply nested", 1, 0)]) \
            from None
    if not comp.problems and root.t not in _BOOLISH:
        comp.error(tree.body, f"a condition must be true or false, but '{source.strip()}' is "
                              f"{root.t.value} (missing a comparison?)")
    if comp.problems:
        raise ConditionError(source, comp.problems)
    return Condition(source, root.fn, tuple(comp.read))


def referenced_names() -> dict[str, tuple[str, ...]]:
    """The language's vocabulary, for documentation and editor tooling."""
    return {
        "names": tuple(_SIMPLE_NAMES),
        "fields": ("score.<category>", "author.strikes", "author.status", "group.stage",
                   "thresholds.<name>"),
        "functions": _FUNCTIONS,
    }
