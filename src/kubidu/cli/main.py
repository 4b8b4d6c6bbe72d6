"""Entry point of the `kubidu` command: the root Typer app, global options and error policy.

`run()` is the console script (`kubidu = "kubidu.cli.main:run"`); `app` is the Typer object
tests drive with `typer.testing.CliRunner`. `KubiduGroup` is where expected failures become a
one-line `error: ...` on stderr with a non-zero exit code, and Ctrl-C becomes a quiet 130 —
for every subcommand, including the nested `env` group, because they all run inside it.
"""

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from kubidu.cli import output
from kubidu.cli.commands import (
    auth,
    deploy,
    domains,
    env,
    github,
    link,
    logs,
    rollback,
    scale,
    views,
)
from kubidu.cli.context import globals_of
from kubidu.cli.errors import EXIT_INTERRUPTED, CliError


class KubiduGroup(TyperGroup):
    """The root command group: maps `CliError` and Ctrl-C to exit codes without tracebacks."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            output.error(exc.message)
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt as exc:
            raise typer.Exit(EXIT_INTERRUPTED) from exc


app = typer.Typer(
    cls=KubiduGroup,
    name="kubidu",
    help="Deploy and run apps on a Kubidu server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main_callback(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option("--url", envvar="KUBIDU_URL", help="Server URL.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="KUBIDU_TOKEN", help="API token.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Deploy and run apps on a Kubidu server."""
    opts = globals_of(ctx)
    opts.url, opts.token, opts.json = url, token, as_json


for _module in (auth, link, deploy, rollback, views, logs, env, github, domains, scale):
    _module.register(app)


def run() -> None:
    """Console-script entry point."""
    app()
