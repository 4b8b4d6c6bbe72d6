"""Git's smart-HTTP protocol, served by git's own ``git http-backend`` as a CGI program.

:func:`serve` starts the backend with a CGI environment built from the request (never a shell,
never the request's raw header lines), feeds it the request body while reading its answer, and
returns the CGI status and headers plus the body as an async iterator, so a long push streams
its progress (the pre-receive hook's output, sent by git over sideband) as it happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from kubidu.git.run import git_env

_CHUNK = 1 << 16
_MAX_HEADER = 64 << 10


@dataclass(frozen=True)
class CgiRequest:
    project_root: Path
    path_info: str  # /<service>.git/info/refs etc. (validated by the caller)
    method: str
    query: str
    content_type: str | None
    content_encoding: str | None
    git_protocol: str | None
    remote_user: str
    remote_addr: str


@dataclass
class CgiResponse:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes]


def cgi_env(request: CgiRequest, extra: Mapping[str, str]) -> dict[str, str]:
    env = git_env(
        {
            "GIT_PROJECT_ROOT": str(request.project_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "PATH_INFO": request.path_info,
            "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.query,
            "REMOTE_USER": request.remote_user,
            "REMOTE_ADDR": request.remote_addr,
            **extra,
        }
    )
    optional = {
        "CONTENT_TYPE": request.content_type,
        "HTTP_CONTENT_ENCODING": request.content_encoding,
        "GIT_PROTOCOL": request.git_protocol,
    }
    env.update({k: v for k, v in optional.items() if v})
    return env


async def serve(
    request: CgiRequest, body: AsyncIterator[bytes], *, extra_env: Mapping[str, str]
) -> CgiResponse:
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=cgi_env(request, extra_env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    feeder = asyncio.create_task(_feed(process, body))
    assert process.stdout is not None
    status, headers, rest = await _read_headers(process.stdout)
    return CgiResponse(status, headers, _body(process, feeder, rest))


async def _feed(process: asyncio.subprocess.Process, body: AsyncIterator[bytes]) -> None:
    assert process.stdin is not None
    try:
        async for chunk in body:
            process.stdin.write(chunk)
            await process.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the backend stopped reading (it answers with an error itself)
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.close()


async def _read_headers(stdout: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = await stdout.read(_CHUNK)
        if not chunk or len(data) > _MAX_HEADER:
            raise OSError("git http-backend ended without a CGI header")
        data += chunk
    sep = b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n"
    head, rest = data.split(sep, 1)
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(headers.pop("status", "200").split()[0])
    return status, headers, rest


async def _body(
    process: asyncio.subprocess.Process, feeder: asyncio.Task[None], first: bytes
) -> AsyncIterator[bytes]:
    assert process.stdout is not None
    try:
        if first:
            yield first
        while chunk := await process.stdout.read(_CHUNK):
            yield chunk
    finally:
        feeder.cancel()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()
