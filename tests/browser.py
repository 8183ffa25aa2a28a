"""Headless Chromium for tests that load a page as a reader would.

The test command installs nothing outside pip, so the first test that needs Chromium installs
the Debian package `chromium` when it is missing and this is a Debian machine run as root (as
on CI); elsewhere it fails naming the package to install. It is never skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    found = next((shutil.which(n) for n in NAMES if shutil.which(n)), None)
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
        found = next((shutil.which(n) for n in NAMES if shutil.which(n)), None)
    if not found:
        pytest.fail(
            "this test loads a page in headless Chromium: install it "
            "(Debian: apt-get install chromium)"
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
