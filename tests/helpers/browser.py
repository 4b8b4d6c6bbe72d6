"""Launch options for Debian's Chromium under Playwright.

Playwright's own browser download is not used (no network): tests launch the system
Chromium found by the ``chromium_path`` fixture, e.g.::

    browser = playwright.chromium.launch(executable_path=chromium_path, args=chromium_args())

The flags keep Chromium from reaching out to Google services, which this machine's closed
network refuses, and drop the sandbox, which cannot start when running as root.
"""

from __future__ import annotations

import os

_QUIET_FLAGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium_args() -> list[str]:
    """Command-line flags for a headless test Chromium."""
    args = list(_QUIET_FLAGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return args
