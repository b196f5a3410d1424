"""One reader per run, however many clients follow it.

Each Server-Sent Events client of a run used to read the run's DBOS stream on its own, and each
reader woke up at the notification poll interval (0.1 s), so idle clients cost CPU in proportion to
their number. Here the first follower of a run starts the run's only reader, which keeps the events
read so far; every follower takes them from its own offset and then sleeps on a condition until the
reader adds more. The last follower to leave stops the reader and drops its events.

The number of open streams is capped: past the cap a new follower is refused at once, before its
response starts, so a flood of idle connections cannot exhaust the server.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("specmill.api")
ReadStream = Callable[[str, int], AsyncIterator[tuple[int, Any]]]


class TooManyStreams(Exception):
    """Every event stream slot is taken."""


@dataclass
class _Feed:
    events: list[Any] = field(default_factory=list)
    done: bool = False
    error: BaseException | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    followers: int = 0
    reader: asyncio.Task[None] | None = None


class EventHub:
    def __init__(self, read: ReadStream, max_streams: int) -> None:
        self._read, self.max_streams = read, max_streams
        self._feeds: dict[str, _Feed] = {}
        self.open_streams = 0

    def hold_slot(self, holder: object) -> None:
        """Take one of the `max_streams` slots for as long as `holder` (a response's body) lives:
        released when it is collected, which also covers a body that never started."""
        if self.open_streams >= self.max_streams:
            raise TooManyStreams(self.max_streams)
        self.open_streams += 1
        weakref.finalize(holder, self._release)

    def _release(self) -> None:
        self.open_streams -= 1

    async def follow(self, run_id: str, offset: int) -> AsyncIterator[tuple[int, Any]]:
        """(offset, event) of the run from `offset` on, until its stream ends."""
        feed = self._feeds.get(run_id)
        if feed is None:
            feed = self._feeds[run_id] = _Feed()
            feed.reader = asyncio.create_task(self._fill(run_id, feed))
        feed.followers += 1
        position = offset
        try:
            while True:
                async with feed.changed:
                    await feed.changed.wait_for(lambda: len(feed.events) > position or feed.done)
                    batch, done, error = feed.events[position:], feed.done, feed.error
                for event in batch:
                    yield position, event
                    position += 1
                if done and position >= len(feed.events):
                    if error is not None:
                        raise error
                    return
        finally:
            feed.followers -= 1
            if feed.followers == 0 and self._feeds.get(run_id) is feed:
                del self._feeds[run_id]
                if feed.reader is not None:
                    feed.reader.cancel()

    async def _fill(self, run_id: str, feed: _Feed) -> None:
        try:
            async for _, event in self._read(run_id, 0):
                async with feed.changed:
                    feed.events.append(event)
                    feed.changed.notify_all()
        except asyncio.CancelledError:  # the last follower left
            feed.done = True
            raise
        except Exception as exc:
            log.warning("event stream of run %s broke: %s", run_id, exc)
            feed.error = exc
        async with feed.changed:
            feed.done = True
            feed.changed.notify_all()
