"""The import-linter contracts in pyproject.toml cover every app of the project.

`lint-imports` (run by scripts/lint) only sees the packages listed in `root_packages`, and a layer
written in parentheses is skipped while its package is not listed there. So an app added to
INSTALLED_APPS but not to the contracts would be silently outside the layers: this test fails
instead, naming the app.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from django.apps import apps

BASE_DIR = Path(__file__).resolve().parent.parent


def project_apps() -> set[str]:
    """Top-level packages of this repository that are installed as Django apps."""
    tops = {config.name.split(".")[0] for config in apps.get_app_configs()}
    return {top for top in tops if (BASE_DIR / top / "__init__.py").is_file()}


def import_linter_config() -> dict:
    with (BASE_DIR / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)["tool"]["importlinter"]


def test_root_packages_are_the_project_apps() -> None:
    assert set(import_linter_config()["root_packages"]) == project_apps()


def test_every_project_app_has_a_layer() -> None:
    (layers,) = [c for c in import_linter_config()["contracts"] if c["type"] == "layers"]
    named = {name.strip("() ") for layer in layers["layers"] for name in re.split(r"[|:]", layer)}
    assert project_apps() - named == set()


def test_every_project_app_is_type_checked_and_packaged() -> None:
    """scripts/lint runs mypy over its APPS list, and the wheel takes the packages pyproject
    includes: a new app must be named in both, as in the contracts."""
    lint = (BASE_DIR / "scripts" / "lint").read_text()
    match = re.search(r"^APPS=\(([^)]*)\)", lint, re.MULTILINE)
    assert match is not None
    with (BASE_DIR / "pyproject.toml").open("rb") as fh:
        include = tomllib.load(fh)["tool"]["setuptools"]["packages"]["find"]["include"]
    assert set(match.group(1).split()) == project_apps()
    assert {pattern.removesuffix("*") for pattern in include} == project_apps()
