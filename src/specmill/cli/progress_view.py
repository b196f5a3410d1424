"""Live progress of a run on stderr: phase, step, elapsed time, tokens."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.markup import escape

from specmill.models import Usage
from specmill.progress import ProgressEvent


class ProgressView:
    """Prints one line per finished step; never writes to stdout (that is for --json)."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(file=sys.stderr, highlight=False, soft_wrap=True)
        self._started = time.monotonic()
        self._usage = Usage()

    def __call__(self, event: ProgressEvent) -> None:
        clock = f"[dim]{time.monotonic() - self._started:7.1f}s[/dim]"
        attempt = f" attempt {event.attempt}" if event.attempt else ""
        if event.kind == "step_started" and event.step in ("validate", "run_tests", "read_spec"):
            self._console.print(f"{clock} [cyan]{event.phase:<18}[/cyan] {event.step}{attempt} ...")
        elif event.kind == "step_finished":
            self._usage = self._usage + event.usage
            tokens = ""
            if event.usage.input_tokens or event.usage.output_tokens:
                tokens = (
                    f"  tokens in {event.usage.input_tokens} out {event.usage.output_tokens}"
                    f" cache read {event.usage.cache_read_input_tokens}"
                )
            detail = f" {escape(event.detail)}" if event.detail else ""  # `[tool.pytest]` is not markup
            self._console.print(
                f"{clock} [green]{event.phase:<18}[/green] {event.step}{detail}{attempt} "
                f"done in {event.elapsed_s:.2f}s{tokens}"
            )
        elif event.kind == "step_failed":
            self._console.print(
                f"{clock} [red]{event.phase:<18}[/red] {event.step}{attempt} "
                f"failed: {escape(event.detail.splitlines()[0]) if event.detail else ''}"
            )
        elif event.kind == "run_finished":
            u = self._usage
            self._console.print(
                f"{clock} [bold]run {event.detail}[/bold]  total tokens in {u.input_tokens} out {u.output_tokens} "
                f"cache read {u.cache_read_input_tokens} cache write {u.cache_creation_input_tokens}"
            )
