"""Fixtures of the runtime conformance suite: ``harness`` runs every test once per runtime.

Every runtime listed in ``RUNTIMES`` must pass every test in this directory, except that tests
of real command execution run only over ``COMMAND_RUNTIMES`` (the fake executes no argv) —
they are never collected for the fake rather than skipped, as CI treats a skip as a failure.
Teardown removes every service and kills anything left behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from runtime_harness import HARNESSES, Harness

RUNTIMES = ["fake", "process", "docker"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=RUNTIMES)
async def harness(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> AsyncIterator[Harness]:
    if request.param == "docker":
        request.getfixturevalue("docker_engine")  # dockerd up, base images built
    built = HARNESSES[request.param](tmp_path)
    try:
        yield built
    finally:
        await built.close()
