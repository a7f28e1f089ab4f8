"""How tests treat a missing real server: skip locally, fail loudly in CI (CI=true)."""

from __future__ import annotations

import os
import signal
import subprocess

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


def terminate(process: subprocess.Popen[bytes], *, timeout: float = 10) -> None:
    """Stop a server this test run started (by its PID): SIGTERM, then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
