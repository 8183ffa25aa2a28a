"""Headless Chromium for tests that load a page as a reader would.

The test command installs nothing outside the virtual environment: Chromium is a system
package that CI (`.ci/run`) installs, visibly, before the tests. Where it is missing, a test
that needs it fails naming how to install it; it is never skipped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    found = next((shutil.which(n) for n in NAMES if shutil.which(n)), None)
    if not found:
        pytest.fail(
            f"this test loads report.html in headless Chromium, and none of "
            f"{', '.join(NAMES)} is on PATH: install the system package chromium (the README "
            f"says how; .ci/run does this before the tests)"
        )
    return found


def _run(*args: str) -> str:
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def dump_dom(page: Path) -> str:
    """The page's DOM after it loaded and its scripts ran."""
    return _run("--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri())


def screenshot(page: Path, png: Path, width: int = 1400, height: int = 5000) -> None:
    _run(
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        page.resolve().as_uri(),
    )
