"""Where tests live, how they are named, what they lean on, and which fixtures the conftests offer."""

from __future__ import annotations

from collections import Counter

from specmill.adapters.repo_scan.repo import Repo, code, dirname, is_test_file, listing, plural
from specmill.models import Convention

FIXTURE_DECORATORS = frozenset({"pytest.fixture", "fixture", "pytest_asyncio.fixture"})
_CLIENTS = (
    ("TestClient", "API tests use `TestClient`"),
    ("AsyncClient", "async API tests use `httpx.AsyncClient`"),
    ("CliRunner", "CLI tests use `CliRunner`"),
)


def _mirror_pairs(repo: Repo, tests: list[str]) -> list[str]:
    """`tests/test_users.py` <-> `app/routers/users.py`: shows how a test file is named after its module."""
    sources: dict[str, list[str]] = {}
    for f in repo.files:
        if f.is_python and not is_test_file(f.path) and f.name not in ("__init__.py", "conftest.py"):
            sources.setdefault(f.name, []).append(f.path)
    pairs = []
    for test in tests:
        name = test.rsplit("/", 1)[-1]
        stem = name[len("test_") :] if name.startswith("test_") else name[: -len("_test.py")] + ".py"
        if candidates := sources.get(stem):
            pairs.append(f"{code(test)} <-> {code(min(candidates, key=lambda p: (p.count('/'), p)))}")
    return pairs


NESTED_SHARE = 0.5
"""When at least this share of a test folder's files sit in subfolders, tests are nested by package."""


def _package_dirs(repo: Repo) -> dict[str, str]:
    """Last folder name -> the shallowest package folder of that name (test folders excluded)."""
    found: dict[str, str] = {}
    for f in sorted(repo.files, key=lambda f: (f.path.count("/"), f.path)):
        folder = dirname(f.path)
        if f.name == "__init__.py" and "test" not in folder.split("/")[0]:
            found.setdefault(folder.rsplit("/", 1)[-1], folder)
    return found


def _where_new_tests(repo: Repo, tests: list[str], top: str) -> str:
    """Where a new test goes, read from where tests live: flat in `top`, or nested by package under it."""
    prefix = "" if top == "." else top + "/"
    own = [t for t in tests if t.startswith(prefix)] if prefix else [t for t in tests if "/" not in t]
    nested = Counter(t[len(prefix) :].split("/")[0] for t in own if "/" in t[len(prefix) :])
    if own and sum(nested.values()) >= NESTED_SHARE * len(own):
        packages = _package_dirs(repo)
        pairs = [
            f"{code(prefix + sub + '/')} for {code(packages[sub] + '/')}"
            for sub, _ in nested.most_common()
            if sub in packages
        ]
        where = f"a new test goes in {code(prefix + '<package>/test_<module>.py')}, beside the tests of its package"
        shown = listing(sorted(nested), 6)
        return (
            f"tests nest by package under {code(prefix)} ({shown})"
            + (f": {listing(pairs, 3, quote=False)}" if pairs else "")
            + f"; {where}"
        )
    return f"a new test goes in {code(prefix + 'test_<module>.py')}"


def detect_tests(repo: Repo) -> list[Convention]:
    tests = [f.path for f in repo.files if is_test_file(f.path)]
    if not tests:
        if not any(f.is_python for f in repo.files):
            return []
        return [Convention(kind="tests", summary="no test files yet; pytest collects `tests/test_<module>.py`")]
    roots = Counter(t.split("/")[0] + "/" if "/" in t else "./" for t in tests)
    naming = Counter("test_*.py" if t.rsplit("/", 1)[-1].startswith("test_") else "*_test.py" for t in tests)
    style = naming.most_common(1)[0][0]
    where = (
        code(next(iter(roots)))
        if len(roots) == 1
        else listing([f"{code(r)} ({n})" for r, n in sorted(roots.items())], 4, quote=False)
    )
    parts = [f"{plural(len(tests), 'test file')} in {where}, named {code(style)}"]
    subdirs = sorted({dirname(t) for t in tests} - {r.rstrip("/") for r in roots} - {"."})
    if subdirs:
        parts.append("subfolders " + listing([d + "/" for d in subdirs], 5))
    pairs = _mirror_pairs(repo, tests)
    if pairs:
        parts.append("named after the module under test: " + listing(pairs, 2, quote=False))
    facts_by_path = {f.path: facts for f, facts in repo.parsed}
    test_facts = [(t, facts_by_path[t]) for t in tests if t in facts_by_path]
    for name, label in _CLIENTS:
        users = [t for t, facts in test_facts if name in facts.identifiers]
        users += [f.path for f, facts in repo.parsed if f.name == "conftest.py" and name in facts.identifiers]
        if users:
            parts.append(f"{label} ({listing(sorted(set(users)), 2)})")
    classes = sum(1 for _, facts in test_facts for c in facts.classes if c.name.startswith("Test"))
    if classes:
        parts.append(f"{classes} `Test*` class" + ("" if classes == 1 else "es"))
    markers = Counter(
        d.func.split(".")[2]
        for _, facts in test_facts
        for d in facts.decorators
        if d.func.startswith("pytest.mark.") and d.func.count(".") == 2 and not d.func.endswith(".parametrize")
    )
    if markers:
        parts.append("markers " + listing(sorted(markers), 5))
    top = roots.most_common(1)[0][0].rstrip("/")
    parts.append(_where_new_tests(repo, tests, top))
    files = sorted(tests)
    return [Convention(kind="tests", summary="; ".join(parts), files=files[:12])]


def detect_fixtures(repo: Repo) -> list[Convention]:
    parts: list[str] = []
    files: list[str] = []
    elsewhere = 0
    for f, facts in repo.parsed:
        names = [d.target for d in facts.decorators if d.func in FIXTURE_DECORATORS]
        if f.name == "conftest.py":
            plugins = "pytest_plugins" in facts.identifiers
            detail = f"fixtures {listing(names, 8)}" if names else "no fixtures"
            parts.append(f"{code(f.path)}: {detail}" + ("; loads `pytest_plugins`" if plugins else ""))
            files.append(f.path)
        elif names:
            elsewhere += len(names)
            files.append(f.path)
    if not parts and not elsewhere:
        return []
    if elsewhere:
        others = [p for p in files if not p.endswith("conftest.py")]
        parts.append(f"{elsewhere} more fixtures in {listing(others, 3)}")
    return [Convention(kind="test-fixtures", summary="; ".join(parts[:6]), files=files[:12])]
