"""The layers, read from the code's own imports.

    schemas           document types, enums, vocabulary, the error catalogue
    sync              the replication engine (and its CouchDB HTTP edge): no domain, no environment
    server.core       settings, clock, areas, accounts, access, hooks, the store's tables
    server.services   records, calendar, geo, ledger index, quarantine, tokens, devices, audit
    interfaces        server.interfaces (CouchDB HTTP wiring, ledger web, geo API, CLI), mobile_api
    application       server (create_app), server.__main__, server.serving

A module imports only from its own layer or below; the two interface packages do not import each
other; no two modules import each other, directly or round a circle; an import inside a function
says why in a comment (on its line or the line above).
"""
from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "sync", "server", "mobile_api")
LAYERS = [  # (prefix, layer); the longest matching prefix wins
    ("schemas", 0),
    ("sync", 1),
    ("server.core", 2),
    ("server.services", 3),
    ("server.interfaces", 4),
    ("mobile_api", 4),
    ("server", 5),
]
INTERFACE_PACKAGES = ("server.interfaces", "mobile_api")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if rel.parts[:2] == ("server", "migrations"):
                continue  # Alembic's scripts: loaded by path, frozen in time
            name = ".".join(rel.with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def layer_of(module: str) -> int:
    best = max((p for p, _ in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return dict(LAYERS)[best]


def _interface_of(module: str) -> str | None:
    return next((p for p in INTERFACE_PACKAGES if module == p or module.startswith(p + ".")), None)


def _target(name: str) -> str | None:
    while name and name not in MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


class _Import:
    def __init__(self, source: str, target: str, line: int, nested: bool, commented: bool):
        self.source, self.target, self.line, self.nested, self.commented = source, target, line, nested, commented

    def __repr__(self):
        return f"{self.source}:{self.line} -> {self.target}"


@functools.cache  # parsed when a test asks (~0.6 s), not by every process that collects this file
def _imports() -> list[_Import]:
    found = []
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        top = {id(node) for node in tree.body}
        for stmt in tree.body:  # `if TYPE_CHECKING:` blocks count as the top level
            if isinstance(stmt, (ast.If, ast.Try)):
                top.update(id(n) for n in ast.walk(stmt))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.module == "__future__":
                    continue
                base = node.module or ""
                if node.level:
                    parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                names = [f"{base}.{a.name}" if _target(f"{base}.{a.name}") == f"{base}.{a.name}" else base
                         for a in node.names]
            else:
                continue
            nested = id(node) not in top
            here = lines[node.lineno - 1]
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            commented = "#" in here or above.startswith("#")
            for name in names:
                target = _target(name)
                if target and target != module:
                    found.append(_Import(module, target, node.lineno, nested, commented))
    return found


def test_every_module_is_in_a_layer():
    assert all(layer_of(m) >= 0 for m in MODULES)
    assert "server.core.settings" in MODULES and "server.services.records" in MODULES


def test_no_module_imports_from_a_layer_above_it():
    upward = [i for i in _imports() if layer_of(i.target) > layer_of(i.source)]
    assert upward == [], "imports that run up a layer:\n" + "\n".join(map(repr, upward))


def test_interfaces_do_not_import_each_other():
    across = [i for i in _imports()
              if _interface_of(i.source) and _interface_of(i.target)
              and _interface_of(i.source) != _interface_of(i.target)]
    assert across == [], "\n".join(map(repr, across))


def _cycles() -> list[list[str]]:
    edges = defaultdict(set)
    for i in _imports():
        # A package's __init__ importing its own submodule (to re-export it) is how packages are
        # built; the submodule importing the package back is the cycle that matters and is kept.
        if i.target.startswith(i.source + "."):
            continue
        edges[i.source].add(i.target)
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_between_modules():
    assert _cycles() == []


def test_function_level_imports_say_why():
    silent = [i for i in _imports() if i.nested and not i.commented]
    assert silent == [], (f"{len(silent)} imports inside functions without a comment saying why:\n"
                          + "\n".join(map(repr, silent)))


@pytest.mark.parametrize("package", ["sync", "schemas"])
def test_the_engine_and_the_schemas_read_no_environment(package):
    readers = [str(p.relative_to(ROOT)) for m, p in MODULES.items()
               if m.split(".")[0] == package and "os.environ" in p.read_text(encoding="utf-8")]
    assert readers == []


def test_configuration_is_read_from_the_environment_in_one_place():
    readers = sorted(str(p.relative_to(ROOT)) for p in MODULES.values()
                     if "os.environ" in p.read_text(encoding="utf-8") or "os.getenv" in p.read_text(encoding="utf-8"))
    assert readers == ["server/core/settings.py"]
