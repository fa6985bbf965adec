"""Request bodies: JSON and YAML are bounded in expanded size and nesting depth."""

from __future__ import annotations

import pytest

from pyk8s.apiserver import request as rq
from pyk8s.machinery import errors


def test_ordinary_json_decodes() -> None:
    body = b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","labels":{"x":"y"}}}'
    assert rq.decode_json(body)["metadata"]["labels"] == {"x": "y"}


def test_json_nested_past_the_limit_is_refused() -> None:
    depth = rq.MAX_DEPTH + 1
    body = b'{"a":' * depth + b"1" + b"}" * depth
    with pytest.raises(errors.StatusError, match="nested too deeply"):
        rq.decode_json(body)


def test_json_nested_to_the_limit_is_accepted() -> None:
    depth = rq.MAX_DEPTH
    body = b"[" * depth + b"]" * depth
    assert rq.decode_json(body) is not None


def test_many_brackets_inside_strings_do_not_refuse_a_flat_body() -> None:
    body = b'{"note":"' + b"{[" * rq.MAX_DEPTH + b'"}'
    assert rq.decode_json(body)["note"].startswith("{[")


def test_json_with_too_many_values_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rq, "MAX_NODES", 50)
    with pytest.raises(errors.StatusError, match="too large once expanded"):
        rq.decode_json(b"[" + b",".join(b"0" for _ in range(60)) + b"]")


def test_yaml_alias_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rq, "MAX_NODES", 1000)
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdef"):
        prev = "abcdef"[i]
        lines.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    with pytest.raises(errors.StatusError, match="too large once expanded"):
        rq.decode_yaml("\n".join(lines).encode())
