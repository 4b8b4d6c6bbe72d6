"""The `kubidu` commands driven through Typer's CliRunner against a fake API (MockTransport).

Aspects checked:
* `--help` works for every command and subcommand;
* usage errors (KEY=VALUE without '=', bad durations, stray DEPLOYMENT) exit 2 with one line;
* precedence of the server URL and token: flags > KUBIDU_* env vars > credentials file;
* `login` verifies the token before storing it (0600), and stores nothing when it is refused;
* API errors print `error: <detail>` on one line; an unreachable server says so; no tracebacks;
* `init` reuses an existing project (409) and writes the link; unlinked dirs get a hint;
* `deploy` uploads a gzip tarball as `source`, prints the build log, exits 0 with the URL on
  success and 1 with the failure reason otherwise;
* `--json` works before and after the subcommand.
"""

import io
import json
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from kubidu.cli.context import Globals
from kubidu.cli.main import app

SERVICE_PATH = "/api/v1/projects/shop/environments/production/services/web"
SERVICE = {
    "id": "svc_1",
    "name": "web",
    "project": "shop",
    "environment": "production",
    "url": "http://web.shop.localhost:8080/",
    "status": "live",
    "deployment_id": "dep_1",
    "replicas": 1,
}
WHOAMI = {"user": {"id": "u1", "email": "ada@example.com"}, "teams": [{"name": "ada"}]}

Route = Callable[[httpx.Request], httpx.Response]


class FakeApi:
    """Answers `(method, path)` from a table and records every request it saw."""

    def __init__(self, routes: dict[tuple[str, str], Route | Any]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"detail": "not found"})
        return route(request) if callable(route) else httpx.Response(200, json=route)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run each test in an empty app directory with its own config dir and no KUBIDU_* env."""
    for name in ("KUBIDU_URL", "KUBIDU_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    app_dir = tmp_path / "shop"
    app_dir.mkdir()
    monkeypatch.chdir(app_dir)
    return app_dir


def invoke(args: list[str], api: FakeApi | None = None, **kwargs: Any) -> Any:
    transport = httpx.MockTransport(api) if api is not None else None
    return CliRunner().invoke(app, args, obj=Globals(transport=transport), **kwargs)


def linked_dir(app_dir: Path) -> None:
    (app_dir / ".kubidu").mkdir()
    link = {"project": "shop", "environment": "production", "service": "web"}
    (app_dir / ".kubidu" / "link.json").write_text(json.dumps(link))


AUTH = ["--url", "http://api.test", "--token", "t0k"]

COMMANDS = [
    [],
    ["login"],
    ["logout"],
    ["whoami"],
    ["init"],
    ["link"],
    ["deploy"],
    ["status"],
    ["ps"],
    ["deployments"],
    ["logs"],
    ["env"],
    ["env", "list"],
    ["env", "set"],
    ["env", "unset"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "kubidu")
def test_help(command: list[str]) -> None:
    result = invoke([*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["env", "set", "A=1", "BROKEN"], "invalid assignment 'BROKEN'"),
        (["logs", "--since", "soon"], "invalid duration"),
        (["logs", "dep_1"], "only accepted with --build"),
        (["--url", "ftp://x", "--token", "t", "status"], None),
    ],
)
def test_usage_errors_exit_2(isolated: Path, args: list[str], message: str | None) -> None:
    linked_dir(isolated)
    result = invoke(args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message is None or message in result.stderr


def test_precedence_flags_env_file(isolated: Path) -> None:
    api = FakeApi({("GET", "/api/v1/whoami"): WHOAMI})
    assert invoke(["login", "--url", "http://file.test", "--token", "f"], api).exit_code == 0
    env = {"KUBIDU_URL": "http://env.test", "KUBIDU_TOKEN": "e"}
    assert invoke(["whoami"], api).exit_code == 0
    assert invoke(["whoami"], api, env=env).exit_code == 0
    assert (
        invoke(["--url", "http://flag.test", "--token", "x", "whoami"], api, env=env).exit_code == 0
    )
    seen = [(r.url.host, r.headers["authorization"]) for r in api.requests[1:]]
    assert seen == [("file.test", "Bearer f"), ("env.test", "Bearer e"), ("flag.test", "Bearer x")]


def test_login_stores_private_credentials(tmp_path: Path) -> None:
    api = FakeApi({("GET", "/api/v1/whoami"): WHOAMI})
    result = invoke(["login", "--url", "http://api.test/", "--token", "secret"], api)
    assert result.exit_code == 0 and "ada@example.com" in result.stdout
    path = tmp_path / "config" / "kubidu" / "credentials.json"
    assert json.loads(path.read_text()) == {"url": "http://api.test", "token": "secret"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert invoke(["logout"]).exit_code == 0 and not path.exists()


def test_refused_login_stores_nothing(tmp_path: Path) -> None:
    refuse = FakeApi(
        {("GET", "/api/v1/whoami"): lambda r: httpx.Response(401, json={"detail": "invalid token"})}
    )
    result = invoke(["login", "--url", "http://api.test", "--token", "bad"], refuse)
    assert result.exit_code == 1
    assert result.stderr == "error: invalid token\n"
    assert not (tmp_path / "config" / "kubidu" / "credentials.json").exists()


def test_not_logged_in_and_unreachable(isolated: Path) -> None:
    linked_dir(isolated)
    result = invoke(["status"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: not logged in: run kubidu login --url URL")
    result = invoke(["--url", "http://127.0.0.1:9", "--token", "t", "status"])
    assert result.exit_code == 1
    assert result.stderr == "error: cannot reach the Kubidu server at http://127.0.0.1:9\n"


def test_unlinked_directory_hint() -> None:
    result = invoke([*AUTH, "status"], FakeApi({}))
    assert result.exit_code == 1
    assert "run `kubidu init` or `kubidu link` first" in result.stderr


def test_api_error_detail_is_one_line(isolated: Path) -> None:
    linked_dir(isolated)
    detail = {"detail": [{"loc": ["body", "set", "1X"], "msg": "invalid env var name"}]}
    api = FakeApi({("PUT", f"{SERVICE_PATH}/env"): lambda r: httpx.Response(422, json=detail)})
    result = invoke([*AUTH, "env", "set", "1X=2"], api)
    assert result.exit_code == 1
    assert result.stderr == "error: set.1X: invalid env var name\n"
    assert json.loads(api.requests[0].content) == {"set": {"1X": "2"}}


def test_init_reuses_existing_project(isolated: Path) -> None:
    api = FakeApi(
        {
            ("POST", "/api/v1/projects"): lambda r: httpx.Response(409, json={"detail": "exists"}),
            ("POST", "/api/v1/projects/shop/environments/production/services"): lambda r: (
                httpx.Response(201, json=SERVICE)
            ),
        }
    )
    result = invoke([*AUTH, "init"], api)
    assert result.exit_code == 0, result.output
    assert json.loads(api.requests[0].content) == {"name": "shop"}
    assert json.loads(api.requests[1].content) == {"name": "web"}
    link = json.loads((isolated / ".kubidu" / "link.json").read_text())
    assert link == {"project": "shop", "environment": "production", "service": "web"}


def _deploy_api(end_status: str, reason: str | None = None) -> FakeApi:
    end = {"event": "end", "status": end_status, "failure_reason": reason}
    log = [{"line": "installing [deps]", "stream": "build"}, end]
    ndjson = "".join(json.dumps(x) + "\n" for x in log)
    deployment = {"id": "dep_2", "status": end_status, "failure_reason": reason}
    return FakeApi(
        {
            ("POST", f"{SERVICE_PATH}/deployments"): lambda r: httpx.Response(202, json=deployment),
            ("GET", "/api/v1/deployments/dep_2/build-log"): lambda r: httpx.Response(
                200, text=ndjson
            ),
            ("GET", "/api/v1/deployments/dep_2"): deployment,
            ("GET", SERVICE_PATH): SERVICE,
        }
    )


def _uploaded_names(request: httpx.Request) -> list[str]:
    """The member names of the tarball sent as multipart field `source`."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    for part in request.read().split(b"--" + boundary):
        head, _, body = part.partition(b"\r\n\r\n")
        if b'name="source"' in head:
            data = io.BytesIO(body.removesuffix(b"\r\n"))
            with tarfile.open(fileobj=data, mode="r:gz") as tar:
                return sorted(tar.getnames())
    raise AssertionError("no source part in the upload")


def test_deploy_success(isolated: Path) -> None:
    linked_dir(isolated)
    (isolated / "app.py").write_text("print('hi')\n")
    api = _deploy_api("active")
    result = invoke([*AUTH, "deploy", "-m", "first"], api)
    assert result.exit_code == 0, result.output
    assert "installing [deps]" in result.stdout
    assert "live at http://web.shop.localhost:8080/" in result.stdout
    upload = api.requests[0]
    assert b'name="source"' in upload.content and b'name="message"' in upload.content
    assert _uploaded_names(upload) == ["app.py"]
    assert api.requests[1].url.params["follow"] == "true"


def test_deploy_failure(isolated: Path) -> None:
    linked_dir(isolated)
    result = invoke([*AUTH, "deploy"], _deploy_api("failed", "health check failed"))
    assert result.exit_code == 1
    assert result.stderr.endswith("error: deployment dep_2 failed: health check failed\n")


def test_deploy_detach(isolated: Path) -> None:
    linked_dir(isolated)
    api = _deploy_api("queued")
    result = invoke([*AUTH, "deploy", "--detach"], api)
    assert result.exit_code == 0 and "dep_2" in result.stdout
    assert len(api.requests) == 1


@pytest.mark.parametrize("args", [["--json", "status"], ["status", "--json"]])
def test_json_before_or_after_command(isolated: Path, args: list[str]) -> None:
    linked_dir(isolated)
    result = invoke([*AUTH, *args], FakeApi({("GET", SERVICE_PATH): SERVICE}))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == SERVICE


def test_status_table(isolated: Path) -> None:
    linked_dir(isolated)
    result = invoke([*AUTH, "status"], FakeApi({("GET", SERVICE_PATH): SERVICE}))
    assert result.exit_code == 0
    assert "http://web.shop.localhost:8080/" in result.stdout and "live" in result.stdout
