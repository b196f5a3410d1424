"""The brief never exceeds its token budget, whatever the repository looks like."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from specmill.adapters.repo_map import MIN_BUDGET, RepoMapAnalyzer
from specmill.adapters.repo_scan.render import FILES, LAYOUT, Draft
from specmill.adapters.repo_scan.tokens import brief_cost, brief_tokens, estimate_tokens
from specmill.errors import BadInput
from tests.repo_map_samples import SERVICE, make_spec, write_repo

SPEC = make_spec("Delete a user", "Add `DELETE /users/{user_id}`.", ("Missing users give 404",))
BUDGETS = [200, *range(201, 400, 17), *range(400, 8001, 331), 8000]


def _repo(kind: str, root: Path) -> Path:
    if kind == "service":
        return write_repo(root, SERVICE)
    if kind == "huge-file":
        lines = (f"def handler_{i}(user_id: int) -> int:\n    return user_id + {i}\n" for i in range(40_000))
        (root / "everything.py").write_text("".join(lines), encoding="utf-8")
        assert (root / "everything.py").stat().st_size > 2_000_000
        return root
    if kind == "no-python":
        return write_repo(
            root,
            {
                "README.md": "# site\n",
                "package.json": '{"name": "site"}\n',
                "src/index.ts": "export {}\n",
                "Dockerfile": "FROM node:22\n",
                "docs/users.md": "Users\n",
            },
        )
    return root


@pytest.mark.parametrize("kind", ["service", "huge-file", "no-python", "empty"])
def test_brief_fits_every_budget(kind: str, tmp_path: Path) -> None:
    root = _repo(kind, tmp_path)
    analyzer = RepoMapAnalyzer()
    previous = -1
    for budget in BUDGETS:
        brief = analyzer.analyze(root, SPEC, budget)
        assert brief.budget == budget
        assert brief.tokens == brief_tokens(brief.markdown)
        assert brief.tokens <= budget, f"{kind}: {brief.tokens} tokens for a budget of {budget}"
        assert brief.tokens >= previous or brief.tokens >= budget - 60, "a bigger budget should not shrink the brief"
        previous = brief.tokens
        assert brief.markdown.startswith("## "), f"{kind}: nothing fits in {budget} tokens"


def test_huge_file_is_listed_by_name(tmp_path: Path) -> None:
    brief = RepoMapAnalyzer().analyze(_repo("huge-file", tmp_path), SPEC, 500)
    assert "- `everything.py` (2.7 MB, not parsed)" in brief.markdown
    assert [f.path for f in brief.files] == ["everything.py"]


def test_repository_without_python(tmp_path: Path) -> None:
    brief = RepoMapAnalyzer().analyze(_repo("no-python", tmp_path), SPEC, 1000)
    assert [c.summary for c in brief.conventions[:2]] == [
        "sub-projects, not the place for the package's code: `docs/`",
        "no Python code",
    ]
    assert brief.files[0].path == "docs/users.md"
    assert all(f.symbols == [] for f in brief.files)


def test_empty_repository(tmp_path: Path) -> None:
    brief = RepoMapAnalyzer().analyze(tmp_path, SPEC, MIN_BUDGET)
    assert brief.markdown == "## Layout\n- empty repository"
    assert brief.files == []


def test_small_budget_keeps_the_most_useful_lines(tmp_path: Path) -> None:
    smallest = RepoMapAnalyzer().analyze(_repo("service", tmp_path), SPEC, MIN_BUDGET)
    assert smallest.markdown.startswith("## Relevant files\n- `app/routers/users.py`"), "the spec's files come first"
    brief = RepoMapAnalyzer().analyze(_repo("service", tmp_path), SPEC, 450)
    assert "flat layout" in brief.markdown
    assert "fastapi-router:" in brief.markdown
    assert "lint: ruff" not in brief.markdown


def test_bad_inputs_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="negative"):
        RepoMapAnalyzer().analyze(tmp_path, SPEC, -1)
    with pytest.raises(BadInput, match="not a directory"):
        RepoMapAnalyzer().analyze(tmp_path / "missing", SPEC, MIN_BUDGET)
    with pytest.raises(BadInput, match=f"too small for a useful brief; give at least {MIN_BUDGET} tokens"):
        RepoMapAnalyzer().analyze(tmp_path, SPEC, MIN_BUDGET - 1)


@pytest.mark.parametrize(
    "text",
    [
        "def get_user(user_id: int, session: SessionDep) -> User",
        "- `app/routers/users.py` - User endpoints.",
        "routers live in `app/routers/*.py`; registered with `app.include_router(users.router)`",
        "   indented    text with    gaps 1234567890",
    ],
)
def test_estimate_is_above_a_third_of_the_bytes(text: str) -> None:
    assert estimate_tokens(text) >= math.ceil(len(text.encode()) / 3)


def test_estimate_is_additive_over_lines_and_counts_non_ascii_by_bytes() -> None:
    a, b = "- `x.py` - résumé", "  - `def f(a: int) -> None`"
    assert estimate_tokens(a + "\n" + b) == estimate_tokens(a) + 1 + estimate_tokens(b)
    assert estimate_tokens("日本") == 6
    assert estimate_tokens("") == 0


def test_trim_drops_lowest_priority_lines_when_a_selection_overflows() -> None:
    draft = Draft()
    for i in range(5):
        draft.add((LAYOUT, i), f"- line number {i} with several words in it")
    draft.want([(LAYOUT, i) for i in range(5)])
    markdown, chosen = draft.trim(set(draft.items), 40)
    assert brief_tokens(markdown) <= 40
    assert (LAYOUT, 0) in chosen and (LAYOUT, 4) not in chosen
    assert draft.trim(set(draft.items), 0) == ("", set())


def test_a_fit_skips_uncounted_only_lines_that_could_not_fit() -> None:
    """A line with more words than the room left is never costed; the lines chosen are those a fit
    costing every line would choose."""
    rng = random.Random(3)
    words = ["def", "x", "`Store.get_item(self)`", "résumé", "12345", "->", "  ", "((x))", "日本", "HTTPError", "a_b"]
    draft = Draft()
    for i in range(300):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        parent = (FILES, i // 10)
        draft.add(parent if i % 10 == 0 else (FILES, i // 10, i % 10), text, () if i % 10 == 0 else (parent,))
    keys = list(draft.items)
    rng.shuffle(keys)
    draft.want(keys)

    def costing_every_line(budget: int) -> set[tuple[int, ...]]:
        chosen: set[tuple[int, ...]] = set()
        used = 0.0
        for key in draft.order:
            if key not in chosen:
                need = [d for d in draft.items[key].deps if d not in chosen] + [key]
                cost = sum(brief_cost(draft.items[k].text) + draft.items[k].extra for k in need)
                if used + cost <= budget:
                    chosen.update(need)
                    used += cost
        return chosen

    assert draft.fit(333) == costing_every_line(333)
    assert len(draft._costs) < len(draft.items) / 2, "most lines were never costed"
    for budget in (0, 7, 50, 1000, 2500, 10_000):
        assert draft.fit(budget) == costing_every_line(budget)
