"""`kubidu login`, `logout` and `whoami`: manage and check the stored credentials.

Registered on the root app by `kubidu.cli.main`. `login` verifies the token with
GET /api/v1/whoami before anything is written, so a typo never ends up stored.
"""

from typing import Annotated, Any

import typer

from kubidu.cli import config, output
from kubidu.cli.client import API
from kubidu.cli.context import client_for, globals_of, open_client, wants_json
from kubidu.cli.errors import UsageError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def login(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option("--url", help="Server URL, e.g. https://kubidu.example.com")
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="API token.")] = None,
) -> None:
    """Verify URL and token against the server, then store them for later commands."""
    opts = globals_of(ctx)
    chosen_url, chosen_token = url or opts.url, token or opts.token
    if not chosen_url or not chosen_token:
        raise UsageError("login needs --url URL and --token TOKEN")
    creds = config.Credentials(url=config.normalize_url(chosen_url), token=chosen_token)
    with client_for(ctx, creds) as client:
        me = client.get(f"{API}/whoami")
    path = config.save_credentials(config.config_dir(), creds)
    typer.echo(f"Logged in to {creds.url} as {_email(me)} (credentials in {path})")


def logout() -> None:
    """Forget the stored credentials."""
    if config.delete_credentials(config.config_dir()):
        typer.echo("Logged out.")
    else:
        typer.echo("Not logged in; nothing to do.")


def whoami(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the user and teams the current token belongs to."""
    with open_client(ctx) as client:
        me = client.get(f"{API}/whoami")
    if wants_json(ctx, as_json):
        output.print_json(me)
        return
    typer.echo(f"{_email(me)} on {client.url}")
    teams = me.get("teams", []) if isinstance(me, dict) else []
    output.print_table(["TEAM", "ROLE"], [(t.get("name"), t.get("role")) for t in teams])


def register(app: typer.Typer) -> None:
    """Add the credential commands to the root app."""
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)


def _email(me: Any) -> str:
    """The caller's e-mail from a whoami answer, tolerant of partial shapes."""
    user = me.get("user", {}) if isinstance(me, dict) else {}
    return str(user.get("email", "unknown user"))
