"""The layers of docs/DEVELOPING.md, checked from the imports: blueprints -> services -> models, never back.

A newcomer learns the rule from the guide; this test keeps the code and the guide the same picture.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reportkit"
BLUEPRINTS = ("auth", "cases", "dossiers", "entries", "evidence", "health", "imports", "policies", "reviews")
WEB = ("reportkit.forms", "reportkit.downloads", "reportkit.errors", "reportkit.api") + tuple(
    f"reportkit.{name}" for name in BLUEPRINTS)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the reportkit modules a file imports, wherever in the file (lazy imports count too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("reportkit"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import views`
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("reportkit"))
    return found


def _files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


def _offending(files: list[Path], forbidden: tuple[str, ...], allowed=()) -> list[str]:
    bad = []
    for path in files:
        for target in sorted(_imports(path)):
            if any(target == f or target.startswith(f + ".") for f in forbidden) and target not in allowed:
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {target}")
    return bad


def test_models_import_no_services_and_no_web_layer():
    assert _offending(_files("models"), ("reportkit.services",) + WEB) == []


def test_services_import_no_blueprint_api_or_web_helper():
    assert _offending(_files("services"), WEB) == []


def test_the_api_imports_no_view_module():
    views = tuple(f"reportkit.{name}.views" for name in BLUEPRINTS) + tuple(
        f"reportkit.{name}.page" for name in BLUEPRINTS)
    assert _offending(_files("api"), views) == []


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_a_blueprint_imports_no_other_blueprints_views(blueprint):
    others = tuple(f"reportkit.{name}.views" for name in BLUEPRINTS if name != blueprint)
    assert _offending(_files(blueprint), others) == []


def test_the_checker_sees_relative_imports():
    """The rules above are only as good as the import reader: it must resolve `from ..x import y`."""
    found = _imports(PACKAGE / "api" / "evidence.py")
    assert "reportkit.services.storage" in found and "reportkit.api.base" in found
