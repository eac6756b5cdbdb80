"""Logistics' services import each other in layers, never in a circle: tracking ingestion sits above the intercepts
and the lost-parcel rule, which sit above shipments and the shared helpers. Read from the source (AST), so a
function-level import that would hide a circle from Python is caught too."""

import ast
from pathlib import Path

import logistics

APP = Path(logistics.__file__).parent
PACKAGE = "logistics.services"


def module_name(path: Path) -> str:
    relative = path.relative_to(APP.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(node: ast.AST, current: str) -> set[str]:
    """The logistics modules an import statement names (`from logistics.services import x` counts as the package,
    or as its submodule `x` when there is one)."""
    names = set()
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            base = ".".join(current.split(".")[: -node.level] + ([base] if base else []))
        names = {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] == "logistics"}


def graph():
    """{module: (modules it imports at module level, modules it imports inside functions or classes)}."""
    modules = {module_name(path): path for path in APP.rglob("*.py") if "migrations" not in path.parts}
    edges = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set()
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                top |= imported_modules(node, name)
        nested = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        nested |= imported_modules(inner, name)
        edges[name] = ({m for m in top if m in modules and m != name}, {m for m in nested if m in modules})
    return edges


def services_modules(edges) -> set[str]:
    return {name for name in edges if name.startswith(PACKAGE + ".")}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in the graph as the list of its modules, or None."""
    visiting, done = [], set()

    def visit(node):
        if node in visiting:
            return visiting[visiting.index(node) :] + [node]
        if node in done:
            return None
        visiting.append(node)
        for nxt in sorted(edges.get(node, ())):
            cycle = visit(nxt)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(edges):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def test_the_logistics_services_import_each_other_without_a_circle():
    edges = graph()
    services = services_modules(edges)
    # The submodules among themselves (the package's __init__ only gathers them), plus what they lean on in
    # logistics: the selectors, the locks and the tasks must not lead back into a service either.
    layer = services | {"logistics.selectors", "logistics.lock_objects", "logistics.tasks", "logistics.models"}
    # An import inside a function still makes the circle, only later: both kinds count.
    within = {
        name: {m for m in edges[name][0] | edges[name][1] if m in layer and m != PACKAGE}
        for name in layer
        if name in edges
    }

    assert find_cycle(within) is None
    assert {"logistics.services.tracking", "logistics.services.intercepts", "logistics.services.lost"} <= services


def test_no_service_imports_logistics_code_inside_a_function():
    edges = graph()

    nested = {name: sorted(edges[name][1]) for name in services_modules(edges) | {PACKAGE} if edges[name][1]}

    assert nested == {}


def test_tracking_ingestion_sits_above_the_intercepts_and_the_lost_parcel_rule():
    edges = graph()
    top = {name: edges[name][0] for name in edges}

    assert {"logistics.services.intercepts", "logistics.services.lost"} <= top["logistics.services.tracking"]
    for below in ("shipments", "intercepts", "lost", "claims", "common"):
        assert "logistics.services.tracking" not in top[f"{PACKAGE}.{below}"]
    assert "logistics.services.intercepts" not in top[f"{PACKAGE}.shipments"]
    assert "logistics.services.lost" not in top[f"{PACKAGE}.intercepts"]


def test_the_cycle_finder_finds_a_circle():
    """The check above is only worth something if a circle would be found: a → b → c → a is."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
