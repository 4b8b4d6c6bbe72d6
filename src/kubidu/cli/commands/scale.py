"""`kubidu scale [SERVICE=N] [--cpu CPUS] [--memory SIZE]`: replicas and limits of a service.

Registered on the root app by `kubidu.cli.main`. PATCHes the service through the API; the
server's reconciler applies the change to the running replicas within seconds (limits are
enforced by runtimes that support them, e.g. docker). SERVICE defaults to the linked service;
it must belong to the linked project and environment.
"""

import re
from dataclasses import replace
from typing import Annotated, Any

import typer

from kubidu.cli import output
from kubidu.cli.client import service_path
from kubidu.cli.context import linked, open_client, wants_json
from kubidu.cli.errors import UsageError

_SIZE = re.compile(r"^(\d+)\s*([kmg]i?b?|b)?$", re.IGNORECASE)
_UNIT_MB = {"": 1 / (1 << 20), "b": 1 / (1 << 20), "k": 1 / 1024, "m": 1, "g": 1024}


def scale(
    ctx: typer.Context,
    replicas: Annotated[
        str | None, typer.Argument(help="SERVICE=N (e.g. web=2), or just N for the linked one.")
    ] = None,
    cpu: Annotated[float | None, typer.Option("--cpu", help="CPU limit, in CPUs (0.5).")] = None,
    memory: Annotated[
        str | None, typer.Option("--memory", help="Memory limit: 256M, 1G, or MB as a number.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the service as JSON.")] = False,
) -> None:
    """Set how many replicas a service runs and its CPU/memory limits."""
    target = linked()
    service, count = parse_scale(replicas, default_service=target.service)
    body: dict[str, Any] = {"replicas": count, "cpu": cpu, "memory_mb": parse_memory(memory)}
    body = {k: v for k, v in body.items() if v is not None}
    if not body:
        raise UsageError("nothing to change: give SERVICE=N, --cpu or --memory")
    with open_client(ctx) as client:
        result = client.request("PATCH", service_path(replace(target, service=service)), json=body)
    if wants_json(ctx, as_json):
        output.print_json(result)
        return
    limits = f"cpu {result.get('cpu_limit') or 'unlimited'}, memory " + (
        f"{result['memory_limit_mb']} MB" if result.get("memory_limit_mb") else "unlimited"
    )
    typer.echo(f"{result['name']}: {result['replicas']} replica(s), {limits}")


def parse_scale(text: str | None, *, default_service: str) -> tuple[str, int | None]:
    """``web=2`` → (web, 2); ``2`` → (linked service, 2); nothing → (linked service, None)."""
    if text is None:
        return default_service, None
    name, sep, number = text.rpartition("=")
    if not number.isdigit() or (sep and not name):
        raise UsageError(f"invalid scale {text!r}: expected SERVICE=N, e.g. web=2")
    return (name if sep else default_service), int(number)


def parse_memory(text: str | None) -> int | None:
    """``256M`` / ``1G`` / ``512Mi`` / ``300`` (MB) → whole megabytes."""
    if text is None:
        return None
    match = _SIZE.match(text.strip())
    if not match:
        raise UsageError(f"invalid memory size {text!r}: use e.g. 256M or 1G")
    unit = (match.group(2) or "m").lower()[0]
    megabytes = int(int(match.group(1)) * _UNIT_MB[unit if match.group(2) else "m"])
    if megabytes < 1:
        raise UsageError(f"memory size {text!r} is below one megabyte")
    return megabytes


def register(app: typer.Typer) -> None:
    """Add `scale` to the root app."""
    app.command()(scale)
