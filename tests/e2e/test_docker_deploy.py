"""End to end on ``kubidu server --runtime docker``: the CLI, the API, a real dockerd, Caddy.

Checks:
* a Dockerfile app builds through the Engine (build log streamed), serves through Caddy, and
  its containers carry the workload labels; a redeploy under a steady client loses no request;
* Python and Node.js apps without a Dockerfile build from generated ones (local base images)
  and serve;
* ``kubidu deploy --image`` runs a pre-built image without a build; a malformed reference is
  refused (4xx with a reason), a missing image fails the deploy with a reason;
* a Dockerfile that fails to build, a container that exits at once and one that never listens
  each fail with a reason while the previous deployment keeps serving;
* ``kubidu scale web=2 --cpu 0.5 --memory 256M`` reaches the Engine;
* another team can neither run a team's built image (by tag; image IDs and ID prefixes are
  refused outright) nor build on it (``FROM`` it, ``COPY --from`` it);
* ``kill -9`` of the control plane: apps keep serving; after a restart the same containers are
  re-adopted, none duplicated, none orphaned.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kubidu.runtimes.docker import labels as lbl
from tests.helpers import docker as docker_helpers
from tests.helpers.apps import copy_example, tarball, write_stdlib_app
from tests.helpers.docker import BaseImages
from tests.helpers.server import KubiduServer, traversable_dir
from tests.helpers.traffic import steady_client
from tests.helpers.wait import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(
    docker_engine: BaseImages, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubiduServer]:
    home = tmp_path_factory.mktemp("home")
    env = {
        "KUBIDU_RUNTIME": "docker",
        "KUBIDU_DOCKER_PYTHON_IMAGE": docker_engine.python,
        "KUBIDU_DOCKER_NODE_IMAGE": docker_helpers.node_image(),
    }
    started = KubiduServer(data_dir=traversable_dir() / "data", home=home, extra_env=env)
    try:
        started.start()
        yield started
    finally:
        started.cleanup()
        _remove_containers(started)
        shutil.rmtree(started.data_dir.parent, ignore_errors=True)


def _remove_containers(server: KubiduServer) -> None:
    api = docker_helpers.client()
    mine = lbl.owned(lbl.instance_for(server.data_dir))
    for found in api.containers(all=True, filters=mine):
        api.remove_container(found["Id"], force=True)
    for network in api.networks(filters=mine):
        api.remove_network(network["Id"])


def _containers(server: KubiduServer) -> list[dict[str, object]]:
    api = docker_helpers.client()
    mine = lbl.owned(lbl.instance_for(server.data_dir), f"{lbl.ROLE}=replica")
    return [api.inspect_container(c["Id"]) for c in api.containers(filters=mine)]


def _dockerfile_app(root: Path, version: str, python: str, *, cmd: str = "") -> Path:
    app = write_stdlib_app(root, version=version)
    (app / "Procfile").unlink()
    command = cmd or '["python3", "app.py"]'
    (app / "Dockerfile").write_text(
        f"FROM {python}\nWORKDIR /app\nCOPY app.py /app/\nUSER 10001:10001\nCMD {command}\n"
    )
    return app


def _deployed(server: KubiduServer, root: Path, version: str, python: str, project: str) -> Path:
    """A Dockerfile app, linked to ``<project>/web`` and deployed."""
    app = _dockerfile_app(root, version, python)
    server.cli("init", "--project", project, "--service", "web", cwd=app)
    server.cli("deploy", cwd=app)
    return app


def _hostname(server: KubiduServer, app: Path) -> str:
    return httpx.URL(server.cli_json("status", cwd=app)["url"]).host or ""


def test_dockerfile_app_deploys_and_redeploys_without_downtime(
    server: KubiduServer, docker_engine: BaseImages, tmp_path: Path
) -> None:
    app = _deployed(server, tmp_path / "app", "v1", docker_engine.python, "dockerfile")
    hostname = _hostname(server, app)
    assert server.fetch(hostname).text.startswith("v1 hello")
    build = server.cli("logs", "--build", cwd=app).stdout
    assert "Step 1/" in build and "the app's Dockerfile" in build

    [container] = [c for c in _containers(server) if _label(c, "project") == "dockerfile"]
    assert _label(container, "service") == "web"
    assert _label(container, "deployment") == server.cli_json("status", cwd=app)["deployment_id"]

    _dockerfile_app(app, "v2", docker_engine.python)
    failures, answers = steady_client(server, hostname, lambda: server.cli("deploy", cwd=app))
    assert failures == [], f"requests failed during the redeploy: {failures[:5]}"
    assert any(a.startswith("v2") for a in answers)
    assert server.fetch(hostname).text.startswith("v2")
    assert "Using cache" in server.cli("logs", "--build", cwd=app).stdout
    assert len([c for c in _containers(server) if _label(c, "project") == "dockerfile"]) == 1


def test_detected_python_and_node_apps_run_from_generated_dockerfiles(
    server: KubiduServer, tmp_path: Path
) -> None:
    python = write_stdlib_app(tmp_path / "py", version="generated")
    node = copy_example("node-app", tmp_path / "node")
    for app, service in ((python, "py"), (node, "node")):
        server.cli("init", "--project", "generated", "--service", service, cwd=app)
        server.cli("deploy", cwd=app)
    assert server.fetch(_hostname(server, python)).text == "generated hello\n"
    assert "Hello from Kubidu" in server.fetch(_hostname(server, node)).text
    python_build = server.cli("logs", "--build", cwd=python).stdout
    node_build = server.cli("logs", "--build", cwd=node).stdout
    assert "generated python Dockerfile" in python_build
    assert "generated node Dockerfile" in node_build and "npm install" in node_build
    images = {_label(c, "service"): c["Config"]["Image"] for c in _containers(server)}  # type: ignore[index]
    assert str(images["node"]).startswith("kubidu-apps/")


def test_prebuilt_image_and_bad_references(
    server: KubiduServer, docker_engine: BaseImages, tmp_path: Path
) -> None:
    source = write_stdlib_app(tmp_path / "src", version="prebuilt")
    tag = f"kubidu-test/prebuilt:{secrets.token_hex(4)}"
    dockerfile = f'FROM {docker_engine.python}\nCOPY app.py /app.py\nCMD ["python3", "/app.py"]\n'
    docker_helpers.build_image(
        docker_helpers.client(),
        tag=tag,
        dockerfile=dockerfile,
        files={"app.py": (source / "app.py").read_bytes()},
    )
    app = tmp_path / "linked"
    app.mkdir()
    server.cli("init", "--project", "images", "--service", "web", cwd=app)
    server.cli("deploy", "--image", tag, "--port", "8000", cwd=app)
    hostname = _hostname(server, app)
    assert server.fetch(hostname).text.startswith("prebuilt")
    assert "build" not in server.cli("logs", "--build", cwd=app).stdout.lower().split("deploy")[0]

    bad = server.cli("deploy", "--image", "--not-an-image", cwd=app, check=False)
    assert bad.returncode != 0 and "not a valid image reference" in bad.stderr
    missing = server.cli("deploy", "--image", "kubidu-test/missing:1", cwd=app, check=False)
    assert missing.returncode != 0 and "kubidu-test/missing:1" in missing.stderr
    assert server.fetch(hostname).text.startswith("prebuilt")


@pytest.mark.timeout(240)
def test_bad_deploys_fail_with_a_reason_and_keep_the_previous_serving(
    server: KubiduServer, docker_engine: BaseImages, tmp_path: Path
) -> None:
    app = _deployed(server, tmp_path / "app", "v1", docker_engine.python, "faults")
    hostname = _hostname(server, app)
    v1 = server.cli_json("status", cwd=app)["deployment_id"]
    cases = {
        "RUN false": "failed to build",
        "exits": "",
        "never listens": "",
    }
    for case in cases:
        _dockerfile_app(app, "v2", docker_engine.python)
        dockerfile = app / "Dockerfile"
        if case == "RUN false":
            dockerfile.write_text(dockerfile.read_text().replace("CMD", "RUN false\nCMD"))
        elif case == "exits":
            dockerfile.write_text(
                dockerfile.read_text().split("CMD")[0] + 'CMD ["sh", "-c", "exit 3"]\n'
            )
        else:
            dockerfile.write_text(dockerfile.read_text().split("CMD")[0] + 'CMD ["sleep", "600"]\n')
        result = server.cli("deploy", cwd=app, check=False)
        assert result.returncode != 0, case
        assert "failed" in result.stderr and cases[case] in result.stderr, (case, result.stderr)
        assert server.fetch(hostname).text.startswith("v1"), case
        status = server.cli_json("status", cwd=app)
        assert status["deployment_id"] == v1 and status["status"] == "live", case
        replicas = server.cli_json("ps", cwd=app)
        assert [r["deployment_id"] for r in replicas] == [v1], case


def test_scale_sets_replicas_and_limits(
    server: KubiduServer, docker_engine: BaseImages, tmp_path: Path
) -> None:
    app = _deployed(server, tmp_path / "app", "v1", docker_engine.python, "scaled")
    out = server.cli("scale", "web=2", "--cpu", "0.5", "--memory", "256M", cwd=app).stdout
    assert "2 replica(s)" in out and "256 MB" in out

    def scaled() -> list[dict[str, object]] | None:
        found = [c for c in _containers(server) if _label(c, "project") == "scaled"]
        return found if len(found) == 2 else None

    for container in wait_for(scaled, 30, what="two replicas"):
        host = container["HostConfig"]
        assert isinstance(host, dict)
        assert (host["CpuQuota"], host["Memory"]) == (50_000, 256 << 20)
    bad = server.cli("scale", "--memory", "1M", cwd=app, check=False)
    assert bad.returncode != 0 and "memory must be between" in bad.stderr


def test_kill_9_of_the_control_plane_readopts_containers(
    server: KubiduServer, docker_engine: BaseImages, tmp_path: Path
) -> None:
    app = _deployed(server, tmp_path / "app", "v1", docker_engine.python, "survivor")
    hostname = _hostname(server, app)
    before = sorted(str(c["Id"]) for c in _containers(server))
    server.kill9()
    assert server.fetch(hostname).text.startswith("v1")  # serving while the control plane is down
    server.start()
    for _ in range(3):  # a few reconcile passes
        assert server.fetch(hostname).text.startswith("v1")
        wait_for(lambda: server.cli_json("status", cwd=app)["status"] == "live", 20)
    assert sorted(str(c["Id"]) for c in _containers(server)) == before
    every = docker_helpers.client().containers(
        all=True, filters=lbl.owned(lbl.instance_for(server.data_dir))
    )
    assert len(every) == len(before), "a duplicate or orphaned container was left"


def test_another_teams_image_can_neither_run_nor_be_built_upon(
    server: KubiduServer, docker_engine: BaseImages, tmp_path: Path
) -> None:
    _deployed(server, tmp_path / "app", "private", docker_engine.python, "private")
    [victim] = [c for c in _containers(server) if _label(c, "project") == "private"]
    image, image_id = str(victim["Config"]["Image"]), str(victim["Image"])  # type: ignore[index]
    rival = server.api("POST", "/users", json={"email": "mallory@example.com"}).json()["token"]
    assert server.api("POST", "/teams", json={"name": "rivals"}, token=rival).status_code == 201
    deploys = _service_of_new_project(server, rival, "heist") + "/deployments"

    def failure(response: httpx.Response) -> str:
        assert response.status_code == 202, response.text
        path = f"/deployments/{response.json()['id']}"
        done = wait_for(
            lambda: (d := server.api("GET", path, token=rival).json())["status"] == "failed" and d,
            120,
        )
        return str(done["failure_reason"])

    run = {"image": image, "port": 8000}
    assert "built for another team" in failure(
        server.api("POST", f"{deploys}/image", json=run, token=rival)
    )
    for ref in (image_id[:19], image_id.removeprefix("sha256:")[:12]):
        refused = server.api("POST", f"{deploys}/image", json={"image": ref}, token=rival)
        assert refused.status_code == 422 and "image ID" in refused.json()["detail"]
    for dockerfile in (
        f"FROM {image}\n",
        f"FROM {docker_engine.python}\nCOPY --from={image} /app /stolen\n",
    ):
        upload = {"source": ("s.tgz", tarball({"Dockerfile": dockerfile.encode()}))}
        built = server.api("POST", deploys, files=upload, token=rival)
        assert "an image of another team" in failure(built)
    assert [c for c in _containers(server) if _label(c, "project") == "heist"] == []


def _service_of_new_project(server: KubiduServer, token: str, project: str) -> str:
    assert server.api("POST", "/projects", json={"name": project}, token=token).status_code == 201
    services = f"/projects/{project}/environments/production/services"
    created = server.api("POST", services, json={"name": "web"}, token=token)
    assert created.status_code == 201, created.text
    return f"{services}/web"


def _label(container: dict[str, object], key: str) -> str:
    config = container["Config"]
    assert isinstance(config, dict)
    return str(config["Labels"].get(lbl.PREFIX + key, ""))
