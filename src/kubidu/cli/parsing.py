"""Pure parsers for command-line values: durations, KEY=VALUE pairs, default names.

Called by the command modules; kept free of I/O so the unit tests can cover them directly.
"""

import re

from kubidu.cli.errors import UsageError

_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME_MAX = 40


def parse_duration(text: str) -> int:
    """Return the number of seconds in `30s`, `15m`, `1h`, `2d`, `1h30m` or a bare `90`."""
    value = text.strip().lower()
    if value.isdigit():
        return int(value)
    parts = _DURATION_PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise UsageError(f"invalid duration {text!r}: use e.g. 30s, 15m, 1h or 2d")
    return sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def parse_assignments(args: list[str]) -> dict[str, str]:
    """Turn `KEY=VALUE` arguments into a dict; the value may itself contain `=` or be empty."""
    result: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key or key != key.strip():
            raise UsageError(f"invalid assignment {arg!r}: expected KEY=VALUE")
        result[key] = value
    return result


def name_from_directory(dirname: str) -> str:
    """Derive a valid project name (`^[a-z][a-z0-9-]*$`, 1-40 chars) from a directory name."""
    slug = re.sub(r"[^a-z0-9]+", "-", dirname.lower()).strip("-")
    if not slug:
        return "app"
    if not slug[0].isalpha():
        slug = f"app-{slug}"
    return slug[:_NAME_MAX].rstrip("-")
