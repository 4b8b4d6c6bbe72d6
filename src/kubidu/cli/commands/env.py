"""`kubidu env list|set|unset`: the environment variables of the linked service.

Registered as the `env` sub-app by `kubidu.cli.main`. Values are masked by the API unless
`--reveal` is given; `set`/`unset` send one PUT so several changes land atomically.
"""

from typing import Annotated

import typer

from kubidu.cli import output
from kubidu.cli.client import service_path
from kubidu.cli.context import linked, open_client, wants_json
from kubidu.cli.parsing import parse_assignments


def env_list(
    ctx: typer.Context,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show values, not ********.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the variables the linked service sees (its own and its environment's)."""
    target = linked()
    params = {"reveal": "true"} if reveal else None
    with open_client(ctx) as client:
        items = client.get(service_path(target, "/env"), params=params)
    if wants_json(ctx, as_json):
        output.print_json(items)
        return
    keys = ("key", "value", "scope", "updated_at")
    output.print_table(
        ["KEY", "VALUE", "SCOPE", "UPDATED"], [[v.get(k) for k in keys] for v in items]
    )


def env_set(
    ctx: typer.Context,
    assignments: Annotated[list[str], typer.Argument(metavar="KEY=VALUE...", help="Variables.")],
) -> None:
    """Set one or more variables on the linked service."""
    values = parse_assignments(assignments)
    target = linked()
    with open_client(ctx) as client:
        client.put(service_path(target, "/env"), {"set": values})
    typer.echo(f"Set {', '.join(values)}")


def env_unset(
    ctx: typer.Context,
    keys: Annotated[list[str], typer.Argument(metavar="KEY...", help="Variable names.")],
) -> None:
    """Remove one or more variables from the linked service."""
    target = linked()
    with open_client(ctx) as client:
        client.put(service_path(target, "/env"), {"unset": keys})
    typer.echo(f"Unset {', '.join(keys)}")


def register(app: typer.Typer) -> None:
    """Add the `env` sub-app to the root app."""
    env_app = typer.Typer(help="Manage environment variables.", no_args_is_help=True)
    env_app.command("list")(env_list)
    env_app.command("set")(env_set)
    env_app.command("unset")(env_unset)
    app.add_typer(env_app, name="env")
