"""Read one Python module's shape with `ast`: signatures for the brief, facts for the detectors."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

DETECTED_CALLS = frozenset(
    {
        "FastAPI", "APIRouter", "include_router", "Typer", "add_typer", "add_command", "DBOS", "launch",
        "Depends", "SettingsConfigDict", "TestClient", "CliRunner", "Queue",
    }
)
"""Calls the convention detectors look for; any other call is ignored to keep facts small."""
MAX_METHODS = 25
MAX_CONSTANT_LEN = 60


@dataclass(frozen=True)
class Symbol:
    """One line of the brief: a signature, a class, its fields, or a notable module-level object."""

    text: str
    name: str
    lineno: int
    parent: str = ""


@dataclass(frozen=True)
class CallSite:
    func: str
    text: str
    target: str = ""


@dataclass(frozen=True)
class DecoratorUse:
    func: str
    text: str
    target: str


@dataclass(frozen=True)
class ClassInfo:
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


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    return "".join(f"@{shorten(ast.unparse(d), 80)} " for d in node.decorator_list)


def signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    text = f"{prefix} {node.name}({shorten(ast.unparse(node.args), 140)})"
    if node.returns is not None:
        text += f" -> {shorten(ast.unparse(node.returns), 60)}"
    return _decorators(node) + text


def _class_symbols(node: ast.ClassDef) -> list[Symbol]:
    heads = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    code = f"{_decorators(node)}class {node.name}" + (f"({shorten(', '.join(heads), 120)})" if heads else "")
    out = [Symbol(_with_doc(code, node), node.name, node.lineno)]
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
                out.append(Symbol(_with_doc(signature(item), item), item.name, item.lineno, node.name))
    if fields:
        out.insert(1, Symbol(f"fields: `{shorten('; '.join(fields), 200)}`", "", node.lineno, node.name))
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
            out.append(Symbol(_with_doc(signature(node), node), node.name, node.lineno))
        elif isinstance(node, ast.ClassDef):
            out.extend(_class_symbols(node))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and _is_notable_value(node.value):
                name = targets[0].id
                out.append(Symbol(f"`{name} = {shorten(ast.unparse(node.value), 100)}`", name, node.lineno))
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


def _children(node: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, ast.AST))
    return found


def _from_base(node: ast.ImportFrom, package: list[str]) -> str:
    if not node.level:
        return node.module or ""
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join(base + ([node.module] if node.module else []))


@dataclass
class _Walk:
    """Everything gathered in the one pass over a module's nodes (walking is most of the parse cost)."""

    imports: set[str] = field(default_factory=set)
    calls: list[tuple[int, int, CallSite]] = field(default_factory=list)
    decorators: list[tuple[int, int, DecoratorUse]] = field(default_factory=list)
    identifiers: set[str] = field(default_factory=set)


def _walk(tree: ast.Module, package: list[str], targets: dict[int, str]) -> _Walk:
    seen = _Walk()
    names = seen.identifiers
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        stack.extend(_children(node))
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str) and len(node.value) <= MAX_CONSTANT_LEN:
                names.add(node.value)
        elif isinstance(node, ast.Call):
            func = dotted(node.func)
            if func.rsplit(".", 1)[-1] in DETECTED_CALLS:
                site = CallSite(func, shorten(ast.unparse(node), 120), targets.get(id(node), ""))
                seen.calls.append((node.lineno, node.col_offset, site))
        elif isinstance(node, (ast.arg, ast.keyword)):
            if node.arg:
                names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            for d in node.decorator_list:
                use = DecoratorUse(dotted(d), "@" + shorten(ast.unparse(d), 80), node.name)
                seen.decorators.append((d.lineno, d.col_offset, use))
        elif isinstance(node, ast.Import):
            seen.imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, package)
            if base:
                seen.imports.add(base)
            seen.imports.update(f"{base}.{a.name}".lstrip(".") for a in node.names if a.name != "*")
    return seen


def parse_module(source: str, module: str, is_package: bool = False) -> PyFacts:
    """Facts about `source`; raises SyntaxError or ValueError when it does not parse."""
    tree = ast.parse(source)
    targets: dict[int, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if names:
                targets[id(node.value)] = names[0]
    package = module.split(".") if is_package else module.split(".")[:-1]
    seen = _walk(tree, package, targets)
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
    return PyFacts(
        docstring=first_line(tree),
        imports=tuple(sorted(seen.imports)),
        symbols=tuple(_top_level_symbols(tree)),
        calls=tuple(site for *_, site in sorted(seen.calls, key=lambda c: c[:2])),
        decorators=tuple(use for *_, use in sorted(seen.decorators, key=lambda d: d[:2])),
        classes=tuple(classes),
        aliases=tuple(aliases),
        identifiers=frozenset(seen.identifiers),
    )
