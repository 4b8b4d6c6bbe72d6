"""`kubidu github connect|show|pending|deploy` and `kubidu git-branch`: deploys from GitHub.

Registered on the root app by `kubidu.cli.main`. `connect` ties the linked service to a GitHub
repository (the token and webhook secret are sent once and stored encrypted; point the
repository's webhook at the printed URL with content type application/json). `pending` lists
pushes waiting for CI or skipped with the reason; `deploy PENDING_ID` deploys one anyway.
"""

from typing import Annotated

import typer

from kubidu.cli import output
from kubidu.cli.client import environment_path, service_path
from kubidu.cli.context import linked, open_client, wants_json

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def connect(
    ctx: typer.Context,
    repo: Annotated[str, typer.Argument(metavar="OWNER/REPO", help="The GitHub repository.")],
    token: Annotated[str, typer.Option("--token", help="GitHub token (repo read, PR comments).")],
    webhook_secret: Annotated[
        str, typer.Option("--webhook-secret", help="The secret of the repository's webhook.")
    ],
    branch: Annotated[str, typer.Option("--branch", help="Branch whose pushes deploy.")] = "main",
    clone_url: Annotated[
        str | None, typer.Option("--clone-url", help="Default: https://github.com/OWNER/REPO.git")
    ] = None,
    wait_for_ci: Annotated[
        bool, typer.Option("--wait-for-ci", help="Deploy a push only once its CI passed.")
    ] = False,
    previews: Annotated[
        bool, typer.Option("--previews", help="A preview environment per pull request.")
    ] = False,
    preview_secrets: Annotated[
        bool, typer.Option("--preview-secrets", help="Copy secret env vars into previews too.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Deploy the linked service from a GitHub repository (pushes, CI gate, PR previews)."""
    body = {
        "repo": repo,
        "token": token,
        "webhook_secret": webhook_secret,
        "branch": branch,
        "clone_url": clone_url,
        "wait_for_ci": wait_for_ci,
        "previews": previews,
        "preview_secrets": preview_secrets,
    }
    with open_client(ctx) as client:
        conn = client.put(service_path(linked(), "/github"), body)
        hook = client.url.rstrip("/") + conn["webhook_path"]
    if wants_json(ctx, as_json):
        output.print_json({**conn, "webhook_url": hook})
        return
    typer.echo(f"Connected to {conn['repo']} (branch {conn['branch']})")
    typer.echo(f"Add a webhook on GitHub: payload URL {hook}, content type application/json,")
    typer.echo("the same secret, events: pushes, pull requests, check runs/suites, statuses.")


def show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the linked service's GitHub connection."""
    with open_client(ctx) as client:
        conn = client.get(service_path(linked(), "/github"))
    if wants_json(ctx, as_json):
        output.print_json(conn)
        return
    output.print_fields(
        [(k, conn.get(k)) for k in ("repo", "branch", "clone_url", "wait_for_ci", "previews")]
    )


def pending(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List pushed commits: waiting for CI, skipped (with the reason), deployed."""
    with open_client(ctx) as client:
        rows = client.get(service_path(linked(), "/github/pending"))
    if wants_json(ctx, as_json):
        output.print_json(rows)
        return
    keys = ("id", "commit_sha", "status", "reason", "deployment_id")
    output.print_table(
        ["ID", "COMMIT", "STATUS", "REASON", "DEPLOYMENT"], [[r.get(k) for k in keys] for r in rows]
    )


def deploy_anyway(
    ctx: typer.Context,
    pending_id: Annotated[str, typer.Argument(help="The pending deployment (see `pending`).")],
    as_json: JsonFlag = False,
) -> None:
    """Deploy a waiting or skipped commit whatever CI says (recorded in the audit log)."""
    with open_client(ctx) as client:
        row = client.post(service_path(linked(), f"/github/pending/{pending_id}/deploy"))
    if wants_json(ctx, as_json):
        output.print_json(row)
        return
    typer.echo(f"Deploying {row['commit_sha'][:12]} anyway ({row['id']})")


def git_branch(
    ctx: typer.Context,
    branch: Annotated[str | None, typer.Argument(help="Branch to track; omit to reset.")] = None,
) -> None:
    """Choose which pushed branch deploys the linked environment (production: main)."""
    target = linked()
    with open_client(ctx) as client:
        answer = client.put(environment_path(target, "/git-branch"), {"branch": branch})
    tracked = answer.get("branch")
    typer.echo(
        f"{target.environment} deploys pushes of {tracked}"
        if tracked
        else f"{target.environment} tracks no branch"
    )


def register(app: typer.Typer) -> None:
    """Add the `github` sub-app and `git-branch` to the root app."""
    gh = typer.Typer(
        help="Deploy from GitHub: pushes, wait for CI, PR previews.", no_args_is_help=True
    )
    gh.command("connect")(connect)
    gh.command("show")(show)
    gh.command("pending")(pending)
    gh.command("deploy")(deploy_anyway)
    app.add_typer(gh, name="github")
    app.command("git-branch")(git_branch)
