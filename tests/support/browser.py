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
