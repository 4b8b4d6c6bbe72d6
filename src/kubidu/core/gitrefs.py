"""Validation of git and GitHub identifiers that arrive from users, pushers and webhooks.

Branch names, commit ids, ``owner/repo`` names and clone URLs end up in git's argv, so they are
checked here, at the boundary, much more strictly than git itself would: no leading dash (never
an option), no shell metacharacters, no ``..`` or ``@{`` (git's revision syntax), printable
ASCII only. Callers further in may assume a value that passed is safe to hand to git after
``--``. Also the statuses of pending (CI-gated) deployments.
"""

import re
from enum import StrEnum
from urllib.parse import urlsplit

from kubidu.core.errors import InvalidInput

_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")
_SHA = re.compile(r"[0-9a-f]{40}")
_REPO_PART = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}")
_ZERO_SHA = "0" * 40


class PendingStatus(StrEnum):
    WAITING = "waiting"  # for CI
    DEPLOYING = "deploying"  # the commit is being fetched and deployed
    DEPLOYED = "deployed"  # a deployment was created (see its own status)
    SKIPPED = "skipped"  # CI failed; reason says which check
    SUPERSEDED = "superseded"  # a newer push came first
    FAILED = "failed"  # fetching the commit failed


def validate_branch(name: str) -> str:
    """A branch name (without ``refs/heads/``) safe to pass to git."""
    bad = (
        not _BRANCH.fullmatch(name)
        or ".." in name
        or "//" in name
        or name.endswith(("/", ".", ".lock"))
        or "/." in name
    )
    if bad:
        raise InvalidInput(
            f"invalid branch name {name!r}: use letters, digits, '.', '_', '-' and '/', "
            "not starting with '-' or '.', without '..'"
        )
    return name


def branch_of_ref(ref: str) -> str | None:
    """``refs/heads/x`` → ``x`` (validated); other refs (tags, notes) → None."""
    if not ref.startswith("refs/heads/"):
        return None
    return validate_branch(ref.removeprefix("refs/heads/"))


def validate_sha(value: str) -> str:
    """A full, lowercase 40-hex commit id."""
    if not _SHA.fullmatch(value):
        raise InvalidInput(f"invalid commit id {value!r}: expected 40 lowercase hex digits")
    return value


def is_deletion(sha: str) -> bool:
    return sha == _ZERO_SHA


def validate_repo(full_name: str) -> str:
    """``owner/name`` as GitHub spells it."""
    parts = full_name.split("/")
    if len(parts) != 2 or not all(_REPO_PART.fullmatch(p) and p not in (".", "..") for p in parts):
        raise InvalidInput(
            f"invalid repository {full_name!r}: expected OWNER/NAME with letters, digits, "
            "'.', '_' and '-'"
        )
    return full_name


def validate_clone_url(url: str) -> str:
    """An http(s) URL without credentials (the token is sent as a header, never in the URL)."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or not url.isprintable()
        or any(c in url for c in " \\'\"`$;|&<>")
    ):
        raise InvalidInput(f"invalid clone URL {url!r}: expected http(s)://host/path, no spaces")
    return url
