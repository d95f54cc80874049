"""Debian's Chromium for the browser tests, and where their screenshots go (test-artifacts/, gitignored)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("CDR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Headless has no user gesture to unlock audio; the test starts playback from script.
    "--autoplay-policy=no-user-gesture-required",
]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def docs_shot(page, name: str, *, full_page: bool = False) -> None:
    """With CDR_SCREENSHOTS=1, a screenshot for the docs (docs/screenshots/<name>.png, committed)."""
    if os.environ.get("CDR_SCREENSHOTS") != "1":
        return
    DOCS_SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=full_page)
