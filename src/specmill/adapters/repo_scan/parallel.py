"""Parse many files on every core: the first scan of a large repository is nearly all parsing.

Workers are forked, so they inherit the job (the root, the files and any bytes already read)
instead of receiving it pickled; each returns its files' facts in the index's compact row form
(`facts_codec`), which is what the index stores anyway. Where fork is unavailable, or the job is
small enough that starting workers costs more than it saves, files are parsed in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from specmill import checkpoints
from specmill.adapters.repo_scan import facts_codec
from specmill.adapters.repo_scan.walk import Listed, RepoFile, describe

MIN_PARALLEL_FILES = 200
"""Below this many files a pool's start-up (about 10 ms a worker) outweighs the parsing it shares."""
CHUNKS_PER_WORKER = 8
"""Small chunks keep the workers evenly busy when a few files are much larger than the rest."""

_job: tuple[Path, list[Listed], dict[str, bytes]] | None = None
"""The job being shared out; set in the parent just before the workers fork."""


def _describe_chunk(start: int, stop: int) -> list[list[Any]]:
    assert _job is not None
    root, items, read = _job
    return [facts_codec.encode(describe(root, item, read.get(item.path))) for item in items[start:stop]]


def workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def describe_all(root: Path, items: list[Listed], read: dict[str, bytes]) -> list[tuple[RepoFile, list[Any]]]:
    """Each item described, with its index row, in the order given."""
    count = workers()
    # Where the checkpoint guard is installed (a process that runs workflows), a process pool's pickles are refused.
    if (
        count == 1
        or len(items) < MIN_PARALLEL_FILES
        or "fork" not in multiprocessing.get_all_start_methods()
        or checkpoints.guarding()
    ):
        return [(f, facts_codec.encode(f)) for f in (describe(root, i, read.get(i.path)) for i in items)]
    global _job
    _job = (root, items, read)
    try:
        step = -(-len(items) // (count * CHUNKS_PER_WORKER))
        bounds = [(start, min(start + step, len(items))) for start in range(0, len(items), step)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            rows = [row for chunk in pool.map(_describe_chunk, *zip(*bounds, strict=True)) for row in chunk]
    finally:
        _job = None
    return [(facts_codec.decode(row), row) for row in rows]
