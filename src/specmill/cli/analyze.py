"""`specmill analyze`: the pattern brief a run would send, printed for a person or a script.

It runs only the analyze phase, outside DBOS, so you can see what the model will be told
about a repository - and tune the budget - before paying for a run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from specmill.cli.errors import fail
from specmill.config import Settings
from specmill.errors import BadInput, SpecmillError, SpecWithoutCriteria
from specmill.models import Note, Spec


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)


def analyze(
    repo: Annotated[Path, typer.Option(help="The repository (a working tree) to map.")],
    spec: Annotated[Optional[str], typer.Option(help="Permalink, title or memory:// URL of a spec note.")] = None,
    project: Annotated[Optional[str], typer.Option(help="Basic Memory project of --spec.")] = None,
    spec_file: Annotated[Optional[Path], typer.Option(help="A spec in a Markdown file, instead of --spec.")] = None,
    budget: Annotated[
        Optional[int], typer.Option(help="Token budget; SPECMILL_BRIEF_BUDGET_TOKENS by default.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {tokens, budget, files, conventions, markdown}.")
    ] = False,
) -> None:
    """Print the ranked repository map and convention brief for a spec, within a token budget."""
    from specmill.adapters.brief_counter import MessagesTokenCounter
    from specmill.adapters.repo_map import RepoMapAnalyzer

    settings = Settings()
    try:
        if (spec is None) == (spec_file is None):
            raise BadInput("give exactly one of --spec NOTE (with --project) or --spec-file FILE.md")
        if spec_file is not None and project is not None:
            raise BadInput("--project goes with --spec; a --spec-file needs no project")
        parsed = (
            _spec_from_file(spec_file) if spec_file is not None else _spec_from_store(settings, spec or "", project)
        )
        analyzer = RepoMapAnalyzer(settings.data_dir / "index", MessagesTokenCounter.from_settings(settings))
        brief = analyzer.analyze(repo, parsed, settings.brief_budget_tokens if budget is None else budget)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        data = brief.model_dump(mode="json")
        ordered = {key: data[key] for key in ("tokens", "budget", "files", "conventions", "markdown")}
        sys.stdout.write(json.dumps(ordered, indent=2) + "\n")
        return
    typer.echo(brief.markdown)
    typer.echo(f"{brief.tokens} of {brief.budget} tokens, {len(brief.files)} files", err=True)


def lenient_spec(note: Note) -> Spec:
    """The note as a Spec even without success criteria: a map needs words, not a checklist."""
    from specmill.markdown import parse_frontmatter, split_frontmatter
    from specmill.phases.read_spec import parse_spec

    try:
        return parse_spec(note)
    except SpecWithoutCriteria:
        block, body = split_frontmatter(note.content)
        frontmatter = parse_frontmatter(block, note.title or note.permalink)
        title = note.title or str(frontmatter.get("title") or note.permalink)
        return Spec(
            project=note.project, permalink=note.permalink, title=title, frontmatter=frontmatter, body=body, criteria=[]
        )


def _spec_from_file(path: Path) -> Spec:
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"spec file {path} does not exist: pass the path of a Markdown spec") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"spec file {path} cannot be read as UTF-8 text ({type(exc).__name__}): pass a Markdown file"
        ) from None
    return lenient_spec(Note(project="local", permalink=path.stem, title=_first_title(content), content=content))


def _first_title(content: str) -> str:
    """The body's first level-1 heading: a `#` line in the frontmatter or in code is not a title."""
    from specmill.markdown import scan_headings, split_frontmatter, split_lines

    _, body = split_frontmatter(content)
    return next((heading.text for heading in scan_headings(split_lines(body)) if heading.level == 1), "")


def _spec_from_store(settings: Settings, identifier: str, project: str | None) -> Spec:
    from specmill.adapters.basic_memory import BasicMemorySpecStore
    from specmill.phases.read_spec import read_spec

    project = project or settings.project
    if not project:
        raise BadInput("--spec needs a Basic Memory project: pass --project NAME or set SPECMILL_PROJECT")
    store = BasicMemorySpecStore.from_settings(settings)
    try:
        try:
            return read_spec(store, identifier, project)
        except SpecWithoutCriteria:
            return lenient_spec(store.read_note(identifier, project))
    finally:
        store.close()
