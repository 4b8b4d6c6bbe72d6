"""`kubidu status`, `ps` and `deployments`: read-only views of the linked service.

Registered on the root app by `kubidu.cli.main`. With `--json` each prints the API objects
unchanged (the Service, the list of Replicas, the list of Deployments newest first), which is
the stable machine contract of ARCHITECTURE.md §7.
"""

from typing import Annotated, Any

import typer

from kubidu.cli import output
from kubidu.cli.client import service_path
from kubidu.cli.context import linked, open_client, wants_json

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the linked service: URL, status, active deployment, replicas."""
    target = linked()
    with open_client(ctx) as client:
        service = client.get(service_path(target))
    if wants_json(ctx, as_json):
        output.print_json(service)
        return
    output.print_fields(_status_fields(service))


def ps(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the running replicas of the linked service."""
    target = linked()
    with open_client(ctx) as client:
        replicas = client.get(service_path(target, "/replicas"))
    if wants_json(ctx, as_json):
        output.print_json(replicas)
        return
    headers = ["REPLICA", "DEPLOYMENT", "STATE", "ADDRESS", "RESTARTS", "STARTED"]
    keys = ["id", "deployment_id", "state", "address", "restarts", "started_at"]
    output.print_table(headers, [[r.get(k) for k in keys] for r in replicas])


def deployments(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the deployments of the linked service, newest first."""
    target = linked()
    with open_client(ctx) as client:
        items = client.get(service_path(target, "/deployments"))
    if wants_json(ctx, as_json):
        output.print_json(items)
        return
    headers = ["DEPLOYMENT", "STATUS", "CREATED", "BY", "MESSAGE", "ROLLBACK", "NOTE"]
    output.print_table(headers, [_deployment_row(d) for d in items])


def register(app: typer.Typer) -> None:
    """Add the read-only views to the root app."""
    app.command()(status)
    app.command()(ps)
    app.command()(deployments)


def _status_fields(service: dict[str, Any]) -> list[tuple[str, Any]]:
    """The label/value pairs `kubidu status` prints."""
    name = "/".join(str(service.get(k, "?")) for k in ("project", "environment", "name"))
    return [
        ("Service", name),
        ("URL", service.get("url")),
        ("Status", service.get("status")),
        ("Deployment", service.get("deployment_id")),
        ("Deployment status", service.get("deployment_status")),
        ("Replicas", service.get("replicas")),
        ("Health path", service.get("health_path")),
    ]


def _deployment_row(deployment: dict[str, Any]) -> list[Any]:
    """One table row; the note shows why it failed or what it rolled back from."""
    note = deployment.get("failure_reason")
    if deployment.get("rollback_from"):
        note = f"rollback of {deployment['rollback_from']}"
    can_rollback = "yes" if deployment.get("can_rollback") else "-"
    by = deployment.get("created_by") or deployment.get("trigger")
    fields = (deployment.get(k) for k in ("id", "status", "created_at"))
    return [*fields, by, deployment.get("message"), can_rollback, note]
