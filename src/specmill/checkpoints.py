"""Reading a checkpoint never runs code that specmill did not write.

DBOS 3.4 pickles step outputs, workflow inputs, results and errors into the system database, and it
reads each row back with the serializer the row names: a row marked `py_pickle` is unpickled even
when another serializer is configured. So whoever can write that database (a test that reaches its
file or socket) could make the server run any callable on its next `GET /runs/{id}`.

Unpickling only runs code through the globals a pickle names (`find_class`), so this module watches
the `pickle.find_class` audit event of the whole process and lets a pickle name only what a checkpoint
of specmill can hold: pydantic models, exceptions and enums of modules already imported, and a short
list of plain value types. Anything else (`os.system`, `subprocess.Popen`, `builtins.eval`) raises
`TamperedRecord` before it is looked up, let alone called. A module that is not imported yet is refused
too, so a pickle cannot import one for its side effects.
"""

from __future__ import annotations

import copyreg
import enum
import pickle
import sys
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from specmill.errors import SpecmillError

_VALUE_TYPES = {
    "builtins": {
        "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray",
        "int", "float", "complex", "bool", "slice", "range", "object", "NoneType",
    },
    "copyreg": {"_reconstructor"},
    "datetime": {"datetime", "date", "time", "timedelta", "timezone"},
    "decimal": {"Decimal"},
    "uuid": {"UUID"},
    "collections": {"OrderedDict", "deque"},
    "pathlib": {"Path", "PosixPath", "PurePath", "PurePosixPath"},
    "zoneinfo": {"ZoneInfo"},  # written as ZoneInfo(key) by _zone_by_key below
}  # fmt: skip
_installed = False


class TamperedRecord(SpecmillError, pickle.UnpicklingError):
    """A recorded value names code that no specmill checkpoint holds: the record was written by someone else."""


def allowed(module: str, name: str) -> bool:
    if name in _VALUE_TYPES.get(module, ()):
        return True
    loaded = sys.modules.get(module)
    if loaded is None:
        return False
    found: Any = loaded
    for part in name.split("."):
        if part.startswith("__") or not hasattr(found, part):
            return False
        found = getattr(found, part)
    return isinstance(found, type) and issubclass(found, (BaseModel, BaseException, enum.Enum))


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "pickle.find_class" and not allowed(str(args[0]), str(args[1])):
        raise TamperedRecord(
            f"a recorded value names {args[0]}.{args[1]}, which no specmill checkpoint holds: "
            "the database was written by something other than specmill; the value was not read"
        )


def guarding() -> bool:
    """Whether this process refuses unknown pickles (then nothing may cross a process pool as one)."""
    return _installed


def _zone_by_key(zone: ZoneInfo) -> tuple[type[ZoneInfo], tuple[str]]:
    return ZoneInfo, (zone.key,)


def guard_unpickling() -> None:
    """Install the audit hook once per process (audit hooks cannot be removed, so it stays).

    A time zone is pickled as `ZoneInfo(key)` from then on. Its own reduction goes through
    `builtins.getattr`, which the guard refuses, and a scheduled sweep's input holds one: the
    tick's time in SPECMILL_SWEEP_TIMEZONE."""
    global _installed
    if not _installed:
        copyreg.pickle(ZoneInfo, _zone_by_key)
        sys.addaudithook(_audit)
        _installed = True
