"""How every command ends when something goes wrong: one exit code per kind of failure, one line on stderr,
and with `--json` one error object on stdout, so a script never has to parse prose.

| code | meaning |
| --- | --- |
| 0 | succeeded |
| 1 | the run failed (not accepted, budget exhausted, a step gave up) |
| 2 | bad input: the user can fix the command |
| 3 | a service is unavailable (Basic Memory, the database, the model API) |
| 4 | the run waits for a person (`awaiting_approval`, `awaiting_budget`) |
"""

from __future__ import annotations

import json
import re
import sys
from typing import NoReturn

import typer

from specmill.errors import BadInput

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def exit_code_of(exc: BaseException) -> int:
    return EXIT_BAD_INPUT if isinstance(exc, BadInput) else EXIT_UNAVAILABLE


def error_code_of(exc: BaseException) -> str:
    """`SpecNotFound` -> `spec_not_found`: the stable, machine-readable name of the error."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def fail(
    exc: BaseException,
    *,
    as_json: bool = False,
    code: int | None = None,
    hint: str = "",
    context: str = "",
) -> NoReturn:
    """Print the error for people (and, with `as_json`, for scripts) and exit with its code.
    `context` goes before the message (what was going on), `hint` on a line of its own after it."""
    message = f"{context}{first_line(exc)}"
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(hint, err=True)
    if as_json:
        error = {"code": error_code_of(exc), "message": message}
        sys.stdout.write(json.dumps({"status": "error", "error": error}) + "\n")
    raise typer.Exit(exit_code_of(exc) if code is None else code)
