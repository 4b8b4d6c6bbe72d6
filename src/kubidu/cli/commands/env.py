"""`kubidu env list|set|unset`: the environment variables of the linked service.

Registered as the `env` sub-app by `kubidu.cli.main`. Values are masked by the API unless
`--reveal` is given; `set`/`unset` send one PUT so several changes land atomically. With
`--shared` they change the variables the linked service's whole environment shares (a
service's own value wins over a shared one).
"""

from typing import Annotated

import typer

from kubidu.cli import output
from kubidu.cli.client import environment_path, service_path
from kubidu.cli.context import linked, open_client, wants_json
from kubidu.cli.parsing import parse_assignments

SharedOption = Annotated[
    bool, typer.Option("--shared", help="The variables the whole environment shares.")
]


def _env_path(shared: bool) -> str:
    target = linked()
    return environment_path(target, "/env") if shared else service_path(target, "/env")


def env_list(
    ctx: typer.Context,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show values, not ********.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the variables the linked service sees: its own, then its environment's shared ones."""
    params = {"reveal": "true"} if reveal else None
    with open_client(ctx) as client:
        items = [*client.get(_env_path(False), params=params)]
        items += client.get(_env_path(True), params=params)
    if wants_json(ctx, as_json):
        output.print_json(items)
        return
    keys = ("key", "value", "scope", "secret", "updated_at")
    output.print_table(
        ["KEY", "VALUE", "SCOPE", "SECRET", "UPDATED"], [[v.get(k) for k in keys] for v in items]
    )


def env_set(
    ctx: typer.Context,
    assignments: Annotated[list[str], typer.Argument(metavar="KEY=VALUE...", help="Variables.")],
    shared: SharedOption = False,
    secret: Annotated[
        bool | None,
        typer.Option(
            "--secret/--not-secret",
            help="Mark the variables secret (kept out of pull-request previews), or not.",
        ),
    ] = None,
) -> None:
    """Set one or more variables on the linked service (or, with --shared, its environment)."""
    values = parse_assignments(assignments)
    body: dict[str, object] = {"set": values}
    if secret is not None:
        body["secret"] = secret
    with open_client(ctx) as client:
        client.put(_env_path(shared), body)
    typer.echo(f"Set {', '.join(values)}")


def env_unset(
    ctx: typer.Context,
    keys: Annotated[list[str], typer.Argument(metavar="KEY...", help="Variable names.")],
    shared: SharedOption = False,
) -> None:
    """Remove one or more variables from the linked service (or, with --shared, its environment)."""
    with open_client(ctx) as client:
        client.put(_env_path(shared), {"unset": keys})
    typer.echo(f"Unset {', '.join(keys)}")


def register(app: typer.Typer) -> None:
    """Add the `env` sub-app to the root app."""
    env_app = typer.Typer(help="Manage environment variables.", no_args_is_help=True)
    env_app.command("list")(env_list)
    env_app.command("set")(env_set)
    env_app.command("unset")(env_unset)
    app.add_typer(env_app, name="env")
