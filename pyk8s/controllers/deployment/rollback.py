"""Revision bookkeeping, which is all a rollback needs from the controller.

apps/v1 has no spec.rollbackTo: `kubectl rollout undo` patches the deployment's
template back to an old replica set's template itself. The controller then finds
that old replica set as the "new" one (same template, ignoring pod-template-hash),
gives it revision max+1 and remembers its earlier number(s) in the
revision-history annotation, so `rollout history` shows the revision moved to the
end (upstream's SetNewReplicaSetAnnotations).
"""

from __future__ import annotations

import logging

from pyk8s.controllers.deployment.util import (
    MAX_REV_HISTORY_CHARS,
    REVISION,
    REVISION_HISTORY,
    Obj,
    annotations,
    copy_deployment_annotations,
    max_surge,
    replicas_of,
    set_replicas_annotations,
)

log = logging.getLogger(__name__)


def _parse_revision(text: str | None) -> int | None:
    """None for an unparsable revision; 0 for none at all."""
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        return None


def append_revision_history(history: str, old: str, limit: int = MAX_REV_HISTORY_CHARS) -> str:
    """Add `old` to the comma-separated history, dropping the oldest entries past `limit`."""
    if not history:
        return old
    entries = history.split(",")
    total = len(history) + len(old) + 1
    start = 0
    while total > limit and start < len(entries):
        total -= len(entries[start]) + 1
        start += 1
    if total > limit:
        log.warning("revision history too long to record revision %s", old)
        return history
    return ",".join([*entries[start:], old])


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
    """Bring the new replica set's annotations up to date; True if anything changed.

    Copies the deployment's annotations, raises the revision to `new_revision` when
    it is higher (recording the old number in revision-history when the set had
    one: a rollback), and on creation sets desired/max-replicas."""
    changed = copy_deployment_annotations(d, rs)
    ann = annotations(rs)
    old_text = ann.get(REVISION)
    old_rev = _parse_revision(old_text)
    new_rev = _parse_revision(new_revision)
    if old_rev is None or new_rev is None:
        log.warning("unparsable revision on %s: %r", rs.get("metadata", {}).get("name"), old_text)
        return False
    if old_rev < new_rev:
        ann[REVISION] = new_revision
        changed = True
        if old_text:  # the set had a revision already: it is being rolled back to
            ann[REVISION_HISTORY] = append_revision_history(ann.get(REVISION_HISTORY, ""), old_text)
    if not exists:
        desired = replicas_of(d)
        if set_replicas_annotations(rs, desired, desired + max_surge(d)):
            changed = True
    return changed
