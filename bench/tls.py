"""TLS benchmark: how fast a custom domain gets a working certificate, on the real stack.

Run from the repository root: ``python -m bench.tls [--rounds N]``. Starts pebble-challtestsrv
(DNS), Pebble (ACME, ``PEBBLE_VA_NOSLEEP=1``) and a real ``kubidu server`` (Caddy edge,
SQLite), deploys a small app, then measures per round:

* ``records_to_https_s``: the domain is added first (pending); from the moment its DNS records
  exist until the first successful ``curl --cacert <Pebble root> https://HOST/``;
* ``add_to_https_s``: the records exist first; from ``kubidu domains add`` until that request.

Prints one JSON object with every sample and their medians. Goal: ≤ 5 s each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from tests.helpers.acme_env import AcmeStack, acme_stack
from tests.helpers.wait import wait_for


def _https_ok(stack: AcmeStack, hostname: str) -> bool:
    return stack.curl_https(hostname).returncode == 0


def _records_first(stack: AcmeStack, app: object, hostname: str) -> float:
    added = stack.server.cli_json("domains", "add", hostname, cwd=app)  # type: ignore[arg-type]
    start = time.monotonic()
    stack.create_records(added)
    wait_for(lambda: _https_ok(stack, hostname), 120, interval=0.1, what=hostname)
    return time.monotonic() - start


def _add_first(stack: AcmeStack, app: object, hostname: str, target: str) -> float:
    # The TXT value is only known after add, so publish a CNAME first and the TXT right after
    # the add returns: from add to HTTPS is what a user with DNS already pointed waits.
    stack.dns.set_cname(hostname, target)
    start = time.monotonic()
    added = stack.server.cli_json("domains", "add", hostname, cwd=app)  # type: ignore[arg-type]
    stack.create_records(added)
    wait_for(lambda: _https_ok(stack, hostname), 120, interval=0.1, what=hostname)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with acme_stack() as stack:
        app, generated = stack.deploy_app("bench")
        records = [_records_first(stack, app, f"r{i}.bench.test") for i in range(args.rounds)]
        adds = [_add_first(stack, app, f"a{i}.bench.test", generated) for i in range(args.rounds)]
    result = {
        "benchmark": "tls",
        "rounds": args.rounds,
        "records_to_https_s": [round(x, 3) for x in records],
        "records_to_https_median_s": round(statistics.median(records), 3),
        "add_to_https_s": [round(x, 3) for x in adds],
        "add_to_https_median_s": round(statistics.median(adds), 3),
        "goal_s": 5.0,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
