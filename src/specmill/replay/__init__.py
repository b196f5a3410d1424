"""The offline replay model: specmill runs end to end with no Anthropic account.

`replay.server` is a loopback HTTP server that speaks the Anthropic Messages API and
answers from a recorded or scripted session (`replay.scripts`) instead of calling Claude.
Point the `anthropic` SDK at it (ANTHROPIC_BASE_URL) and every phase runs for real: the
workspace, the tests and the spec updates are all genuine, only the model's replies are
replayed. `specmill demo` starts it on the bundled recording when ANTHROPIC_API_KEY is not
set; it also runs on its own (`python -m specmill.replay.server --script FILE.json`), which
is how the tests and benchmarks drive whole runs without a network.

Recorded sessions ship in `recordings/` as package data, so an installed specmill has them.
"""

from __future__ import annotations

from pathlib import Path

RECORDINGS = Path(__file__).resolve().parent / "recordings"
"""Recorded sessions (JSON scripts) shipped with specmill; files on disk, since the server opens them by path."""
