"""Naming rules for user-chosen identifiers, checked at the API boundary.

Names end up in hostnames, directory names, system user names and runtime labels, so they
are restricted to DNS-label-safe characters. Validation here is the only gate: callers further
in may assume names are safe.
"""

import re

from kubidu.core.errors import InvalidInput

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$|^[a-z]$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_RESERVED_ENV_KEYS = frozenset({"PORT"})
MAX_ENV_VALUE_BYTES = 32 * 1024


def validate_name(value: str, *, kind: str) -> str:
    """Return ``value`` if it is a valid project/service/environment/team name."""
    if not _NAME.fullmatch(value) or "--" in value:
        raise InvalidInput(
            f"invalid {kind} name {value!r}: use 1-40 lowercase letters, digits and single "
            "hyphens, starting with a letter and not ending with a hyphen"
        )
    return value


def validate_env_key(key: str) -> str:
    """Return ``key`` if it is a POSIX-style environment variable name we allow."""
    if not _ENV_KEY.fullmatch(key):
        raise InvalidInput(
            f"invalid env var name {key!r}: use letters, digits and underscores, "
            "not starting with a digit"
        )
    if key in _RESERVED_ENV_KEYS or key.startswith("KUBIDU_"):
        raise InvalidInput(f"env var {key!r} is set by the platform and cannot be overridden")
    return key


def validate_env_value(key: str, value: str) -> str:
    """Return ``value`` if it fits in an environment block."""
    if "\x00" in value:
        raise InvalidInput(f"env var {key!r} contains a NUL byte")
    if len(value.encode()) > MAX_ENV_VALUE_BYTES:
        raise InvalidInput(f"env var {key!r} is longer than {MAX_ENV_VALUE_BYTES} bytes")
    return value


def generated_hostname_label(*, service: str, environment: str, project: str) -> str:
    """The first DNS label of a service's generated hostname (before uniqueness suffixes).

    Production omits the environment, as users of Render and Railway expect short URLs.
    """
    parts = [service] if service == project else [service, project]
    if environment != "production":
        parts.insert(1, environment)
    return "-".join(parts)[:54].rstrip("-")
