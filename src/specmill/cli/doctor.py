"""`specmill doctor`: is everything a run needs in place? Each part ok, or the problem and its fix."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from specmill.cli.errors import EXIT_FAILED, fail
from specmill.errors import BadInput


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as one JSON object on stdout.")] = False,
) -> None:
    """Check git, the settings, the database, Basic Memory and its project, the model key and the sandbox."""
    from specmill.config import Settings
    from specmill.doctor import diagnose

    try:
        settings = Settings()
    except ValidationError as exc:
        fail(
            BadInput(f"the settings are not valid: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"), as_json=as_json
        )
    findings = diagnose(settings)
    problems = [f for f in findings if f.state == "problem"]
    if as_json:
        body = {"status": "problem" if problems else "ok", "findings": [f.model_dump() for f in findings]}
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        for finding in findings:
            typer.echo(f"{finding.state:<8} {finding.part:<13} {finding.detail}")
            if finding.fix:
                typer.echo(f"{'':<8} {'':<13} fix: {finding.fix}")
        typer.echo(f"{len(problems)} problem(s)" if problems else "all ok: specmill run SPEC --repo PATH is next")
    raise typer.Exit(EXIT_FAILED if problems else 0)
