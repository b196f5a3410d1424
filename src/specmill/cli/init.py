"""`specmill init`: from nothing to a first run. Finds Basic Memory (or says how to install it),
picks or creates the project of spec notes, writes the settings file, checks the model key, the
database and the sandbox (`doctor.py`'s checks), and prints what to run next.

Asks its questions on a terminal; `--yes` takes the flags and the defaults instead. An existing
settings file is never replaced without `--force`: init shows what would change, and stops.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Optional

import typer

from specmill.cli.errors import EXIT_FAILED, fail
from specmill.config import Settings
from specmill.config_file import ConfigFileError, config_path
from specmill.errors import BadInput, SpecmillError

if TYPE_CHECKING:  # the modules themselves are imported when the command runs
    from specmill.doctor import Finding
    from specmill.init_steps import BasicMemory, Project

DEFAULT_PROJECT = "specs"
NO_KEY_NOTE = "ANTHROPIC_API_KEY is not set: `specmill run --offline` replays the sample spec without one"


class ConfigExists(BadInput):
    """The settings file holds other settings, and init was not told to replace them."""


class _EnvironmentOnly(Settings):
    """The settings without the file: what `--force` starts from when the file cannot be read."""

    reads_settings_file: ClassVar[bool] = False


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ask nothing: take the flags and the defaults.")] = False,
    project: Annotated[
        Optional[str], typer.Option(help="Basic Memory project of spec notes (default: the setting, else specs).")
    ] = None,
    create_project: Annotated[
        Optional[Path], typer.Option(help="Create the project, with its notes in this folder, when it is missing.")
    ] = None,
    data_dir: Annotated[
        Optional[Path], typer.Option(help="specmill's data folder (default: ~/.local/share/specmill).")
    ] = None,
    model: Annotated[
        Optional[str], typer.Option(help="Model of every run, written to the settings (default: the playbook's).")
    ] = None,
    install: Annotated[
        bool, typer.Option("--install", help="Install Basic Memory with uv when it is not found.")
    ] = False,
    sample_spec: Annotated[
        bool,
        typer.Option("--sample-spec", help="Write the example Goodbye endpoint spec into the project, with its repo."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the settings in an existing settings file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what init did as one JSON object on stdout.")] = False,
) -> None:
    """Set specmill up: Basic Memory and its project, the settings file, the model key, the database, the sandbox."""
    from specmill import init_steps as steps

    ask = not (yes or as_json)
    settings = _settings(force, as_json)
    try:
        bm = _basic_memory(settings, install, as_json)
        projects = steps.list_projects(bm.executable) if ask else None
        if projects is not None:
            typer.echo(f"Basic Memory projects: {', '.join(p.name for p in projects) or 'none'}")
        name = project or settings.project or DEFAULT_PROJECT
        folder = _data_dir(settings, data_dir)
        if ask:
            name = typer.prompt("Project of your spec notes", default=name)
            if create_project is None and name not in {p.name for p in projects or []}:
                create_project = Path(typer.prompt(f"Create project '{name}' with its notes in", default=f"~/{name}"))
            folder = Path(typer.prompt("specmill's data folder", default=str(folder))).expanduser().resolve()
            sample_spec = sample_spec or typer.confirm("Add a sample spec (and a repository to run it in)?", False)
        proposed = {"project": name, "basic_memory_command": bm.command, "data_dir": str(folder), "model": model}
        plan = steps.plan_config(config_path(), proposed, Settings.model_fields, replace_unreadable=force)
        if plan.exists and plan.changes and not force:
            for change in plan.changes:
                say(f"  {change}", as_json)
            raise ConfigExists(
                f"{plan.path} exists with other settings ({'; '.join(plan.changes)}): "
                "rerun with --force to write them, or edit the file"
            )
        projects = projects if projects is not None else steps.list_projects(bm.executable)
        chosen, created, sample = _project(bm, name, projects, create_project, sample_spec, folder, as_json)
        if not plan.unchanged:
            steps.write_config(plan)
            say(f"wrote {plan.path}", as_json)
    except SpecmillError as exc:
        fail(exc, as_json=as_json)
    findings = _check(Settings(), bm, name, chosen)
    body: dict[str, Any] = {
        "status": "problem" if any(f.state == "problem" for f in findings) else "ok",
        "config": {"path": str(plan.path), "written": not plan.unchanged, "changes": plan.changes},
        "basic_memory": {
            "command": bm.command,
            "found_by": bm.found_by,
            "projects": sorted({p.name for p in projects} | ({name} if created else set())),
            "project": name,
            "created": created,
            "project_dir": chosen,
        },
        "sample_spec": sample,
        "findings": [f.model_dump() for f in findings],
        "next": _next_steps(name, chosen, sample),
    }
    _report(body, as_json)
    raise typer.Exit(EXIT_FAILED if body["status"] == "problem" else 0)


def say(text: str, as_json: bool) -> None:
    typer.echo(text, err=as_json)


def _settings(force: bool, as_json: bool) -> Settings:
    try:
        return Settings()
    except ConfigFileError as exc:
        if not force:
            fail(exc, as_json=as_json, hint="fix the file, or replace it: specmill init --force")
        return _EnvironmentOnly()


def _basic_memory(settings: Settings, install: bool, as_json: bool) -> BasicMemory:
    from specmill import init_steps as steps
    from specmill.errors import ServiceUnavailable

    found, why = steps.find_basic_memory(settings.basic_memory_command)
    if found is not None:
        return found
    if not install:
        raise ServiceUnavailable(
            f"Basic Memory not found ({why}): install it with `{steps.INSTALL_COMMAND}` "
            "(or run specmill init --install), or set SPECMILL_BASIC_MEMORY_COMMAND"
        )
    say(f"installing Basic Memory: {steps.INSTALL_COMMAND}", as_json)
    return steps.install_basic_memory()


def _data_dir(settings: Settings, given: Path | None) -> Path:
    from specmill import init_steps as steps

    if given is not None:
        return given.expanduser().resolve()
    if settings.data_dir != Settings.model_fields["data_dir"].default:
        return settings.data_dir.expanduser().resolve()
    return steps.default_data_dir()


def _project(
    bm: BasicMemory,
    name: str,
    projects: list[Project],
    create_at: Path | None,
    sample_spec: bool,
    data_dir: Path,
    as_json: bool,
) -> tuple[str | None, bool, dict[str, str] | None]:
    """(the project's folder, whether init created it, the sample spec written): a sample goes into
    a new project's folder before `project add`, which indexes it; an existing project is re-indexed."""
    from specmill import init_steps as steps

    existing = {p.name: p for p in projects}
    sample: dict[str, str] | None = None
    if name in existing:
        if create_at is not None:
            say(f"project '{name}' exists (at {existing[name].path}); --create-project is not needed", as_json)
        folder = existing[name].path or None
        if sample_spec and folder:
            note, repo = steps.write_sample_spec(Path(folder), data_dir)
            steps.index_project(bm.executable, name)
            sample = {"note": str(note), "repo": str(repo)}
        return folder, False, sample
    if create_at is None:
        return None, False, None
    folder_path = create_at.expanduser().resolve()
    if sample_spec:
        note, repo = steps.write_sample_spec(folder_path, data_dir)
        sample = {"note": str(note), "repo": str(repo)}
    say(f"creating Basic Memory project '{name}' in {folder_path}", as_json)
    steps.add_project(bm.executable, name, folder_path)
    return str(folder_path), True, sample


def _check(settings: Settings, bm: BasicMemory, name: str, folder: str | None) -> list[Finding]:
    from specmill import doctor

    if folder is None:
        memory = doctor.problem(
            "basic memory",
            f"no project '{name}' in Basic Memory",
            f"specmill init --project {name} --create-project DIR (or: basic-memory project add {name} DIR)",
        )
    else:
        memory = doctor.ok("basic memory", f"{bm.command} ({bm.found_by}): project '{name}' in {folder}")
    return [
        doctor.check_git(),
        memory,
        _model_finding(),
        doctor.check_database(settings),
        doctor.check_sandbox(settings),
    ]


def _model_finding() -> Finding:
    from specmill import doctor
    from specmill.preflight import MODEL_KEYS

    if not any(os.environ.get(name, "").strip() for name in MODEL_KEYS):
        return doctor.Finding(part="model", state="ok", detail=NO_KEY_NOTE)
    return doctor.check_model()


def _next_steps(name: str, folder: str | None, sample: dict[str, str] | None) -> list[str]:
    from specmill import example
    from specmill.preflight import MODEL_KEYS

    keyless = not any(os.environ.get(k, "").strip() for k in MODEL_KEYS)
    if sample is not None:  # the recorded session fits the sample, so it runs without a key
        return [f"specmill run {example.SPEC_PERMALINK}{' --offline' if keyless else ''}"]
    where = f"{folder}/specs/" if folder else "your project's folder"
    return [
        *(["export ANTHROPIC_API_KEY=...  (or rerun init with --sample-spec to try the path offline)"] * keyless),
        f"cp {example.SPECS / example.SPEC_FILE} {where}  (a sample spec to start from)",
        f"specmill run {example.SPEC_PERMALINK} --project {name} --repo PATH",
    ]


def _report(body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(body) + "\n")
        return
    memory = body["basic_memory"]
    typer.echo(f"Basic Memory projects: {', '.join(memory['projects']) or 'none'}; specs go to '{memory['project']}'")
    for finding in body["findings"]:
        typer.echo(f"{finding['state']:<8} {finding['part']:<13} {finding['detail']}")
        if finding["fix"]:
            typer.echo(f"{'':<8} {'':<13} fix: {finding['fix']}")
    if body["sample_spec"]:
        typer.echo(f"sample spec: {body['sample_spec']['note']} (repo: {body['sample_spec']['repo']})")
    typer.echo("next:")
    for command in body["next"]:
        typer.echo(f"  {command}")
