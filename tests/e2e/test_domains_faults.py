"""Custom domains under ACME faults, with a real Pebble, real DNS and the real edge.

Aspects checked:
* Pebble rejecting 20 % of nonces (``PEBBLE_WFE_NONCEREJECT=20``) and sleeping up to 3 s before
  each validation still brings a domain to ``active`` with a certificate curl trusts;
* with Pebble down, a verified domain shows ``failed`` with the CA's error as the reason; when
  Pebble comes back the domain becomes ``active`` by itself (no user action), and serves HTTPS.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.acme_env import AcmeStack, acme_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def stack() -> Iterator[AcmeStack]:
    env = {"PEBBLE_WFE_NONCEREJECT": "20", "PEBBLE_VA_NOSLEEP": "0", "PEBBLE_VA_SLEEPTIME": "3"}
    with acme_stack(pebble_env=env) as running:
        yield running


def test_bad_nonces_and_slow_validation_still_reach_active(stack: AcmeStack) -> None:
    app, _ = stack.deploy_app("slow")
    added = stack.server.cli_json("domains", "add", "slow.example.net", cwd=app)
    stack.create_records(added)
    stack.wait_status(app, "slow.example.net", "active", timeout=90)
    result = stack.curl_https("slow.example.net")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("v1 ")


@pytest.fixture(scope="module")
def plain_stack() -> Iterator[AcmeStack]:
    # A well-behaved Pebble: recovery then depends only on Caddy's own retry (a minute), not on
    # injected nonce failures pushing the order to Caddy's next, longer backoff step.
    with acme_stack() as running:
        yield running


def test_ca_down_shows_failure_and_recovers_by_itself(plain_stack: AcmeStack) -> None:
    stack = plain_stack
    app, _ = stack.deploy_app("down")
    stack.pebble.stop()
    try:
        added = stack.server.cli_json("domains", "add", "down.example.net", cwd=app)
        stack.create_records(added)
        failed = stack.wait_status(app, "down.example.net", "failed", timeout=60)
        assert "connection refused" in str(failed["reason"])
    finally:
        stack.pebble.start()
    # Caddy retries the order on its own schedule (a minute after the first failure).
    stack.wait_status(app, "down.example.net", "active", timeout=200)
    result = stack.curl_https("down.example.net")
    assert result.returncode == 0, result.stderr
