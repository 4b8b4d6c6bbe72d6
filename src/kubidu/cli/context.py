"""The per-invocation state shared by all commands: global options and how to get a client.

`main.main_callback` fills a `Globals` into the Typer context object; commands call
`open_client(ctx)` and `linked()` instead of reading files or options themselves. Tests can
pre-seed `Globals(transport=httpx.MockTransport(...))` through `CliRunner.invoke(obj=...)`.
"""

from dataclasses import dataclass
from pathlib import Path

import httpx
import typer

from kubidu.cli import config
from kubidu.cli.client import ApiClient


@dataclass
class Globals:
    """Options given before the subcommand, after env-var merging by Typer."""

    url: str | None = None
    token: str | None = None
    json: bool = False
    transport: httpx.BaseTransport | None = None


def globals_of(ctx: typer.Context) -> Globals:
    """Return the invocation's `Globals` (a default one if the callback did not run)."""
    return ctx.ensure_object(Globals)


def wants_json(ctx: typer.Context, local_flag: bool) -> bool:
    """`--json` may come before the subcommand or after it; either turns JSON on."""
    return local_flag or globals_of(ctx).json


def open_client(ctx: typer.Context) -> ApiClient:
    """Open a client for the server chosen by flags > env vars > credentials file."""
    opts = globals_of(ctx)
    stored = config.load_credentials(config.config_dir())
    creds = config.resolve_credentials(url=opts.url, token=opts.token, stored=stored)
    return client_for(ctx, creds)


def client_for(ctx: typer.Context, creds: config.Credentials) -> ApiClient:
    """Open a client for explicit credentials (used by `login` before they are stored)."""
    return ApiClient(url=creds.url, token=creds.token, transport=globals_of(ctx).transport)


def linked() -> config.Link:
    """The service the current directory is linked to, or a `CliError` with a hint."""
    return config.load_link(Path.cwd())
