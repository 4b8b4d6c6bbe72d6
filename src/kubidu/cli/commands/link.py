"""`kubidu init` and `kubidu link`: tie the current directory to a project/environment/service.

Registered on the root app by `kubidu.cli.main`. `init` creates what is missing (a 409 from
the API means "already exists" and is treated as success); `link` only checks that the objects
exist. Both end by writing `.kubidu/link.json`, which later commands read via `context.linked`.
"""

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from kubidu.cli import config
from kubidu.cli.client import API, ApiClient, environment_path, service_path
from kubidu.cli.context import open_client
from kubidu.cli.errors import ApiError
from kubidu.cli.parsing import name_from_directory

DEFAULT_ENVIRONMENT = "production"
DEFAULT_SERVICE = "web"


def init(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", help="Project name (default: from the directory).")
    ] = None,
    service: Annotated[str, typer.Option("--service", help="Service name.")] = DEFAULT_SERVICE,
) -> None:
    """Create the project and service if needed and link this directory to them."""
    cwd = Path.cwd()
    link = config.Link(
        project=project or name_from_directory(cwd.name),
        environment=DEFAULT_ENVIRONMENT,
        service=service,
    )
    with open_client(ctx) as client:
        _ensure(client, f"{API}/projects", link.project, kind="project")
        _ensure(client, environment_path(link, "/services"), link.service, kind="service")
    _write(cwd, link)


def link(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", help="Existing project name.")],
    service: Annotated[str, typer.Option("--service", help="Existing service name.")],
    environment: Annotated[
        str, typer.Option("--environment", help="Environment name.")
    ] = DEFAULT_ENVIRONMENT,
) -> None:
    """Link this directory to an existing project, environment and service."""
    target = config.Link(project=project, environment=environment, service=service)
    with open_client(ctx) as client:
        client.get(f"{API}/projects/{_q(project)}")
        client.get(service_path(target))
    _write(Path.cwd(), target)


def register(app: typer.Typer) -> None:
    """Add `init` and `link` to the root app."""
    app.command()(init)
    app.command()(link)


def _ensure(client: ApiClient, collection: str, name: str, *, kind: str) -> None:
    """POST `{"name": name}` to `collection`; an existing object (409) is reused."""
    try:
        client.post(collection, json={"name": name})
    except ApiError as exc:
        if exc.status_code != 409:
            raise
        typer.echo(f"Using existing {kind} {name}")
    else:
        typer.echo(f"Created {kind} {name}")


def _write(directory: Path, target: config.Link) -> None:
    """Store the link and say what the directory now deploys to."""
    config.save_link(directory, target)
    where = f"{target.project}/{target.environment}/{target.service}"
    typer.echo(f"Linked {directory} to {where}")


def _q(name: str) -> str:
    """URL-quote a name used as a path segment."""
    return quote(name, safe="")
