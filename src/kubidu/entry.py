"""The ``kubidu`` console script: the CLI's commands plus ``kubidu server``.

The CLI package is an HTTP client and may not import the server (import-linter checks it), so
the two meet here, above both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubidu.cli.main import app
from kubidu.settings import load_settings


@app.command("server")
def server_command(
    data_dir: Annotated[
        Path | None, typer.Option(help="State directory [KUBIDU_DATA_DIR].")
    ] = None,
    listen: Annotated[
        str | None, typer.Option(help="API address HOST:PORT [KUBIDU_LISTEN].")
    ] = None,
    runtime: Annotated[str | None, typer.Option(help="process | docker | kubernetes.")] = None,
    base_domain: Annotated[str | None, typer.Option(help="Domain of generated hostnames.")] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Edge HTTP port [KUBIDU_HTTP_PORT].")
    ] = None,
    https_port: Annotated[int | None, typer.Option(help="Edge HTTPS port.")] = None,
    config: Annotated[Path | None, typer.Option(help="Optional TOML settings file.")] = None,
) -> None:
    """Run the control plane: API, dashboard, build/deploy workers and the Caddy edge."""
    from kubidu.server import serve  # heavy imports only when serving

    serve(
        load_settings(
            config,
            data_dir=data_dir,
            listen=listen,
            runtime=runtime,
            base_domain=base_domain,
            http_port=http_port,
            https_port=https_port,
        )
    )


def run() -> None:
    app()
