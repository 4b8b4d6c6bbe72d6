"""`kubidu deploy`: pack the linked directory, upload it, and follow the build to the end.

Registered on the root app by `kubidu.cli.main`. Exit status: 0 only when the deployment
became active (or was merely queued, with --detach); otherwise the failure reason on stderr
and 1. The archive is spooled to a temporary file so large apps are not held in memory.
"""

import functools
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from kubidu.cli import archive, config, output
from kubidu.cli.client import API, ApiClient, service_path
from kubidu.cli.commands.logstream import stream_build_log
from kubidu.cli.commands.watch import watch_and_deploy
from kubidu.cli.context import linked, open_client, wants_json
from kubidu.cli.errors import CliError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the Deployment as JSON.")]
_FINISHED = frozenset({"active", "superseded", "failed", "cancelled"})


def deploy(
    ctx: typer.Context,
    detach: Annotated[
        bool, typer.Option("--detach", help="Return once uploaded; do not follow the build.")
    ] = False,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Note stored with the deployment.")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="Deploy this pre-built image instead (docker runtime)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port the --image listens on (default 8000).")
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Redeploy whenever a file changes (debounced).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Upload this directory as a new deployment of the linked service and follow its build.

    With --image REF, deploy that pre-built image instead: nothing is uploaded or built.
    With --watch, keep watching the directory and redeploy after every burst of changes."""
    if watch:
        if image is not None or detach:
            raise CliError("--watch cannot be combined with --image or --detach")
        once = functools.partial(deploy, ctx, message=message, as_json=as_json)
        watch_and_deploy(once, Path.cwd())
        return
    target, json_mode = linked(), wants_json(ctx, as_json)
    if port is not None and image is None:
        raise CliError("--port applies only with --image")
    with open_client(ctx) as client:
        if image is not None:
            body = {"image": image, "port": port, "message": message}
            deployment = client.post(service_path(target, "/deployments/image"), json=body)
        else:
            deployment = _upload(client, target, Path.cwd(), message)
        if detach:
            _show(deployment, json_mode, f"Deployment {deployment['id']} queued")
            return
        typer.echo(f"Deployment {deployment['id']} created", err=json_mode)
        end = stream_build_log(client, deployment["id"], follow=True, to_stderr=json_mode)
        finish(client, target, deployment["id"], end, json_mode)


def register(app: typer.Typer) -> None:
    """Add `deploy` to the root app."""
    app.command()(deploy)


def _upload(
    client: ApiClient, target: config.Link, root: Path, message: str | None
) -> dict[str, Any]:
    """Pack `root` and POST it as multipart field `source`; return the Deployment."""
    paths = archive.collect_paths(root)
    with tempfile.TemporaryFile() as tmp:
        archive.write_archive(root, paths, tmp)
        output.info(f"Uploading {len(paths)} entries ({_size(tmp.tell())}) from {root}")
        tmp.seek(0)
        deployment = client.post(
            service_path(target, "/deployments"),
            files={"source": ("source.tar.gz", tmp, "application/gzip")},
            data={"message": message} if message else None,
        )
    if not isinstance(deployment, dict) or "id" not in deployment:
        raise CliError("the server answered the upload without a deployment id")
    return deployment


def finish(
    client: ApiClient,
    target: config.Link,
    deployment_id: str,
    end: dict[str, Any] | None,
    json_mode: bool,
) -> None:
    """Report the outcome of a followed deployment and pick the exit status."""
    deployment = client.get(f"{API}/deployments/{deployment_id}")
    status = (end or deployment).get("status")
    reason = (end or {}).get("failure_reason") or deployment.get("failure_reason")
    if json_mode:
        output.print_json(deployment)
    if status == "active":
        url = client.get(service_path(target)).get("url")
        if not json_mode:
            typer.echo(f"Deployment {deployment_id} is live at {url}")
        return
    if end is None and status not in _FINISHED:
        raise CliError(f"the build log of {deployment_id} ended early (status: {status})")
    raise CliError(f"deployment {deployment_id} {status}: {reason or 'no reason given'}")


def _show(deployment: dict[str, Any], json_mode: bool, text: str) -> None:
    """Print a Deployment as JSON or as a one-line note."""
    if json_mode:
        output.print_json(deployment)
    else:
        typer.echo(text)


def _size(num_bytes: int) -> str:
    """Human-readable size for the upload note."""
    if num_bytes < 1024:
        return f"{num_bytes} B"
    if num_bytes < 1024 * 1024:
        return f"{num_bytes / 1024:.1f} KB"
    return f"{num_bytes / (1024 * 1024):.1f} MB"
