"""How tests treat a missing real server: skip locally, fail loudly in CI (CI=true)."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str, how_to_get_it: str) -> None:
    if available:
        return
    message = f"{what} is not available. {how_to_get_it}"
    if in_ci():
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)
