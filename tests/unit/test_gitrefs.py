"""Validation of git identifiers (``core/gitrefs.py``) and webhook signatures.

Aspects checked: branch names, shas, repository names and clone URLs that could act as options
or carry shell metacharacters or revision syntax are rejected; ordinary ones pass; the HMAC
verification accepts only the exact signature of the exact body.
"""

from __future__ import annotations

import pytest

from kubidu.core.errors import InvalidInput
from kubidu.core.gitrefs import (
    branch_of_ref,
    validate_branch,
    validate_clone_url,
    validate_repo,
    validate_sha,
)
from kubidu.github.signatures import sign, verify

GOOD_BRANCHES = ["main", "feature/login", "release-1.2", "v2_x", "a/b/c"]
BAD_BRANCHES = [
    "-rf",
    "--upload-pack=x",
    "a..b",
    "a;rm",
    "$(id)",
    "a b",
    "`id`",
    "a|b",
    "x/",
    "x.lock",
    ".hidden",
    "a//b",
    "a/.b",
    "",
    "a@{1}",
    "a~1",
    "a^",
    "a:b",
    "a\nb",
    "é",
]


@pytest.mark.parametrize("name", GOOD_BRANCHES)
def test_good_branches(name: str) -> None:
    assert validate_branch(name) == name
    assert branch_of_ref(f"refs/heads/{name}") == name


@pytest.mark.parametrize("name", BAD_BRANCHES)
def test_bad_branches(name: str) -> None:
    with pytest.raises(InvalidInput):
        validate_branch(name)


def test_refs_shas_repos_urls() -> None:
    assert branch_of_ref("refs/tags/v1") is None
    assert validate_sha("a" * 40)
    for sha in ("A" * 40, "a" * 39, "-" + "a" * 39, "a" * 40 + "\n"):
        with pytest.raises(InvalidInput):
            validate_sha(sha)
    assert validate_repo("octo-org/my.repo_1") == "octo-org/my.repo_1"
    for repo in ("-evil/x", "octo/-x", "octo", "a/b/c", "octo/..", "octo/x;rm", "octo/$(id)"):
        with pytest.raises(InvalidInput):
            validate_repo(repo)
    assert validate_clone_url("https://github.com/o/r.git")
    for url in (
        "ext::sh -c id",
        "-u/x",
        "file:///etc",
        "https://u:p@github.com/o/r.git",
        "https://h/a b",
        "ssh://h/r",
    ):
        with pytest.raises(InvalidInput):
            validate_clone_url(url)


def test_signatures() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    good = sign("s3cret", body)
    assert good.startswith("sha256=") and verify("s3cret", body, good)
    assert not verify("s3cret", body + b" ", good)
    assert not verify("other", body, good)
    assert not verify("s3cret", body, None)
    assert not verify("s3cret", body, good.replace("sha256=", "sha1="))
    assert not verify("", body, sign("", body))
