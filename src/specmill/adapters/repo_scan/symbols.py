"""Read one Python module's shape with `ast`: signatures for the brief, facts for the detectors."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import NamedTuple

from specmill.adapters.repo_scan.words import term_set

DETECTED_CALLS = frozenset(
    {
        "FastAPI",
        "APIRouter",
        "include_router",
        "Typer",
        "add_typer",
        "add_command",
        "DBOS",
        "launch",
        "Depends",
        "SettingsConfigDict",
        "TestClient",
        "CliRunner",
        "Queue",
    }
)
"""Calls the convention detectors look for; any other call is ignored to keep facts small."""
NOTABLE_NAMES = frozenset({"TestClient", "AsyncClient", "CliRunner", "pytest_plugins", "dependency_overrides"})
"""Names the detectors ask about; every other name is kept only as ranking words, to keep the index small."""
MAX_METHODS = 25
_CALL_HINT = re.compile(r"\b(?:" + "|".join(sorted(DETECTED_CALLS)) + r")\s*\(")


class Symbol(NamedTuple):
    """One line of the brief: a signature, a class, its fields, or a notable module-level object.

    This and the other small records are NamedTuples, not dataclasses: a warm scan of a large
    tree rebuilds some 100,000 of them from the index, and a tuple is built several times faster.
    """

    text: str
    name: str
    lineno: int
    parent: str = ""
    kind: str = ""
    """'class', 'def', 'fields' or 'value': with equal relevance, a class says more than a constant."""


class CallSite(NamedTuple):
    func: str
    text: str
    target: str = ""


class DecoratorUse(NamedTuple):
    func: str
    text: str
    target: str


class ClassInfo(NamedTuple):
    name: str
    bases: tuple[str, ...]
    config: str = ""


@dataclass(frozen=True)
class PyFacts:
    docstring: str
    imports: tuple[str, ...]
    symbols: tuple[Symbol, ...]
    calls: tuple[CallSite, ...]
    decorators: tuple[DecoratorUse, ...]
    classes: tuple[ClassInfo, ...]
    aliases: tuple[tuple[str, str], ...]
    identifiers: frozenset[str]
    words: frozenset[str] = frozenset()
    """Every term of the source text (see `words.term_set`): what ranking matches the spec's words against."""
    signature_words: frozenset[str] = frozenset()
    """The terms of the docstring and the symbol lines, which say more about the file than its body does."""

    def calls_to(self, name: str) -> list[CallSite]:
        return [c for c in self.calls if c.func.rsplit(".", 1)[-1] == name]


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dotted(node: ast.AST) -> str:
    """`a.b.c` for Name/Attribute chains; the callee for calls; '' otherwise."""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else node.attr
    return ""


def first_line(node: ast.AST) -> str:
    if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return ""
    doc = ast.get_docstring(node) or ""
    for line in doc.splitlines():
        if line.strip():
            return shorten(line.strip(), 100)
    return ""


def _with_doc(code: str, node: ast.AST) -> str:
    doc = first_line(node)
    return f"`{code}` - {doc}" if doc else f"`{code}`"


MAX_DECORATORS = 3
"""A Click command can carry a dozen `@click.option`s; the first few say what it is."""


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    shown = "".join(f"@{shorten(ast.unparse(d), 80)} " for d in node.decorator_list[:MAX_DECORATORS])
    more = len(node.decorator_list) - MAX_DECORATORS
    return shown + (f"(+{more} decorators) " if more > 0 else "")


def signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    text = f"{prefix} {node.name}({shorten(ast.unparse(node.args), 140)})"
    if node.returns is not None:
        text += f" -> {shorten(ast.unparse(node.returns), 60)}"
    return _decorators(node) + text


def _class_symbols(node: ast.ClassDef) -> list[Symbol]:
    heads = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    code = f"{_decorators(node)}class {node.name}" + (f"({shorten(', '.join(heads), 120)})" if heads else "")
    out = [Symbol(_with_doc(code, node), node.name, node.lineno, kind="class")]
    fields: list[str] = []
    methods = 0
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            default = f" = {shorten(ast.unparse(item.value), 30)}" if item.value is not None else ""
            fields.append(f"{item.target.id}: {shorten(ast.unparse(item.annotation), 40)}{default}")
        elif isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name):
            name = item.targets[0].id
            if not name.startswith("__") and name != "model_config":
                fields.append(f"{name} = {shorten(ast.unparse(item.value), 40)}")
        elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and methods < MAX_METHODS:
            if not item.name.startswith("_") or item.name in ("__init__", "__call__"):
                methods += 1
                out.append(Symbol(_with_doc(signature(item), item), item.name, item.lineno, node.name, "def"))
    if fields:
        out.insert(1, Symbol(f"fields: `{shorten('; '.join(fields), 200)}`", "", node.lineno, node.name, "fields"))
    return out


def _is_notable_value(value: ast.AST) -> bool:
    """Module-level objects worth a line: instances (`router = APIRouter()`) and Annotated aliases."""
    if isinstance(value, ast.Call):
        callee = dotted(value.func).rsplit(".", 1)[-1]
        return callee[:1].isupper()
    return isinstance(value, ast.Subscript) and dotted(value.value).endswith("Annotated")


def _top_level_symbols(tree: ast.Module) -> list[Symbol]:
    out: list[Symbol] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append(Symbol(_with_doc(signature(node), node), node.name, node.lineno, kind="def"))
        elif isinstance(node, ast.ClassDef):
            out.extend(_class_symbols(node))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and _is_notable_value(node.value):
                name = targets[0].id
                text = f"`{name} = {shorten(ast.unparse(node.value), 100)}`"
                out.append(Symbol(text, name, node.lineno, kind="value"))
    return out


def _class_config(node: ast.ClassDef) -> str:
    for item in node.body:
        if isinstance(item, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "model_config" for t in item.targets
        ):
            return shorten(ast.unparse(item.value), 120)
        if isinstance(item, ast.ClassDef) and item.name == "Config":
            return shorten("; ".join(ast.unparse(s) for s in item.body if isinstance(s, ast.Assign)), 120)
    return ""


def _from_base(node: ast.ImportFrom, package: list[str]) -> str:
    if not node.level:
        return node.module or ""
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join(base + ([node.module] if node.module else []))


def _statements(tree: ast.Module) -> list[ast.stmt]:
    """Every statement, nested ones included, without descending into expressions (most of a tree's nodes)."""
    found: list[ast.stmt] = []
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        found.append(node)
        nested: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list):
                nested.extend(v for v in value if isinstance(v, ast.stmt))
        for holder in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):
            nested.extend(holder.body)
        stack.extend(reversed(nested))
    return found


def _calls(tree: ast.Module, targets: dict[int, str]) -> list[CallSite]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = dotted(node.func)
            if func.rsplit(".", 1)[-1] in DETECTED_CALLS:
                site = CallSite(func, shorten(ast.unparse(node), 120), targets.get(id(node), ""))
                found.append((node.lineno, node.col_offset, site))
    return [site for *_, site in sorted(found, key=lambda c: c[:2])]


def _names_a_detected_call(source: str) -> bool:
    """Substring tests first: most files name none of the calls, and `in` is far cheaper than the regex."""
    return any(name in source for name in DETECTED_CALLS) and _CALL_HINT.search(source) is not None


def parse_module(source: str, module: str, is_package: bool = False) -> PyFacts:
    """Facts about `source`; raises SyntaxError or ValueError when it does not parse.

    Only statements are visited; calls are looked for only when the text names one of
    DETECTED_CALLS; words come from the text with one regex. Together that makes parsing
    about three times faster than visiting every node, which matters on a cold scan.
    """
    tree = ast.parse(source)
    targets: dict[int, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if names:
                targets[id(node.value)] = names[0]
    package = module.split(".") if is_package else module.split(".")[:-1]
    imports: set[str] = set()
    decorators: list[tuple[int, int, DecoratorUse]] = []
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, package)
            if base:
                imports.add(base)
            imports.update(f"{base}.{a.name}".lstrip(".") for a in node.names if a.name != "*")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for d in node.decorator_list:
                decorators.append(
                    (d.lineno, d.col_offset, DecoratorUse(dotted(d), "@" + shorten(ast.unparse(d), 80), node.name))
                )
    classes = [
        ClassInfo(n.name, tuple(dotted(b) or ast.unparse(b) for b in n.bases), _class_config(n))
        for n in tree.body
        if isinstance(n, ast.ClassDef)
    ]
    aliases = [
        (n.targets[0].id, shorten(ast.unparse(n.value), 100))
        for n in tree.body
        if isinstance(n, ast.Assign)
        and len(n.targets) == 1
        and isinstance(n.targets[0], ast.Name)
        and isinstance(n.value, ast.Subscript)
        and dotted(n.value.value).endswith("Annotated")
    ]
    symbols = tuple(_top_level_symbols(tree))
    docstring = first_line(tree)
    return PyFacts(
        docstring=docstring,
        imports=tuple(sorted(imports)),
        symbols=symbols,
        calls=tuple(_calls(tree, targets)) if _names_a_detected_call(source) else (),
        decorators=tuple(use for *_, use in sorted(decorators, key=lambda d: d[:2])),
        classes=tuple(classes),
        aliases=tuple(aliases),
        identifiers=frozenset(n for n in NOTABLE_NAMES if n in source and re.search(rf"\b{n}\b", source)),
        words=term_set(source),
        signature_words=term_set("\n".join([docstring, *(s.text for s in symbols)])),
    )
