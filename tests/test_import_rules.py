"""The import rules of docs/architecture.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("mynacard", "hub", "field_unit", "hospital_portal")
HUB_PUBLIC = {"hub", "hub.contract", "hub.client", "hub.documents"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_pyscard_only_in_pcsc_module(package: str) -> None:
    for path in sources(package):
        if path == REPO / "mynacard" / "pcsc.py":
            continue
        offenders = {name for name in imported_modules(path) if name.split(".")[0] == "smartcard"}
        assert not offenders, f"{path.relative_to(REPO)} imports pyscard: {offenders}"


def test_mynacard_imports_no_app() -> None:
    for path in sources("mynacard"):
        roots = {name.split(".")[0] for name in imported_modules(path)}
        forbidden = roots & {"flask", "hub", "field_unit", "hospital_portal", "sqlalchemy"}
        assert not forbidden, f"{path.relative_to(REPO)} imports {forbidden}"


def test_hub_imports_no_other_app() -> None:
    for path in sources("hub"):
        roots = {name.split(".")[0] for name in imported_modules(path)}
        assert not roots & {"field_unit", "hospital_portal"}, f"{path.relative_to(REPO)} imports an app"


def test_contract_is_pure_data() -> None:
    roots = {name.split(".")[0] for name in imported_modules(REPO / "hub" / "contract.py")}
    assert not roots & {"flask", "sqlalchemy", "flask_sqlalchemy", "requests"}


@pytest.mark.parametrize("package", ["field_unit", "hospital_portal"])
def test_apps_use_only_hub_contract_and_client(package: str) -> None:
    for path in sources(package):
        hub_imports = {name for name in imported_modules(path) if name.split(".")[0] == "hub"}
        private = {name for name in hub_imports if name not in HUB_PUBLIC and not name.startswith("hub.documents.")}
        assert not private, f"{path.relative_to(REPO)} imports {private}"


def test_documents_are_pure_rendering() -> None:
    for path in sources("hub/documents"):
        roots = {name.split(".")[0] for name in imported_modules(path)}
        assert not roots & {"flask", "sqlalchemy", "flask_sqlalchemy", "requests"}, path
        hub_modules = {name for name in imported_modules(path) if name.split(".")[0] == "hub"}
        assert all(name in HUB_PUBLIC or name.startswith("hub.documents") for name in hub_modules), path


@pytest.mark.parametrize("package", ["field_unit", "hospital_portal"])
def test_apps_do_not_import_each_other(package: str) -> None:
    other = {"field_unit", "hospital_portal"} - {package}
    for path in sources(package):
        roots = {name.split(".")[0] for name in imported_modules(path)}
        assert not roots & other, f"{path.relative_to(REPO)} imports {roots & other}"
