"""STRATEGIES agrees with the resource table."""

from __future__ import annotations

from pyk8s.api.kinds import STRATEGIES
from pyk8s.api.resources import builtin_resources
from pyk8s.api.strategy import Strategy


def test_every_entry_is_a_served_kind() -> None:
    served = {(r.group, r.kind) for r in builtin_resources()}
    assert set(STRATEGIES) <= served
    assert all(isinstance(s, Strategy) for s in STRATEGIES.values())


def test_has_status_matches_status_subresource() -> None:
    for res in builtin_resources():
        strategy = STRATEGIES.get((res.group, res.kind))
        if strategy is not None:
            assert strategy.has_status == ("status" in res.subresources), res.kind
        else:
            assert "status" not in res.subresources, f"{res.kind} has status but no strategy"


def test_namespaced_matches_scope() -> None:
    for res in builtin_resources():
        strategy = STRATEGIES.get((res.group, res.kind))
        if strategy is not None and hasattr(strategy, "namespaced"):
            assert strategy.namespaced == res.namespaced, res.kind
