"""The apps stand on each other one way (DESIGN §2), read from the source's import statements, lazy ones included.

- The ground floor (`desk`) imports only Django, DRF, Celery and the like, itself, and the core models
  (`aftersales.models`): never an app's services, selectors, admin, API or tasks.
- The layers: desk < aftersales < logistics, warehouse < metrics < config. A module imports its own app and the
  layers below it only: aftersales imports none of logistics, warehouse or metrics (not even inside a function; the
  other apps plug into it at start-up through registries: ticket_actions.register, ticket_links.register,
  desk.sweeps.register_sweep_step), logistics and warehouse import neither each other nor metrics, no app imports
  config.
- The other apps use aftersales through its public doors: the package `aftersales.services` (its re-exported names),
  its models and selectors, the ground floor. They never import a module inside `aftersales.services` (tickets,
  sweeps, …), nor `aftersales.tasks` or `aftersales.api`; config's router alone imports the API views it routes.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"desk": 0, "aftersales": 1, "logistics": 2, "warehouse": 2, "marketplaces": 2, "metrics": 3, "config": 4}
OURS = {path.parent.name for path in ROOT.glob("*/__init__.py")}
FLOOR_MAY_IMPORT = ("desk", "aftersales.models")
# Only the URL wiring imports an app's API views, to route them.
ROUTERS = {"config.api", "config.urls"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imported_modules(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """Every module of ours that `source` imports, with its line: `import a.b`, `from a import b` (b when it is a
    module, else a), relative imports resolved, wherever the statement stands (a function's body included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*package, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule if is_module(submodule) else base, node.lineno))
    return [(name, line) for name, line in dict.fromkeys(found) if name.split(".")[0] in OURS]


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(module: str, imports: list[tuple[str, int]]) -> list[str]:
    app = module.split(".")[0]
    found = []
    for name, line in imports:
        target = name.split(".")[0]
        where = f"{module}:{line} imports {name}"
        if target not in LAYERS:
            found.append(f"{where}: not an app")
        elif target != app and LAYERS[target] >= LAYERS[app] and app != "desk":
            found.append(f"{where}: {target} is not below {app}")
        if app == "desk" and not any(within(name, allowed) for allowed in FLOOR_MAY_IMPORT):
            found.append(f"{where}: the ground floor imports only Django and the core models")
        if app != "aftersales":
            if name.startswith("aftersales.services."):
                found.append(f"{where}: use the public names of aftersales.services")
            if within(name, "aftersales.tasks"):
                found.append(f"{where}: aftersales.tasks is the core's own")
            if within(name, "aftersales.api") and module not in ROUTERS:
                found.append(f"{where}: the API base classes are desk.api's")
    return found


def app_modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            yield module_name(path), path


def test_the_checker_sees_what_it_must_refuse():
    """Each rule, broken once in a made-up module, is reported; the allowed imports are not."""
    lazy_ticket_service = "def f():\n    from aftersales.services.tickets import require_in_shop\n"
    assert violations("logistics.x", imported_modules(lazy_ticket_service, "logistics.x")) == [
        "logistics.x:2 imports aftersales.services.tickets: use the public names of aftersales.services"
    ]
    assert violations("warehouse.x", imported_modules("from aftersales import tasks\n", "warehouse.x")) == [
        "warehouse.x:1 imports aftersales.tasks: aftersales.tasks is the core's own"
    ]
    assert violations("metrics.x", imported_modules("import aftersales.api.views\n", "metrics.x")) == [
        "metrics.x:1 imports aftersales.api.views: the API base classes are desk.api's"
    ]
    assert violations("aftersales.x", imported_modules("def f():\n    import logistics.models\n", "aftersales.x")) == [
        "aftersales.x:2 imports logistics.models: logistics is not below aftersales"
    ]
    assert violations("logistics.x", imported_modules("from warehouse import services\n", "logistics.x")) == [
        "logistics.x:1 imports warehouse.services: warehouse is not below logistics"
    ]
    assert violations("desk.x", imported_modules("from aftersales.selectors import system_user\n", "desk.x")) == [
        "desk.x:1 imports aftersales.selectors: the ground floor imports only Django and the core models"
    ]
    assert violations("desk.api.x", imported_modules("from ..access import WORK\n", "desk.api.x")) == []
    allowed = "from aftersales import services\nfrom aftersales.services import ticket_open\nimport django.db\n"
    assert violations("logistics.x", imported_modules(allowed, "logistics.x")) == []
    assert (
        violations("config.api", imported_modules("from aftersales.api.views import TicketViewSet\n", "config.api"))
        == []
    )


@pytest.mark.parametrize("app", list(LAYERS))
def test_every_module_of_the_app_imports_only_what_its_layer_may(app):
    found = []
    checked = 0
    for module, path in app_modules():
        if module.split(".")[0] != app:
            continue
        checked += 1
        imports = imported_modules(path.read_text(), module, is_package=path.name == "__init__.py")
        found += violations(module, imports)

    assert checked > 3
    assert found == []
