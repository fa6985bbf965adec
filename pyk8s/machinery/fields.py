"""Field selectors (`fieldSelector=metadata.name=x,spec.nodeName!=`), as upstream's
k8s.io/apimachinery/pkg/fields.

Terms are `field=value`, `field==value` or `field!=value`, joined by commas. In a
value, `\\,` `\\=` and `\\\\` stand for a literal comma, equals sign and backslash; any
other escape, or a bare `,`/`=` inside a value, is an error. A missing field reads as
the empty string, so `spec.nodeName=` selects objects with no node.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pyk8s.machinery.errors import bad_request

EQUALS, NOT_EQUALS = "=", "!="

# Every kind supports these two (upstream's DefaultMetaV1FieldSelectorConversion).
DEFAULT_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


@dataclass(frozen=True)
class _Term:
    field: str
    operator: str  # EQUALS or NOT_EQUALS
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return equal if self.operator == EQUALS else not equal

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_value(self.value)}"


class FieldSelector:
    """An AND of field terms, in upstream's order (terms sorted as raw strings)."""

    def __init__(self, terms: tuple[_Term, ...] = ()) -> None:
        self._terms = terms

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(t.matches(fields) for t in self._terms)

    def empty(self) -> bool:
        return not self._terms

    def requirements(self) -> list[tuple[str, str, str]]:
        """`(field, operator, value)` with operator "=" or "!=" ("==" reads as "=")."""
        return [(t.field, t.operator, t.value) for t in self._terms]

    def fields(self) -> set[str]:
        return {t.field for t in self._terms}

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal, for an index lookup; None if unconstrained."""
        for term in self._terms:
            if term.field == field and term.operator == EQUALS:
                return term.value
        return None

    def __str__(self) -> str:
        return ",".join(str(t) for t in self._terms)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSelector) and self._terms == other._terms

    def __hash__(self) -> int:
        return hash(self._terms)


def everything() -> FieldSelector:
    return FieldSelector()


def selector_from_set(fields: Mapping[str, str]) -> FieldSelector:
    return FieldSelector(tuple(_Term(f, EQUALS, v) for f, v in fields.items()))


def escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(value: str) -> str:
    """Undo `escape_value`; raise ValueError with upstream's message on a bad escape."""
    out: list[str] = []
    in_slash = False
    for c in value:
        if in_slash:
            if c not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            # Go prints the rune with %v, i.e. as its code point number.
            raise ValueError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    # Split on commas that are not backslash-escaped; escapes stay in the pieces.
    terms, start, in_slash = [], 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    # The first operator occurrence splits; "!=" and "==" win over "=" at one position.
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse_field_selector(text: str | None) -> FieldSelector:
    """Parse a fieldSelector; raise StatusError 400 with upstream's message if bad."""
    if not text:
        return FieldSelector()
    terms: list[_Term] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, raw = split
        try:
            value = unescape_value(raw)
        except ValueError as err:
            raise bad_request(str(err)) from None
        terms.append(_Term(field, NOT_EQUALS if op == "!=" else EQUALS, value))
    return FieldSelector(tuple(terms))


def check_supported(
    selector: FieldSelector, supported: Collection[str], kind_description: str = ""
) -> None:
    """Reject fields the kind cannot select on, with upstream's 400 message.

    Kinds that register their own field-label conversion (pods, nodes, events,
    secrets, namespaces, ...) answer `field label not supported: <field>`; kinds that
    only have the default (metadata.name/namespace) answer `"<field>" is not a known
    field selector: only "metadata.name", "metadata.namespace"`. Pass
    `supported=DEFAULT_FIELDS` for the latter. Upstream's messages do not name the
    kind, so `kind_description` is not part of the message.
    """
    default_only = frozenset(supported) == DEFAULT_FIELDS
    for term in selector._terms:
        if term.field in supported:
            continue
        if default_only:
            raise bad_request(
                f'"{term.field}" is not a known field selector: '
                'only "metadata.name", "metadata.namespace"'
            )
        raise bad_request(f"field label not supported: {term.field}")


def object_fields(obj: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The fields every kind exposes (metadata.name/namespace) plus kind-specific ones."""
    meta = obj.get("metadata") or {}
    fields = {
        "metadata.name": str(meta.get("name") or ""),
        "metadata.namespace": str(meta.get("namespace") or ""),
    }
    fields.update(extra or {})
    return fields
