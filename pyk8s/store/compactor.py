"""Background compaction for any `Store`, as the API server runs it upstream.

Upstream kube-apiserver compacts etcd every 5 minutes to the revision it saw at the
previous tick, so at least one interval of history stays available for watches to
resume from. `run_compactor` does the same, and also keeps at least `keep_revisions`
revisions.
"""

from __future__ import annotations

import asyncio
import logging

from pyk8s.store.interface import CompactedError, Store, StoreError

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 300.0


def compaction_target(previous_tick_revision: int, current: int, keep_revisions: int) -> int:
    """The revision to compact to: history since the previous tick and the newest
    `keep_revisions` revisions both survive."""
    return min(previous_tick_revision, current - keep_revisions)


async def run_compactor(store: Store, interval_s: float, keep_revisions: int) -> None:
    """Compact `store` every `interval_s` seconds until cancelled."""
    previous = store.current_revision()
    while True:
        await asyncio.sleep(interval_s)
        current = store.current_revision()
        target = compaction_target(previous, current, keep_revisions)
        previous = current
        if target <= store.compact_revision():
            continue
        try:
            await store.compact(target)
        except CompactedError:
            pass  # someone else compacted further meanwhile
        except StoreError as err:
            log.warning("compaction to revision %d failed: %s", target, err)
        else:
            log.debug("compacted to revision %d", target)
