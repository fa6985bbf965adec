"""Label selectors, as upstream's labels.Parse and metav1.LabelSelectorAsSelector.

Two entry points build a `Selector`:

- `parse_selector("app=web,tier in (a,b),!canary")` for the `labelSelector` query
  parameter and `kubectl -l`; a bad string raises StatusError 400 with the message
  kube-apiserver sends (`unable to parse requirement: ...`, `found 'x', expected: ...`).
- `labelselector.selector_from_label_selector({"matchLabels": ..., ...})` for the
  selector fields inside objects (None matches nothing, {} matches everything).

`validate_labels` and `validate_annotations` (API-field validation returning Causes)
live in validation.py and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyk8s.machinery.errors import bad_request
from pyk8s.machinery.validation import (
    is_qualified_name,
    is_valid_label_value,
    validate_annotations,
    validate_labels,
)

__all__ = [
    "Requirement",
    "Selector",
    "everything",
    "nothing",
    "parse_selector",
    "selector_from_set",
    "validate_annotations",
    "validate_labels",
]

# Operators, spelled as upstream's selection.Operator values.
IN, NOT_IN = "in", "notin"
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
EXISTS, DOES_NOT_EXIST = "exists", "!"
GT, LT = "gt", "lt"
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GT, LT)


def _one_value(r: Requirement) -> bool:
    """key=value, key==value or key in (value): matched with one dict lookup."""
    return r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1


class _RequirementError(ValueError):
    """An aggregate of field errors, rendered exactly as upstream's Aggregate.Error()."""

    def __init__(self, messages: list[str]) -> None:
        unique = list(dict.fromkeys(messages))
        text = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
        super().__init__(text)


def _field_error(path: str, value: str, detail: str) -> str:
    return f'{path}: Invalid value: "{_go_quote(value)}": {detail}'


def _go_quote(value: str) -> str:
    # Enough of Go's %q for label keys and values: escape backslashes and quotes.
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _key_errors(key: str, path: str) -> list[str]:
    msgs = is_qualified_name(key)
    return [_field_error(path, key, "; ".join(msgs))] if msgs else []


@dataclass(frozen=True)
class Requirement:
    """One `key op values` term; values keep their given order, String() sorts them."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def new(cls, key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
        """Validate like upstream's NewRequirement (which callers use without a field
        path, so errors name `key`, `values[i][<key>]`); raises _RequirementError."""
        values = tuple(values)
        errs = _key_errors(key, "key") + _operator_errors(operator, values)
        for i, value in enumerate(values):
            if msgs := is_valid_label_value(value):
                errs.append(_field_error(f"values[{i}][{key}]", value, "; ".join(msgs)))
        if errs:
            raise _RequirementError(errs)
        return cls(key, operator, values)

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GT, LT):
            return self._compare(labels)
        return False

    def _compare(self, labels: Mapping[str, str]) -> bool:
        have = _parse_int64(labels.get(self.key))
        want = _parse_int64(self.values[0]) if len(self.values) == 1 else None
        if have is None or want is None:
            return False
        return have > want if self.operator == GT else have < want

    def __str__(self) -> str:
        op = self.operator
        prefix = "!" if op == DOES_NOT_EXIST else ""
        if op in (EXISTS, DOES_NOT_EXIST):
            return prefix + self.key
        shown = ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({shown})"
        symbol = {GT: ">", LT: "<"}.get(op, op)
        return f"{self.key}{symbol}{shown}"


def _operator_errors(operator: str, values: tuple[str, ...]) -> list[str]:
    """Arity and format of values for `operator`, as NewRequirement checks them."""
    n = len(values)
    if operator in (IN, NOT_IN):
        problem = "" if n else "for 'in', 'notin' operators, values set can't be empty"
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        problem = "" if n == 1 else "exact-match compatibility requires one single value"
    elif operator in (EXISTS, DOES_NOT_EXIST):
        problem = "" if n == 0 else "values set must be empty for exists and does not exist"
    elif operator in (GT, LT):
        problem = "" if n == 1 else "for 'Gt', 'Lt' operators, exactly one value is required"
    else:
        allowed = ", ".join(f'"{o}"' for o in (*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST))
        return [f'operator: Unsupported value: "{operator}": supported values: {allowed}']
    errs = [f"values: Invalid value: {_go_list(values)}: {problem}"] if problem else []
    if operator in (GT, LT):
        integer_only = "for 'Gt', 'Lt' operators, the value must be an integer"
        errs += [
            _field_error(f"values[{i}]", v, integer_only)
            for i, v in enumerate(values)
            if _parse_int64(v) is None
        ]
    return errs


def _go_list(values: tuple[str, ...]) -> str:
    # Go's %#v of a []string, which upstream prints for a bad values list (an empty
    # list reaches NewRequirement as a nil slice).
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(f'"{_go_quote(v)}"' for v in values) + "}"


def _parse_int64(value: str | None) -> int | None:
    # strconv.ParseInt(v, 10, 64): optional sign, ASCII digits, int64 range.
    if not value:
        return None
    digits = value[1:] if value[0] in "+-" else value
    if not (digits.isascii() and digits.isdigit()):
        return None
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None


class Selector:
    """An AND of requirements, kept sorted by key (stable) as upstream does."""

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        self._requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self._nothing = nothing
        self._text: str | None = None
        # Selectors are matched against every object of a cache, over and over: the
        # one-value equality terms (all of matchLabels) become (key, value) pairs
        # tested with dict lookups, the rest go through Requirement.matches.
        self._pairs = tuple((r.key, r.values[0]) for r in self._requirements if _one_value(r))
        self._others = tuple(r for r in self._requirements if not _one_value(r))

    def canonical(self) -> str:
        """The string form, computed once (a cache key: equal strings, same selection)."""
        if self._text is None:
            self._text = str(self)
        return self._text

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self._nothing:
            return False
        labels = labels or {}
        for key, value in self._pairs:
            if labels.get(key) != value:
                return False
        for r in self._others:
            if not r.matches(labels):
                return False
        return True

    def empty(self) -> bool:
        """True when the selector does not restrict anything (Nothing() is not empty)."""
        return not self._nothing and not self._requirements

    def matches_nothing(self) -> bool:
        return self._nothing

    def requirements(self) -> tuple[Requirement, ...]:
        return self._requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The one value `key` must have (from =, == or a one-value `in`), else None."""
        for r in self._requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def exact(self) -> dict[str, str]:
        """Every key with an exact required value, for index lookups (then re-check matches)."""
        found: dict[str, str] = {}
        for key in dict.fromkeys(r.key for r in self._requirements):
            value = self.requires_exact_match(key)
            if value is not None:
                found[key] = value
        return found

    def add(self, *requirements: Requirement) -> Selector:
        if self._nothing:
            return self
        return Selector((*self._requirements, *requirements))

    def __str__(self) -> str:
        return ",".join(str(r) for r in self._requirements)

    def __repr__(self) -> str:
        return "Selector(<nothing>)" if self._nothing else f"Selector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selector):
            return NotImplemented
        return (self._nothing, self._requirements) == (other._nothing, other._requirements)

    def __hash__(self) -> int:
        return hash((self._nothing, self._requirements))


_EVERYTHING = Selector()
_NOTHING = Selector(nothing=True)


def everything() -> Selector:
    return _EVERYTHING


def nothing() -> Selector:
    return _NOTHING


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """Exact match on every given label, without validation (upstream's SelectorFromSet)."""
    return Selector(Requirement(k, EQUALS, (v,)) for k, v in (labels or {}).items())


# --------------------------------------------------------------------- string form


def parse_selector(text: str | None) -> Selector:
    """Parse the string form; raise StatusError 400 with upstream's message if bad."""
    if not text:
        return _EVERYTHING
    try:
        return Selector(_Parser(text).parse())
    except ValueError as err:  # _SyntaxError or _RequirementError
        raise bad_request(str(err)) from None


class _SyntaxError(ValueError):
    pass


# Token kinds. `in`/`notin` are keywords only where an operator is expected; anywhere
# else (keys, values) they are plain identifiers, as in upstream's lexer.
_ID, _END, _OP, _IN, _NOTIN = "id", "end", "op", "in", "notin"
_COMMA, _OPEN, _CLOSE, _NOT = ",", "(", ")", "!"
_SYMBOLS = {s: s for s in ",()!"} | {s: _OP for s in ("=", "==", "!=", ">", "<")}
_SPECIAL = set("=!(),><")
_SPACE = set(" \t\r\n")


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            tokens.append((_END, ""))
            return tokens
        if text[i] in _SPECIAL:
            # Longest run of symbols that is still a known token ("!=" but not "=(").
            j = i + 1
            while j < n and text[j] in _SPECIAL and text[i : j + 1] in _SYMBOLS:
                j += 1
            tokens.append((_SYMBOLS[text[i:j]], text[i:j]))
        else:
            j = i
            while j < n and text[j] not in _SPECIAL and text[j] not in _SPACE:
                j += 1
            word = text[i:j]
            tokens.append(({"in": _IN, "notin": _NOTIN}.get(word, _ID), word))
        i = j


class _Parser:
    """Recursive descent over the token list, with upstream's error messages."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._pos = 0

    def _peek(self, as_value: bool = True) -> tuple[str, str]:
        kind, lit = self._tokens[min(self._pos, len(self._tokens) - 1)]
        return (_ID if as_value and kind in (_IN, _NOTIN) else kind), lit

    def _next(self, as_value: bool = True) -> tuple[str, str]:
        token = self._peek(as_value)
        self._pos += 1
        return token

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self._peek()
            if kind == _END:
                return reqs
            if kind not in (_ID, _NOT):
                raise _SyntaxError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self._requirement())
            except ValueError as err:
                raise _SyntaxError(f"unable to parse requirement: {err}") from None
            kind, lit = self._next()
            if kind == _END:
                return reqs
            if kind != _COMMA:
                raise _SyntaxError(f"found '{lit}', expected: ',' or 'end of string'")
            kind, lit = self._peek()
            if kind not in (_ID, _NOT):
                raise _SyntaxError(f"found '{lit}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        key, operator = self._key_and_inferred_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return Requirement.new(key, operator, ())
        operator = self._operator()
        values = self._value_set() if operator in (IN, NOT_IN) else self._exact_value()
        # Upstream collects values in a set and passes its sorted list.
        return Requirement.new(key, operator, sorted(set(values)))

    def _key_and_inferred_operator(self) -> tuple[str, str]:
        operator = ""
        kind, lit = self._next()
        if kind == _NOT:
            operator = DOES_NOT_EXIST
            kind, lit = self._next()
        if kind != _ID:
            raise _SyntaxError(f"found '{lit}', expected: identifier")
        errs = _key_errors(lit, "<nil>")
        if errs:
            raise _RequirementError(errs)
        if self._peek()[0] in (_END, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return lit, operator

    def _operator(self) -> str:
        kind, lit = self._next(as_value=False)
        if kind == _IN:
            return IN
        if kind == _NOTIN:
            return NOT_IN
        if kind == _OP:
            return {">": GT, "<": LT}.get(lit, lit)
        raise _SyntaxError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")

    def _value_set(self) -> list[str]:
        kind, lit = self._next()
        if kind != _OPEN:
            raise _SyntaxError(f"found '{lit}' expected: '('")
        kind, lit = self._peek()
        if kind == _CLOSE:  # "()" means the empty value
            self._next()
            return [""]
        if kind not in (_ID, _COMMA):
            raise _SyntaxError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self._identifier_list()
        if self._next()[0] != _CLOSE:
            raise _SyntaxError(f"found '{lit}', expected: ')'")
        return values

    def _identifier_list(self) -> list[str]:
        # Empty items are the empty value: "(a,,b)", "(,a)" and "(a,)" all include "".
        values: list[str] = []
        while True:
            kind, lit = self._next()
            if kind == _ID:
                values.append(lit)
                after, after_lit = self._peek()
                if after == _CLOSE:
                    return values
                if after != _COMMA:
                    raise _SyntaxError(f"found '{after_lit}', expected: ',' or ')'")
            elif kind == _COMMA:
                if not values:
                    values.append("")
                after = self._peek()[0]
                if after in (_CLOSE, _COMMA):
                    values.append("")
                if after == _CLOSE:
                    return values
            else:
                raise _SyntaxError(f"found '{lit}', expected: ',', or identifier")

    def _exact_value(self) -> list[str]:
        if self._peek()[0] in (_END, _COMMA):
            return [""]
        kind, lit = self._next()
        if kind != _ID:
            raise _SyntaxError(f"found '{lit}', expected: identifier")
        return [lit]
