"""`kubidu domains add|list|verify|remove HOST`: custom domains of the linked service.

Registered as the `domains` sub-app by `kubidu.cli.main`. `add` and `verify` print the DNS
records to create and the domain's state; `list --json` prints the API objects, whose shape
(`hostname`, `status`, `records`, `expires_at`) is the contract of ARCHITECTURE.md §7.
"""

from typing import Annotated, Any
from urllib.parse import quote

import typer

from kubidu.cli import output
from kubidu.cli.client import service_path
from kubidu.cli.context import linked, open_client, wants_json

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Host = Annotated[str, typer.Argument(metavar="HOST", help="The hostname, e.g. app.example.com.")]


def _path(host: str | None = None, suffix: str = "") -> str:
    base = service_path(linked(), "/domains")
    return base if host is None else f"{base}/{quote(host, safe='')}{suffix}"


def domains_add(ctx: typer.Context, host: Host, as_json: JsonFlag = False) -> None:
    """Add a custom domain to the linked service and show the DNS records to create."""
    with open_client(ctx) as client:
        domain = client.post(_path(), json={"hostname": host})
    _show(ctx, domain, as_json)


def domains_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the custom domains of the linked service with their state."""
    with open_client(ctx) as client:
        items = client.get(_path())
    if wants_json(ctx, as_json):
        output.print_json(items)
        return
    headers = ["DOMAIN", "STATUS", "EXPIRES", "DETAIL"]
    rows = [[d["hostname"], d["status"], d.get("expires_at"), d.get("reason")] for d in items]
    output.print_table(headers, rows)


def domains_verify(ctx: typer.Context, host: Host, as_json: JsonFlag = False) -> None:
    """Check the domain's DNS records now (the server also re-checks on its own)."""
    with open_client(ctx) as client:
        domain = client.post(_path(host, "/verify"))
    _show(ctx, domain, as_json)


def domains_remove(ctx: typer.Context, host: Host) -> None:
    """Remove a custom domain: the edge stops routing it to the service."""
    with open_client(ctx) as client:
        client.request("DELETE", _path(host))
    typer.echo(f"Removed {host}")


def _show(ctx: typer.Context, domain: dict[str, Any], as_json: bool) -> None:
    if wants_json(ctx, as_json):
        output.print_json(domain)
        return
    fields = [("Domain", domain["hostname"]), ("Status", domain["status"])]
    if domain.get("reason"):
        fields.append(("Detail", domain["reason"]))
    if domain.get("expires_at"):
        fields.append(("Certificate expires", domain["expires_at"]))
    output.print_fields(fields)
    typer.echo("\nDNS records to create:")
    rows = [[r["type"], r["name"], r["value"]] for r in domain["records"]]
    output.print_table(["TYPE", "NAME", "VALUE"], rows)


def register(app: typer.Typer) -> None:
    """Add the `domains` sub-app to the root app."""
    domains_app = typer.Typer(help="Manage custom domains (HTTPS).", no_args_is_help=True)
    domains_app.command("add")(domains_add)
    domains_app.command("list")(domains_list)
    domains_app.command("verify")(domains_verify)
    domains_app.command("remove")(domains_remove)
    app.add_typer(domains_app, name="domains")
