"""Conventions read from code: FastAPI apps and routers, Typer/Click CLIs, DBOS, settings, dependencies."""

from __future__ import annotations

from collections import Counter

from specmill.adapters.repo_scan.repo import Repo, code, dirname, listing, plural
from specmill.adapters.repo_scan.symbols import CallSite, PyFacts, shorten
from specmill.adapters.repo_scan.walk import RepoFile
from specmill.models import Convention

DBOS_ORDER = ("workflow", "step", "transaction", "scheduled")
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "api_route", "websocket"})


def _where(paths: list[str]) -> str:
    """`app/routers/*.py` (a.py, b.py) when several files share a directory, else the files themselves."""
    by_dir: dict[str, list[str]] = {}
    for path in sorted(paths):
        by_dir.setdefault(dirname(path), []).append(path)
    parts = []
    for folder, members in sorted(by_dir.items()):
        if len(members) > 1:
            names = [p.rsplit("/", 1)[-1] for p in members]
            glob = "*.py" if folder == "." else f"{folder}/*.py"
            parts.append(f"{code(glob)} ({listing(names, 5, quote=False)})")
        else:
            parts.append(code(members[0]))
    return listing(parts, 4, quote=False)


def _defined(call: CallSite, limit: int = 80) -> str:
    return shorten(f"{call.target} = {call.text}" if call.target else call.text, limit)


Found = tuple[RepoFile, PyFacts, CallSite]


def _calls(repo: Repo, name: str, callee: tuple[str, ...] = ()) -> list[Found]:
    """Calls to `name` across the repository; `callee` restricts the dotted spelling (`typer.Typer`)."""
    return [
        (f, facts, call)
        for f, facts in repo.parsed
        for call in facts.calls_to(name)
        if not callee or call.func in callee
    ]


def _new_file_hint(paths: list[str]) -> str:
    folders = Counter(dirname(p) for p in paths)
    folder = sorted(folders.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return "<name>.py" if folder == "." else f"{folder}/<name>.py"


def _routes(facts: PyFacts, bases: set[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    for deco in facts.decorators:
        base, _, method = deco.func.rpartition(".")
        if method in ROUTE_METHODS and (base in bases or base.endswith("router")):
            found[f"@{base}.{method}"] += 1
    return found


def detect_fastapi(repo: Repo) -> list[Convention]:
    out: list[Convention] = []
    apps = _calls(repo, "FastAPI", ("FastAPI", "fastapi.FastAPI"))
    if apps:
        direct: Counter[str] = Counter()
        for _, facts, call in apps:
            direct += _routes(facts, {call.target or "app"})
        created = [f"{code(f.path)} ({code(_defined(c))})" for f, _, c in apps]
        summary = "FastAPI app created in " + listing(created, 3, quote=False)
        if direct:
            summary += f"; {plural(sum(direct.values()), 'route')} declared on the app itself"
        out.append(Convention(kind="fastapi-app", summary=summary, files=sorted({f.path for f, _, _ in apps})))
    routers = _calls(repo, "APIRouter")
    includes = _calls(repo, "include_router")
    if not routers:
        return out
    router_paths = sorted({f.path for f, _, _ in routers})
    site_paths = sorted({f.path for f, _, _ in includes})
    routes: Counter[str] = Counter()
    for f, facts in repo.parsed:
        if f.path in router_paths:
            routes += _routes(facts, {c.target for g, _, c in routers if g.path == f.path})
    names = sorted({c.target for _, _, c in routers if c.target})
    shape = f"{names[0]} = APIRouter(...)" if len(names) == 1 else "APIRouter(...)"
    parts = [f"routers in {_where(router_paths)}, each {code(shape)}"]
    if includes:
        parts.append(f"included in {listing(site_paths, 3)} with {code(includes[0][2].text)}")
        registered = {p for f, facts, _ in includes for p in repo.imported_paths(facts)} | set(site_paths)
        orphans = [p for p in router_paths if p not in registered]
        if orphans:
            parts.append(f"not imported by any include_router site: {listing(orphans)}")
    else:
        parts.append("no `include_router` call found")
    if routes:
        parts.append(f"{plural(sum(routes.values()), 'route')} ({', '.join(code(k) for k in sorted(routes))})")
    where = f", included in {code(site_paths[0])}" if site_paths else ""
    parts.append(f"new router: {code(_new_file_hint(router_paths))}{where}")
    files = site_paths + [p for p in router_paths if p not in site_paths]
    out.append(Convention(kind="fastapi-router", summary="; ".join(parts), files=files[:12]))
    return out


def _console_targets(repo: Repo) -> dict[str, str]:
    scripts = dict(repo.config.pyproject.get("project", {}).get("scripts", {}))
    scripts.update(repo.config.tool("poetry").get("scripts", {}))
    found: dict[str, str] = {}
    for name, target in scripts.items():
        if isinstance(target, str) and (path := repo.resolve(target.split(":")[0])):
            found.setdefault(path, name)
    return found


def _root_typer(repo: Repo, typers: list[Found], adds: list[Found], scripts: dict[str, str]) -> str:
    """The file of the root Typer: the one most `add_typer` sites import and add to, else the console script's."""
    receivers = Counter(c.func.rpartition(".")[0] for _, _, c in adds)
    votes: Counter[str] = Counter()
    for f, facts, call in typers:
        importers = sum(1 for g, other, _ in adds if g.path == f.path or f.path in repo.imported_paths(other))
        votes[f.path] = max(votes[f.path], receivers.get(call.target, 0) * (1 + importers))
    scripted = [p for p in votes if p in scripts]
    best = max(votes, key=lambda p: (votes[p], p in scripted, -p.count("/"), p))
    return best if votes[best] or not scripted else scripted[0]


def detect_typer(repo: Repo) -> list[Convention]:
    typers = _calls(repo, "Typer", ("Typer", "typer.Typer"))
    if not typers:
        return []
    adds = _calls(repo, "add_typer")
    typer_paths = sorted({f.path for f, _, _ in typers})
    scripts = _console_targets(repo)
    sites = Counter(f.path for f, _, _ in adds)
    main = _root_typer(repo, typers, adds, scripts)
    roots = [main]
    groups = [p for p in typer_paths if p not in roots]
    commands: Counter[str] = Counter()
    deco_example = ""
    for f, facts in repo.parsed:
        targets = {c.target for g, _, c in typers if g.path == f.path}
        for deco in facts.decorators:
            base, _, attr = deco.func.rpartition(".")
            if attr == "command" and base in targets:
                commands[f.path] += 1
                deco_example = deco_example or deco.text
    root_call = next(c for f, _, c in typers if f.path == roots[0]) if roots[0] in typer_paths else typers[0][2]
    parts = [f"root {code(_defined(root_call))} in {listing(roots, 2)}"]
    if roots[0] in scripts:
        parts[0] += f" (console script {code(scripts[roots[0]])})"
    if groups:
        counted = sum(commands[p] for p in groups)
        parts.append(f"groups {_where(groups)} ({plural(counted, 'command')})")
    if adds:
        example = next((c for f, _, c in adds if f.path == main), adds[0][2])
        parts.append(f"added in {code(main if main in sites else adds[0][0].path)} with {code(example.text)}")
    if deco_example:
        parts.append(f"commands use {code(deco_example)}")
    hint = _new_file_hint(groups or roots)
    parts.append(f"new group: {code(hint)} with its own `typer.Typer()`, added with `add_typer` in {code(roots[0])}")
    return [Convention(kind="typer-cli", summary="; ".join(parts), files=(roots + groups)[:12])]


def detect_click(repo: Repo) -> list[Convention]:
    groups: list[tuple[str, str]] = []
    commands: Counter[str] = Counter()
    for f, facts in repo.parsed:
        roots = {i.split(".")[0] for i in facts.imports}
        if "click" not in roots or "typer" in roots:
            continue
        for deco in facts.decorators:
            if deco.func == "click.group" or deco.func.endswith(".group"):
                groups.append((f.path, deco.target))
            elif deco.func == "click.command" or deco.func.endswith(".command"):
                commands[f.path] += 1
    if not (groups or commands):
        return []
    adds = _calls(repo, "add_command")
    parts = ["Click CLI"]
    if groups:
        parts.append("groups " + listing([f"{name} ({path})" for path, name in groups], 3))
    if commands:
        parts.append(f"{plural(sum(commands.values()), 'command')} in {_where(sorted(commands))}")
    if adds:
        parts.append(f"registered with {code(adds[0][2].text)} in {listing(sorted({f.path for f, _, _ in adds}), 3)}")
    files = sorted({p for p, _ in groups} | {f.path for f, _, _ in adds}) + sorted(commands)
    return [Convention(kind="click-cli", summary="; ".join(parts), files=list(dict.fromkeys(files))[:12])]


def detect_dbos(repo: Repo) -> list[Convention]:
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for f, facts in repo.parsed:
        for deco in facts.decorators:
            if deco.func.startswith("DBOS."):
                by_kind.setdefault(deco.func.split(".", 1)[1], []).append((f.path, deco.target))
    configured = _calls(repo, "DBOS", ("DBOS", "dbos.DBOS"))
    launched = [x for x in _calls(repo, "launch") if x[2].func.endswith("DBOS.launch")]
    queues = [x for x in _calls(repo, "Queue") if "dbos" in {i.split(".")[0] for i in x[1].imports}]
    if not (by_kind or configured):
        return []
    parts = []
    for kind in sorted(by_kind, key=lambda k: (DBOS_ORDER.index(k) if k in DBOS_ORDER else len(DBOS_ORDER), k)):
        uses = by_kind[kind]
        names = listing([name for _, name in uses], 4)
        parts.append(f"{kind}s {names} in {_where(sorted({p for p, _ in uses}))} (`@DBOS.{kind}()`)")
    if configured:
        parts.append(f"configured in {code(configured[0][0].path)} ({code(_defined(configured[0][2]))})")
    if launched:
        parts.append(f"launched in {listing(sorted({f.path for f, _, _ in launched}), 2)}")
    if queues:
        parts.append("queues " + listing([f"{_defined(c)} in {f.path}" for f, _, c in queues], 3))
    files = [p for uses in by_kind.values() for p, _ in uses] + [f.path for f, _, _ in configured + launched + queues]
    return [Convention(kind="dbos", summary="; ".join(parts), files=sorted(set(files))[:12])]


def detect_settings(repo: Repo) -> list[Convention]:
    parts: list[str] = []
    files: list[str] = []
    for f, facts in repo.parsed:
        for cls in facts.classes:
            if not any(b.endswith("BaseSettings") for b in cls.bases):
                continue
            text = f"{code(f'class {cls.name}({cls.bases[0]})')} in {code(f.path)}"
            if cls.config:
                text += f" with {code(cls.config)}"
            cached = [d.target for d in facts.decorators if d.func.rsplit(".", 1)[-1] in ("lru_cache", "cache")]
            instances = [s.name for s in facts.symbols if s.text.startswith(f"`{s.name} = {cls.name}(")]
            if cached:
                text += f", read through cached {listing([c + '()' for c in cached], 2)}"
            elif instances:
                text += f", used through the module-level instance {code(instances[0])}"
            users = [g.path for g, other in repo.parsed if f.path in repo.imported_paths(other) and g.path != f.path]
            if users:
                text += f", imported by {plural(len(users), 'file')}"
            parts.append(text)
            files.append(f.path)
    if not parts:
        return []
    return [Convention(kind="settings", summary="pydantic-settings: " + "; ".join(parts[:3]), files=files[:12])]


def detect_dependencies(repo: Repo) -> list[Convention]:
    aliases = [(f.path, name) for f, facts in repo.parsed for name, text in facts.aliases if "Depends(" in text]
    depends = sorted({f.path for f, _, _ in _calls(repo, "Depends")} - {p for p, _ in aliases})
    overrides = [f.path for f, facts in repo.parsed if "dependency_overrides" in facts.identifiers]
    if not (aliases or depends):
        return []
    parts = []
    if aliases:
        parts.append(
            f"`Annotated[..., Depends(...)]` aliases {listing([n for _, n in aliases], 5)} in "
            f"{listing(sorted({p for p, _ in aliases}), 3)}"
        )
    if depends:
        parts.append(f"`Depends(...)` used in {listing(depends, 4)}")
    if overrides:
        parts.append(f"tests swap them with `app.dependency_overrides` in {listing(overrides, 3)}")
    files = sorted({p for p, _ in aliases}) + depends + overrides
    return [Convention(kind="dependency-injection", summary="; ".join(parts), files=list(dict.fromkeys(files))[:12])]


def anchor_paths(repo: Repo) -> set[str]:
    """Files an engineer opens first whatever the task: app factories, CLI roots, registration sites."""
    anchors = set(_console_targets(repo))
    for name in ("FastAPI", "include_router", "add_typer", "add_command"):
        anchors |= {f.path for f, _, _ in _calls(repo, name)}
    return anchors
