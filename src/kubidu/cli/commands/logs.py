"""`kubidu logs`: runtime logs of the linked service, or the build log of a deployment.

Registered on the root app by `kubidu.cli.main`. `--build` is a flag with an optional
DEPLOYMENT argument (`kubidu logs --build` = the latest deployment), which Typer cannot
express as an option with an optional value, so DEPLOYMENT is a positional argument that is
only accepted together with `--build`. The filters (`--since`, `--grep`, `--deployment`,
`--replica`, `--stream`) are applied by the server's log store.
"""

from typing import Annotated, Any

import typer

from kubidu.cli import output
from kubidu.cli.client import ApiClient, service_path
from kubidu.cli.commands.logstream import format_runtime_line, stream_build_log
from kubidu.cli.config import Link
from kubidu.cli.context import linked, open_client, wants_json
from kubidu.cli.errors import CliError, UsageError
from kubidu.cli.parsing import parse_duration


def logs(
    ctx: typer.Context,
    deployment: Annotated[
        str | None,
        typer.Argument(
            metavar="DEPLOYMENT", help="With --build: the deployment (default: latest)."
        ),
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep streaming.")] = False,
    build: Annotated[bool, typer.Option("--build", help="Show a build log instead.")] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Only lines newer than e.g. 30s, 15m, 1h, 2d.")
    ] = None,
    grep: Annotated[
        str | None, typer.Option("--grep", help="Only lines containing TEXT (any case).")
    ] = None,
    deployment_filter: Annotated[
        str | None, typer.Option("--deployment", help="Only lines of this deployment.")
    ] = None,
    replica: Annotated[str | None, typer.Option("--replica", help="Only this replica.")] = None,
    stream: Annotated[
        str | None, typer.Option("--stream", help="stdout, stderr, system or build.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print LogLine objects.")] = False,
) -> None:
    """Print the runtime logs of the linked service (or a build log with --build)."""
    if deployment is not None and not build:
        raise UsageError("a DEPLOYMENT argument is only accepted with --build")
    params = _params(follow, since, grep, deployment_filter, replica, stream)
    target = linked()
    with open_client(ctx) as client:
        if build:
            chosen = target_deployment(client, deployment, target)
            stream_build_log(client, chosen, follow=follow, grep=grep)
            return
        for record in client.stream_events(service_path(target, "/logs"), params):
            _print_runtime(record, json_mode=wants_json(ctx, as_json))


def register(app: typer.Typer) -> None:
    """Add `logs` to the root app."""
    app.command()(logs)


def target_deployment(client: ApiClient, given: str | None, target: Link) -> str:
    """The deployment whose build log to show: the given one or the newest."""
    if given:
        return given
    items = client.get(service_path(target, "/deployments"))
    if not items:
        raise CliError("the linked service has no deployments yet: run `kubidu deploy`")
    return str(items[0]["id"])


def _params(follow: bool, since: str | None, *filters: str | None) -> dict[str, str]:
    """Query parameters of the logs endpoint (None filters are left out)."""
    params = {"follow": "true" if follow else "false"}
    if since is not None:
        params["since"] = str(parse_duration(since))
    names = ("grep", "deployment", "replica", "stream")
    params.update({name: value for name, value in zip(names, filters, strict=True) if value})
    return params


def _print_runtime(record: dict[str, Any], *, json_mode: bool) -> None:
    """Print one log line; a `dropped` event says how many lines a slow reader missed."""
    if record.get("event") == "dropped":
        output.error(f"{record.get('skipped')} lines skipped: this terminal read too slowly")
        return
    if "event" in record:
        return
    if json_mode:
        output.print_json_line(record)
    else:
        typer.echo(format_runtime_line(record))
