"""Worktrees of finished runs go by themselves once they are older than `SPECMILL_WORKTREE_RETENTION_H`.

The processes that work the queue (`serve` and `worker`) run this next to DBOS: a first pass at start,
then one every `SPECMILL_WORKTREE_GC_INTERVAL_S`. It is `specmill gc --apply --older-than-h N`
without the branches: a run that is still going (queued, running, awaiting approval or budget) or
that DBOS does not know keeps its worktree, and a run's branch keeps its commits, so `resume` or a
fork can recreate a removed worktree. A retention of 0 turns it off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from specmill import cleanup, queries
from specmill.config import Settings

log = logging.getLogger("specmill.retention")

Statuses = Callable[[list[str]], Mapping[str, str]]


class WorktreeRetention:
    """A daemon thread that removes the worktrees of ended runs past the retention, and logs what it freed."""

    def __init__(self, settings: Settings, statuses: Statuses | None = None) -> None:
        self.settings = settings
        self.statuses = statuses or (lambda run_ids: queries.recorded_statuses(settings, run_ids))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="worktree-retention", daemon=True)

    @property
    def enabled(self) -> bool:
        return self.settings.worktree_retention_h > 0

    def start(self) -> WorktreeRetention:
        if self.enabled:
            if log.level == logging.NOTSET:  # what it frees is worth a line even where the CLI logs warnings only
                log.setLevel(logging.INFO)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def collect_once(self) -> cleanup.Cleanup:
        """One pass: remove what is past the retention, log each worktree and the total."""
        leftovers = cleanup.find_leftovers(self.settings.data_dir, self.statuses)
        outcome = cleanup.collect(leftovers, older_than_h=self.settings.worktree_retention_h, dry_run=False)
        for item in outcome.removed:
            log.info(
                "run %s: removed its worktree %s (%s, run %s, unchanged for %.1f h; branch %s kept)",
                item.run_id,
                item.path,
                cleanup.human(item.bytes),
                item.status.lower(),
                item.age_h,
                item.branch or "-",
            )
        if outcome.removed:
            log.info(
                "worktree retention (%g h): freed %s in %d worktree(s)",
                self.settings.worktree_retention_h,
                cleanup.human(outcome.freed_bytes),
                len(outcome.removed),
            )
        return outcome

    def _loop(self) -> None:
        while True:
            try:
                self.collect_once()
            except Exception:  # a database blip or a busy file skips one pass; the next one tries again
                log.warning("worktree retention: this pass failed; trying again later", exc_info=True)
            if self._stop.wait(self.settings.worktree_gc_interval_s):
                return
