"""Credentials and link files of the CLI (kubidu.cli.config) and where they come from.

Aspects checked:
* the credentials file is written with mode 0600 in a 0700 directory under XDG_CONFIG_HOME,
  read back, and deleted by logout;
* precedence: --url/--token flags > KUBIDU_URL/KUBIDU_TOKEN > credentials file, and the stored
  token is never sent to a different server;
* missing credentials and bad URLs give one-line errors;
* the link file round-trips, and a missing link says to run `kubidu init` or `kubidu link`.
"""

import stat
from pathlib import Path

import pytest

from kubidu.cli import config
from kubidu.cli.errors import CliError, UsageError

STORED = config.Credentials(url="http://stored:8000", token="stored-token")


def test_credentials_file_is_private(tmp_path: Path) -> None:
    directory = tmp_path / "cfg" / "kubidu"
    path = config.save_credentials(directory, STORED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert config.load_credentials(directory) == STORED
    assert config.delete_credentials(directory)
    assert config.load_credentials(directory) is None
    assert not config.delete_credentials(directory)


def test_config_dir_honours_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.config_dir() == tmp_path / "kubidu"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.config_dir() == tmp_path / ".config" / "kubidu"


def test_corrupt_credentials_file(tmp_path: Path) -> None:
    (tmp_path / config.CREDENTIALS_FILE).write_text("{not json")
    with pytest.raises(CliError, match="kubidu login"):
        config.load_credentials(tmp_path)


def test_explicit_values_win_over_stored() -> None:
    creds = config.resolve_credentials(url="http://flag/", token="flag-token", stored=STORED)
    assert creds == config.Credentials(url="http://flag", token="flag-token")


def test_stored_values_fill_in() -> None:
    assert config.resolve_credentials(url=None, token=None, stored=STORED) == STORED
    same_server = config.resolve_credentials(url="http://stored:8000/", token=None, stored=STORED)
    assert same_server == STORED
    new_token = config.resolve_credentials(url=None, token="t2", stored=STORED)
    assert new_token == config.Credentials(url=STORED.url, token="t2")


def test_stored_token_is_not_sent_to_another_server() -> None:
    with pytest.raises(CliError, match="not logged in"):
        config.resolve_credentials(url="http://elsewhere", token=None, stored=STORED)


def test_nothing_known_means_not_logged_in() -> None:
    with pytest.raises(CliError, match="not logged in: run kubidu login"):
        config.resolve_credentials(url=None, token=None, stored=None)


def test_url_must_be_http() -> None:
    with pytest.raises(UsageError, match="http:// or https://"):
        config.normalize_url("localhost:8000")


def test_link_round_trip_and_missing_link(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="run `kubidu init` or `kubidu link` first"):
        config.load_link(tmp_path)
    link = config.Link(project="shop", environment="production", service="web")
    path = config.save_link(tmp_path, link)
    assert path == tmp_path / ".kubidu" / "link.json"
    assert config.load_link(tmp_path) == link
