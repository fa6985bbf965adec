"""metav1.LabelSelector (the selector fields inside objects): its conversion to a
`Selector` (LabelSelectorAsSelector) and its API validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyk8s.machinery.errors import Cause, bad_request, field_forbidden, field_invalid
from pyk8s.machinery.labels import (
    DOES_NOT_EXIST,
    EQUALS,
    EXISTS,
    IN,
    NOT_IN,
    Requirement,
    Selector,
    _RequirementError,
    everything,
    nothing,
)
from pyk8s.machinery.validation import field_required_detail, is_qualified_name, validate_labels

_EXPRESSION_OPERATORS = dict(In=IN, NotIn=NOT_IN, Exists=EXISTS, DoesNotExist=DOES_NOT_EXIST)


def selector_from_label_selector(ls: Mapping[str, Any] | None) -> Selector:
    """metav1.LabelSelectorAsSelector: None -> nothing, {} -> everything.

    Raises StatusError 400 with upstream's conversion message for a bad selector; API
    validation should report `validate_label_selector` causes before this is reached.
    """
    if ls is None:
        return nothing()
    match_labels = ls.get("matchLabels") or {}
    expressions = ls.get("matchExpressions") or []
    if not match_labels and not expressions:
        return everything()
    try:
        reqs = [Requirement.new(k, EQUALS, (v,)) for k, v in match_labels.items()]
        for expr in expressions:
            raw = expr.get("operator", "")
            if raw not in _EXPRESSION_OPERATORS:
                raise bad_request(f'"{raw}" is not a valid label selector operator')
            reqs.append(
                Requirement.new(
                    expr.get("key", ""), _EXPRESSION_OPERATORS[raw], expr.get("values") or ()
                )
            )
    except _RequirementError as err:
        raise bad_request(str(err)) from None
    return Selector(reqs)



def validate_label_selector(ls: Mapping[str, Any] | None, field_path: str) -> list[Cause]:
    """metav1 validation of a LabelSelector field (e.g. `spec.selector`)."""
    if ls is None:
        return []
    causes = validate_labels(ls.get("matchLabels"), f"{field_path}.matchLabels")
    for i, expr in enumerate(ls.get("matchExpressions") or []):
        causes += _validate_expression(expr, f"{field_path}.matchExpressions[{i}]")
    return causes


def _validate_expression(expr: Mapping[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    operator = expr.get("operator", "")
    values = expr.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            detail = "must be specified when `operator` is 'In' or 'NotIn'"
            causes.append(field_required_detail(f"{path}.values", detail))
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            detail = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            causes.append(field_forbidden(f"{path}.values", detail))
    else:
        causes.append(field_invalid(f"{path}.operator", operator, "not a valid selector operator"))
    key = expr.get("key", "")
    causes += [field_invalid(f"{path}.key", key, m) for m in is_qualified_name(key)]
    return causes
