"""The subset of kubectl's JSONPath that additionalPrinterColumns use.

Supported: `.a.b`, `['a']` / `["a.b"]`, `[n]` (negative counts from the end),
`[*]`, `..name` (recursive descent), and filters `[?(@.type=="Ready")]` with
==, !=, <, <=, >, >= against a string or number literal, or `[?(@.x)]` (exists).
A path may be wrapped in `{...}` as kubectl templates are.

`find(obj, path)` returns every match, in document order (upstream's printer
uses the first one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_IDENT = re.compile(r"[A-Za-z0-9_\-/$]+")
_FILTER = re.compile(
    r"""^@((?:\.[A-Za-z0-9_\-/]+|\[['"][^'"]*['"]\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+))?$"""
)


class JSONPathError(ValueError):
    """A path outside the supported subset, or malformed."""


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Index:
    index: int | None  # None: every element ([*])


@dataclass(frozen=True)
class _Recursive:
    name: str


@dataclass(frozen=True)
class _Filter:
    path: tuple[str, ...]
    op: str  # "" means "exists"
    value: Any


Step = _Field | _Index | _Recursive | _Filter


def parse(path: str) -> list[Step]:
    """Steps of a path like `.status.conditions[?(@.type=="Ready")].status`."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Step] = []
    i = 0
    while i < len(text):
        if text.startswith("..", i):
            m = _IDENT.match(text, i + 2)
            if not m:
                raise JSONPathError(f"unexpected path after '..' in {path!r}")
            steps.append(_Recursive(m.group()))
            i = m.end()
        elif text[i] == ".":
            m = _IDENT.match(text, i + 1)
            if not m:
                if i + 1 == len(text):
                    i += 1
                    continue
                raise JSONPathError(f"unexpected character at {i + 1} in {path!r}")
            steps.append(_Field(m.group()))
            i = m.end()
        elif text[i] == "[":
            end = _bracket_end(text, i, path)
            steps.append(_bracket(text[i + 1 : end].strip(), path))
            i = end + 1
        else:
            raise JSONPathError(f"unrecognized character {text[i]!r} in {path!r}")
    return steps


def _bracket_end(text: str, start: int, path: str) -> int:
    depth = 0
    quote = ""
    for j in range(start, len(text)):
        c = text[j]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
            if depth == 0 and c == "]":
                return j
    raise JSONPathError(f"unclosed array expect ] in {path!r}")


def _bracket(inner: str, path: str) -> Step:
    if inner == "*":
        return _Index(None)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return _Field(inner[1:-1])
    if inner.startswith("?(") and inner.endswith(")"):
        return _parse_filter(inner[2:-1].strip(), path)
    try:
        return _Index(int(inner))
    except ValueError:
        raise JSONPathError(f"unsupported array expression [{inner}] in {path!r}") from None


def _parse_filter(expr: str, path: str) -> _Filter:
    m = _FILTER.match(expr)
    if not m:
        raise JSONPathError(f"unsupported filter {expr!r} in {path!r}")
    fields = tuple(
        p.strip("[]'\"") for p in re.findall(r"\.[^.\[]+|\[['\"][^'\"]*['\"]\]", m.group(1))
    )
    fields = tuple(f.lstrip(".") for f in fields)
    if not m.group(2):
        return _Filter(fields, "", None)
    return _Filter(fields, m.group(2), _literal(m.group(3).strip(), path))


def _literal(text: str, path: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if text in ("true", "false"):
        return text == "true"
    raise JSONPathError(f"unsupported literal {text!r} in {path!r}")


_MISSING = object()


def _get(value: Any, fields: tuple[str, ...]) -> Any:
    for f in fields:
        if not isinstance(value, dict) or f not in value:
            return _MISSING
        value = value[f]
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    numeric = (int, float)
    if isinstance(left, bool) or not isinstance(left, numeric) or not isinstance(right, numeric):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _recurse(value: Any, name: str, out: list[Any]) -> None:
    if isinstance(value, dict):
        if name in value:
            out.append(value[name])
        for v in value.values():
            _recurse(v, name, out)
    elif isinstance(value, list):
        for v in value:
            _recurse(v, name, out)


def _apply(step: Step, values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(step, _Field):
            if isinstance(v, dict) and step.name in v:
                out.append(v[step.name])
        elif isinstance(step, _Index):
            if isinstance(v, list):
                if step.index is None:
                    out.extend(v)
                elif -len(v) <= step.index < len(v):
                    out.append(v[step.index])
            elif isinstance(v, dict) and step.index is None:
                out.extend(v.values())
        elif isinstance(step, _Recursive):
            _recurse(v, step.name, out)
        else:
            items = v if isinstance(v, list) else [v]
            for item in items:
                got = _get(item, step.path)
                if got is _MISSING:
                    continue
                if step.op == "" or _compare(got, step.op, step.value):
                    out.append(item)
    return out


def find(obj: Any, path: str | list[Step]) -> list[Any]:
    """Every value `path` selects in `obj` (an empty list when nothing matches)."""
    steps = parse(path) if isinstance(path, str) else path
    values = [obj]
    for step in steps:
        values = _apply(step, values)
        if not values:
            break
    return values
