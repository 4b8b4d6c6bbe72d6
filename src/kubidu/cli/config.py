"""Where the CLI keeps its state: the credentials file and the per-directory link file.

* Credentials (`$XDG_CONFIG_HOME/kubidu/credentials.json`, default `~/.config/kubidu`) hold the
  server URL and API token written by `kubidu login`; the file is 0600 and its directory 0700
  because the token is a bearer secret.
* The link (`.kubidu/link.json` in the app directory) names the project, environment and
  service that `deploy`, `status`, `logs`, `env` ... act on; written by `init` and `link`.

`resolve_credentials` implements the precedence flags > KUBIDU_* env vars > credentials file
(Typer has already merged the env vars into the flag values before we get here).
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kubidu.cli.errors import CliError, UsageError

CREDENTIALS_FILE = "credentials.json"
LINK_DIR = ".kubidu"
LINK_FILE = "link.json"
NOT_LOGGED_IN = (
    "not logged in: run kubidu login --url URL --token TOKEN (or set KUBIDU_URL and KUBIDU_TOKEN)"
)
NOT_LINKED = "this directory is not linked to a service: run `kubidu init` or `kubidu link` first"


@dataclass(frozen=True)
class Credentials:
    """A server URL (without trailing slash) and the API token to present to it."""

    url: str
    token: str


@dataclass(frozen=True)
class Link:
    """The service a directory deploys to."""

    project: str
    environment: str
    service: str


def config_dir() -> Path:
    """Return the CLI's config directory, honouring XDG_CONFIG_HOME."""
    # The CLI is its own process with no server settings object, so it reads the one
    # XDG variable itself; the server's `settings.py` is not meant for client state.
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kubidu"


def normalize_url(url: str) -> str:
    """Return `url` without trailing slashes, refusing anything that is not http(s)."""
    cleaned = url.strip().rstrip("/")
    if not cleaned.startswith(("http://", "https://")):
        raise UsageError(f"invalid server URL {url!r}: it must start with http:// or https://")
    return cleaned


def load_credentials(directory: Path) -> Credentials | None:
    """Read the stored credentials, or None when the user never logged in."""
    path = directory / CREDENTIALS_FILE
    try:
        data = json.loads(path.read_text())
        return Credentials(url=str(data["url"]), token=str(data["token"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(f"cannot read {path} ({exc}): run `kubidu login` again") from exc


def save_credentials(directory: Path, credentials: Credentials) -> Path:
    """Write the credentials atomically with mode 0600 in a 0700 directory."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    path = directory / CREDENTIALS_FILE
    _write_private(path, asdict(credentials))
    return path


def delete_credentials(directory: Path) -> bool:
    """Remove the stored credentials; return whether there were any."""
    try:
        (directory / CREDENTIALS_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


def resolve_credentials(
    *, url: str | None, token: str | None, stored: Credentials | None
) -> Credentials:
    """Pick URL and token: explicit (flag or env) values win over the stored ones.

    The stored token is only used for the stored server: sending it to another URL given on
    the command line would leak the secret to a server it was never meant for.
    """
    final_url = normalize_url(url) if url else (stored.url if stored else None)
    if final_url is None:
        raise CliError(NOT_LOGGED_IN)
    final_token = token
    if not final_token and stored is not None and stored.url == final_url:
        final_token = stored.token
    if not final_token:
        raise CliError(NOT_LOGGED_IN)
    return Credentials(url=final_url, token=final_token)


def load_link(directory: Path) -> Link:
    """Read `.kubidu/link.json` of `directory`, or fail with a hint to run init/link."""
    path = directory / LINK_DIR / LINK_FILE
    try:
        data = json.loads(path.read_text())
        return Link(
            project=str(data["project"]),
            environment=str(data["environment"]),
            service=str(data["service"]),
        )
    except FileNotFoundError as exc:
        raise CliError(NOT_LINKED) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(f"cannot read {path} ({exc}): run `kubidu link` again") from exc


def save_link(directory: Path, link: Link) -> Path:
    """Write `.kubidu/link.json` in `directory`."""
    path = directory / LINK_DIR / LINK_FILE
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(asdict(link), indent=2) + "\n")
    return path


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to `path` via a 0600 temp file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
