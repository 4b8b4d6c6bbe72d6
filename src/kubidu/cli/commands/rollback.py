"""`kubidu rollback [DEPLOYMENT] [--yes]`: serve an older deployment's release again.

Registered on the root app by `kubidu.cli.main`. Without DEPLOYMENT the server picks the
previous successful deployment. Asks for confirmation unless `--yes` (and refuses to guess
when there is no terminal to ask on). Then follows the switch like `kubidu deploy` does.
"""

import sys
from typing import Annotated

import typer

from kubidu.cli import output
from kubidu.cli.client import service_path
from kubidu.cli.commands.deploy import finish
from kubidu.cli.commands.logstream import stream_build_log
from kubidu.cli.context import linked, open_client, wants_json
from kubidu.cli.errors import CliError, UsageError


def rollback(
    ctx: typer.Context,
    deployment: Annotated[
        str | None,
        typer.Argument(help="Deployment to go back to (default: the previous successful one)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Deployment as JSON.")] = False,
) -> None:
    """Roll the linked service back to an earlier deployment (no build; seconds)."""
    target, json_mode = linked(), wants_json(ctx, as_json)
    _confirm(deployment, yes)
    with open_client(ctx) as client:
        created = client.post(service_path(target, "/rollback"), json={"deployment_id": deployment})
        output.info(f"Rollback {created['id']} of {created.get('rollback_from')} started")
        end = stream_build_log(client, created["id"], follow=True, to_stderr=json_mode)
        finish(client, target, created["id"], end, json_mode)


def _confirm(deployment: str | None, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("no terminal to confirm on: pass --yes to roll back")
    what = deployment or "the previous successful deployment"
    if not typer.confirm(f"Roll back to {what}?", default=False):
        raise CliError("rollback cancelled")


def register(app: typer.Typer) -> None:
    """Add `rollback` to the root app."""
    app.command()(rollback)
