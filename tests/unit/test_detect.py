"""App detection and start commands (``kubidu.builds.detect``, ``kubidu.builds.procfile``).

Aspects checked:
* kinds: python (requirements.txt, pyproject.toml, bare app.py), node (package.json), static
  (index.html alone); Python markers win over package.json; nothing detectable names the files
  looked for;
* default commands: gunicorn / uvicorn with the module exposing ``app``, ``python app.py``,
  ``npm start``, ``node server.js``; missing start commands are explained;
* Procfile: ``web:`` overrides defaults, shlex quoting, ``$PORT`` kept literal, comments and
  blank lines, ``release:``; malformed lines and unbalanced quotes are InvalidInput;
* kubidu.toml: ``[deploy] start`` beats the Procfile, ``health_path`` is validated.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubidu.builds.detect import AppPlan, detect
from kubidu.builds.procfile import parse_procfile
from kubidu.core.errors import InvalidInput


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


FLASK = "from flask import Flask\napp = Flask(__name__)\n"
FASTAPI = "from fastapi import FastAPI\n\napp: FastAPI = FastAPI()\n"


def test_gunicorn_with_app_module(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"requirements.txt": "Flask==3.0\ngunicorn>=21\n", "app.py": FLASK})
    assert detect(src) == AppPlan(
        "python", ("gunicorn", "app:app", "--bind", "0.0.0.0:$PORT", "--workers", "2"), True
    )


def test_uvicorn_with_main_module(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"requirements.txt": "fastapi\nUvicorn[standard]\n", "main.py": FASTAPI})
    plan = detect(src)
    assert plan.command == ("uvicorn", "main:app", "--host", "0.0.0.0", "--port", "$PORT")


def test_wsgi_module_is_found(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"requirements.txt": "gunicorn\n", "wsgi.py": "def app(env, start):\n"})
    assert detect(src).command[:2] == ("gunicorn", "wsgi:app")


def test_pyproject_dependencies_pick_the_server(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "x"\nversion = "1"\ndependencies = ["uvicorn>=0.30"]\n'
    src = _tree(tmp_path, {"pyproject.toml": pyproject, "main.py": FASTAPI})
    assert detect(src).command[:2] == ("uvicorn", "main:app")


def test_python_without_server_runs_the_script(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"requirements.txt": "six\n", "main.py": "print('hi')\n"})
    assert detect(src) == AppPlan("python", ("python", "main.py"), True)


def test_bare_app_py_is_python(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"app.py": "import http.server\n"})
    assert detect(src) == AppPlan("python", ("python", "app.py"), True)


def test_gunicorn_without_app_object_falls_back_to_script(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"requirements.txt": "gunicorn\n", "app.py": "application = None\n"})
    assert detect(src).command == ("python", "app.py")


def test_python_without_start_command_is_explained(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"requirements.txt": "six\n", "lib.py": ""})
    with pytest.raises(InvalidInput, match="Procfile with a 'web:' line"):
        detect(src)


def test_node_start_script(tmp_path: Path) -> None:
    package = json.dumps({"name": "x", "scripts": {"start": "node srv.js"}})
    src = _tree(tmp_path, {"package.json": package})
    assert detect(src) == AppPlan("node", ("npm", "start"), True)


@pytest.mark.parametrize("script", ["server.js", "index.js"])
def test_node_entry_file(tmp_path: Path, script: str) -> None:
    src = _tree(tmp_path, {"package.json": "{}", script: ""})
    assert detect(src).command == ("node", script)


def test_node_without_start_is_explained(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"package.json": '{"name": "x"}'})
    with pytest.raises(InvalidInput, match="'start' script"):
        detect(src)


def test_invalid_package_json(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"package.json": "{nope", "index.js": ""})
    with pytest.raises(InvalidInput, match=r"package\.json is not valid JSON"):
        detect(src)


def test_static_site(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"index.html": "<h1>hi</h1>", "css/site.css": ""})
    assert detect(src) == AppPlan("static", (), False)


def test_package_json_beats_index_html(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"index.html": "", "package.json": "{}", "index.js": ""})
    assert detect(src).kind == "node"


def test_python_markers_beat_package_json(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"requirements.txt": "", "package.json": "{}", "app.py": ""})
    assert detect(src).kind == "python"


def test_nothing_detectable_lists_what_is_looked_for(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"README.md": "hello"})
    with pytest.raises(InvalidInput) as caught:
        detect(src)
    for name in ("requirements.txt", "pyproject.toml", "package.json", "index.html"):
        assert name in caught.value.message


def test_procfile_web_overrides_default(tmp_path: Path) -> None:
    procfile = "# processes\n\nweb: gunicorn 'my app:app' --bind 0.0.0.0:$PORT\nworker: celery\n"
    src = _tree(tmp_path, {"requirements.txt": "gunicorn\n", "app.py": FLASK, "Procfile": procfile})
    assert detect(src).command == ("gunicorn", "my app:app", "--bind", "0.0.0.0:$PORT")


def test_procfile_release_line(tmp_path: Path) -> None:
    procfile = "web: node server.js\nrelease: node migrate.js --yes\n"
    src = _tree(tmp_path, {"package.json": "{}", "Procfile": procfile})
    plan = detect(src)
    assert plan.command == ("node", "server.js")
    assert plan.release_command == ("node", "migrate.js", "--yes")


def test_procfile_is_never_shell_expanded() -> None:
    processes = parse_procfile("web: sh -c 'echo $HOME; rm -rf /' && echo $PORT\n")
    assert processes["web"] == ("sh", "-c", "echo $HOME; rm -rf /", "&&", "echo", "$PORT")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("web gunicorn app:app\n", "line 1 is not 'name: command'"),
        ("\nweb: python 'app.py\n", "line 2: cannot parse"),
        ("web:   \n", "line 1: the command is empty"),
    ],
)
def test_bad_procfile(text: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_procfile(text)


def test_kubidu_toml_beats_procfile(tmp_path: Path) -> None:
    toml = '[deploy]\nstart = "python serve.py --port $PORT"\nhealth_path = "/healthz"\n'
    files = {"app.py": "", "Procfile": "web: python app.py\n", "kubidu.toml": toml}
    plan = detect(_tree(tmp_path, files))
    assert plan.command == ("python", "serve.py", "--port", "$PORT")
    assert plan.health_path == "/healthz"


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ("[deploy\n", "not valid TOML"),
        ('[deploy]\nhealth_path = "healthz"\n', "health_path must be a URL path"),
        ("[deploy]\nstart = 42\n", "deploy.start must be a string"),
    ],
)
def test_bad_kubidu_toml(tmp_path: Path, toml: str, match: str) -> None:
    src = _tree(tmp_path, {"app.py": "", "kubidu.toml": toml})
    with pytest.raises(InvalidInput, match=match):
        detect(src)
