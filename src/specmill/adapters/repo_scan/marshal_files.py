"""Cache files of `marshal` data behind a header and a CRC, written atomically; a damaged one reads as None.

`marshal` holds plain tuples, lists, dicts, sets, strings, numbers and bytes, reads them back
several times faster than JSON, and never runs code while loading (unlike pickle): the cache lives
in a data directory that other tools and people may write to. The header names what the file
holds and the marshal format, so a file of another kind or version is a miss; the CRC turns a
truncated or corrupted file into a miss too, never into an error or a wrong result.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

SUFFIX = ".marshal"


def dumps(value: Any) -> bytes:
    """`marshal.dumps` at version 2, without back-references: an index or an outline shares many numbers
    and strings between its parts, and looking each one up to refer back to it makes writing twice as slow."""
    return marshal.dumps(value, 2)


def header(kind: str) -> bytes:
    """The first line of a file of `kind`."""
    return f"specmill {kind}, marshal {marshal.version}\n".encode()


def read(path: Path, kind: str) -> Any:
    """What `write` stored at `path` for `kind`; None when there is nothing readable there."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    first = header(kind)
    start = len(first) + 4
    payload = memoryview(data)[start:]
    if data[: len(first)] != first or data[len(first) : start] != zlib.crc32(payload).to_bytes(4, "big"):
        return None
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None


def write(path: Path, kind: str, value: Any) -> bool:
    """Store `value` at `path` atomically; False when it could not be written (a cache only loses speed)."""
    payload = dumps(value)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(header(kind) + zlib.crc32(payload).to_bytes(4, "big") + payload)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


def prune(folder: Path, keep: int) -> None:
    """Delete all but the `keep` most recently used files of `folder`."""
    try:
        kept = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in kept[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()
