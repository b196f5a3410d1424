"""Ranking: personalised PageRank over imports, verbatim mentions, and the order of symbols."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan.detect_code import anchor_paths
from specmill.adapters.repo_scan.graph import import_edges, personalised_pagerank
from specmill.adapters.repo_scan.outline import outline_of
from specmill.adapters.repo_scan.ranking import mentioned_names, rank
from specmill.adapters.repo_scan.repo import scan
from tests.repo_map_samples import SERVICE, make_spec, write_repo

# core.py is imported by every other module; billing.py is what the spec is about.
PACKAGE = {
    "shop/__init__.py": "",
    "shop/core.py": '"""Shared plumbing."""\n\ndef connect() -> None: ...\n',
    "shop/billing.py": "from shop.core import connect\nfrom shop.money import Amount\n\n"
    "def charge_invoice(invoice_id: int) -> None:\n    connect()\n",
    "shop/money.py": "class Amount:\n    cents: int\n",
    "shop/catalog.py": "from shop.core import connect\n\ndef list_products() -> list[str]:\n    return []\n",
    "shop/shipping.py": "from shop.core import connect\n\ndef ship_parcel() -> None: ...\n",
    "shop/unrelated.py": "def helper() -> None: ...\n",
}


def _order(root: Path, title: str, body: str = "") -> list[str]:
    repo = scan(root)
    return [path for path, _ in rank(outline_of(repo), make_spec(title, body), anchor_paths(repo)).files]


def test_pagerank_flows_toward_what_the_personalised_files_import() -> None:
    imports = {"a": {"hub"}, "b": {"hub"}, "c": {"leaf"}, "hub": set(), "leaf": set(), "alone": set()}
    nodes = sorted(imports)
    edges = import_edges(imports)
    toward_c = personalised_pagerank(nodes, edges, {"c": 1.0})
    assert toward_c["leaf"] > toward_c["hub"] and toward_c["alone"] == 0.0
    plain = personalised_pagerank(nodes, edges, {})
    assert plain["hub"] > plain["leaf"]
    assert sum(plain.values()) == pytest.approx(1.0)
    assert personalised_pagerank(nodes, edges, {"c": 1.0}) == toward_c


def test_what_the_spec_file_imports_outranks_files_it_does_not_touch(tmp_path: Path) -> None:
    order = _order(write_repo(tmp_path, PACKAGE), "Charge an invoice twice")
    assert order[0] == "shop/billing.py"
    assert order.index("shop/money.py") < order.index("shop/unrelated.py")
    assert order.index("shop/core.py") < order.index("shop/unrelated.py")


def test_a_file_named_by_path_or_module_comes_first(tmp_path: Path) -> None:
    root = write_repo(tmp_path, PACKAGE)
    assert _order(root, "Tidy up", "The bug is in `shop/shipping.py`.")[0] == "shop/shipping.py"
    assert _order(root, "Tidy up", "See shop.catalog for the listing.")[0] == "shop/catalog.py"
    assert _order(root, "Tidy up", "`list_products` should sort.")[0] == "shop/catalog.py"


def test_mentioned_names_are_code_shaped_or_quoted() -> None:
    names = mentioned_names("Fix `get` in flask.json.provider; DefaultJSONProvider and sort_keys, not words.")
    assert {"get", "flask.json.provider", "DefaultJSONProvider", "sort_keys"} <= names
    assert "words" not in names and "Fix" not in names


def test_the_symbol_the_spec_names_is_listed_first(tmp_path: Path) -> None:
    files = dict(SERVICE)
    files["app/routers/users.py"] += (
        "\n\n@router.delete('/{user_id}')\nasync def remove_user(user_id: int) -> None:\n    ...\n"
    )
    brief = RepoMapAnalyzer().analyze(write_repo(tmp_path, files), make_spec("Audit `remove_user`"), 1500)
    users = next(f for f in brief.files if f.path == "app/routers/users.py")
    assert users.symbols[0].startswith("`@router.delete('/{user_id}') async def remove_user(")
    section = brief.markdown.split("- `app/routers/users.py`")[1]
    assert section.index("get_user") < section.index("remove_user"), "the Markdown keeps the file's own order"


def test_a_tight_budget_names_more_files_before_more_symbols(tmp_path: Path) -> None:
    brief = RepoMapAnalyzer().analyze(write_repo(tmp_path, SERVICE), make_spec("Users, items and tenants"), 450)
    assert len(brief.files) >= 5
    assert all(len(f.symbols) <= 4 for f in brief.files)


def test_a_name_mentioned_bare_and_qualified_means_the_qualified_one(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        {
            "shop/store.py": "class Store:\n    def put_item(self) -> None: ...\n",
            "shop/cache.py": "class Cache:\n    def put_item(self) -> None: ...\n",
        },
    )
    repo = scan(root)

    def scores(body: str) -> dict[str, float]:
        return dict(rank(outline_of(repo), make_spec("Tidy up", body), anchor_paths(repo)).files)

    both = scores("`Store.put_item()` calls `put_item`.")
    qualified = scores("`Store.put_item()` calls `Store.put_item`.")
    # were the bare name meant, both definers would share the mention; the choice is the same in every process
    assert both["shop/cache.py"] == qualified["shop/cache.py"]
    assert both["shop/store.py"] > both["shop/cache.py"]


def test_a_symbols_score_is_the_same_under_any_hash_seed() -> None:
    """A sum of floats depends on its order, and a set's order on the process's hash seed."""
    script = (
        "from specmill.adapters.repo_scan.ranking import Ranking; from specmill.adapters.repo_scan.symbols "
        "import Symbol; from specmill.adapters.repo_scan.words import terms; "
        "words = terms('alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike'); "
        "r = Ranking(files=[], wanted={w: 0.1 * (i + 1) for i, w in enumerate(words)}, "
        "idf={w: 1.0 / (i + 3) for i, w in enumerate(words)}, mentioned=frozenset()); "
        "print(repr(r.symbol_score(Symbol(text=' '.join(words), name='x', lineno=1))))"
    )
    scores = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(8)
    }
    assert len(scores) == 1, scores
